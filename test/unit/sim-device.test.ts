// The fake devices' client-metrics endpoints over real loopback HTTP: format, Host redirect,
// counter growth, and every device fault.
import assert from 'node:assert/strict';
import { httpGet, type Reply } from '../helpers/http.js';
import { createServer, request } from 'node:http';
import { test, type TestContext } from 'node:test';
import {
  startTailnet,
  type SimDevice,
  type SimTailnet,
  type StartTailnetOptions,
} from '../../src/sim/tailscale/index.js';

const T0 = Date.parse('2026-09-01T12:00:00Z');

interface DeviceGetOptions {
  host?: string;
  path?: string;
  timeoutMs?: number;
}

/** A device endpoint by its loopback address, optionally with a foreign Host header. */
function deviceGet(
  address: string,
  port: number,
  { host, path = '/metrics', timeoutMs = 5_000 }: DeviceGetOptions = {},
): Promise<Reply> {
  return httpGet(`http://${address}:${port}${path}`, { headers: host === undefined ? {} : { host }, timeoutMs });
}

async function sim(
  t: TestContext,
  options: StartTailnetOptions = {},
): Promise<{ tn: SimTailnet; clock: { ms: number } }> {
  const clock = { ms: T0 };
  const tn = await startTailnet({ now: () => clock.ms, ...options });
  t.after(() => tn.close());
  return { tn, clock };
}

function served(tn: SimTailnet, hostname: string): SimDevice & { loopbackAddress: string } {
  const device = tn.devices.find((d) => d.hostname === hostname);
  assert.ok(device?.loopbackAddress, `${hostname} serves metrics`);
  return device as SimDevice & { loopbackAddress: string };
}

/** Waits (bounded) until the fault has shaped `n` answers: a request is in the server, not still on its way. */
async function untilFaults(tn: SimTailnet, key: string, n: number): Promise<void> {
  for (let i = 0; i < 500 && tn.stats.faultsInjected.get(key) !== n; i++)
    await new Promise((resolve) => setTimeout(resolve, 10));
}

function scrape(tn: SimTailnet, device: { loopbackAddress: string }, options: DeviceGetOptions = {}): Promise<Reply> {
  return deviceGet(device.loopbackAddress, tn.clientMetricsPort, options);
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const SAMPLE = new RegExp(String.raw`^${NAME}(?:\{${LABEL}(?:,${LABEL})*\})? -?[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?$`);
const HELP = new RegExp(String.raw`^# HELP ${NAME} (?:[^\\\n]|\\[\\n])*$`);
const TYPE = new RegExp(`^# TYPE ${NAME} (?:counter|gauge|histogram|summary|untyped)$`);

/** A strict enough check of text format 0.0.4 for telling the good answers from the broken ones. */
function isValidExposition(body: string): boolean {
  if (!body.endsWith('\n')) return false;
  return body
    .slice(0, -1)
    .split('\n')
    .every((line) => SAMPLE.test(line) || HELP.test(line) || TYPE.test(line));
}

function samples(body: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return out;
}

test('metrics: text 0.0.4 with HELP and TYPE for every tailscaled family', async (t) => {
  const { tn } = await sim(t);
  const reply = await scrape(tn, served(tn, 'gateway-1'));
  assert.equal(reply.status, 200);
  assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  assert.ok(isValidExposition(reply.body), reply.body);
  const types: Array<[string, string]> = [
    ['tailscaled_inbound_bytes_total', 'counter'],
    ['tailscaled_outbound_bytes_total', 'counter'],
    ['tailscaled_inbound_packets_total', 'counter'],
    ['tailscaled_outbound_packets_total', 'counter'],
    ['tailscaled_inbound_dropped_packets_total', 'counter'],
    ['tailscaled_outbound_dropped_packets_total', 'counter'],
    ['tailscaled_health_messages', 'gauge'],
    ['tailscaled_advertised_routes', 'gauge'],
    ['tailscaled_approved_routes', 'gauge'],
    ['tailscaled_home_derp_region_id', 'gauge'],
  ];
  for (const [name, type] of types) {
    assert.match(reply.body, new RegExp(`^# TYPE ${name} ${type}$`, 'm'));
    assert.match(reply.body, new RegExp(`^# HELP ${name} \\S`, 'm'));
  }
  const values = samples(reply.body);
  for (const path of ['direct_ipv4', 'direct_ipv6', 'derp', 'peer_relay_ipv4']) {
    assert.ok(values.has(`tailscaled_inbound_bytes_total{path="${path}"}`), path);
  }
  assert.ok(values.has('tailscaled_inbound_dropped_packets_total{reason="acl"}'));
  assert.equal(values.get('tailscaled_health_messages{type="warning"}'), 1);
  assert.equal(values.get('tailscaled_home_derp_region_id'), 1);
});

test('metrics: route gauges follow the API record and exclude exit routes', async (t) => {
  const { tn } = await sim(t);
  const routes = async (hostname: string): Promise<[number | undefined, number | undefined]> => {
    const values = samples((await scrape(tn, served(tn, hostname))).body);
    return [values.get('tailscaled_advertised_routes'), values.get('tailscaled_approved_routes')];
  };
  assert.deepEqual(await routes('gateway-1'), [2, 1]);
  assert.deepEqual(await routes('gateway-2'), [1, 1]);
  assert.deepEqual(await routes('exit-node-1'), [0, 0]);
  served(tn, 'gateway-1').enabledRoutes = ['10.20.0.0/16', '192.168.10.0/24'];
  assert.deepEqual(await routes('gateway-1'), [2, 2]);
});

test('metrics: counters are integers that grow with the injected clock, at different rates', async (t) => {
  const { tn, clock } = await sim(t);
  const [a, b] = [served(tn, 'gateway-1'), served(tn, 'gateway-2')];
  const before = [samples((await scrape(tn, a)).body), samples((await scrape(tn, b)).body)];
  clock.ms += 60_000;
  const after = [samples((await scrape(tn, a)).body), samples((await scrape(tn, b)).body)];
  const growth = new Set<number>();
  for (let i = 0; i < 2; i++) {
    for (const [series, value] of after[i] ?? []) {
      if (!series.includes('_total')) continue;
      const old = before[i]?.get(series);
      assert.ok(Number.isInteger(value) && old !== undefined, series);
      assert.ok(value > old, `${series} grew`);
      growth.add(value - old);
    }
  }
  assert.ok(growth.size > 10, 'rates differ per device and series');
});

test('metrics: a Host other than ip:port gets a 301 to http://ip:port/metrics; other paths 404', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'db-1');
  const target = `http://${device.loopbackAddress}:${tn.clientMetricsPort}/metrics`;
  for (const host of ['db-1.tail1234.ts.net:5252', device.loopbackAddress, `localhost:${tn.clientMetricsPort}`]) {
    const reply = await scrape(tn, device, { host });
    assert.equal(reply.status, 301, host);
    assert.equal(reply.headers['location'], target);
  }
  assert.equal((await scrape(tn, device, { path: '/' })).status, 404);
  assert.equal((await scrape(tn, device, { path: '/debug' })).status, 404);
  assert.equal(tn.stats.scrapes.get(device.nodeId), undefined, 'redirects and 404s are not scrapes');
  await scrape(tn, device);
  await scrape(tn, device);
  assert.equal(tn.stats.scrapes.get(device.nodeId), 2);
});

test('device fault hang: no answer; the client times out and close() returns', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.nodeId, { kind: 'hang' });
  await assert.rejects(scrape(tn, device, { timeoutMs: 200 }), /client timeout/);
  assert.equal((await scrape(tn, served(tn, 'gateway-2'))).status, 200, 'other devices unaffected');
  const pending = scrape(tn, device);
  // Closed only once the second request hangs in the simulator (a fixed 50 ms was too short under load).
  await untilFaults(tn, 'device:hang', 2);
  await tn.close();
  await assert.rejects(pending);
  assert.equal(tn.stats.faultsInjected.get('device:hang'), 2);
});

test('device fault slow: answers after the delay', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.hostname, { kind: 'slow', delayMs: 5_000 });
  await assert.rejects(scrape(tn, device, { timeoutMs: 100 }), /client timeout/);
  tn.setDeviceFault(device.hostname, { kind: 'slow', delayMs: 20 });
  assert.equal((await scrape(tn, device)).status, 200);
});

test('device fault trickle: a valid body sent line by line; close() ends one in flight', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.nodeId, { kind: 'trickle', lines: 5, intervalMs: 10 });
  const reply = await scrape(tn, device);
  assert.equal(reply.status, 200);
  assert.ok(isValidExposition(reply.body), reply.body);
  assert.equal(samples(reply.body).size, 5);
  tn.setDeviceFault(device.nodeId, { kind: 'trickle', lines: 1_000, intervalMs: 50 });
  const pending = scrape(tn, device);
  await untilFaults(tn, 'device:trickle', 2);
  await tn.close();
  await assert.rejects(pending);
  assert.equal(tn.stats.faultsInjected.get('device:trickle'), 2);
});

test('device fault reset and status', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.name, { kind: 'reset' });
  await assert.rejects(scrape(tn, device), { code: 'ECONNRESET' });
  tn.setDeviceFault(device.id, { kind: 'status', status: 503 });
  assert.equal((await scrape(tn, device)).status, 503);
  tn.setDeviceFault(device.id, null);
  assert.equal((await scrape(tn, device)).status, 200);
});

test('device fault huge: streams at least the requested bytes; a client hanging up early is fine', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.nodeId, { kind: 'huge', bytes: 4_000_000 });
  const reply = await scrape(tn, device);
  assert.equal(reply.status, 200);
  assert.ok(reply.body.length >= 4_000_000);
  assert.ok(isValidExposition(reply.body), 'valid-looking');
  tn.setDeviceFault(device.nodeId, { kind: 'huge', bytes: 500_000_000 });
  await new Promise<void>((resolve, reject) => {
    const req = request(
      { host: device.loopbackAddress, port: tn.clientMetricsPort, path: '/metrics', agent: false },
      (res) => {
        let seen = 0;
        res.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen > 1_000_000) req.destroy();
        });
        res.on('close', () => resolve());
      },
    );
    req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
    req.end();
  });
  tn.setDeviceFault(device.nodeId, null);
  assert.equal((await scrape(tn, device)).status, 200);
});

test('device faults malformed, label-injection, many-series and openmetrics shape the body', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.nodeId, { kind: 'malformed' });
  const malformed = await scrape(tn, device);
  assert.equal(malformed.status, 200);
  assert.ok(!isValidExposition(malformed.body));

  tn.setDeviceFault(device.nodeId, { kind: 'label-injection' });
  const injected = (await scrape(tn, device)).body;
  assert.ok(isValidExposition(injected), injected);
  for (const needle of ['device_id="', 'device_name="', '\\"', '\\\\', '\\n', '日本'])
    assert.ok(injected.includes(needle), needle);

  tn.setDeviceFault(device.nodeId, { kind: 'many-series', series: 5_000 });
  const many = (await scrape(tn, device)).body;
  assert.ok(isValidExposition(many));
  assert.equal(samples(many).size, 5_000);

  tn.setDeviceFault(device.nodeId, { kind: 'openmetrics' });
  const om = await scrape(tn, device);
  assert.equal(om.headers['content-type'], 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  assert.ok(om.body.endsWith('# EOF\n'));
  assert.match(om.body, /^# TYPE tailscaled_inbound_bytes counter$/m);
  assert.match(om.body, /^tailscaled_inbound_bytes_total\{path="derp"\} \d+$/m);
  assert.equal(tn.stats.faultsInjected.get('device:openmetrics'), 1);
});

test('device fault flip: alternates good and malformed answers', async (t) => {
  const { tn } = await sim(t);
  const device = served(tn, 'gateway-1');
  tn.setDeviceFault(device.nodeId, { kind: 'flip' });
  const verdicts: boolean[] = [];
  for (let i = 0; i < 4; i++) verdicts.push(isValidExposition((await scrape(tn, device)).body));
  assert.deepEqual(verdicts, [true, false, true, false]);
});

test('device faults: unknown or non-serving devices are rejected', async (t) => {
  const { tn } = await sim(t);
  assert.throws(() => tn.setDeviceFault('no-such-device', { kind: 'reset' }), /no simulated device/);
  assert.throws(() => tn.setDeviceFault('alice-macbook', { kind: 'reset' }), /serves no client metrics/);
});

test('deviceDelayMs delays every answer', async (t) => {
  const { tn } = await sim(t, { scenario: { names: ['slow-1'] }, deviceDelayMs: 5_000 });
  await assert.rejects(scrape(tn, served(tn, 'slow-1'), { timeoutMs: 100 }), /client timeout/);
});

test('addDevice and removeDevice start and stop a device endpoint and update the API', async (t) => {
  const { tn } = await sim(t, { scenario: { names: ['gateway-1', 'gateway-2'] } });
  const added = await tn.addDevice({ hostname: 'late-1', tags: ['tag:exporter'], servesMetrics: true });
  assert.equal(added.loopbackAddress, '127.0.0.4');
  assert.equal(added.addresses[0], '127.0.0.4');
  assert.match(added.addresses[1] ?? '', /^fd7a:115c:a1e0::/);
  assert.equal((await scrape(tn, added as SimDevice & { loopbackAddress: string })).status, 200);
  const quiet = await tn.addDevice({ hostname: 'phone', os: 'iOS' });
  assert.equal(quiet.loopbackAddress, null);
  assert.match(quiet.addresses[0] ?? '', /^100\./);
  const listed = await fetch(`${tn.apiUrl}/api/v2/tailnet/-/devices`, {
    headers: { authorization: `Bearer ${tn.apiKey}` },
  });
  assert.deepEqual(
    ((await listed.json()) as { devices: Array<{ hostname: string }> }).devices.map((d) => d.hostname),
    ['gateway-1', 'gateway-2', 'late-1', 'phone'],
  );
  await tn.removeDevice('late-1');
  assert.equal(tn.devices.length, 3);
  await assert.rejects(scrape(tn, added as SimDevice & { loopbackAddress: string }), { code: 'ECONNREFUSED' });
  await assert.rejects(tn.removeDevice('late-1'), /no simulated device/);
  await tn.close();
  await assert.rejects(tn.addDevice({ hostname: 'too-late', servesMetrics: true }), /closed/);
});

test('clientMetricsPort: a fixed port is used for every device; a taken one fails start', async (t) => {
  const { tn: first } = await sim(t, { scenario: { names: ['a', 'b'] } });
  await assert.rejects(startTailnet({ scenario: { names: ['c'] }, clientMetricsPort: first.clientMetricsPort }), {
    code: 'EADDRINUSE',
  });
  const port = first.clientMetricsPort;
  await first.close();
  const { tn: second } = await sim(t, { scenario: { names: ['c', 'd'] }, clientMetricsPort: port });
  assert.equal(second.clientMetricsPort, port);
  for (const name of ['c', 'd']) assert.equal((await scrape(second, served(second, name))).status, 200);
});

test('clientMetricsPort: a bind failing part-way releases the addresses already bound', async (t) => {
  const { tn: probe } = await sim(t, { scenario: { names: ['probe'] } });
  const port = probe.clientMetricsPort;
  await probe.close();
  const squatter = createServer();
  await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.3', resolve));
  t.after(() => new Promise<void>((resolve) => squatter.close(() => resolve())));
  await assert.rejects(startTailnet({ scenario: { names: ['a', 'b', 'c'] }, clientMetricsPort: port }), {
    code: 'EADDRINUSE',
  });
  await new Promise<void>((resolve) => squatter.close(() => resolve()));
  const { tn } = await sim(t, { scenario: { names: ['a', 'b', 'c'] }, clientMetricsPort: port });
  assert.equal((await scrape(tn, served(tn, 'c'))).status, 200);
});
