import { createHash } from 'node:crypto';

// The two logging endpoints answer "every record of [start, end]" and keep filling a window already read
// for minutes (tailscale-facts §6.1). They are read in overlapping windows that end `lag` behind now, and
// every record is counted once: its key (a hash of its canonical content) is remembered for as long as a
// later window can still return it, and no longer.

/** The API's own limit on one window (facts §6.1: windows of at most 1 h). */
export const MAX_WINDOW_MS = 3_600_000;

export interface Window {
  readonly startMs: number;
  readonly endMs: number;
  /** Time between the last window read and this one that no window covers (a long outage), else 0. */
  readonly skippedMs: number;
}

/**
 * The next window: it ends `lag` before now and reaches back `lookback`, or to the end of the last window
 * read when that is further back (after a missed poll, or with an interval longer than the look-back), so
 * consecutive windows always meet; never longer than MAX_WINDOW_MS.
 */
export function nextWindow(nowMs: number, lastEndMs: number | undefined, lagMs: number, lookbackMs: number): Window {
  const endMs = nowMs - lagMs;
  let startMs = endMs - lookbackMs;
  if (lastEndMs !== undefined && lastEndMs < startMs) startMs = lastEndMs;
  const earliest = endMs - MAX_WINDOW_MS;
  const skippedMs = startMs < earliest ? earliest - startMs : 0;
  return { startMs: Math.max(startMs, earliest), endMs, skippedMs };
}

/** JSON with object keys sorted: the same record always gives the same text, however it was serialized. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * 53 bits of the SHA-1 of the record's canonical JSON, as a number: a Map key that costs no string. Two
 * different records share a key with a chance of n²/2^54 (1e-5 with a million keys held at once).
 */
export function recordKey(record: unknown): number {
  const d = createHash('sha1').update(canonicalJson(record)).digest();
  return d.readUIntBE(0, 6) * 32 + (d[6]! >>> 3);
}

/** Times are held as seconds after this, small enough to be stored unboxed (a V8 small integer) until 2034. */
const TIME_BASE = 1_700_000_000;

/** Keys held by default before the oldest are evicted: ~40 MB at most. */
const DEFAULT_MAX_KEYS = 1_000_000;

/**
 * The keys of records already counted, each until `forget` passes its time. Bounded: past `maxKeys` the
 * oldest key is evicted (counted), so a record it stood for could be counted again if it came back.
 */
export class RecordDedup {
  /** key -> the record's time in seconds, in insertion order (which eviction relies on). */
  #keys = new Map<number, number>();
  readonly #maxKeys: number;
  evictions = 0;

  constructor(maxKeys = DEFAULT_MAX_KEYS) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#keys.size;
  }

  /** True the first time a key is seen (the record is new); `timeSeconds` is how long it must be kept. */
  add(key: number, timeSeconds: number): boolean {
    if (this.#keys.has(key)) return false;
    if (this.#keys.size >= this.#maxKeys) {
      const oldest = this.#keys.keys().next().value as number;
      this.#keys.delete(oldest);
      this.evictions++;
    }
    this.#keys.set(key, Math.floor(timeSeconds) - TIME_BASE);
    return true;
  }

  /** Drops the keys of records older than `beforeSeconds`: no later window can return them. */
  forget(beforeSeconds: number): void {
    const before = beforeSeconds - TIME_BASE;
    for (const [key, time] of this.#keys) if (time < before) this.#keys.delete(key);
  }
}

/** Where a log poller stands: `pending` before its first answer; the unavailable states are retried rarely. */
export const POLL_STATES = ['pending', 'ok', 'not_supported', 'missing_scope', 'logging_off', 'error'] as const;
export type PollState = (typeof POLL_STATES)[number];

/** What a log poller tells the collectors about itself (the tsmetrics_log_* self-metrics). */
export interface LogPollView {
  readonly state: PollState;
  /** Polls by result: `ok` or the state the poll ended in. */
  readonly polls: ReadonlyMap<string, number>;
  /** Records counted, records seen again in an overlapping window, records that were not log records. */
  readonly records: number;
  readonly duplicates: number;
  readonly invalid: number;
  readonly dedupKeys: number;
  readonly dedupEvictions: number;
  /** End of the last window read whole, in Unix seconds: how far behind the data is. */
  readonly windowEndSeconds: number | undefined;
  /** Time no window covered (outages longer than a window allows), in seconds. */
  readonly skippedSeconds: number;
  /** Start of the newest record counted, in Unix seconds. */
  readonly newestRecordSeconds: number | undefined;
  readonly durationSeconds: number;
}
