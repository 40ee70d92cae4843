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

/**
 * 53 bits of a hash of the record's content, as a number: a Map key that costs no string. The content is
 * fed to the hash as it is walked (object keys sorted, strings as parsed, numbers by value), so the same
 * record always gives the same key however it was serialized, without building its canonical text: at
 * 50,000 records a window, that text and a native hash object per record were most of a poll's garbage.
 * Two different records share a key with a chance of about n²/2^54 (1e-5 with a million keys held at once);
 * not for content an attacker chooses to collide (the worst case: one record not counted).
 */
export function recordKey(record: unknown): number {
  const h = new KeyHash();
  h.value(record);
  return h.digest();
}

/** Tags above every UTF-16 code unit: they cannot be confused with a string's content. */
const enum Tag {
  Null = 0x10000,
  False,
  True,
  Number,
  String,
  Array,
  Object,
  End,
}

/** Scratch for a number's IEEE 754 bits. */
const float = new Float64Array(1);
const floatWords = new Uint32Array(float.buffer);

/** cyrb53's two 32-bit multiplicative lanes and final mix, fed one unit at a time. */
class KeyHash {
  #h1 = 0xdeadbeef;
  #h2 = 0x41c6ce57;

  #unit(u: number): void {
    this.#h1 = Math.imul(this.#h1 ^ u, 2654435761);
    this.#h2 = Math.imul(this.#h2 ^ u, 1597334677);
  }

  /** Every value starts with a tag and containers end with one: no two values feed the same units. */
  #text(s: string): void {
    this.#unit(Tag.String);
    for (let i = 0; i < s.length; i++) this.#unit(s.charCodeAt(i));
  }

  value(v: unknown): void {
    if (v === null || v === undefined) return this.#unit(Tag.Null);
    switch (typeof v) {
      case 'boolean':
        return this.#unit(v ? Tag.True : Tag.False);
      case 'number':
        // -0 is 0 in JSON text.
        float[0] = v === 0 ? 0 : v;
        this.#unit(Tag.Number);
        this.#unit(floatWords[0]!);
        return this.#unit(floatWords[1]!);
      case 'string':
        return this.#text(v);
      case 'object':
        if (Array.isArray(v)) {
          this.#unit(Tag.Array);
          for (const e of v) this.value(e);
        } else {
          const o = v as Record<string, unknown>;
          this.#unit(Tag.Object);
          for (const k of Object.keys(o).sort()) {
            if (o[k] === undefined) continue;
            this.#text(k);
            this.value(o[k]);
          }
        }
        return this.#unit(Tag.End);
      default:
        return this.#unit(Tag.Null);
    }
  }

  digest(): number {
    let h1 = this.#h1;
    let h2 = this.#h2;
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    return 4294967296 * (0x1fffff & h2) + (h1 >>> 0);
  }
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
