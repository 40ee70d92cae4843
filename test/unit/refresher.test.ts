import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { buildCollectors, COLLECTORS } from '../../src/collectors/index.js';
import { COLLECTOR_NAMES } from '../../src/config/schema.js';
import type { Collector } from '../../src/collectors/collector.js';
import type { DeviceList, DeviceSource } from '../../src/control/control.js';
import type { Device } from '../../src/control/device.js';
import { EMPTY_INVENTORY, type InventoryData } from '../../src/control/inventory.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { parseExposition } from '../../src/devices/parse/index.js';
import type { DeviceScraper, KeepFamilies, ScrapeResult } from '../../src/devices/scraper.js';
import type { ScrapeTarget, Selection } from '../../src/devices/targets.js';
import { counter, gauge, type MetricFamily } from '../../src/exposition/family.js';
import { SnapshotStore, type Snapshot } from '../../src/exposition/snapshot.js';
import type { Inventory } from '../../src/refresh/inventory.js';
import { Refresher } from '../../src/refresh/refresher.js';
import { failureHint, RefreshStatus } from '../../src/refresh/status.js';
import { device } from '../helpers/devices.js';
import { memoryLogger } from '../helpers/log.js';
import { refreshData } from '../helpers/refresh-data.js';

// One refresh cycle at a time, with fakes for the API, the scraper and the clock: what the cycle publishes
// (the snapshot's text), reports (RefreshStatus) and logs, cycle after cycle.

const T0 = 1_750_000_000_000;
const INTERVAL_MS = 60_000;

const A = device({ id: '1', name: 'a.ts.net', addresses: ['100.64.0.1'] });
const B = device({ id: '2', name: 'b.ts.net', addresses: ['100.64.0.2'] });
const C = device({ id: '3', name: 'c.ts.net', addresses: ['100.64.0.3'] });
const D = device({ id: '4', name: 'd.ts.net', addresses: ['100.64.0.4'] });
const OFFLINE = device({ id: '5', name: 'e.ts.net', addresses: ['100.64.0.5'], online: false });
const REFUSED = device({ id: '6', name: 'f.ts.net', addresses: ['100.64.0.6'], tags: ['tag:refused'] });

const urlOf = (d: Device): string => `http://${d.addresses[0]}:5252/metrics`;
const labels = (d: Device): string => `device_id="${d.id}",device_name="${d.name}"`;
const online = (d: Device): string => `tailscale_device_online{${labels(d)}}`;
const clientSeries = (d: Device): string => `tailscaled_inbound_bytes_total{${labels(d)},path="derp"}`;
const scrapeUp = (d: Device): string => `tsmetrics_device_scrape_up{${labels(d)}}`;
const iso = (ms: number): string => new Date(ms).toISOString();

const body = (value: number, extra = ''): string =>
  `# HELP tailscaled_inbound_bytes_total In.\n# TYPE tailscaled_inbound_bytes_total counter\ntailscaled_inbound_bytes_total{path="derp"} ${value}\n${extra}`;

type Failure = Extract<ScrapeResult, { ok: false }>;
/** What a fake device answers: a body, or a failure. */
type Answer = { readonly body: string } | Pick<Failure, 'reason' | 'message' | 'status'>;

class FakeScraper {
  /** The targets of each scrapeAll call, in order. */
  readonly calls: ScrapeTarget[][] = [];
  answer: (t: ScrapeTarget) => Answer = () => ({ body: body(1) });
  /** Awaited before a call with targets answers. */
  hold: ((signal: AbortSignal | undefined) => Promise<void>) | undefined;
  /** Called after `keep` took a device's families. */
  onKept: ((target: ScrapeTarget, kept: readonly MetricFamily[]) => void) | undefined;

  async scrapeAll(
    targets: readonly ScrapeTarget[],
    signal?: AbortSignal,
    keep?: KeepFamilies,
  ): Promise<ScrapeResult[]> {
    this.calls.push([...targets]);
    if (targets.length > 0 && this.hold !== undefined) await this.hold(signal);
    return targets.map((target): ScrapeResult => {
      const a = this.answer(target);
      if (!('body' in a)) return { ok: false, target, ...a, durationSeconds: 0.01 };
      const parsed = parseExposition(a.body);
      assert.ok(parsed.ok);
      const series = parsed.families.reduce((n, f) => n + f.samples.length, 0);
      const families = keep === undefined ? parsed.families : keep(parsed.families, target);
      this.onKept?.(target, families);
      return { ok: true, target, families, bytes: a.body.length, durationSeconds: 0.01, series };
    });
  }

  /** The URLs of each call. */
  urls(): string[][] {
    return this.calls.map((c) => c.map((t) => t.url));
  }
}

/** Keeps every snapshot swapped in, in order. */
class RecordingStore extends SnapshotStore {
  readonly swaps: Snapshot[] = [];
  override swap(next: Snapshot): void {
    this.swaps.push(next);
    super.swap(next);
  }
}

/** Online devices are scraped at their first address; tag:refused ones are refused. */
const select = (devices: readonly Device[]): Selection[] =>
  devices.map((d): Selection => {
    if (!d.online) return { device: d, state: 'offline' };
    if (d.tags.includes('tag:refused')) return { device: d, state: 'address_refused' };
    const address = d.addresses[0]!;
    return { device: d, state: 'eligible', target: { deviceId: d.id, deviceName: d.name, address, url: urlOf(d) } };
  });

interface LogRecord {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}
const DEBUG = 20;
const INFO = 30;
const WARN = 40;
const ERROR = 50;

interface Setup {
  readonly devices?: readonly Device[];
  readonly level?: 'debug' | 'info';
  readonly collectors?: readonly Collector[];
  readonly scrapeDevices?: boolean;
  readonly intervalMs?: number;
  readonly inventory?: Inventory;
  readonly simulated?: boolean;
  readonly apiStats?: RequestStats;
}

function setup(t: TestContext, o: Setup = {}) {
  const clock = { ms: T0 };
  const { log, lines } = memoryLogger(o.level ?? 'info');
  const api = {
    calls: 0,
    devices: o.devices ?? [],
    invalidDevices: 0,
    /** When set, the list call fails with this. */
    fail: undefined as unknown,
    /** When set, answers the list call instead. */
    list: undefined as ((signal: AbortSignal | undefined) => Promise<DeviceList>) | undefined,
  };
  const source: DeviceSource = {
    listDevices: (signal) => {
      api.calls++;
      if (api.list !== undefined) return api.list(signal);
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- a non-Error rejection is tested too
      if (api.fail !== undefined) return Promise.reject(api.fail);
      return Promise.resolve({ devices: api.devices, invalidDevices: api.invalidDevices });
    },
  };
  const scraper = new FakeScraper();
  const store = new RecordingStore();
  const status = new RefreshStatus(T0 - 3_600_000);
  const refresher = new Refresher({
    api: source,
    apiStats: o.apiStats ?? new RequestStats(),
    select,
    scraper: scraper as unknown as DeviceScraper,
    store,
    status,
    log,
    intervalMs: o.intervalMs ?? INTERVAL_MS,
    version: '1.2.3-test',
    now: () => clock.ms,
    ...(o.collectors === undefined ? {} : { collectors: o.collectors }),
    ...(o.scrapeDevices === undefined ? {} : { scrapeDevices: o.scrapeDevices }),
    ...(o.inventory === undefined ? {} : { inventory: o.inventory }),
    ...(o.simulated === undefined ? {} : { simulated: o.simulated }),
  });
  t.after(() => refresher.stop());
  return {
    refresher,
    store,
    status,
    scraper,
    api,
    clock,
    records: (): LogRecord[] => lines.map((l) => JSON.parse(l) as LogRecord),
    logged: (msg: string): LogRecord[] => lines.map((l) => JSON.parse(l) as LogRecord).filter((r) => r.msg === msg),
    /** One cycle at the clock's time; the clock then moves on by one interval. */
    run: async (): Promise<void> => {
      await refresher.runOnce();
      clock.ms += INTERVAL_MS;
    },
    text: async (snapshot = store.current()): Promise<string> => {
      assert.ok(snapshot !== undefined, 'a snapshot was published');
      return (await snapshot.plain()).toString('utf8');
    },
  };
}

/** The value of one series in exposition text; undefined when it is absent. */
function metric(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** Waits, a bounded number of times, for a condition. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition(), `waited for: ${what}`);
}

/** A list call that never answers: it fails when the cycle is aborted. */
/** Why the list calls given to listUntilAborted were aborted. */
const abortReasons: unknown[] = [];
const listUntilAborted = (signal: AbortSignal | undefined): Promise<DeviceList> =>
  new Promise((_, reject) => {
    assert.ok(signal !== undefined, 'the list call gets the cycle signal');
    signal.addEventListener(
      'abort',
      () => {
        abortReasons.push(signal.reason);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

const SERVING_LAST_GOOD = 'device list refresh failed; serving the last good data';
const NO_LIST_YET = 'device list refresh failed; no device list yet, so no device data until the API answers';
const DROPPED =
  'series left out of /metrics (invalid or repeated); counted in tsmetrics_exposition_dropped_series_total, logged once';
const OVERRUN = 'refresh cycle took longer than SCRAPE_INTERVAL; the next one starts now';
const UNEXPECTED = 'refresh cycle failed unexpectedly';

test('an API failure after a good list keeps serving the last good devices and reports the API down', async (t) => {
  const h = setup(t, { devices: [A, B] });
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_api_up'), 1);

  h.api.fail = new Error('devices: HTTP 503');
  await h.run();
  const text = await h.text();
  assert.equal(metric(text, online(A)), 1, 'the last good devices are still served');
  assert.equal(metric(text, online(B)), 1);
  assert.equal(metric(text, 'tsmetrics_api_up'), 0);
  assert.equal(metric(text, 'tsmetrics_api_refresh_failures_total'), 1);
  assert.equal(metric(text, 'tsmetrics_last_successful_refresh_timestamp_seconds'), T0 / 1000);
  assert.equal(metric(text, 'tsmetrics_devices_discovered'), 2);
  assert.equal(metric(text, 'tsmetrics_collector_success{collector="devices"}'), 0);
  assert.equal(metric(text, clientSeries(A)), 1, 'the last good devices are still scraped');
  assert.deepEqual(h.scraper.urls().slice(2), [[urlOf(A), urlOf(B)], []], 'cycle 2 scraped the devices it knew early');

  const [good, failed] = h.status.history();
  assert.equal(good?.apiOk, true);
  assert.equal(good !== undefined && 'apiError' in good, false);
  assert.equal(failed?.apiOk, false);
  assert.equal(failed?.apiError, 'devices: HTTP 503');
  assert.equal(failed?.devicesDiscovered, 2);
  assert.equal(h.status.lastApiSuccessAtMs, T0);
  assert.equal(h.status.lastCycleAtMs, T0 + INTERVAL_MS);

  let failures = h.logged(SERVING_LAST_GOOD);
  assert.equal(failures.length, 1);
  assert.equal(failures[0]?.level, ERROR, 'the first failure of an outage is an error');
  assert.equal(failures[0]?.err, 'devices: HTTP 503');
  assert.equal(failures[0]?.serving_devices_from, T0 / 1000);
  assert.deepEqual(h.logged(NO_LIST_YET), []);

  await h.run();
  failures = h.logged(SERVING_LAST_GOOD);
  assert.deepEqual(
    failures.map((r) => r.level),
    [ERROR, WARN],
    'a failure while the outage lasts is a warning',
  );
  assert.deepEqual(h.logged('Tailscale API reachable again'), []);

  h.api.fail = undefined;
  await h.run();
  await h.run();
  const recovered = h.logged('Tailscale API reachable again');
  assert.equal(recovered.length, 1, 'the recovery is logged once');
  assert.equal(recovered[0]?.level, INFO);
  assert.equal(h.logged(SERVING_LAST_GOOD).length, 2);
  const after = await h.text();
  assert.equal(metric(after, 'tsmetrics_api_up'), 1);
  assert.equal(metric(after, 'tsmetrics_api_refresh_failures_total'), 2);
  assert.equal(metric(after, 'tsmetrics_last_successful_refresh_timestamp_seconds'), (T0 + 4 * INTERVAL_MS) / 1000);
});

test('an API failure before any list serves no devices and says there is no device list yet', async (t) => {
  const h = setup(t, { devices: [A] });
  h.api.fail = new Error('connect ECONNREFUSED');
  await h.run();
  const text = await h.text();
  assert.equal(metric(text, 'tsmetrics_api_up'), 0);
  assert.equal(metric(text, 'tsmetrics_devices_discovered'), 0);
  assert.equal(metric(text, 'tsmetrics_last_successful_refresh_timestamp_seconds'), undefined);
  assert.doesNotMatch(text, /^tailscale_device_online\{/m);
  assert.deepEqual(h.scraper.calls, [[], []], 'no device is scraped');
  const [record] = h.status.history();
  assert.equal(record?.apiOk, false);
  assert.equal(record?.apiError, 'connect ECONNREFUSED');
  assert.equal(record?.devicesDiscovered, 0);
  assert.equal(h.status.lastApiSuccessAtMs, undefined);

  // Whatever was thrown, its text is the error.
  h.api.fail = 'socket hang up';
  await h.run();
  assert.equal(h.status.history()[1]?.apiError, 'socket hang up');
  const logged = h.logged(NO_LIST_YET);
  assert.deepEqual(
    logged.map((r) => [r.level, r.err]),
    [
      [ERROR, 'connect ECONNREFUSED'],
      [WARN, 'socket hang up'],
    ],
  );
  assert.deepEqual(h.logged(SERVING_LAST_GOOD), []);

  h.api.fail = undefined;
  await h.run();
  assert.deepEqual(h.logged('Tailscale API reachable again'), [], 'a first answer is no recovery');
  assert.equal(metric(await h.text(), online(A)), 1);
});

test("a cycle scrapes last cycle's targets while the list is fetched, then drops the gone and scrapes the new and moved", async (t) => {
  const h = setup(t, { devices: [A, B, D] });
  const A2 = { ...A, addresses: ['100.64.0.11'] };
  const values = new Map([
    [urlOf(A), 10],
    [urlOf(A2), 11],
    [urlOf(B), 20],
    [urlOf(C), 30],
    [urlOf(D), 40],
  ]);
  h.scraper.answer = (target) => ({ body: body(values.get(target.url)!) });
  await h.run();
  assert.deepEqual(h.scraper.urls(), [[], [urlOf(A), urlOf(B), urlOf(D)]]);

  let urlsWhenListed: string[][] = [];
  h.api.list = () => {
    urlsWhenListed = h.scraper.urls();
    return Promise.resolve({ devices: [A2, D, C], invalidDevices: 0 });
  };
  await h.run();
  assert.deepEqual(
    urlsWhenListed.slice(2),
    [[urlOf(A), urlOf(B), urlOf(D)]],
    "last cycle's targets were being scraped when the list was asked for",
  );
  assert.deepEqual(
    h.scraper.urls().slice(3),
    [[urlOf(A2), urlOf(C)]],
    'then the new device and the moved one, not the unchanged one again',
  );

  const text = await h.text();
  assert.equal(metric(text, clientSeries(A)), 11, 'the moved device is served from its new address');
  assert.equal(metric(text, clientSeries(C)), 30, 'the new device is scraped in the same cycle');
  assert.equal(metric(text, clientSeries(D)), 40);
  assert.equal(metric(text, clientSeries(B)), undefined, 'the device gone from the list is dropped');
  assert.equal(metric(text, scrapeUp(B)), undefined);
  assert.equal(metric(text, 'tsmetrics_devices_scraped'), 3);
  assert.deepEqual([...h.status.scrapes.keys()].sort(), ['1', '3', '4']);
  assert.equal(h.status.history()[1]?.devicesScraped, 3);
});

test('a device scrape failure is logged when it begins and when it ends, and listed with when it began', async (t) => {
  const h = setup(t, { devices: [A, B] });
  const refused = 'connect ECONNREFUSED 100.64.0.1:5252';
  let failing = new Map<string, Answer>();
  h.scraper.answer = (target) => failing.get(target.deviceId) ?? { body: body(7) };
  await h.run();

  failing = new Map([['1', { reason: 'connect', message: refused }]]);
  await h.run();
  const began = T0 + INTERVAL_MS;
  let failed = h.logged('device scrape failed');
  assert.equal(failed.length, 1);
  assert.equal(failed[0]?.level, WARN);
  assert.equal(failed[0]?.device_id, '1');
  assert.equal(failed[0]?.device_name, 'a.ts.net');
  assert.equal(failed[0]?.reason, 'connect');
  assert.equal(failed[0]?.detail, refused);
  const hint = failureHint('connect', refused);
  assert.match(hint, /webclient/);
  assert.deepEqual(h.status.failingDevices, [
    { deviceId: '1', deviceName: 'a.ts.net', reason: 'connect', message: refused, hint, since: iso(began) },
  ]);
  let text = await h.text();
  assert.equal(metric(text, scrapeUp(A)), 0);
  assert.equal(metric(text, clientSeries(A)), 7, 'the last good client metrics are served while it fails');
  assert.equal(h.status.history()[1]?.scrapeFailures, 1);

  failing = new Map<string, Answer>([
    ['1', { reason: 'connect', message: refused }],
    ['2', { reason: 'http_status', message: 'HTTP 404', status: 404 }],
  ]);
  await h.run();
  failed = h.logged('device scrape failed');
  assert.deepEqual(
    failed.map((r) => r.device_id),
    ['1', '2'],
    'a failure that lasts is not logged again',
  );
  assert.deepEqual(h.status.failingDevices, [
    { deviceId: '1', deviceName: 'a.ts.net', reason: 'connect', message: refused, hint, since: iso(began) },
    {
      deviceId: '2',
      deviceName: 'b.ts.net',
      reason: 'http_status',
      message: 'HTTP 404',
      hint: failureHint('http_status', 'HTTP 404', 404),
      since: iso(T0 + 2 * INTERVAL_MS),
    },
  ]);
  assert.match(h.status.failingDevices[1]!.hint, /^not found/);
  text = await h.text();
  assert.equal(metric(text, `tsmetrics_device_scrape_errors_total{${labels(A)},reason="connect"}`), 2);
  assert.deepEqual(h.logged('device scrape recovered'), []);

  failing = new Map();
  await h.run();
  const recovered = h.logged('device scrape recovered');
  assert.deepEqual(
    recovered.map((r) => [r.level, r.device_id, r.device_name]),
    [
      [INFO, '1', 'a.ts.net'],
      [INFO, '2', 'b.ts.net'],
    ],
  );
  assert.deepEqual(h.status.failingDevices, []);
  assert.equal(h.logged('device scrape failed').length, 2);
});

test("a failing device's last good client metrics are served for three intervals, then left out", async (t) => {
  const h = setup(t, { devices: [A] });
  let failing = false;
  h.scraper.answer = () => (failing ? { reason: 'timeout', message: 'scrape deadline' } : { body: body(5) });
  await h.run();
  failing = true;
  const served: Array<number | undefined> = [];
  for (let i = 0; i < 4; i++) {
    await h.run();
    served.push(metric(await h.text(), clientSeries(A)));
  }
  assert.deepEqual(served, [5, 5, 5, undefined], 'three intervals after the last good scrape, not longer');
  assert.equal(
    metric(await h.text(), `tsmetrics_device_last_scrape_success_timestamp_seconds{${labels(A)}}`),
    T0 / 1000,
  );
});

test("a device's new families replace its previous ones in the status as soon as it answers", async (t) => {
  const h = setup(t, { devices: [A] });
  await h.run();
  const seen: Array<[boolean, number | undefined]> = [];
  h.scraper.onKept = (target, kept) => {
    const state = h.status.scrapes.get(target.deviceId);
    seen.push([state?.families === kept, state?.lastSuccessSeconds]);
  };
  await h.run();
  assert.deepEqual(seen, [[true, (T0 + INTERVAL_MS) / 1000]]);
});

test('runOnce is single-flight: a call during a cycle joins it, a call after it runs a new one', async (t) => {
  const h = setup(t, { devices: [A] });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  h.api.list = async () => {
    await gate;
    return { devices: [A], invalidDevices: 0 };
  };
  const first = h.refresher.runOnce();
  const second = h.refresher.runOnce();
  assert.equal(first, second, 'the second call joins the cycle in flight');
  release();
  await Promise.all([first, second]);
  assert.equal(h.api.calls, 1);
  assert.equal(h.status.history().length, 1);
  assert.equal(h.store.swaps.length, 1);

  await h.refresher.runOnce();
  assert.equal(h.api.calls, 2, 'a call after the cycle ended runs a new one');
  assert.equal(h.store.swaps.length, 2);
});

test('stop() aborts a cycle waiting on the device list and resolves once it has ended; nothing is published', async (t) => {
  const h = setup(t, { devices: [A] });
  await h.run();
  const published = h.store.current();
  h.api.list = listUntilAborted;
  let ended = false;
  const cycle = h.refresher.runOnce().then(() => {
    ended = true;
  });
  await until(() => h.api.calls === 2, 'the list call');
  const reasons = abortReasons.length;
  await h.refresher.stop();
  assert.equal(ended, true, 'stop() resolved after the cycle ended');
  const reason = abortReasons[reasons];
  assert.ok(reason instanceof Error);
  assert.equal(reason.message, 'shutting down', 'the list call is told why it was aborted');
  await cycle;
  assert.equal(h.store.current(), published);
  assert.equal(h.store.swaps.length, 1);
  assert.equal(h.status.history().length, 1);
  assert.deepEqual(h.logged(SERVING_LAST_GOOD), [], 'an aborted list call is no API failure');
  assert.deepEqual(h.logged(UNEXPECTED), []);
});

test('stop() during the scrapes discards the cycle: no snapshot swap, no scrape results noted', async (t) => {
  const h = setup(t, { devices: [] });
  await h.run();
  const published = h.store.current();
  h.api.devices = [A];
  h.scraper.hold = (signal) =>
    new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
  h.scraper.answer = () => ({ reason: 'timeout', message: 'aborted' });
  const cycle = h.refresher.runOnce();
  await until(() => h.scraper.calls.length === 4, 'the scrape of the new device');
  await h.refresher.stop();
  await cycle;
  assert.equal(h.store.current(), published);
  assert.equal(h.store.swaps.length, 1);
  assert.equal(h.status.history().length, 1);
  assert.equal(h.status.scrapes.size, 0);
  assert.deepEqual(h.logged('device scrape failed'), []);
  assert.deepEqual(h.logged(UNEXPECTED), []);
});

test('stop() while the list answers ends the cycle before selecting or scraping again', async (t) => {
  const h = setup(t, { devices: [A] });
  await h.run();
  const selections = h.status.selections;
  let stopping: Promise<void> | undefined;
  h.api.list = () => {
    stopping = h.refresher.stop();
    return Promise.resolve({ devices: [A, C], invalidDevices: 0 });
  };
  await h.refresher.runOnce();
  await stopping;
  assert.deepEqual(h.scraper.urls(), [[], [urlOf(A)], [urlOf(A)]], 'only the early scrape ran');
  assert.equal(h.status.selections, selections, 'the new list was not selected');
  assert.equal(h.store.swaps.length, 1);
});

test('start() counts and logs a cycle longer than the interval, and starts the next at once', async (t) => {
  const h = setup(t, { devices: [A] });
  // Cycle durations on the injected clock: an overrun, exactly the interval (no overrun), then a quick one.
  const durations = [INTERVAL_MS + 30_000, INTERVAL_MS, 0];
  h.api.list = () => {
    h.clock.ms += durations[h.api.calls - 1] ?? 0;
    return Promise.resolve({ devices: [A], invalidDevices: 0 });
  };
  h.refresher.start();
  // The third cycle starts without waiting: the two before it took the whole interval or more.
  await until(() => h.status.history().length === 3, 'three cycles');
  await h.refresher.stop();
  assert.equal(h.api.calls, 3, 'the quick third cycle is followed by a wait');

  const overruns = h.logged(OVERRUN);
  assert.equal(overruns.length, 1, 'a cycle of exactly the interval is no overrun');
  assert.equal(overruns[0]?.level, WARN);
  assert.equal(overruns[0]?.duration_ms, INTERVAL_MS + 30_000);
  assert.equal(overruns[0]?.interval_ms, INTERVAL_MS);
  const counts = await Promise.all(
    h.store.swaps.map(async (s) => metric(await h.text(s), 'tsmetrics_scrape_cycle_overruns_total')),
  );
  assert.deepEqual(counts, [0, 1, 1]);
});

test('start() stops looping after stop(): no cycle starts once it resolved', async (t) => {
  const h = setup(t, { devices: [A], intervalMs: 20 });
  h.api.list = listUntilAborted;
  h.refresher.start();
  await until(() => h.api.calls === 1, 'the first list call');
  await h.refresher.stop();
  // Longer than several intervals: a loop that went on would have called the API again.
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(h.api.calls, 1);
  assert.deepEqual(h.logged(OVERRUN), []);
});

test("a device's invalid or repeated series are counted in every cycle and logged once", async (t) => {
  const h = setup(t, { devices: [A, B] });
  // Distinct as sent; the same series once the device's own device_id is renamed exported_device_id.
  const repeated =
    'tailscaled_inbound_bytes_total{device_id="x"} 2\ntailscaled_inbound_bytes_total{exported_device_id="x"} 3\n';
  let repeat = false;
  h.scraper.answer = (target) => ({ body: body(1, repeat && target.deviceId === '1' ? repeated : '') });
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_exposition_dropped_series_total'), 0);
  assert.deepEqual(h.logged(DROPPED), [], 'a clean cycle logs no drop');

  repeat = true;
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_exposition_dropped_series_total'), 1, 'counted in the same cycle');
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_exposition_dropped_series_total'), 2);
  const logged = h.logged(DROPPED);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.level, WARN);
  assert.equal(logged[0]?.first, 'invalid or repeated client metrics of device 1');
});

test('series a collector emits twice, invalid or with another type are counted from the next cycle on and logged once', async (t) => {
  const broken: Collector[] = [
    {
      name: 'broken_list',
      stage: 'list',
      collect: () => [gauge('test_conflict_total', 'A gauge first.', [[{}, 1]])],
    },
    {
      name: 'broken_cycle',
      stage: 'cycle',
      collect: () => [
        gauge('test_twice', 'The same series twice.', [
          [{ a: '1' }, 1],
          [{ a: '1' }, 2],
        ]),
        gauge('test-invalid', 'An invalid name.', [[{}, 1]]),
        counter('test_conflict_total', 'Then a counter of the same name.', [[{}, 1]]),
      ],
    },
  ];
  const h = setup(t, { devices: [A], collectors: [...COLLECTORS, ...broken] });
  await h.run();
  let text = await h.text();
  assert.equal(metric(text, 'tsmetrics_exposition_dropped_series_total'), 0);
  assert.equal(metric(text, 'tsmetrics_client_metrics_type_conflicts_total'), 0);
  const stats = h.store.current()!.stats;
  assert.deepEqual([stats.duplicates, stats.invalid, stats.typeConflicts], [1, 2, 1]);
  await h.run();
  text = await h.text();
  assert.equal(metric(text, 'tsmetrics_exposition_dropped_series_total'), 3, 'duplicates and invalid series');
  assert.equal(metric(text, 'tsmetrics_client_metrics_type_conflicts_total'), 1);
  await h.run();
  text = await h.text();
  assert.equal(metric(text, 'tsmetrics_exposition_dropped_series_total'), 6);
  assert.equal(metric(text, 'tsmetrics_client_metrics_type_conflicts_total'), 2);
  const logged = h.logged(DROPPED);
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.first, stats.firstDrop);
  assert.equal(typeof logged[0]?.first, 'string');
});

test('with scrapeDevices false no device is scraped, though devices are still selected', async (t) => {
  const h = setup(t, { devices: [A, B], scrapeDevices: false });
  await h.run();
  await h.run();
  assert.ok(h.scraper.calls.length > 0);
  assert.deepEqual(
    h.scraper.calls.filter((c) => c.length > 0),
    [],
    'the scraper was never given a target',
  );
  const text = await h.text();
  assert.doesNotMatch(text, /^tailscaled_/m);
  assert.equal(metric(text, 'tsmetrics_devices_eligible'), 2);
  assert.equal(metric(text, online(B)), 1);
  assert.equal(h.status.history()[1]?.devicesEligible, 0);
  assert.equal(h.status.selections.length, 2);
});

test('at debug level each cycle logs a line per device selection, per scrape and one for the cycle; none at info', async (t) => {
  const devices = [A, B, OFFLINE, D];
  const answer = (target: ScrapeTarget): Answer =>
    target.deviceId === '2'
      ? { reason: 'http_status', message: 'HTTP 404', status: 404 }
      : target.deviceId === '4'
        ? { reason: 'timeout', message: 'scrape deadline' }
        : { body: body(3) };
  const h = setup(t, { devices, level: 'debug' });
  h.scraper.answer = answer;
  const wallStarted = performance.now();
  await h.run();
  await h.run();

  const selection = h.logged('device selection');
  assert.equal(selection.length, 8, 'one per device and cycle');
  assert.ok(selection.every((r) => r.level === DEBUG));
  const ofA = selection.find((r) => r.device_id === '1');
  assert.equal(ofA?.device_name, 'a.ts.net');
  assert.equal(ofA?.state, 'eligible');
  assert.equal(ofA?.url, urlOf(A));
  const ofOffline = selection.find((r) => r.device_id === '5');
  assert.equal(ofOffline?.state, 'offline');
  assert.equal(ofOffline !== undefined && 'url' in ofOffline, false);

  const scrapes = h.logged('device scrape');
  assert.equal(scrapes.length, 6, 'one per scrape result');
  const ok = scrapes.find((r) => r.device_id === '1');
  assert.equal(ok?.outcome, 'ok');
  assert.equal(ok?.series, 1);
  assert.equal(ok?.bytes, body(3).length);
  assert.equal(ok?.url, urlOf(A));
  assert.equal(ok?.device_name, 'a.ts.net');
  assert.equal(ok?.duration_ms, 10);
  const notFound = scrapes.find((r) => r.device_id === '2');
  assert.equal(notFound?.outcome, 'http_status');
  assert.equal(notFound?.detail, 'HTTP 404');
  assert.equal(notFound?.status, 404);
  const timeout = scrapes.find((r) => r.device_id === '4');
  assert.equal(timeout?.outcome, 'timeout');
  assert.equal(timeout?.detail, 'scrape deadline');
  assert.equal(timeout !== undefined && 'status' in timeout, false);

  h.api.fail = new Error('devices: HTTP 500');
  h.scraper.answer = () => ({ body: body(3) });
  await h.run();
  const wallMs = performance.now() - wallStarted;
  const finished = h.logged('refresh cycle finished');
  for (const r of finished) {
    const ms = r.duration_ms as number;
    assert.ok(ms >= 0 && ms <= wallMs, `the cycle took ${ms} ms of the ${wallMs} ms the calls took`);
  }
  assert.deepEqual(
    finished.map((r) => [r.level, r.api_ok, r.devices, r.eligible, r.scraped, r.failed]),
    [
      [DEBUG, true, 4, 3, 1, 2],
      [DEBUG, true, 4, 3, 1, 2],
      [DEBUG, false, 4, 3, 3, 0],
    ],
    'one per cycle, a failed list call said, the last good devices counted',
  );

  const unlisted = setup(t, { devices, level: 'debug' });
  unlisted.api.fail = new Error('devices: HTTP 500');
  await unlisted.run();
  assert.deepEqual(
    unlisted.logged('refresh cycle finished').map((r) => [r.api_ok, r.devices, r.eligible, r.scraped, r.failed]),
    [[false, 0, 0, 0, 0]],
    'before any device list',
  );
  assert.deepEqual(unlisted.logged(UNEXPECTED), []);
  assert.equal(unlisted.status.history().length, 1);

  const quiet = setup(t, { devices, level: 'info' });
  quiet.scraper.answer = answer;
  await quiet.run();
  await quiet.run();
  const messages = new Set(quiet.records().map((r) => r.msg));
  for (const msg of ['device selection', 'device scrape', 'refresh cycle finished'])
    assert.equal(messages.has(msg), false, `no '${msg}' at info level`);
  assert.equal(quiet.status.history().length, 2);
});

test('each cycle records what it found: discovered, eligible, scraped and failed devices', async (t) => {
  const h = setup(t, { devices: [A, B, OFFLINE, REFUSED] });
  h.scraper.answer = (target) =>
    target.deviceId === '2' ? { reason: 'timeout', message: 'scrape deadline' } : { body: body(1) };
  const wallStarted = performance.now();
  await h.run();
  const wallSeconds = (performance.now() - wallStarted) / 1000;
  const [record] = h.status.history();
  assert.ok(record !== undefined);
  const { durationSeconds, scrapeDurationSeconds, ...counts } = record;
  assert.deepEqual(counts, {
    startedAt: iso(T0),
    apiOk: true,
    devicesDiscovered: 4,
    devicesEligible: 2,
    devicesScraped: 1,
    scrapeFailures: 1,
  });
  assert.ok(durationSeconds >= 0 && durationSeconds <= wallSeconds, 'the cycle took no longer than the call');
  assert.ok(scrapeDurationSeconds >= 0 && scrapeDurationSeconds <= durationSeconds, 'the scrapes are part of it');
  assert.equal(h.status.devicesDiscovered, 4);
  assert.equal(h.status.devicesScraped, 1);
  assert.equal(h.status.lastCycleAtMs, T0);
  assert.equal(h.status.lastApiSuccessAtMs, T0);
  assert.deepEqual(
    h.status.selections.map((s) => [s.device.id, s.state]),
    [
      ['1', 'eligible'],
      ['2', 'eligible'],
      ['5', 'offline'],
      ['6', 'address_refused'],
    ],
  );
  assert.deepEqual([...h.status.scrapes.keys()], ['1', '2']);

  const text = await h.text();
  for (const name of ['tsmetrics_refresh_duration_seconds', 'tsmetrics_scrape_cycle_duration_seconds']) {
    const value = metric(text, name);
    assert.ok(value !== undefined && value >= 0 && value <= wallSeconds, `${name} is within the cycle`);
  }
  const devicesDuration = metric(text, 'tsmetrics_collector_duration_seconds{collector="devices"}');
  assert.ok(devicesDuration !== undefined && devicesDuration >= 0 && devicesDuration <= wallSeconds);
  assert.equal(metric(text, 'tsmetrics_devices_discovered'), 4);
  assert.equal(metric(text, 'tsmetrics_devices_scraped'), 1);
});

test('a device whose address is refused is logged when its refusal begins and counted every cycle', async (t) => {
  const h = setup(t, { devices: [A, REFUSED] });
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_scrape_address_refused_total'), 1);
  await h.run();
  assert.equal(metric(await h.text(), 'tsmetrics_scrape_address_refused_total'), 2);
  const logged = h.logged('device address is outside SCRAPE_ALLOWED_CIDRS; not scraping it');
  assert.equal(logged.length, 1);
  assert.equal(logged[0]?.level, WARN);
  assert.equal(logged[0]?.device_id, '6');
  assert.equal(logged[0]?.device_name, 'f.ts.net');
  assert.deepEqual(logged[0]?.addresses, ['100.64.0.6']);
  assert.ok(h.scraper.calls.every((c) => c.every((target) => target.deviceId !== '6')));
});

test('a collector that throws is logged with its name and loses only its own families', async (t) => {
  const throwing: Collector[] = [
    {
      name: 'boom_list',
      stage: 'list',
      collect: () => {
        throw new Error('list boom');
      },
    },
    {
      name: 'boom_cycle',
      stage: 'cycle',
      collect: () => {
        throw new Error('cycle boom');
      },
    },
  ];
  const h = setup(t, { devices: [A], collectors: [...COLLECTORS, ...throwing] });
  await h.run();
  const failed = h.logged('collector failed');
  assert.deepEqual(
    failed.map((r) => [r.level, r.collector, (r.err as { message?: unknown } | undefined)?.message]),
    [
      [ERROR, 'boom_list', 'list boom'],
      [ERROR, 'boom_cycle', 'cycle boom'],
    ],
  );
  const text = await h.text();
  assert.equal(metric(text, online(A)), 1, 'the cycle still published its snapshot');
  assert.equal(metric(text, 'tsmetrics_collector_success{collector="boom_list"}'), 0);
  assert.equal(metric(text, 'tsmetrics_collector_success{collector="boom_cycle"}'), 0);
  assert.equal(metric(text, 'tsmetrics_collector_success{collector="devices"}'), 1);
  const boom = h.status.collectors().find((c) => c.collector === 'boom_list');
  assert.equal(boom?.ok, false);
  assert.equal(boom?.error, 'list boom');
  assert.deepEqual(boom?.lastError, { message: 'list boom', at: iso(T0) });
  assert.equal(h.status.history().length, 1);
});

test('a stage that fails as a whole keeps the previous snapshot and is logged as an unexpected failure', async (t) => {
  let listThrows: unknown;
  let cycleThrows: unknown;
  const fragile: Collector[] = [
    {
      name: 'fragile_list',
      stage: 'list',
      collect: () => [],
      // Called outside the collector's own error handling: a throw here fails the stage.
      source: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a thrown non-Error is tested too
        if (listThrows !== undefined) throw listThrows;
        return { ok: true, durationSeconds: 0 };
      },
    },
    {
      name: 'fragile_cycle',
      stage: 'cycle',
      collect: () => [],
      source: () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- a thrown non-Error is tested too
        if (cycleThrows !== undefined) throw cycleThrows;
        return { ok: true, durationSeconds: 0 };
      },
    },
  ];
  const h = setup(t, { devices: [A], collectors: [...COLLECTORS, ...fragile] });
  await h.run();
  const published = h.store.current();

  listThrows = new Error('source broke');
  await h.run();
  listThrows = 'not an Error';
  await h.run();
  listThrows = undefined;
  cycleThrows = new Error('cycle source broke');
  await h.run();

  assert.equal(h.store.current(), published, 'the previous snapshot stays');
  assert.equal(h.store.swaps.length, 1);
  assert.equal(h.status.history().length, 1);
  const logged = h.logged(UNEXPECTED);
  assert.deepEqual(
    logged.map((r) => [r.level, (r.err as { message?: unknown } | undefined)?.message]),
    [
      [ERROR, 'source broke'],
      [ERROR, 'the list stage failed'],
      [ERROR, 'cycle source broke'],
    ],
  );

  cycleThrows = undefined;
  await h.run();
  assert.equal(h.store.swaps.length, 2, 'the next good cycle publishes again');
});

test("the inventory is refreshed with the cycle's signal and its new data is in the same cycle's snapshot", async (t) => {
  const signals: Array<AbortSignal | undefined> = [];
  let data: InventoryData = EMPTY_INVENTORY;
  const inventory = {
    async refreshIfDue(signal?: AbortSignal): Promise<void> {
      signals.push(signal);
      // Answers after the device list.
      await new Promise((r) => setTimeout(r, 20));
      data = { ...EMPTY_INVENTORY, users: { data: undefined, ok: true, durationSeconds: 0 } };
    },
    current: (): InventoryData => data,
  } as unknown as Inventory;
  const probe: Collector = {
    name: 'probe',
    stage: 'list',
    collect: (d) => [gauge('test_users_ok', 'Whether the users were fetched.', [[{}, d.inventory.users.ok ? 1 : 0]])],
  };
  const h = setup(t, { devices: [A], inventory, collectors: [...COLLECTORS, probe] });
  await h.run();
  assert.equal(metric(await h.text(), 'test_users_ok'), 1);
  assert.equal(signals.length, 1);
  assert.ok(signals[0] instanceof AbortSignal);
  assert.equal(signals[0].aborted, false);
});

test('the self-metrics carry the build, the simulated flag, the invalid devices, the API stats and the clock', async (t) => {
  const apiStats = new RequestStats();
  apiStats.record('devices', 0.2);
  const h = setup(t, { devices: [A, OFFLINE], simulated: true, apiStats });
  h.api.invalidDevices = 2;
  await h.run();
  await h.run();
  const text = await h.text();
  assert.equal(metric(text, `tsmetrics_build_info{version="1.2.3-test",node_version="${process.version}"}`), 1);
  assert.equal(metric(text, 'tsmetrics_simulated'), 1);
  assert.equal(metric(text, 'tsmetrics_api_invalid_devices_total'), 4, 'added up over the cycles');
  assert.equal(metric(text, 'tsmetrics_api_requests_total{endpoint="devices"}'), 1);
  assert.equal(metric(text, 'process_start_time_seconds'), (T0 - 3_600_000) / 1000);
  assert.equal(
    metric(text, `tailscale_device_last_seen_timestamp{${labels(A)}}`),
    (T0 + INTERVAL_MS) / 1000,
    'an online device is seen at the refresh time',
  );

  const plain = setup(t, { devices: [A] });
  await plain.run();
  assert.equal(metric(await plain.text(), 'tsmetrics_simulated'), 0);
});

test("every collector runs in one of the cycle's two stages: each family it gives is in the snapshot", async (t) => {
  // A collector whose stage is neither 'list' nor 'cycle' would be left out without a word.
  const full = device({
    ...A,
    clientConnectivity: {
      endpoints: ['1.2.3.4:41641'],
      latency: [{ region: 'Frankfurt', latencyMs: 12.5, preferred: true }],
      clientSupports: { udp: true },
      mappingVariesByDestIP: false,
    },
    postureSerialNumbers: ['SN1'],
    advertisedRoutes: ['10.0.0.0/24'],
    enabledRoutes: ['10.0.0.0/24'],
    lastSeenSeconds: T0 / 1000,
  });
  const collectors = buildCollectors({
    labelsFromTags: [],
    userLabel: (u) => u,
    minClientVersion: '1.80.0',
    expectedDevices: () => undefined,
    apiDeviceMetrics: true,
    enabled: new Set(COLLECTOR_NAMES),
    // The server's counters, so the HTTP collector is there too.
    http: {
      requests: new Map([['metrics\u0000200', 1]]),
      inFlight: 0,
      openConnections: 1,
      refused: new Map([['per_address', 1]]),
      headerTimeouts: 0,
      webConfigReloadFailures: 0,
    },
  });
  const h = setup(t, { devices: [full], collectors });
  await h.run();
  const written = new Set((await h.text()).split('\n').flatMap((l) => /^# TYPE (\S+) /.exec(l)?.[1] ?? []));
  // The device selected for scraping, so scrape coverage has series too.
  const data = refreshData([full], { selections: [{ device: full, state: 'eligible' }] });
  const expected = collectors.flatMap((c) => c.collect(data).filter((f) => f.samples.length > 0));
  assert.ok(expected.length > 20, `${expected.length} families`);
  for (const f of expected) assert.ok(written.has(f.name), `${f.name} is in the snapshot`);
});

test('the first snapshot is built without its plain body, the next (small) ones with it', async (t) => {
  const h = setup(t, { devices: [A] });
  await h.run();
  await h.run();
  assert.deepEqual(
    h.store.swaps.map((s) => s.plainBody !== undefined),
    [false, true],
  );
});

test("stop() during the list call resolves only after the cycle's early scrapes and inventory refresh ended", async (t) => {
  /** A piece of work that, once the cycle is aborted, ends only when the test lets it. */
  const work = () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    return {
      release,
      until: async (signal: AbortSignal | undefined): Promise<void> => {
        await new Promise<void>((resolve) => signal?.addEventListener('abort', () => resolve(), { once: true }));
        await released;
      },
    };
  };
  for (const first of ['scrapes', 'inventory'] as const) {
    const inventoryWork = work();
    const scrapeWork = work();
    let refreshing = false;
    const inventory = {
      refreshIfDue: (signal?: AbortSignal): Promise<void> =>
        refreshing ? inventoryWork.until(signal) : Promise.resolve(),
      current: (): InventoryData => EMPTY_INVENTORY,
    } as unknown as Inventory;
    const h = setup(t, { devices: [A], inventory });
    await h.run();
    h.scraper.hold = scrapeWork.until;
    h.scraper.answer = () => ({ reason: 'timeout', message: 'aborted' });
    refreshing = true;
    h.api.list = listUntilAborted;
    const cycle = h.refresher.runOnce();
    await until(() => h.api.calls === 2, 'the list call');

    let stopped = false;
    const stopping = h.refresher.stop().then(() => {
      stopped = true;
    });
    const turns = (): Promise<void> => new Promise((r) => setTimeout(r, 20));
    await turns();
    assert.equal(stopped, false, 'not while the early scrapes and the inventory refresh run');
    const [one, other] = first === 'scrapes' ? [scrapeWork, inventoryWork] : [inventoryWork, scrapeWork];
    one.release();
    await turns();
    assert.equal(stopped, false, `not while the ${first === 'scrapes' ? 'inventory refresh' : 'early scrapes'} run`);
    other.release();
    await stopping;
    await cycle;
    assert.equal(h.store.swaps.length, 1);
    assert.deepEqual(h.logged(UNEXPECTED), []);
  }
});
