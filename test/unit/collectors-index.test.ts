import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { clientMetricsCollector } from '../../src/collectors/client-metrics.js';
import type { Collector, CollectorOf, ListCollector, ListData } from '../../src/collectors/collector.js';
import { coverageCollector } from '../../src/collectors/coverage.js';
import { deviceConnectivityCollector } from '../../src/collectors/device-connectivity.js';
import { deviceRoutesCollector } from '../../src/collectors/device-routes.js';
import { deviceTimesCollector } from '../../src/collectors/device-times.js';
import { exporterCollector } from '../../src/collectors/exporter.js';
import {
  buildCollectors,
  COLLECTORS,
  CollectorResults,
  runCollectors,
  runStage,
  type CollectorOptions,
} from '../../src/collectors/index.js';
import { COLLECTOR_NAMES } from '../../src/config/schema.js';
import { HEADSCALE_UNSUPPORTED_FAMILIES } from '../../src/control/headscale.js';
import { pollView } from '../helpers/tailnet-api.js';
import { gauge, type MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import type { Slicer } from '../../src/slicer.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// Which collectors COLLECTORS and the backend turn on, in which stage, and how a cycle's collectors are run:
// collector_success and collector_duration_seconds per public name, a throwing collector's isolation.

const OPTIONS: CollectorOptions = {
  labelsFromTags: [],
  userLabel: (u) => u,
  minClientVersion: undefined,
  expectedDevices: () => undefined,
  apiDeviceMetrics: true,
  enabled: new Set([...COLLECTOR_NAMES, 'preauthkeys', 'apikeys']),
};

/** name/stage of each collector, `*` for one that runs in pieces. */
const shape = (collectors: readonly Collector[]): string[] =>
  collectors.map((c) => `${c.name}/${c.stage}${c.steps === undefined ? '' : '*'}`);

const DEVICE_COLLECTORS = [
  'devices/list*',
  'devices/list*',
  'devices/list*',
  'devices/list*',
  'devices/list*',
  'devices/list',
];
const TAILSCALE_INVENTORY = [
  'users/list',
  'keys/list',
  'settings/list',
  'dns/list',
  'services/list',
  'policy/list',
  'logstream/list',
  'posture_integrations/list',
  'service_hosts/list',
  'webhooks/list',
];

test('COLLECTORS: the shared device collectors, client metrics and coverage, the Tailscale inventory, then the exporter', () => {
  assert.deepEqual(shape(COLLECTORS), [
    ...DEVICE_COLLECTORS,
    'client_metrics/cycle',
    'client_metrics/cycle*',
    ...TAILSCALE_INVENTORY,
    'exporter/cycle',
  ]);
  // The Tailscale backend leaves its device collectors as they are (nothing to filter out).
  assert.equal(COLLECTORS[1], deviceTimesCollector);
  assert.equal(COLLECTORS[2], deviceRoutesCollector);
  assert.equal(COLLECTORS[3], deviceConnectivityCollector);
  assert.equal(COLLECTORS[6], clientMetricsCollector);
  assert.equal(COLLECTORS[7], coverageCollector);
  assert.equal(COLLECTORS.at(-1), exporterCollector);
  assert.deepEqual(shape(buildCollectors(OPTIONS)), shape(COLLECTORS));
});

test('COLLECTORS runs cleanly on a device list: every collector successful, device user labels as the API gave them', () => {
  const failed: string[] = [];
  const families = runCollectors(refreshData([device({ tags: ['tag:a', 'tag:b'] })]), COLLECTORS, (name) =>
    failed.push(name),
  );
  assert.deepEqual(failed, []);
  const success = families.find((f) => f.name === 'tsmetrics_collector_success')!;
  assert.ok(success.samples.length > 5);
  assert.deepEqual(
    success.samples.filter((s) => s.value !== 1),
    [],
  );
  const user = families.find((f) => f.name === 'tailscale_device_user')!;
  assert.equal(user.samples[0]!.labels.user_email, 'alice@example.com');
});

test('Headscale: its node and health collectors join the device ones, its own inventory replaces the Tailscale one', () => {
  assert.deepEqual(shape(buildCollectors({ ...OPTIONS, backend: 'headscale' })), [
    ...DEVICE_COLLECTORS,
    'devices/list',
    'devices/list',
    'client_metrics/cycle',
    'client_metrics/cycle*',
    'users/list',
    'preauthkeys/list',
    'apikeys/list',
    'exporter/cycle',
  ]);
});

function drive(c: CollectorOf<ListData>): MetricFamily[] {
  const pieces = c.steps!(refreshData([device()]));
  for (;;) {
    const r = pieces.next();
    if (r.done === true) return r.value;
  }
}

test('Headscale: the device families it cannot fill are left out, collected at once or in pieces; its own are added', () => {
  const data = refreshData([device()]);
  const names = (backend: 'tailscale' | 'headscale', inPieces = false): string[] =>
    buildCollectors({ ...OPTIONS, minClientVersion: '1.60.0', backend })
      .filter((c): c is ListCollector => c.name === 'devices')
      .flatMap((c) => (inPieces && c.steps !== undefined ? drive(c) : c.collect(data)).map((f) => f.name));
  const tailscale = names('tailscale');
  assert.ok(HEADSCALE_UNSUPPORTED_FAMILIES.size > 0);
  for (const name of HEADSCALE_UNSUPPORTED_FAMILIES) assert.ok(tailscale.includes(name), name);
  assert.deepEqual(names('headscale', true), names('headscale'));
  assert.deepEqual(names('headscale'), [
    ...tailscale.filter((n) => !HEADSCALE_UNSUPPORTED_FAMILIES.has(n)),
    'headscale_up',
    'headscale_node_route',
    'headscale_database_connectivity',
  ]);
});

test('a replica other than shard 0 runs no API device or inventory collectors: client metrics and the exporter only', () => {
  assert.deepEqual(shape(buildCollectors({ ...OPTIONS, apiDeviceMetrics: false })), [
    'client_metrics/cycle',
    'client_metrics/cycle*',
    'exporter/cycle',
  ]);
  assert.deepEqual(shape(buildCollectors({ ...OPTIONS, apiDeviceMetrics: false, logs: () => ({}) })), [
    'client_metrics/cycle',
    'client_metrics/cycle*',
    'exporter/list',
    'exporter/cycle',
  ]);
});

test('COLLECTORS turns public names on; the exporter collectors (peers, log pollers, self-metrics, HTTP) always run', () => {
  const http = {
    requests: new Map(),
    inFlight: 0,
    openConnections: 0,
    refused: new Map(),
    headerTimeouts: 0,
    webConfigReloadFailures: 0,
  };
  assert.deepEqual(shape(buildCollectors({ ...OPTIONS, enabled: new Set(['keys']) })), ['keys/list', 'exporter/cycle']);
  assert.deepEqual(
    shape(
      buildCollectors({
        ...OPTIONS,
        enabled: new Set(['dns', 'flowlogs', 'audit']),
        logs: () => ({}),
        tsnet: () => undefined,
        http,
      }),
    ),
    ['dns/list', 'flowlogs/list*', 'audit/list', 'tsnet/list', 'exporter/list', 'exporter/cycle', 'exporter/cycle'],
  );
  // The log collectors come only with log views: without them, COLLECTORS naming them turns on nothing.
  assert.deepEqual(shape(buildCollectors({ ...OPTIONS, enabled: new Set(['flowlogs', 'audit']) })), ['exporter/cycle']);
});

test('the log pollers collector reports the pollers of the logs turned on, flow logs before audit', () => {
  const states = (logs: NonNullable<CollectorOptions['logs']>): string[] => {
    const pollers = buildCollectors({ ...OPTIONS, enabled: new Set(), logs }).find((c) => c.stage === 'list')!;
    const state = pollers.collect(refreshData([])).find((f) => f.name === 'tsmetrics_log_poll_state')!;
    return state.samples.filter((s) => s.value === 1).map((s) => `${s.labels.collector}=${s.labels.state}`);
  };
  const flow = { flows: undefined as never, poll: pollView({ state: 'ok' }) };
  const audit = { audit: undefined as never, poll: pollView({ state: 'error' }) };
  assert.deepEqual(
    states(() => ({ flow, audit })),
    ['flowlogs=ok', 'audit=error'],
  );
  assert.deepEqual(
    states(() => ({ audit })),
    ['audit=error'],
  );
  assert.deepEqual(
    states(() => ({ flow })),
    ['flowlogs=ok'],
  );
});

/** performance.now() advancing 250 ms per call: each collector run or piece takes 0.25 s. */
function quarterSecondClock(t: TestContext): void {
  let ms = 0;
  t.mock.method(performance, 'now', () => (ms += 250));
}

const collector = (
  name: string,
  collect: () => MetricFamily[],
  source?: { ok: boolean | undefined; durationSeconds: number; error?: string },
): ListCollector => ({
  name,
  stage: 'list',
  collect,
  ...(source === undefined ? {} : { source: () => source }),
});
const throws = (err: unknown) => (): MetricFamily[] => {
  throw err;
};
const family = (name: string): MetricFamily[] => [gauge(name, 'h', [[{}, 1]])];

test('collector results per public name: the first error, a failed fetch with or without its reason, a shared fetch counted once', (t) => {
  quarterSecondClock(t);
  const results = new CollectorResults();
  const data = refreshData([]);
  const failed: string[] = [];
  const onError = (name: string): void => void failed.push(name);
  const fetched = { ok: true, durationSeconds: 2 };
  const run = (c: CollectorOf<ListData>): MetricFamily[] => results.run(c, data, onError);
  assert.deepEqual(run(collector('devices', () => family('a'), fetched)), family('a'));
  assert.deepEqual(run(collector('devices', () => family('b'), fetched)), family('b'));
  assert.deepEqual(run(collector('users', throws(new Error('first line\nsecond line')))), []);
  assert.deepEqual(run(collector('users', throws(new Error('later')))), []);
  run(collector('keys', () => [], { ok: false, durationSeconds: 1 }));
  run(collector('dns', () => [], { ok: false, durationSeconds: 1, error: 'HTTP 500' }));
  run(collector('settings', () => [], { ok: undefined, durationSeconds: 0 }));
  run(collector('policy', throws('not an Error')));
  assert.deepEqual(failed, ['users', 'users', 'policy']);
  assert.deepEqual(results.outcomes(), [
    { collector: 'devices', ok: true, durationSeconds: 2.5 },
    { collector: 'users', ok: false, durationSeconds: 0.5, error: 'first line' },
    { collector: 'keys', ok: false, durationSeconds: 1.25, error: 'its data could not be fetched' },
    { collector: 'dns', ok: false, durationSeconds: 1.25, error: 'HTTP 500' },
    { collector: 'settings', ok: true, durationSeconds: 0.25 },
    { collector: 'policy', ok: false, durationSeconds: 0.25, error: 'not an Error' },
  ]);
  assert.deepEqual(render(results.families()).text.split('\n'), [
    '# HELP tsmetrics_collector_duration_seconds Time the collector spent fetching (API calls, for the inventory collectors on their last fetch) and rendering.',
    '# TYPE tsmetrics_collector_duration_seconds gauge',
    'tsmetrics_collector_duration_seconds{collector="devices"} 2.5',
    'tsmetrics_collector_duration_seconds{collector="users"} 0.5',
    'tsmetrics_collector_duration_seconds{collector="keys"} 1.25',
    'tsmetrics_collector_duration_seconds{collector="dns"} 1.25',
    'tsmetrics_collector_duration_seconds{collector="settings"} 0.25',
    'tsmetrics_collector_duration_seconds{collector="policy"} 0.25',
    '# HELP tsmetrics_collector_success 1 if the collector fetched and rendered its data in the last refresh (collector: devices, client_metrics, users, keys, settings, dns, services, policy, logstream, posture_integrations, service_hosts, webhooks, flowlogs, audit, exporter).',
    '# TYPE tsmetrics_collector_success gauge',
    'tsmetrics_collector_success{collector="devices"} 1',
    'tsmetrics_collector_success{collector="users"} 0',
    'tsmetrics_collector_success{collector="keys"} 0',
    'tsmetrics_collector_success{collector="dns"} 0',
    'tsmetrics_collector_success{collector="settings"} 1',
    'tsmetrics_collector_success{collector="policy"} 0',
    '',
  ]);
});

const inline = { run: <T>(f: () => T): Promise<T> => Promise.resolve(f()) } as unknown as Slicer;

test('in pieces: the duration is the time spent in the pieces; a collector without pieces runs whole', async (t) => {
  quarterSecondClock(t);
  const results = new CollectorResults();
  const data = refreshData([]);
  const stepwise: CollectorOf<ListData> = {
    name: 'devices',
    collect: () => assert.fail('collect is not used when there are steps'),
    *steps() {
      yield;
      yield;
      return family('pieces');
    },
  };
  const onError = (): void => assert.fail('no error expected');
  assert.deepEqual(await results.runInSteps(stepwise, data, onError, inline), family('pieces'));
  assert.deepEqual(
    await results.runInSteps(
      collector('users', () => family('whole')),
      data,
      onError,
      inline,
    ),
    family('whole'),
  );
  assert.deepEqual(
    await results.runInSteps(
      collector('keys', () => family('default slicer')),
      data,
      onError,
    ),
    family('default slicer'),
  );
  assert.deepEqual(
    results.outcomes().map((o) => [o.collector, o.ok, o.durationSeconds]),
    [
      ['devices', true, 0.75],
      ['users', true, 0.25],
      ['keys', true, 0.25],
    ],
  );
});

test('a stepwise collector that throws is reported with its first error line and gives no families', async (t) => {
  quarterSecondClock(t);
  const results = new CollectorResults();
  const failed: string[] = [];
  const broken: CollectorOf<ListData> = {
    name: 'devices',
    collect: () => [],
    *steps() {
      yield;
      throw new Error('boom\nstack');
    },
  };
  assert.deepEqual(await results.runInSteps(broken, refreshData([]), (n) => failed.push(n), inline), []);
  assert.deepEqual(failed, ['devices']);
  assert.deepEqual(results.outcomes(), [{ collector: 'devices', ok: false, durationSeconds: 0.5, error: 'boom' }]);
});

test('a stage hands each collector’s families to the renderer before the next collector runs', async () => {
  const events: string[] = [];
  const step = (name: string): CollectorOf<ListData> =>
    collector(name, () => {
      events.push(`collect ${name}`);
      return family(name);
    });
  const results = new CollectorResults();
  await runStage(
    [step('users'), step('keys')],
    refreshData([]),
    results,
    async (families) => {
      // The renderer takes its time: the next collector waits for it.
      await new Promise((resolve) => setImmediate(resolve));
      events.push(`emitted ${families.map((f) => f.name).join()}`);
    },
    () => assert.fail('no error expected'),
  );
  assert.deepEqual(events, ['collect users', 'emitted users', 'collect keys', 'emitted keys']);
  assert.deepEqual(
    results.outcomes().map((o) => o.collector),
    ['users', 'keys'],
  );
});

test('runCollectors: every collector’s families in order, then success and duration; a throw loses only its own', () => {
  const families = runCollectors(refreshData([]), [
    collector('users', () => family('u')),
    collector('keys', throws(new Error('x'))),
    collector('dns', () => family('d')),
  ]);
  assert.deepEqual(
    families.map((f) => f.name),
    ['u', 'd', 'tsmetrics_collector_success', 'tsmetrics_collector_duration_seconds'],
  );
  assert.deepEqual(
    families[2]!.samples.map((s) => [s.labels.collector, s.value]),
    [
      ['users', 1],
      ['keys', 0],
      ['dns', 1],
    ],
  );
});
