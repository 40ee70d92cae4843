import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { runCollectors } from '../../src/collectors/index.js';
import { makeFlowLogsCollector } from '../../src/collectors/flow-logs.js';
import { makeLogPollersCollector } from '../../src/collectors/log-pollers.js';
import type { LogSource } from '../../src/control/control.js';
import { FlowTotals } from '../../src/control/flow-logs.js';
import { ApiError } from '../../src/errors.js';
import {
  LogPoller,
  LogRecords,
  UNAVAILABLE_RETRY_MS,
  type LogKind,
  type LogPollerOptions,
  type LogSink,
} from '../../src/refresh/log-poller.js';
import { memoryLogger } from '../helpers/log.js';
import { refreshData } from '../helpers/refresh-data.js';

// The log poller on its own: a fake log source that answers from a list of records by time (and records
// the windows it was asked for), a clock the test moves, no network. Each rule of the poller is checked
// where it shows: the windows asked for, the totals, the de-duplication keys, the log lines, the state
// the collectors read.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Half a second past a whole second: window ends are then not whole seconds. */
const T0 = 1_750_000_000_500;

const iso = (ms: number): string => new Date(ms).toISOString();

/** Settles the promises of a poll (the fake source answers at once); setImmediate is not mocked. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

interface Call {
  readonly kind: LogKind;
  readonly startMs: number;
  readonly endMs: number;
  readonly signal: AbortSignal | undefined;
}

/** A logging endpoint: each stored record is in every window whose [start, end] holds its time. */
class FakeLogSource implements LogSource {
  readonly calls: Call[] = [];
  readonly #stored: Array<{ readonly atMs: number; readonly text: string }> = [];
  /** Thrown by the next calls, after `failAfter` records of the window were handed over. */
  error: Error | undefined;
  failAfter = 0;
  /** The next calls answer nothing until aborted. */
  hang = false;
  /** Run during each call (the poll's duration is measured around it). */
  during: () => void = () => {};

  /** A record the API serves from now on, filtered by `atMs`; text is sent as is. */
  store(atMs: number, record: unknown): void {
    this.#stored.push({ atMs, text: typeof record === 'string' ? record : JSON.stringify(record) });
  }

  async streamLogs(
    kind: LogKind,
    window: { readonly startMs: number; readonly endMs: number },
    onRecord: (bytes: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    this.calls.push({ kind, startMs: window.startMs, endMs: window.endMs, signal });
    this.during();
    if (this.hang)
      return new Promise((_resolve, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
      });
    await Promise.resolve();
    let handed = 0;
    for (const r of this.#stored) {
      if (r.atMs < window.startMs || r.atMs > window.endMs) continue;
      if (this.error !== undefined && handed === this.failAfter) break;
      onRecord(Buffer.from(r.text));
      handed++;
    }
    if (this.error !== undefined) throw this.error;
  }

  /** How many of the windows asked for so far hold `atMs`. */
  windowsHolding(atMs: number): number {
    return this.calls.filter((c) => c.startMs <= atMs && atMs <= c.endMs).length;
  }
}

/** What the totals were handed: every new record, and how many windows were read whole. */
class FakeSink implements LogSink {
  readonly added: unknown[] = [];
  windows = 0;
  add(raw: unknown): boolean {
    if (raw !== null && typeof raw === 'object' && (raw as Record<string, unknown>).notMine === true) return false;
    this.added.push(raw);
    return true;
  }
  finishWindow(): void {
    this.windows++;
  }
}

/** A flow record of `nodeId` that started `startMs`, lasted 5 s and was logged `loggedMs`. */
function flow(nodeId: string, startMs: number, loggedMs = startMs + 7_500): Record<string, unknown> {
  return { nodeId, start: iso(startMs), end: iso(startMs + 5 * SECOND), logged: iso(loggedMs) };
}

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly collector?: string;
  readonly err?: string;
  readonly scope?: string;
  readonly skipped_seconds?: number;
}

type Setup = Partial<
  Pick<LogPollerOptions, 'intervalMs' | 'lagMs' | 'lookbackMs' | 'unavailableRetryMs' | 'loggingOn'>
>;

/** A fake source, the records (shared by every poller made), a logger and the clock; pollers stopped at the end. */
function setup(t: TestContext, kind: LogKind = 'flowlogs', o: Setup & { maxKeys?: number } = {}) {
  let nowMs = T0;
  const source = new FakeLogSource();
  const sink = new FakeSink();
  const records = new LogRecords(kind, sink, o.maxKeys);
  const { log, lines } = memoryLogger();
  const made: LogPoller[] = [];
  t.after(async () => {
    for (const p of made) await p.stop();
  });
  const poller = (): LogPoller => {
    const p = new LogPoller({
      source,
      records,
      intervalMs: o.intervalMs ?? MINUTE,
      lagMs: o.lagMs ?? 2 * MINUTE,
      lookbackMs: o.lookbackMs ?? 5 * MINUTE,
      log,
      now: () => nowMs,
      ...(o.unavailableRetryMs === undefined ? {} : { unavailableRetryMs: o.unavailableRetryMs }),
      ...(o.loggingOn === undefined ? {} : { loggingOn: o.loggingOn }),
    });
    made.push(p);
    return p;
  };
  const logged = (): LogLine[] => lines.map((l) => JSON.parse(l) as LogLine);
  return {
    source,
    sink,
    poller,
    logged,
    warnings: (): LogLine[] => logged().filter((l) => l.level === 40),
    advance: (ms: number): void => {
      nowMs += ms;
    },
  };
}

/** The self-metrics and collector success the exporter would serve for this flow-log poller. */
function exported(poll: LogPoller): Map<string, number> {
  const families = runCollectors(refreshData([]), [
    makeFlowLogsCollector(() => ({ flows: new FlowTotals(), poll })),
    makeLogPollersCollector(() => [['flowlogs', poll]]),
  ]);
  const out = new Map<string, number>();
  for (const f of families)
    for (const s of f.samples) {
      const labels = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`);
      out.set(`${f.name}{${labels.join(',')}}`, s.value);
    }
  return out;
}

const apiError = (status: number): ApiError =>
  new ApiError('/logging/network', 'http_status', `HTTP ${status} logging not supported`, status);

// --- Windows ---

test('the first window ends lag before now and reaches back the look-back; each next one overlaps the last', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  assert.equal(poller.kind, 'flowlogs');
  assert.equal(poller.windowEndSeconds, undefined, 'no window read yet');
  await poller.pollOnce();
  assert.deepEqual(
    s.source.calls.map((c) => [c.kind, c.startMs, c.endMs]),
    [['flowlogs', T0 - 7 * MINUTE, T0 - 2 * MINUTE]],
  );
  assert.equal(poller.windowEndSeconds, Math.floor((T0 - 2 * MINUTE) / SECOND));
  assert.equal(poller.windowEndSeconds, 1_749_999_880);
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.deepEqual(s.source.calls[1], {
    kind: 'flowlogs',
    startMs: T0 - 6 * MINUTE,
    endMs: T0 - MINUTE,
    signal: s.source.calls[0]!.signal,
  });
  assert.equal(poller.windowEndSeconds, 1_749_999_940);
  assert.equal(poller.skippedSeconds, 0);
});

test('a lag of 0s: the window ends now; the audit log is asked for as audit', async (t) => {
  const s = setup(t, 'audit', { lagMs: 0, lookbackMs: 10 * MINUTE });
  const poller = s.poller();
  assert.equal(poller.kind, 'audit');
  await poller.pollOnce();
  assert.deepEqual(
    s.source.calls.map((c) => [c.kind, c.startMs, c.endMs]),
    [['audit', T0 - 10 * MINUTE, T0]],
  );
  assert.equal(poller.windowEndSeconds, Math.floor(T0 / SECOND));
});

test('after missed polls the window reaches back to the last end; past an hour the gap is skipped, counted and said once', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  await poller.pollOnce();
  const firstEnd = T0 - 2 * MINUTE;
  s.advance(20 * MINUTE);
  await poller.pollOnce();
  assert.deepEqual(s.source.calls.map((c) => [c.startMs, c.endMs])[1], [firstEnd, firstEnd + 20 * MINUTE]);
  assert.equal(poller.skippedSeconds, 0);
  assert.equal(s.warnings().length, 0);

  // Three hours without a poll: one hour is read, the two before it are skipped.
  s.advance(3 * 60 * MINUTE);
  await poller.pollOnce();
  const end = firstEnd + 20 * MINUTE + 3 * 60 * MINUTE;
  assert.deepEqual(s.source.calls.map((c) => [c.startMs, c.endMs])[2], [end - 60 * MINUTE, end]);
  assert.equal(poller.skippedSeconds, 7200);
  assert.equal(poller.state, 'ok');
  const [warning, ...more] = s.warnings();
  assert.deepEqual(more, []);
  assert.ok(warning !== undefined);
  assert.equal(warning.collector, 'flowlogs');
  assert.equal(warning.skipped_seconds, 7200);
  assert.match(warning.msg, /not read for longer than one window.*not counted/);

  // Back on the interval: nothing more skipped; a second outage adds to the total.
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.skippedSeconds, 7200);
  s.advance(61 * MINUTE + 30 * SECOND);
  await poller.pollOnce();
  assert.equal(poller.skippedSeconds, 7200 + 90);
  assert.equal(s.warnings().length, 2);
  assert.equal(s.warnings()[1]!.skipped_seconds, 90);
});

test('a failed poll leaves the window where it was: the next one starts at the end of the last window read', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  await poller.pollOnce();
  const lastEnd = T0 - 2 * MINUTE;
  s.source.error = new Error('socket hang up');
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.state, 'error');
  assert.equal(poller.windowEndSeconds, Math.floor(lastEnd / SECOND), 'still the last window read whole');
  s.source.error = undefined;
  s.advance(9 * MINUTE);
  await poller.pollOnce();
  assert.deepEqual(s.source.calls.map((c) => [c.startMs, c.endMs])[2], [lastEnd, T0 + 8 * MINUTE]);
  assert.equal(poller.state, 'ok');
});

// --- Exactly once ---

test('every record is counted once over overlapping windows, late records included; the others are duplicates', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  const stored: Array<{ atMs: number; record: Record<string, unknown> }> = [];
  const store = (record: Record<string, unknown>, atMs: number): void => {
    stored.push({ atMs, record });
    s.source.store(atMs, record);
  };
  // Each minute two devices log a record; one in three arrives late, logged 4 minutes after its start.
  for (let i = 0; i < 12; i++) {
    const at = T0 - 8 * MINUTE + i * MINUTE;
    store(flow('n1', at - 7_500), at);
    const late = i % 3 === 0;
    const start = late ? at - 4 * MINUTE : at - 5_000;
    store(flow('n2', start, at), at);
  }
  for (let i = 0; i < 8; i++) {
    await poller.pollOnce();
    assert.equal(poller.state, 'ok');
    s.advance(MINUTE);
  }
  const served = stored.filter((r) => s.source.windowsHolding(r.atMs) > 0);
  assert.ok(served.length >= 18, `records served: ${served.length}`);
  assert.deepEqual(
    s.sink.added,
    served.map((r) => r.record),
    'each record handed to the totals once, in the order served',
  );
  assert.equal(poller.records, served.length);
  const again = served.reduce((n, r) => n + s.source.windowsHolding(r.atMs) - 1, 0);
  assert.ok(again > served.length, 'the windows overlapped');
  assert.equal(poller.duplicates, again);
  assert.equal(poller.invalid, 0);
  assert.equal(s.sink.windows, 8, 'each window finished once');
});

test('a window that fails midway: the records already read stay counted, and the window read again counts none twice', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  const records = [0, 1, 2, 3].map((i) => flow(`n${i}`, T0 - 6 * MINUTE + i * MINUTE));
  for (const r of records) s.source.store(Date.parse(String(r.logged)), r);
  s.source.error = apiError(502);
  s.source.failAfter = 2;
  await poller.pollOnce();
  assert.equal(poller.state, 'error');
  assert.deepEqual(s.sink.added, records.slice(0, 2), 'the totals keep what was read');
  assert.equal(s.sink.windows, 0, 'the window was not finished');
  assert.equal(poller.records, 2);
  s.source.error = undefined;
  await poller.pollOnce();
  assert.equal(poller.state, 'ok');
  assert.deepEqual(s.sink.added, records);
  assert.equal(poller.records, 4);
  assert.equal(poller.duplicates, 2);
  assert.equal(s.sink.windows, 1);
  assert.deepEqual(
    [...poller.polls],
    [
      ['error', 1],
      ['ok', 1],
    ],
  );
});

test('a new poller on the same records reads its first window over records already counted and counts none twice', async (t) => {
  const s = setup(t);
  for (let i = 0; i < 10; i++) s.source.store(T0 - 10 * MINUTE + i * MINUTE, flow('n1', T0 - 10 * MINUTE + i * MINUTE));
  const first = s.poller();
  for (let i = 0; i < 3; i++) {
    await first.pollOnce();
    s.advance(MINUTE);
  }
  await first.stop();
  const counted = s.sink.added.length;
  const duplicates = first.duplicates;
  assert.equal(counted, 7);
  s.advance(-MINUTE);
  const second = s.poller();
  assert.equal(second.windowEndSeconds, undefined, 'a new poller has no window position');
  assert.equal(second.records, counted, 'the totals are the records');
  await second.pollOnce();
  assert.deepEqual(s.source.calls.at(-1)?.startMs, T0 - 5 * MINUTE);
  assert.equal(s.sink.added.length, counted, 'nothing counted again');
  assert.equal(second.records, counted);
  assert.equal(second.duplicates, duplicates + 5);
  s.source.store(T0 + 30 * SECOND, flow('n2', T0));
  s.advance(MINUTE);
  await second.pollOnce();
  assert.equal(second.records, 8, 'the next record is counted');
});

test('two polls at once are one window: pollOnce is single-flight', async (t) => {
  const s = setup(t);
  s.source.store(T0 - 3 * MINUTE, flow('n1', T0 - 3 * MINUTE - 7_500));
  const poller = s.poller();
  const a = poller.pollOnce();
  const b = poller.pollOnce();
  assert.equal(a, b);
  await Promise.all([a, b]);
  assert.equal(s.source.calls.length, 1);
  assert.equal(poller.records, 1);
  assert.deepEqual([...poller.polls], [['ok', 1]]);
  await poller.pollOnce();
  assert.equal(s.source.calls.length, 2, 'the next call is a new poll');
});

// --- De-duplication state ---

test('a key is kept while a later window can return its record (until its latest time), then forgotten', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  // Started 10 minutes ago, logged 3 minutes ago: the API can return it until windows pass `logged`.
  const late = flow('n1', T0 - 10 * MINUTE, T0 - 3 * MINUTE + 20 * SECOND);
  // No `end`: held by its latest time given, `logged`.
  const noEnd = { nodeId: 'n2', start: iso(T0 - 4 * MINUTE), logged: iso(T0 - 3 * MINUTE + 40 * SECOND) };
  s.source.store(T0 - 3 * MINUTE + 20 * SECOND, late);
  s.source.store(T0 - 3 * MINUTE + 40 * SECOND, noEnd);
  await poller.pollOnce(); // [T0-7m, T0-2m]; keys older than T0-7m go
  assert.equal(poller.records, 2);
  assert.equal(poller.dedupKeys, 2);
  const kept: number[] = [];
  for (let i = 0; i < 6; i++) {
    s.advance(MINUTE);
    await poller.pollOnce();
    kept.push(poller.dedupKeys);
  }
  // Windows end at T0-1m ... T0+4m; the keys go once end - look-back passes their `logged`.
  assert.deepEqual(kept, [2, 2, 2, 2, 0, 0]);
  assert.equal(poller.records, 2, 'each returned by five windows, counted once');
  assert.equal(poller.duplicates, 8);
  assert.equal(poller.dedupEvictions, 0);
});

test('past the key cap the oldest key is evicted (and counted); its record would count again, the others not', async (t) => {
  const s = setup(t, 'flowlogs', { maxKeys: 2 });
  const a = flow('a', T0 - 6 * MINUTE);
  const b = flow('b', T0 - 5 * MINUTE);
  const c = flow('c', T0 - 4 * MINUTE);
  for (const r of [a, b, c]) s.source.store(Date.parse(String(r.logged)), r);
  const poller = s.poller();
  await poller.pollOnce();
  assert.equal(poller.records, 3);
  assert.equal(poller.dedupKeys, 2);
  assert.equal(poller.dedupEvictions, 1);
  // A window over b and c only: both still known.
  s.advance(MINUTE + 30 * SECOND);
  await poller.pollOnce();
  assert.equal(s.source.calls.at(-1)?.startMs, T0 - 5 * MINUTE - 30 * SECOND);
  assert.equal(poller.records, 3);
  assert.equal(poller.duplicates, 2);
  // a, the oldest, was forgotten: a window that returns it again counts it again.
  const m = exported(poller);
  assert.equal(m.get('tsmetrics_log_dedup_evictions_total{collector="flowlogs"}'), 1);
  assert.equal(m.get('tsmetrics_log_dedup_keys{collector="flowlogs"}'), 2);
  s.source.store(T0 - 4 * MINUTE + SECOND, a);
  await poller.pollOnce();
  assert.equal(poller.records, 4);
  assert.equal(s.sink.added.filter((r) => (r as { nodeId: string }).nodeId === 'a').length, 2);
});

// --- Records ---

test('flow records are held by their latest of start, end and logged; a record with none of them is invalid', async (t) => {
  const s = setup(t);
  const at = T0 - 3 * MINUTE;
  s.source.store(at, { nodeId: 's', start: iso(at) });
  s.source.store(at, { nodeId: 'e', end: iso(at) });
  s.source.store(at, { nodeId: 'l', logged: iso(at) });
  s.source.store(at, { nodeId: 'none' });
  s.source.store(at, { nodeId: 'numbers', start: 2026, end: 2026, logged: 2026 });
  const poller = s.poller();
  await poller.pollOnce();
  assert.deepEqual(
    s.sink.added.map((r) => (r as { nodeId: string }).nodeId),
    ['s', 'e', 'l'],
  );
  assert.equal(poller.records, 3);
  assert.equal(poller.invalid, 2);
  assert.equal(poller.dedupKeys, 3);
});

test('entries that are not records are invalid and the poll goes on: bad JSON, null, numbers, no time, not the sink’s', async (t) => {
  const s = setup(t, 'audit');
  const at = T0 - 3 * MINUTE;
  const good = { eventTime: iso(at), action: 'CREATE', eventGroupID: 'g1' };
  s.source.store(at, '{"eventTime": ');
  s.source.store(at, 'null');
  s.source.store(at, '5');
  s.source.store(at, '"text"');
  s.source.store(at, { action: 'CREATE', eventGroupID: 'g0' });
  s.source.store(at, { eventTime: 2026, action: 'CREATE' });
  s.source.store(at, { eventTime: iso(at), notMine: true });
  s.source.store(at, good);
  const poller = s.poller();
  await poller.pollOnce();
  assert.equal(poller.state, 'ok');
  assert.deepEqual(s.sink.added, [good]);
  assert.equal(poller.records, 1);
  assert.equal(poller.invalid, 7);
  assert.equal(poller.duplicates, 0);
  // The record the sink refused is known by its key: seen again, it is a duplicate, not invalid again.
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.invalid, 7 + 6);
  assert.equal(poller.duplicates, 2);
  assert.equal(poller.records, 1);
});

test('the newest record is placed by its start (not when it was logged), only ever moves forward, and ignores records without one', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  const at = T0 - 3 * MINUTE;
  s.source.store(at, { nodeId: 'no-start', end: iso(at) });
  await poller.pollOnce();
  assert.equal(poller.records, 1);
  assert.equal(poller.newestRecordSeconds, undefined, 'a record without start places nothing');
  s.source.store(at + SECOND, flow('a', at - 60 * SECOND, at + SECOND));
  s.source.store(at + 2 * SECOND, { nodeId: 'no-start-2', end: iso(at) });
  s.source.store(at + 3 * SECOND, flow('b', at - 90 * SECOND, at + 3 * SECOND));
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.records, 4);
  assert.equal(poller.newestRecordSeconds, (at - 60 * SECOND) / SECOND, 'an older start does not move it back');
  s.source.store(at + 4 * SECOND, flow('c', at - 30 * SECOND, at + 4 * SECOND));
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.newestRecordSeconds, (at - 30 * SECOND) / SECOND);
  assert.equal(
    exported(poller).get('tsmetrics_log_newest_record_timestamp_seconds{collector="flowlogs"}'),
    (at - 30 * SECOND) / SECOND,
  );
});

test('audit records are held and placed by eventTime', async (t) => {
  const s = setup(t, 'audit');
  const at = T0 - 3 * MINUTE;
  s.source.store(at, { eventTime: iso(at), action: 'UPDATE', eventGroupID: 'g1' });
  const poller = s.poller();
  await poller.pollOnce();
  assert.equal(poller.records, 1);
  assert.equal(poller.invalid, 0);
  assert.equal(poller.newestRecordSeconds, at / SECOND);
  assert.equal(poller.dedupKeys, 1);
  s.advance(5 * MINUTE);
  await poller.pollOnce(); // ends T0+3m: nothing later than T0-2m can come back
  assert.equal(poller.dedupKeys, 0);
  assert.equal(poller.records, 1);
});

// --- Not available ---

test('404 on flow logs: one warning with the fix, then quiet; retried on the long interval; success 0 with the reason; recovery is said', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  let m = exported(poller);
  assert.equal(poller.state, 'pending');
  assert.equal(m.get('tsmetrics_log_poll_state{collector="flowlogs",state="pending"}'), 1);
  assert.equal(m.get('tsmetrics_collector_success{collector="flowlogs"}'), 1, 'not asked yet is not a failure');
  s.source.error = apiError(404);
  for (let i = 0; i < 4; i++) await poller.pollOnce();
  assert.equal(poller.state, 'not_supported');
  assert.equal(poller.nextDelayMs(), UNAVAILABLE_RETRY_MS);
  assert.deepEqual([...poller.polls], [['not_supported', 4]]);
  const [warning, ...more] = s.warnings();
  assert.deepEqual(more, [], 'said once');
  assert.ok(warning !== undefined);
  assert.equal(warning.collector, 'flowlogs');
  assert.equal(warning.err, 'TSM_API: /logging/network: HTTP 404 logging not supported');
  assert.equal(
    warning.msg,
    'the Tailscale API has no network flow logs for this tailnet (404): network flow logs need the Premium or Enterprise plan; remove flowlogs from COLLECTORS if that is expected; asked again every 15m',
  );
  m = exported(poller);
  assert.equal(m.get('tsmetrics_collector_success{collector="flowlogs"}'), 0);
  assert.equal(m.get('tsmetrics_log_poll_state{collector="flowlogs",state="not_supported"}'), 1);
  assert.equal(m.get('tsmetrics_log_poll_state{collector="flowlogs",state="pending"}'), 0);
  assert.equal(m.get('tsmetrics_log_polls_total{collector="flowlogs",result="not_supported"}'), 4);

  s.source.error = undefined;
  await poller.pollOnce();
  assert.equal(poller.state, 'ok');
  assert.equal(poller.nextDelayMs(), MINUTE);
  const info = s.logged().filter((l) => l.level === 30);
  assert.deepEqual(
    info.map((l) => [l.collector, l.msg]),
    [['flowlogs', 'log readable again']],
  );
  assert.equal(s.warnings().length, 1);
  m = exported(poller);
  assert.equal(m.get('tsmetrics_collector_success{collector="flowlogs"}'), 1);
  assert.equal(m.get('tsmetrics_log_poll_state{collector="flowlogs",state="ok"}'), 1);
});

test('the first window read is not a recovery: nothing is logged', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  await poller.pollOnce();
  await poller.pollOnce();
  assert.equal(poller.state, 'ok');
  assert.deepEqual(s.logged(), []);
});

test('404 on the audit log names the audit log and the deployment', async (t) => {
  const s = setup(t, 'audit', { unavailableRetryMs: 30 * MINUTE });
  const poller = s.poller();
  s.source.error = apiError(404);
  await poller.pollOnce();
  assert.equal(poller.state, 'not_supported');
  assert.equal(poller.nextDelayMs(), 30 * MINUTE);
  assert.deepEqual(
    s.warnings().map((w) => [w.collector, w.msg]),
    [
      [
        'audit',
        'the Tailscale API has no audit log for this tailnet (404): this deployment of Tailscale has no configuration audit log; remove audit from COLLECTORS if that is expected; asked again every 30m',
      ],
    ],
  );
});

test('403: missing_scope, said once with the scope to grant, retried on the long interval; each log names its own scope', async (t) => {
  for (const [kind, scope] of [
    ['flowlogs', 'logs:network:read'],
    ['audit', 'logs:configuration:read'],
  ] as const) {
    const s = setup(t, kind);
    const poller = s.poller();
    s.source.error = apiError(403);
    for (let i = 0; i < 3; i++) await poller.pollOnce();
    assert.equal(poller.state, 'missing_scope');
    assert.equal(poller.nextDelayMs(), UNAVAILABLE_RETRY_MS);
    const [warning, ...more] = s.warnings();
    assert.deepEqual(more, []);
    assert.ok(warning !== undefined);
    assert.equal(warning.collector, kind);
    assert.equal(warning.scope, scope);
    assert.equal(warning.err, 'TSM_API: /logging/network: HTTP 403 logging not supported');
    assert.equal(
      warning.msg,
      `the Tailscale API refused the ${kind} collector (403): grant the OAuth client ${scope}, or remove ${kind} from COLLECTORS; asked again every 15m`,
    );
    await poller.stop();
  }
});

test('the long retry is never shorter than the interval', async (t) => {
  const s = setup(t, 'flowlogs', { intervalMs: 20 * MINUTE, unavailableRetryMs: 5 * MINUTE });
  const poller = s.poller();
  s.source.error = apiError(403);
  await poller.pollOnce();
  assert.equal(poller.nextDelayMs(), 20 * MINUTE);
  assert.match(s.warnings()[0]!.msg, /asked again every 20m$/);
});

test('flow logging off in the settings: an empty answer is logging_off, said once, retried rarely; records or an unknown setting are ok', async (t) => {
  let on: boolean | undefined = false;
  const s = setup(t, 'flowlogs', { loggingOn: () => on });
  const poller = s.poller();
  for (let i = 0; i < 3; i++) await poller.pollOnce();
  assert.equal(poller.state, 'logging_off');
  assert.equal(poller.nextDelayMs(), UNAVAILABLE_RETRY_MS);
  assert.deepEqual(
    s.warnings().map((w) => [w.collector, w.msg]),
    [
      [
        'flowlogs',
        'network flow logging is off for this tailnet: turn it on in the admin console (Logs, Network flow logs); asked again every 15m',
      ],
    ],
  );
  assert.equal(exported(poller).get('tsmetrics_collector_success{collector="flowlogs"}'), 0);
  on = undefined;
  await poller.pollOnce();
  assert.equal(poller.state, 'ok', 'the setting not known: an empty answer is just empty');
  on = false;
  s.source.store(T0 - 3 * MINUTE, flow('n1', T0 - 3 * MINUTE - 7_500));
  await poller.pollOnce();
  assert.equal(poller.state, 'ok', 'records came: the log is on whatever the setting said');
  assert.equal(poller.records, 1);
});

test('other failures are state error, said once when the log was readable, retried next interval, the totals kept', async (t) => {
  const s = setup(t);
  const poller = s.poller();
  s.source.store(T0 - 3 * MINUTE, flow('n1', T0 - 3 * MINUTE - 7_500));
  s.source.error = new Error('socket hang up');
  await poller.pollOnce();
  assert.equal(poller.state, 'error');
  assert.equal(poller.nextDelayMs(), MINUTE);
  assert.equal(exported(poller).get('tsmetrics_collector_success{collector="flowlogs"}'), 0);
  s.source.error = apiError(500);
  await poller.pollOnce();
  assert.equal(poller.state, 'error', 'an API error other than 404 and 403 is an error');
  assert.equal(poller.records, 0);
  assert.deepEqual(
    s.warnings().map((w) => [w.collector, w.err, w.msg]),
    [
      [
        'flowlogs',
        'socket hang up',
        'log could not be read; trying again next interval (the window is read again then)',
      ],
    ],
  );

  s.source.error = undefined;
  await poller.pollOnce();
  assert.equal(poller.records, 1);
  s.source.error = apiError(500);
  s.advance(MINUTE);
  await poller.pollOnce();
  assert.equal(poller.records, 1, 'a failed poll keeps the totals');
  assert.equal(s.warnings().length, 2, 'readable, then failing: said again');
  assert.equal(s.warnings()[1]!.err, 'TSM_API: /logging/network: HTTP 500 logging not supported');

  // An unavailable log that then fails otherwise has said its piece already.
  s.source.error = apiError(404);
  await poller.pollOnce();
  s.source.error = new Error('socket hang up');
  await poller.pollOnce();
  assert.equal(poller.state, 'error');
  assert.equal(s.warnings().length, 3);
  assert.match(s.warnings()[2]!.msg, /404/);
  assert.deepEqual(
    [...poller.polls],
    [
      ['error', 4],
      ['ok', 1],
      ['not_supported', 1],
    ],
  );
});

test('the poll duration is the time the window took to read', async (t) => {
  const s = setup(t);
  let clock = 5_000;
  t.mock.method(performance, 'now', () => clock);
  s.source.during = () => {
    clock += 1_500;
  };
  const poller = s.poller();
  await poller.pollOnce();
  assert.equal(poller.durationSeconds, 1.5);
  s.source.during = () => {
    clock += 250;
  };
  s.source.error = apiError(404);
  await poller.pollOnce();
  assert.equal(poller.durationSeconds, 0.25, 'a failed poll too');
});

// --- Timers ---

test('start polls at once, then every interval, every long retry while unavailable; stop() ends it', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const s = setup(t, 'flowlogs', { unavailableRetryMs: 10 * MINUTE });
  const poller = s.poller();
  poller.start();
  await settle();
  assert.equal(s.source.calls.length, 1, 'at once');
  t.mock.timers.tick(MINUTE - 1);
  await settle();
  assert.equal(s.source.calls.length, 1);
  t.mock.timers.tick(1);
  await settle();
  assert.equal(s.source.calls.length, 2, 'after the interval');
  s.source.error = apiError(404);
  t.mock.timers.tick(MINUTE);
  await settle();
  assert.equal(s.source.calls.length, 3);
  assert.equal(poller.state, 'not_supported');
  t.mock.timers.tick(10 * MINUTE - 1);
  await settle();
  assert.equal(s.source.calls.length, 3, 'unavailable: not asked again within the long retry');
  t.mock.timers.tick(1);
  await settle();
  assert.equal(s.source.calls.length, 4);
  await poller.stop();
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(10 * MINUTE);
    await settle();
  }
  assert.equal(s.source.calls.length, 4, 'no poll after stop()');
});

test('stop() during a poll aborts it quietly (not a failure) and nothing is scheduled; start() again polls again and counts nothing twice', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const s = setup(t);
  s.source.store(T0 - 3 * MINUTE, flow('n1', T0 - 3 * MINUTE - 7_500));
  const poller = s.poller();
  poller.start();
  await settle();
  assert.equal(poller.records, 1);
  s.source.hang = true;
  t.mock.timers.tick(MINUTE);
  await settle();
  assert.equal(s.source.calls.length, 2);
  await poller.stop();
  const signal = s.source.calls[1]!.signal;
  assert.equal(signal?.aborted, true);
  assert.equal((signal.reason as Error).message, 'shutting down');
  assert.equal(poller.state, 'ok', 'an aborted poll changes nothing');
  assert.deepEqual([...poller.polls], [['ok', 1]]);
  assert.deepEqual(s.warnings(), []);
  for (let i = 0; i < 3; i++) {
    t.mock.timers.tick(10 * MINUTE);
    await settle();
  }
  assert.equal(s.source.calls.length, 2, 'nothing scheduled after stop()');

  // Started again in the same process: the window read again, nothing counted twice.
  s.source.hang = false;
  poller.start();
  await settle();
  assert.equal(s.source.calls.length, 3);
  assert.equal(s.source.calls[2]!.signal?.aborted, false, 'a fresh signal');
  assert.equal(poller.records, 1);
  assert.equal(poller.duplicates, 1);
  t.mock.timers.tick(MINUTE);
  await settle();
  assert.equal(s.source.calls.length, 4, 'on its interval again');
  await poller.stop();
});
