// Shared helpers of the end-to-end benchmark (bench/run.ts and its child processes).
import { fork, type ChildProcess } from 'node:child_process';
import { get, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? Number.NaN,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

export function median(values: readonly number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

/** A free TCP port on 127.0.0.1 (bind 0, read, close; a tiny race is acceptable for a benchmark). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface Fetched {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** The bytes as sent on the wire (not decompressed). */
  readonly raw: Buffer;
  /** The body, gunzipped when it was sent gzipped. */
  readonly text: string;
}

/** One GET on a fresh connection; the raw wire bytes and the decoded text. */
export function fetchOnce(url: string, gzip: boolean): Promise<Fetched> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false, headers: gzip ? { 'accept-encoding': 'gzip' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const raw = Buffer.concat(chunks);
        const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, raw, text });
      });
    });
    req.on('error', reject);
  });
}

/** Value of an unlabelled (or first matching) sample line in a text exposition, or NaN. */
export function sampleValue(text: string, selector: string): number {
  const at = text.indexOf(`\n${selector} `);
  if (at < 0) return Number.NaN;
  const end = text.indexOf('\n', at + 1);
  return Number(text.slice(at + selector.length + 2, end < 0 ? undefined : end));
}

/**
 * A forked helper process spoken to with request/reply messages over IPC: every message carries an `id`,
 * the child answers with the same `id` (and `error` on failure).
 */
export class Helper {
  readonly child: ChildProcess;
  #next = 1;
  readonly #pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  #ready: Promise<any>;
  #exited = false;

  constructor(script: URL, args: readonly string[] = [], execArgv: readonly string[] = []) {
    this.child = fork(script, [...args], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [...execArgv] });
    this.#ready = new Promise((resolve, reject) => {
      const onMessage = (msg: any): void => {
        if (msg?.type === 'ready') {
          this.child.off('message', onMessage);
          resolve(msg);
        } else if (msg?.type === 'fatal') reject(new Error(`${script.pathname}: ${msg.error}`));
      };
      this.child.on('message', onMessage);
      this.child.once('exit', (code) =>
        reject(new Error(`${script.pathname} exited with ${code} before it was ready`)),
      );
    });
    this.child.on('message', (msg: any) => {
      const p = typeof msg?.id === 'number' ? this.#pending.get(msg.id) : undefined;
      if (p === undefined) return;
      this.#pending.delete(msg.id);
      if (typeof msg.error === 'string') p.reject(new Error(msg.error));
      else p.resolve(msg);
    });
    this.child.once('exit', (code, signal) => {
      this.#exited = true;
      for (const p of this.#pending.values()) p.reject(new Error(`${script.pathname} exited (${code ?? signal})`));
      this.#pending.clear();
    });
  }

  /** Resolves with the child's `ready` message. */
  ready<T>(): Promise<T> {
    return this.#ready as Promise<T>;
  }

  call<T>(message: Record<string, unknown>): Promise<T> {
    if (this.#exited) return Promise.reject(new Error('helper process has exited'));
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.child.send({ ...message, id });
    });
  }

  /** Asks the child to close, then kills it if it has not exited within `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    try {
      this.child.send({ type: 'close', id: 0 });
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/** Installs the child side of the Helper protocol: `handle` answers every message but `close`. */
export function serveHelper(
  handle: (msg: any) => Promise<Record<string, unknown>>,
  onClose: () => Promise<void>,
): void {
  process.on('message', (msg: any) => {
    if (msg?.type === 'close') {
      void onClose().finally(() => process.exit(0));
      return;
    }
    handle(msg).then(
      (reply) => process.send?.({ ...reply, id: msg.id }),
      (err: unknown) =>
        process.send?.({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  });
  // The parent died: do not linger.
  process.on('disconnect', () => void onClose().finally(() => process.exit(0)));
}

const MB = 1024 * 1024;
export const fmtMs = (ms: number): string =>
  Number.isNaN(ms) ? 'n/a' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2);
export const fmtBytes = (b: number): string =>
  b >= MB ? `${(b / MB).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`;
export const fmtRatio = (r: number): string =>
  Number.isNaN(r) ? 'n/a' : r >= 10 ? `${r.toFixed(0)}×` : `${r.toFixed(2)}×`;

/**
 * Where the report goes: BENCH_RESULTS (relative to the project root) when set, else dist/bench/results.md. The
 * committed bench/results.md holds the figures the README quotes, so a casual run must not overwrite it.
 */
export function resultsPath(env: Readonly<Record<string, string | undefined>>, root: string): string {
  const chosen = env.BENCH_RESULTS;
  return resolve(root, chosen === undefined || chosen === '' ? 'dist/bench/results.md' : chosen);
}
