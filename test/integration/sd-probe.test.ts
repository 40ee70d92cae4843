import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { Agent } from 'undici';
import { DeviceScraper, type ScrapeResult } from '../../src/devices/scraper.js';
import { makeSelector, type ScrapeTarget } from '../../src/devices/targets.js';
import { probeRoute } from '../../src/server/probe-route.js';
import { sdRoute } from '../../src/server/sd-route.js';
import { startTailnet } from '../../src/sim/tailscale/index.js';
import { device } from '../helpers/devices.js';
import { seriesValues } from '../helpers/exporter.js';
import { httpGet } from '../helpers/http.js';
import { sleep } from '../helpers/prometheus.js';
import { serve } from '../helpers/server.js';
import { selectSimDevices } from '../helpers/sim-selection.js';

// /sd and /probe on the HTTP server, over devices as the selection rules see them: the simulator's tailnet
// (two exporter-tagged devices serving client metrics, one untagged) behind the real API client and scraper.

test('/sd: the eligible devices at their client-metrics address, with their labels; the others left out', async (t) => {
  const select = makeSelector({
    scrapeTag: 'tag:exporter',
    requireExporterTag: false,
    targetDevices: ['gateway-1', 'nas', 'laptop', 'printer'],
    excludeDevices: [],
    deviceTags: [],
    allowedCidrs: ['100.64.0.0/10', 'fd7a:115c:a1e0::/48'],
    port: 5252,
  });
  let selections = select([
    device(),
    device({
      id: '2002',
      nodeId: 'nNas2CNTRL',
      name: 'nas.tail1234.ts.net',
      hostname: 'nas',
      addresses: ['fd7a:115c:a1e0::7'],
      tags: ['tag:exporter', 'tag:storage'],
      os: 'freebsd',
    }),
    // Named in TARGET_DEVICES, so eligible without the tag.
    device({ id: '3003', name: 'laptop.tail1234.ts.net', hostname: 'laptop', addresses: ['100.64.0.9'], tags: [] }),
    device({ id: '4004', name: 'printer.tail1234.ts.net', hostname: 'printer', online: false }),
    device({ id: '5005', name: 'stranger.tail1234.ts.net', hostname: 'stranger' }),
  ]);
  const s = await serve(t, {
    extraRoutes: {
      '/sd': sdRoute(
        () => selections,
        5252,
        (user) => `user:${user.split('@')[0]}`,
      ),
    },
  });
  const sd = await httpGet(`${s.url}/sd`);
  assert.equal(sd.status, 200);
  assert.equal(sd.headers['content-type'], 'application/json; charset=utf-8');
  const common = {
    __meta_tailscale_device_client_version: '1.80.2-t62b8bf6a0-g3c35ee987',
    __meta_tailscale_device_user: 'user:alice',
  };
  assert.deepEqual(JSON.parse(sd.body), [
    {
      targets: ['100.101.102.103:5252'],
      labels: {
        __meta_tailscale_device_id: '1001',
        __meta_tailscale_device_node_id: 'nAbc1CNTRL',
        __meta_tailscale_device_name: 'gateway-1.tail1234.ts.net',
        __meta_tailscale_device_hostname: 'gateway-1',
        __meta_tailscale_device_os: 'linux',
        ...common,
        __meta_tailscale_device_tags: ',tag:exporter,',
      },
    },
    {
      targets: ['[fd7a:115c:a1e0::7]:5252'],
      labels: {
        __meta_tailscale_device_id: '2002',
        __meta_tailscale_device_node_id: 'nNas2CNTRL',
        __meta_tailscale_device_name: 'nas.tail1234.ts.net',
        __meta_tailscale_device_hostname: 'nas',
        __meta_tailscale_device_os: 'freebsd',
        ...common,
        __meta_tailscale_device_tags: ',tag:exporter,tag:storage,',
      },
    },
    {
      targets: ['100.64.0.9:5252'],
      labels: {
        __meta_tailscale_device_id: '3003',
        __meta_tailscale_device_node_id: 'nAbc1CNTRL',
        __meta_tailscale_device_name: 'laptop.tail1234.ts.net',
        __meta_tailscale_device_hostname: 'laptop',
        __meta_tailscale_device_os: 'linux',
        ...common,
        __meta_tailscale_device_tags: '',
      },
    },
  ]);
  selections = select([]);
  assert.equal((await httpGet(`${s.url}/sd`)).body, '[]\n', 'the selection of the latest refresh');
});

/** The simulator's tailnet through the API client and the selection rules, and a scraper for its devices. */
async function tailnet(t: TestContext) {
  const sim = await startTailnet({ scenario: { names: ['gw-a', 'gw-b'] } });
  t.after(() => sim.close());
  await sim.addDevice({ hostname: 'laptop', tags: [], servesMetrics: true });
  const { selections } = await selectSimDevices(sim);
  const scraper = (timeoutMs: number, dispatcher?: Agent): DeviceScraper => {
    const x = new DeviceScraper({
      timeoutMs,
      maxBytes: 1024 * 1024,
      maxSeries: 10_000,
      concurrency: 4,
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    t.after(() => x.close());
    return x;
  };
  const byName = (hostname: string) => sim.devices.find((d) => d.hostname === hostname)!;
  return { sim, selections, scraper, byName };
}

test('/probe scrapes the one device named by name, id or node id; ineligible and unknown ones are 404', async (t) => {
  const { sim, selections, scraper, byName } = await tailnet(t);
  const x = scraper(5000);
  const s = await serve(t, {
    extraRoutes: {
      '/probe': probeRoute({
        selections: () => selections,
        scrape: (target, signal) => x.scrape(target, signal),
        maxConcurrent: 2,
        queueTimeoutMs: 1000,
      }),
    },
  });
  const probe = (target: string | undefined) =>
    httpGet(`${s.url}/probe${target === undefined ? '' : `?target=${encodeURIComponent(target)}`}`);
  for (const target of [undefined, '']) {
    const r = await probe(target);
    assert.deepEqual([r.status, r.body], [400, 'missing ?target=<device id or name>\n'], `target ${target}`);
  }
  assert.deepEqual((await probe('gw-zz')).body, 'not an eligible device: unknown\n');
  const untagged = await probe('laptop');
  assert.deepEqual([untagged.status, untagged.body], [404, 'not an eligible device: untagged\n']);

  const a = byName('gw-a');
  const b = byName('gw-b');
  for (const target of ['gw-a', a.id, a.nodeId, `${a.name.toUpperCase()}.`]) {
    const r = await probe(target);
    assert.equal(r.status, 200, target);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const v = seriesValues(r.body);
    assert.equal(v.get('tsmetrics_probe_success'), 1, target);
    assert.ok((v.get('tsmetrics_probe_duration_seconds') ?? -1) >= 0);
    assert.equal(v.has('tsmetrics_probe_failure_info{reason="timeout"}'), false);
    const device = [...v.keys()].filter((k) => !k.startsWith('tsmetrics_probe_'));
    assert.ok(device.length > 0, 'the device client metrics');
    assert.ok(
      device.every((k) => k.startsWith('tailscaled_') && k.includes(`{device_id="${a.id}",device_name="${a.name}"`)),
      device.join('\n'),
    );
  }
  assert.ok(!(await probe(a.id)).body.includes(b.id), 'only the probed device');

  sim.setDeviceFault(b.nodeId, { kind: 'status', status: 500 });
  const failed = await probe('gw-b');
  assert.equal(failed.status, 200, 'a failed probe is an answer: success 0 and why');
  const v = seriesValues(failed.body);
  assert.equal(v.get('tsmetrics_probe_success'), 0);
  assert.equal(v.get('tsmetrics_probe_failure_info{reason="http_status"}'), 1);
  assert.ok(![...v.keys()].some((k) => k.startsWith('tailscaled_')));
});

test('X-Prometheus-Scrape-Timeout-Seconds less half a second bounds a probe; without a usable one the scraper timeout does', async (t) => {
  const { sim, selections, scraper, byName } = await tailnet(t);
  sim.setDeviceFault(byName('gw-a').nodeId, { kind: 'hang' });
  // undici's own header timeout runs on a coarse timer that may fire up to half a second early: without it the
  // scraper's timeout is exact, and the deadlines below are told apart by the probe's duration.
  const agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });
  t.after(() => agent.close());
  const x = scraper(700, agent);
  const s = await serve(t, {
    extraRoutes: {
      '/probe': probeRoute({
        selections: () => selections,
        scrape: (target, signal) => x.scrape(target, signal),
        maxConcurrent: 4,
        queueTimeoutMs: 1000,
      }),
    },
  });
  const probe = async (timeout: string | undefined): Promise<number> => {
    const headers: Record<string, string> =
      timeout === undefined ? {} : { 'x-prometheus-scrape-timeout-seconds': timeout };
    const r = await httpGet(`${s.url}/probe?target=gw-a`, { headers });
    assert.equal(r.status, 200, `timeout ${timeout}`);
    const v = seriesValues(r.body);
    assert.equal(v.get('tsmetrics_probe_success'), 0);
    assert.equal(v.get('tsmetrics_probe_failure_info{reason="timeout"}'), 1);
    return v.get('tsmetrics_probe_duration_seconds')!;
  };
  const within = (seconds: number, low: number, high: number, what: string): void =>
    assert.ok(seconds >= low && seconds < high, `${what}: ${seconds} s`);
  // The scraper's own timeout (700 ms) is longer: the header's deadline ends the probe.
  within(await probe('0.9'), 0.38, 0.65, '0.9 s less 0.5 s');
  within(await probe('0.2'), 0.09, 0.38, 'at least 100 ms');
  for (const unusable of [undefined, '0', 'soon', 'Infinity'])
    within(await probe(unusable), 0.68, 1.5, `header ${unusable}: the scraper's 700 ms`);
});

test('probes beyond maxConcurrent wait for a slot until their deadline, then 503; a freed slot goes to the next in line', async (t) => {
  const { selections, scraper } = await tailnet(t);
  const x = scraper(5000);
  const started: string[] = [];
  let gate = Promise.resolve();
  const s = await serve(t, {
    extraRoutes: {
      '/probe': probeRoute({
        selections: () => selections,
        scrape: async (target: ScrapeTarget, signal?: AbortSignal): Promise<ScrapeResult> => {
          started.push(target.deviceName.split('.')[0]!);
          await gate;
          return x.scrape(target, signal);
        },
        maxConcurrent: 1,
        queueTimeoutMs: 300,
      }),
    },
  });
  const hold = (): (() => void) => {
    let open = (): void => {};
    gate = new Promise((r) => (open = r));
    return open;
  };
  const probe = (target: string, timeout?: string) =>
    httpGet(`${s.url}/probe?target=${target}`, {
      headers: timeout === undefined ? {} : { 'x-prometheus-scrape-timeout-seconds': timeout },
    });
  const startedBy = async (n: number): Promise<void> => {
    for (let i = 0; i < 200 && started.length < n; i++) await sleep(10);
    assert.equal(started.length, n);
  };

  let open = hold();
  const first = probe('gw-a');
  await startedBy(1);
  const queued = performance.now();
  const late = probe('gw-b');
  await sleep(20);
  const patient = probe('gw-b', '1.5');
  const refused = await late;
  assert.deepEqual(
    [refused.status, refused.body],
    [503, 'too many probes in flight until the scrape deadline\n'],
    'no Prometheus deadline: the queue timeout',
  );
  assert.equal(refused.headers['retry-after'], '1');
  assert.ok(performance.now() - queued >= 280, 'it waited its turn first');
  assert.deepEqual(started, ['gw-a'], 'the slot is still held');
  open();
  assert.equal(seriesValues((await first).body).get('tsmetrics_probe_success'), 1);
  const granted = performance.now();
  assert.equal(seriesValues((await patient).body).get('tsmetrics_probe_success'), 1, 'the next in line got the slot');
  assert.deepEqual(started, ['gw-a', 'gw-b'], 'the refused probe never scraped');

  // The granted probe's deadline passes later, while another probe waits: that one must keep its place.
  open = hold();
  const holder = probe('gw-a');
  await startedBy(3);
  const waiting = probe('gw-b', '5');
  await sleep(20);
  const behind = probe('gw-a', '5');
  await sleep(Math.max(0, 1200 - (performance.now() - granted)));
  open();
  assert.equal((await holder).status, 200);
  for (const r of [await waiting, await behind]) {
    assert.equal(r.status, 200);
    assert.equal(seriesValues(r.body).get('tsmetrics_probe_success'), 1);
  }
  assert.deepEqual(started, ['gw-a', 'gw-b', 'gw-a', 'gw-b', 'gw-a'], 'first come, first served');
});
