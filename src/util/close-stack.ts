// The one stop order: whatever starts registers how it closes, and stopping closes in reverse (LIFO), so a
// stage closes before what it uses. Each close is bounded in time; a failure or a timeout is reported and the
// rest still close: one stuck piece must not leave tailscaled or a port behind.

/** Where failed closes are reported: a pino logger, or anything with its `error(fields, message)`. */
interface ErrorLog {
  error(fields: { stage: string; err: unknown }, message: string): void;
}

interface Entry {
  readonly name: string;
  readonly close: () => unknown;
  readonly timeoutMs: number;
}

export class CloseStack {
  readonly #entries: Entry[] = [];
  readonly #log: ErrorLog;
  readonly #defaultTimeoutMs: number;
  #closing: Promise<void> | undefined;

  /** `log` hears every close that failed or ran out of time, by name (`stage`). */
  constructor(log: ErrorLog, defaultTimeoutMs = 3_000) {
    this.#log = log;
    this.#defaultTimeoutMs = defaultTimeoutMs;
  }

  /** Registers a close; one pushed after close() began runs once the others are done (nothing is left open). */
  push(name: string, close: () => unknown, timeoutMs = this.#defaultTimeoutMs): void {
    const entry = { name, close, timeoutMs };
    if (this.#closing === undefined) this.#entries.push(entry);
    else void this.#closing.then(() => this.#run(entry));
  }

  /** Closes everything, last pushed first; resolves when all have closed, failed or timed out. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (let entry = this.#entries.pop(); entry !== undefined; entry = this.#entries.pop()) await this.#run(entry);
    })();
    return this.#closing;
  }

  async #run(entry: Entry): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${entry.name} did not close within ${entry.timeoutMs} ms`)),
        entry.timeoutMs,
      );
    });
    try {
      await Promise.race([Promise.resolve().then(entry.close), timedOut]);
    } catch (err) {
      this.#log.error({ stage: entry.name, err }, 'close failed');
    } finally {
      clearTimeout(timer);
    }
  }
}
