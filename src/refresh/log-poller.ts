import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { LogKind, LogSource } from '../control/control.js';
import { describe } from '../control/http.js';
import { nextWindow, RecordDedup, recordKey, type LogPollView, type PollState } from '../control/log-window.js';

// Reads one of the two logging endpoints on its own interval, in overlapping windows that end `lag` before
// now, and hands every record not seen before to its totals. The records seen (the de-duplication keys)
// and the totals live in a LogRecords, which outlives any one poller: a poller started again reads its
// first window over records already counted, and counts none of them twice.

export type { LogKind } from '../control/control.js';

export interface LogSink {
  /** Adds a new record; false when it is not a record of this log at all. */
  add(raw: unknown): boolean;
  /** After each window read whole. */
  finishWindow(): void;
}

/** How each log is asked for and timed. */
interface LogSpec {
  /** The latest time the API could filter the record by, in Unix seconds: its key is kept until windows pass it. */
  readonly retainUntil: (raw: unknown) => number | undefined;
  /** The record's own time (flow logs: `start`, not `logged`), for the newest-record gauge. */
  readonly placedAt: (raw: unknown) => number | undefined;
  readonly scope: string;
  readonly unsupported: string;
}

const seconds =
  (field: string) =>
  (raw: unknown): number | undefined => {
    const v = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[field] : undefined;
    const ms = typeof v === 'string' ? Date.parse(v) : Number.NaN;
    return Number.isFinite(ms) ? ms / 1000 : undefined;
  };

const latest =
  (...fields: string[]) =>
  (raw: unknown): number | undefined => {
    const times = fields.map((f) => seconds(f)(raw)).filter((t): t is number => t !== undefined);
    return times.length === 0 ? undefined : Math.max(...times);
  };

const LOG_SPECS: Readonly<Record<LogKind, LogSpec>> = {
  flowlogs: {
    retainUntil: latest('start', 'end', 'logged'),
    placedAt: seconds('start'),
    scope: 'logs:network:read',
    unsupported: 'network flow logs need the Premium or Enterprise plan',
  },
  audit: {
    retainUntil: seconds('eventTime'),
    placedAt: seconds('eventTime'),
    scope: 'logs:configuration:read',
    unsupported: 'this deployment of Tailscale has no configuration audit log',
  },
};

/** Records counted and the keys that keep them from being counted again; shared by every poller of one log. */
export class LogRecords<S extends LogSink = LogSink> {
  readonly sink: S;
  readonly dedup: RecordDedup;
  records = 0;
  duplicates = 0;
  invalid = 0;
  newestRecordSeconds: number | undefined;

  constructor(
    readonly kind: LogKind,
    sink: S,
    maxKeys?: number,
  ) {
    this.sink = sink;
    this.dedup = new RecordDedup(maxKeys);
  }

  /** One record's bytes as the answer streams in. */
  ingest(bytes: Buffer): void {
    let raw: unknown;
    try {
      raw = JSON.parse(bytes.toString('utf8'));
    } catch {
      this.invalid++;
      return;
    }
    const spec = LOG_SPECS[this.kind];
    const retain = spec.retainUntil(raw);
    if (retain === undefined) {
      this.invalid++;
      return;
    }
    if (!this.dedup.add(recordKey(raw), retain)) {
      this.duplicates++;
      return;
    }
    if (!this.sink.add(raw)) {
      this.invalid++;
      return;
    }
    this.records++;
    const placed = spec.placedAt(raw);
    if (placed !== undefined && (this.newestRecordSeconds === undefined || placed > this.newestRecordSeconds))
      this.newestRecordSeconds = placed;
  }
}

export interface LogPollerOptions {
  readonly source: LogSource;
  readonly records: LogRecords;
  readonly intervalMs: number;
  readonly lagMs: number;
  readonly lookbackMs: number;
  readonly log: Logger;
  /** Unavailable (404, 403, logging off): asked again only this often. */
  readonly unavailableRetryMs?: number;
  /** Flow logs: false when the tailnet settings say flow logging is off (undefined: not known). */
  readonly loggingOn?: () => boolean | undefined;
  readonly now?: () => number;
}

export const UNAVAILABLE_RETRY_MS = 15 * 60_000;

const UNAVAILABLE: ReadonlySet<PollState> = new Set(['not_supported', 'missing_scope', 'logging_off']);

export class LogPoller implements LogPollView {
  readonly #o: LogPollerOptions;
  readonly #now: () => number;
  readonly #retryMs: number;
  #lastEndMs: number | undefined;
  #state: PollState = 'pending';
  readonly #polls = new Map<string, number>();
  #durationSeconds = 0;
  #skippedSeconds = 0;
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: LogPollerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#retryMs = Math.max(options.unavailableRetryMs ?? UNAVAILABLE_RETRY_MS, options.intervalMs);
  }

  get kind(): LogKind {
    return this.#o.records.kind;
  }
  get state(): PollState {
    return this.#state;
  }
  get polls(): ReadonlyMap<string, number> {
    return this.#polls;
  }
  get records(): number {
    return this.#o.records.records;
  }
  get duplicates(): number {
    return this.#o.records.duplicates;
  }
  get invalid(): number {
    return this.#o.records.invalid;
  }
  get dedupKeys(): number {
    return this.#o.records.dedup.size;
  }
  get dedupEvictions(): number {
    return this.#o.records.dedup.evictions;
  }
  get windowEndSeconds(): number | undefined {
    return this.#lastEndMs === undefined ? undefined : Math.floor(this.#lastEndMs / 1000);
  }
  get skippedSeconds(): number {
    return this.#skippedSeconds;
  }
  get newestRecordSeconds(): number | undefined {
    return this.#o.records.newestRecordSeconds;
  }
  get durationSeconds(): number {
    return this.#durationSeconds;
  }

  /** Polls now, then on its interval (a long one while the log is unavailable), until stop(). */
  start(): void {
    this.#stopped = false;
    const loop = async (): Promise<void> => {
      await this.pollOnce();
      if (this.#stopped) return;
      this.#timer = setTimeout(() => void loop(), this.nextDelayMs());
    };
    void loop();
  }

  /** Until the next poll: the interval, or the long retry while the log is unavailable. */
  nextDelayMs(): number {
    return UNAVAILABLE.has(this.#state) ? this.#retryMs : this.#o.intervalMs;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('shutting down'));
    await this.#running;
    this.#abort = new AbortController();
  }

  /** One window. Single-flight; never rejects. */
  pollOnce(): Promise<void> {
    this.#running ??= this.#poll().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #poll(): Promise<void> {
    const { records, source, log } = this.#o;
    const started = performance.now();
    const window = nextWindow(this.#now(), this.#lastEndMs, this.#o.lagMs, this.#o.lookbackMs);
    let seen = 0;
    let next: PollState;
    let error: unknown;
    try {
      await source.streamLogs(
        records.kind,
        window,
        (bytes) => {
          seen++;
          records.ingest(bytes);
        },
        this.#abort.signal,
      );
      if (window.skippedMs > 0) {
        this.#skippedSeconds += window.skippedMs / 1000;
        log.warn(
          { collector: records.kind, skipped_seconds: Math.round(window.skippedMs / 1000) },
          'the logs were not read for longer than one window may cover (1h); records of the time between were not counted',
        );
      }
      records.sink.finishWindow();
      // No later window starts before this one's end minus the look-back: older keys can go.
      records.dedup.forget((window.endMs - this.#o.lookbackMs) / 1000);
      this.#lastEndMs = window.endMs;
      next = seen === 0 && this.#o.loggingOn?.() === false ? 'logging_off' : 'ok';
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      error = err;
      next =
        err instanceof ApiError && err.status === 404
          ? 'not_supported'
          : err instanceof ApiError && err.status === 403
            ? 'missing_scope'
            : 'error';
    }
    this.#durationSeconds = (performance.now() - started) / 1000;
    this.#polls.set(next, (this.#polls.get(next) ?? 0) + 1);
    this.#report(next, error);
    this.#state = next;
  }

  /** Logs a change of state, once: an unavailable log says so and how to fix it, never on every poll. */
  #report(next: PollState, error: unknown): void {
    const previous = this.#state;
    if (next === previous) return;
    const { log, records } = this.#o;
    const collector = records.kind;
    const spec = LOG_SPECS[collector];
    const retry = `asked again every ${Math.round(this.#retryMs / 60_000)}m`;
    const detail = error === undefined ? undefined : describe(error);
    switch (next) {
      case 'ok':
        if (previous !== 'pending') log.info({ collector }, 'log readable again');
        return;
      case 'not_supported':
        return log.warn(
          { collector, err: detail },
          `the Tailscale API has no ${collector === 'flowlogs' ? 'network flow logs' : 'audit log'} for this tailnet (404): ${spec.unsupported}; remove ${collector} from COLLECTORS if that is expected; ${retry}`,
        );
      case 'missing_scope':
        return log.warn(
          { collector, scope: spec.scope, err: detail },
          `the Tailscale API refused the ${collector} collector (403): grant the OAuth client ${spec.scope}, or remove ${collector} from COLLECTORS; ${retry}`,
        );
      case 'logging_off':
        return log.warn(
          { collector },
          `network flow logging is off for this tailnet: turn it on in the admin console (Logs, Network flow logs); ${retry}`,
        );
      case 'error':
        if (previous === 'ok' || previous === 'pending')
          log.warn(
            { collector, err: detail },
            'log could not be read; trying again next interval (the window is read again then)',
          );
        return;
      default:
        return;
    }
  }
}
