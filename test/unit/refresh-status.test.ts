import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failureHint, RefreshStatus, type CycleRecord } from '../../src/refresh/status.js';

// What /health, /debug and the status page are told about refreshing: the hint for each scrape failure, the
// last outcome of a cycle, the bounded history and the collectors' last errors.

const REFUSED =
  'connection refused: the web client is off on the device; run `tailscale set --webclient` there (Tailscale 1.78 or later)';
const TIMEOUT =
  'no answer in time: the tailnet policy probably does not allow tcp:5252 from the exporter to this device, or the device is unreachable';
const REDIRECTED =
  'redirected: the web client answers requests not addressed to its Tailscale IP with a 301; scrape by IP';
const NOT_FOUND = 'not found: the client does not serve /metrics; Tailscale 1.78 or later is needed';

test('a refused connection hints at the web client, only when the message says ECONNREFUSED', () => {
  assert.equal(failureHint('connect', 'connect ECONNREFUSED 100.64.0.1:5252'), REFUSED);
  assert.equal(failureHint('connect', 'connect EHOSTUNREACH 100.64.0.1:5252'), '');
  assert.equal(failureHint('connect', 'econnrefused'), '', 'the code is matched as written');
  assert.equal(failureHint('parse', 'ECONNREFUSED'), 'the response is not valid Prometheus text format');
  assert.equal(failureHint('other', 'connect ECONNREFUSED 100.64.0.1:5252'), '', 'another reason is not a refusal');
});

test('a timeout hints at the tailnet policy, whatever the message and status', () => {
  assert.equal(failureHint('timeout', ''), TIMEOUT);
  assert.equal(failureHint('timeout', 'connect ECONNREFUSED', 404), TIMEOUT);
  assert.equal(failureHint('timeouts', ''), '');
});

test('an HTTP status from 300 to 399 is a redirect, 404 is a missing /metrics, others have no hint', () => {
  assert.equal(failureHint('http_status', 'HTTP 300', 300), REDIRECTED);
  assert.equal(failureHint('http_status', 'HTTP 301', 301), REDIRECTED);
  assert.equal(failureHint('http_status', 'HTTP 399', 399), REDIRECTED);
  assert.equal(failureHint('http_status', 'HTTP 299', 299), '');
  assert.equal(failureHint('http_status', 'HTTP 400', 400), '');
  assert.equal(failureHint('http_status', 'HTTP 404', 404), NOT_FOUND);
  assert.equal(failureHint('http_status', 'HTTP 403', 403), '');
  assert.equal(failureHint('http_status', 'HTTP 405', 405), '');
  assert.equal(failureHint('http_status', 'HTTP 500', 500), '');
  assert.equal(failureHint('http_status', 'no status'), '', 'no status, no hint');
});

test('a redirect or 404 status under another reason is not hinted as one', () => {
  assert.equal(failureHint('connect', 'reset', 301), '');
  assert.equal(failureHint('connect', 'reset', 404), '');
  assert.equal(failureHint('too_large', 'x', 404), 'the response exceeds CLIENT_METRICS_MAX_BYTES');
});

test('size, series and parse failures name the limit or the format; an unknown reason has no hint', () => {
  assert.equal(failureHint('too_large', 'body exceeds 1 bytes'), 'the response exceeds CLIENT_METRICS_MAX_BYTES');
  assert.equal(
    failureHint('too_many_series', '5 series'),
    'the device sends more series than CLIENT_METRICS_MAX_SERIES',
  );
  assert.equal(failureHint('parse', 'line 3'), 'the response is not valid Prometheus text format');
  assert.equal(failureHint('', ''), '');
  assert.equal(failureHint('aborted', 'stopping'), '');
});

const cycle = (n: number, apiOk = true): CycleRecord => ({
  startedAt: new Date(n * 1000).toISOString(),
  durationSeconds: n,
  scrapeDurationSeconds: n / 2,
  apiOk,
  ...(apiOk ? {} : { apiError: 'HTTP 500' }),
  devicesDiscovered: n + 10,
  devicesEligible: n + 5,
  devicesScraped: n + 1,
  scrapeFailures: 0,
});

test('a new status has seen nothing: no cycle, no selection, no failing device, no collector', () => {
  const status = new RefreshStatus(1_000);
  assert.equal(status.startedAtMs, 1_000);
  assert.equal(status.lastCycleAtMs, undefined);
  assert.equal(status.lastApiSuccessAtMs, undefined);
  assert.equal(status.devicesDiscovered, 0);
  assert.equal(status.devicesScraped, 0);
  assert.deepEqual(status.history(), []);
  assert.deepEqual(status.failingDevices, []);
  assert.deepEqual(status.selections, []);
  assert.equal(status.scrapes.size, 0);
  assert.deepEqual(status.collectors(), []);
});

test('a cycle sets the last cycle time and device counts; only a cycle whose API call worked is an API success', () => {
  const status = new RefreshStatus(0);
  status.record(cycle(1), 5_000);
  assert.equal(status.lastCycleAtMs, 5_000);
  assert.equal(status.lastApiSuccessAtMs, 5_000);
  assert.equal(status.devicesDiscovered, 11);
  assert.equal(status.devicesScraped, 2);
  status.record(cycle(2, false), 9_000);
  assert.equal(status.lastCycleAtMs, 9_000);
  assert.equal(status.lastApiSuccessAtMs, 5_000, 'a failed API call leaves the last success where it was');
  assert.equal(status.devicesDiscovered, 12);
  assert.equal(status.devicesScraped, 3);
});

test('the history keeps the last 20 cycles in order, dropping the oldest only past 20', () => {
  const status = new RefreshStatus(0);
  for (let n = 1; n <= 20; n++) status.record(cycle(n), n * 1000);
  assert.deepEqual(
    status.history().map((c) => c.durationSeconds),
    Array.from({ length: 20 }, (_, i) => i + 1),
    'exactly 20 are all kept',
  );
  status.record(cycle(21), 21_000);
  assert.deepEqual(
    status.history().map((c) => c.durationSeconds),
    Array.from({ length: 20 }, (_, i) => i + 2),
  );
  assert.deepEqual(status.history()[19], cycle(21));
});

test('the history is a copy: changing it changes nothing recorded', () => {
  const status = new RefreshStatus(0);
  status.record(cycle(1), 1_000);
  const copy = status.history() as CycleRecord[];
  copy.push(cycle(2));
  copy.shift();
  assert.deepEqual(status.history(), [cycle(1)]);
});

test('a collector error is remembered with its time until another error replaces it, and only for that collector', () => {
  const status = new RefreshStatus(0);
  status.recordCollectors(
    [
      { collector: 'users', ok: true, durationSeconds: 0.5 },
      { collector: 'keys', ok: false, durationSeconds: 1, error: 'HTTP 500' },
    ],
    Date.UTC(2026, 0, 1),
  );
  assert.deepEqual(status.collectors(), [
    { collector: 'users', ok: true, durationSeconds: 0.5 },
    {
      collector: 'keys',
      ok: false,
      durationSeconds: 1,
      error: 'HTTP 500',
      lastError: { message: 'HTTP 500', at: '2026-01-01T00:00:00.000Z' },
    },
  ]);
  assert.ok(!('lastError' in status.collectors()[0]!), 'a collector that never failed has no lastError');
  status.recordCollectors(
    [
      { collector: 'users', ok: true, durationSeconds: 0.25 },
      { collector: 'keys', ok: true, durationSeconds: 2 },
    ],
    Date.UTC(2026, 0, 2),
  );
  assert.deepEqual(status.collectors(), [
    { collector: 'users', ok: true, durationSeconds: 0.25 },
    {
      collector: 'keys',
      ok: true,
      durationSeconds: 2,
      lastError: { message: 'HTTP 500', at: '2026-01-01T00:00:00.000Z' },
    },
  ]);
  status.recordCollectors(
    [{ collector: 'keys', ok: false, durationSeconds: 3, error: 'HTTP 403' }],
    Date.UTC(2026, 0, 3, 12),
  );
  assert.deepEqual(status.collectors(), [
    {
      collector: 'keys',
      ok: false,
      durationSeconds: 3,
      error: 'HTTP 403',
      lastError: { message: 'HTTP 403', at: '2026-01-03T12:00:00.000Z' },
    },
  ]);
});

test('a collector missing from a cycle forgets its last error', () => {
  const status = new RefreshStatus(0);
  status.recordCollectors([{ collector: 'dns', ok: false, durationSeconds: 1, error: 'boom' }], 0);
  status.recordCollectors([{ collector: 'users', ok: true, durationSeconds: 1 }], 1_000);
  status.recordCollectors([{ collector: 'dns', ok: true, durationSeconds: 1 }], 2_000);
  assert.deepEqual(status.collectors(), [{ collector: 'dns', ok: true, durationSeconds: 1 }]);
});
