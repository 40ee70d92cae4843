import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import { Agent, fetch } from 'undici';
import { checkHealth } from '../../src/server/health-check.js';
import { makePki } from '../helpers/certs.js';
import { seriesValues, startExporter } from '../helpers/exporter.js';
import { sleep } from '../helpers/prometheus.js';

// The HTTP server as a client meets it: TLS and basic auth from a web config file, the limits, the self-metrics.

const BIN = join(process.cwd(), 'bin/tsmetrics.js');
const TOKEN = 'metrics-token-0123456789';
const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** GET with its own connection: `agent` for the test CA (`connect: { ca }`) or a source address (`localAddress`). */
async function get(
  url: string,
  headers: Record<string, string> = {},
  agent: Agent.Options = {},
): Promise<{ status: number; headers: { get(name: string): string | null }; body: Buffer }> {
  const dispatcher = new Agent(agent);
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000), dispatcher });
    return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
  } finally {
    await dispatcher.close();
  }
}

test(
  'HTTPS with basic auth from a web config file; the token works too; no 404-versus-401 oracle; q-values; no-store',
  { timeout: 60_000 },
  async (t) => {
    const pki = makePki(t);
    pki.issue('server', { cn: 'localhost', san: 'IP:127.0.0.1' });
    const file = join(pki.dir, 'web.yml');
    writeFileSync(
      file,
      `tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: ${bcrypt.hashSync('wonderland', 4)}\n`,
    );
    const ex = await startExporter(t, {
      TEST_DEVICES: 'gateway-1',
      WEB_CONFIG_FILE: file,
      METRICS_TOKEN: TOKEN,
      DEBUG_ENDPOINT: 'false',
    });
    assert.match(ex.url, /^https:/);
    const ca = { connect: { ca: pki.read(pki.caCert) } };
    const denied = await get(`${ex.url}/metrics`, {}, ca);
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get('www-authenticate'), 'Basic realm="tsmetrics", Bearer realm="tsmetrics"');
    assert.equal(denied.headers.get('x-frame-options'), 'deny', 'headers from the file');
    assert.equal((await get(`${ex.url}/metrics`, { authorization: basic('alice', 'wrong') }, ca)).status, 401);
    assert.equal((await get(`${ex.url}/metrics`, { authorization: basic('mallory', 'wonderland') }, ca)).status, 401);
    // /debug is off: without credentials it answers exactly like an enabled data route.
    for (const path of ['/debug', '/no-such-route', '/sd']) {
      const r = await get(`${ex.url}${path}`, {}, ca);
      assert.equal(r.status, 401, path);
      assert.equal(r.body.toString(), denied.body.toString());
    }
    assert.equal(
      (await get(`${ex.url}/debug`, { authorization: `Bearer ${TOKEN}` }, ca)).status,
      404,
      'with credentials, a disabled route is simply absent',
    );
    const ok = await get(
      `${ex.url}/metrics`,
      { authorization: basic('alice', 'wonderland'), 'accept-encoding': 'gzip' },
      ca,
    );
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-encoding'), 'gzip');
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.match(ok.body.toString(), /^tsmetrics_build_info/m, 'fetch inflated a valid gzip body');
    const plain = await get(
      `${ex.url}/metrics`,
      { authorization: `Bearer ${TOKEN}`, 'accept-encoding': 'gzip;q=0, identity' },
      ca,
    );
    assert.equal(plain.headers.get('content-encoding'), null, 'gzip;q=0 means plain text');
    assert.match(plain.body.toString(), /^tsmetrics_build_info/m);
    for (const path of ['/health', '/livez', '/readyz', '/healthz', '/startupz'])
      assert.equal((await get(`${ex.url}${path}`, {}, ca)).status, 200, `${path} stays open`);
    // Plain HTTP to the TLS port gets nothing useful.
    await assert.rejects(fetch(ex.url.replace('https:', 'http:') + '/livez', { signal: AbortSignal.timeout(5000) }));
    // --health-check speaks https to the local server (self-signed: not verified, it is localhost).
    const health = await checkHealth(`${ex.url.replace('https:', 'http:')}/livez`, file);
    assert.deepEqual(health, { ok: true, line: '200 ok' });
    // The requests so far, counted by handler and code, appear with the next snapshot.
    await ex.nextCycle();
    const v = seriesValues((await get(`${ex.url}/metrics`, { authorization: `Bearer ${TOKEN}` }, ca)).body.toString());
    assert.ok((v.get('tsmetrics_http_requests_total{handler="/metrics",code="401"}') ?? 0) >= 3);
    assert.ok(
      (v.get('tsmetrics_http_requests_total{handler="other",code="401"}') ?? 0) >= 2,
      'unknown and disabled routes share one handler label',
    );
    assert.ok((v.get('tsmetrics_http_requests_total{handler="/livez",code="200"}') ?? 0) >= 1);
    assert.equal(v.get('tsmetrics_web_config_reload_failures_total'), 0);
  },
);

test(
  'anonymous requests are limited per address; a token, basic auth and the probe routes are not',
  { timeout: 60_000 },
  async (t) => {
    const ex = await startExporter(t, {
      TEST_DEVICES: 'gateway-1',
      METRICS_TOKEN: TOKEN,
      RATE_LIMIT_RPS: '1',
      RATE_LIMIT_BURST: '2',
    });
    const anonymous: number[] = [];
    for (let i = 0; i < 5; i++) anonymous.push((await ex.get('/metrics')).status);
    assert.deepEqual(anonymous, [401, 401, 429, 429, 429]);
    const limited = await ex.get('/no-such-route');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '1');
    for (let i = 0; i < 30; i++) {
      assert.equal(
        (await ex.get('/metrics', { authorization: `Bearer ${TOKEN}` })).status,
        200,
        'a valid token is not throttled',
      );
      assert.equal((await ex.get('/livez')).status, 200, 'the probe routes are never throttled');
      assert.equal((await ex.get('/health')).status, 200);
    }
    // The real CLI's --health-check during the flood.
    const port = new URL(ex.url).port;
    // Not spawnSync: the exporter runs in this process and must keep answering.
    const cli = await promisify(execFile)(process.execPath, [BIN, '--health-check'], {
      env: { PATH: process.env.PATH ?? '', PORT: port, BIND_HOST: '127.0.0.1' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(cli.stdout.trim(), '200 ok', 'exit 0 (execFile rejects otherwise)');
    await ex.nextCycle();
    const v = seriesValues(await (await ex.get('/metrics', { authorization: `Bearer ${TOKEN}` })).text());
    assert.ok(
      (v.get('tsmetrics_http_requests_total{handler="/metrics",code="429"}') ?? 0) >= 3,
      'the 429s are counted',
    );
  },
);

test('--health-check reports the HTTP status and the answer, whatever it is', async (t) => {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) =>
    res.writeHead(429, { 'content-type': 'text/plain' }).end('too many requests\n'),
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => server.close(r)));
  const port = (server.address() as { port: number }).port;
  const r = await checkHealth(`http://127.0.0.1:${port}/livez`, undefined);
  assert.deepEqual(r, { ok: false, line: '429 too many requests' });
});

test(
  'requests beyond HTTP_MAX_REQUESTS_IN_FLIGHT get 503; /probe honours X-Prometheus-Scrape-Timeout-Seconds',
  { timeout: 60_000 },
  async (t) => {
    const ex = await startExporter(t, {
      TEST_DEVICES: 'gateway-1,gateway-2',
      HTTP_MAX_REQUESTS_IN_FLIGHT: '1',
      RATE_LIMIT_RPS: '0',
      SCRAPE_TAG: 'exporter',
    });
    const sim = ex.simulator!;
    const device = sim.devices[0]!;
    sim.setDeviceFault(device.nodeId, { kind: 'hang' });
    const started = performance.now();
    const probe = ex.get(`/probe?target=${device.nodeId}`, { 'x-prometheus-scrape-timeout-seconds': '1.5' });
    await sleep(200);
    const busy = await ex.get('/sd');
    assert.equal(busy.status, 503, 'the probe holds the only slot');
    assert.equal((await ex.get('/livez')).status, 200, 'the probe routes are not counted');
    assert.equal((await ex.get('/metrics')).status, 200, '/metrics, answered from memory, is not counted');
    const answer = await probe;
    const seconds = (performance.now() - started) / 1000;
    const text = await answer.text();
    assert.equal(answer.status, 200);
    assert.match(text, /^tsmetrics_probe_success 0$/m);
    assert.match(text, /tsmetrics_probe_failure_info\{reason="timeout"\} 1/);
    // CLIENT_METRICS_TIMEOUT is 10 s: the probe ended at Prometheus' deadline less 0.5 s instead.
    assert.ok(seconds < 5, `the probe took ${seconds} s`);
    assert.equal((await ex.get('/sd')).status, 200, 'the slot is free again');
    await ex.nextCycle();
    const v = seriesValues(await (await ex.get('/metrics')).text());
    assert.equal(v.get('tsmetrics_http_requests_total{handler="/sd",code="503"}'), 1);
  },
);

test(
  '1,000 silent connections from one address do not stop another client; they are closed within HTTP_HEADER_TIMEOUT',
  { timeout: 60_000 },
  async (t) => {
    const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', HTTP_HEADER_TIMEOUT: '1s', RATE_LIMIT_RPS: '0' });
    const { port } = new URL(ex.url);
    const sockets: Socket[] = [];
    /** Per connection: how long the server let it live. */
    const lived: number[] = [];
    t.after(() => sockets.forEach((s) => s.destroy()));
    // Bounded: 1,000 connections, opened in batches so the listen backlog keeps up.
    for (let batch = 0; batch < 10; batch++) {
      await Promise.all(
        Array.from(
          { length: 100 },
          () =>
            new Promise<void>((resolve) => {
              let connectedAt = performance.now();
              const s = tcpConnect({ host: '127.0.0.1', port: Number(port) }, () => {
                connectedAt = performance.now();
                resolve();
              });
              // Read whatever the server might send: an unread answer would keep the client's end of a closed
              // connection open.
              s.resume();
              s.on('error', () => resolve());
              s.on('close', () => lived.push(performance.now() - connectedAt));
              sockets.push(s);
            }),
        ),
      );
      // Paced by the server: beyond the 128 it holds, each accepted connection is closed at once; waiting for
      // those closes keeps the accept queue short on a loaded machine.
      for (let i = 0; i < 100 && lived.length < sockets.length - 128; i++) await sleep(50);
    }
    // Another client (another loopback address) is served meanwhile.
    const other = { localAddress: '127.0.0.2' };
    const url = ex.url;
    const metrics = await get(`${url}/metrics`, {}, other);
    assert.equal(metrics.status, 200);
    assert.match(metrics.body.toString(), /^tsmetrics_build_info/m);
    assert.equal((await get(`${url}/livez`, {}, other)).status, 200);
    // Every silent connection is closed by the server within the timeout (1 s). The bound on the slowest has
    // slack for a loaded 2-core machine, where accepting 1,000 connections itself takes a while.
    for (let i = 0; i < 200 && lived.length < sockets.length; i++) await sleep(100);
    const stuck = sockets.filter((s) => !s.destroyed);
    assert.equal(
      lived.length,
      1000,
      `all closed by the server; open: ${stuck.length}, of which still connecting: ${stuck.filter((s) => s.connecting).length}, ports ${stuck
        .slice(0, 5)
        .map((s) => String(s.localPort))
        .join(',')}`,
    );
    const slowest = Math.max(...lived);
    t.diagnostic(`the longest-lived silent connection: ${Math.round(slowest)} ms`);
    assert.ok(slowest < 5000, `slowest ${slowest} ms`);
    await ex.nextCycle();
    const v = seriesValues((await get(`${url}/metrics`, {}, other)).body.toString());
    const refused = v.get('tsmetrics_http_connections_refused_total{reason="per_address"}')!;
    const timedOut = v.get('tsmetrics_http_header_timeouts_total')!;
    // At most 128 at once from one address: the rest refused at once, the held ones closed by the timeout.
    assert.equal(refused + timedOut, 1000);
    assert.ok(refused > 0 && timedOut >= 128, `refused ${refused}, timed out ${timedOut}`);
    t.diagnostic(`refused at once ${refused}, closed by the timeout ${timedOut}`);
  },
);

test(
  'a rotated certificate is served without a restart; a broken rotation keeps the last good one',
  { timeout: 60_000 },
  async (t) => {
    const pki = makePki(t);
    const first = pki.issue('first', { cn: 'first', san: 'IP:127.0.0.1' });
    const second = pki.issue('second', { cn: 'second', san: 'IP:127.0.0.1' });
    copyFileSync(first.cert, join(pki.dir, 'tls.crt'));
    copyFileSync(first.key, join(pki.dir, 'tls.key'));
    const file = join(pki.dir, 'web.yml');
    writeFileSync(file, 'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n');
    const ex = await startExporter(t, { TEST_DEVICES: 'gateway-1', WEB_CONFIG_FILE: file });
    const { port } = new URL(ex.url);
    const servedCn = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect({ host: '127.0.0.1', port: Number(port), ca: pki.read(pki.caCert) }, () => {
          resolve(String(s.getPeerCertificate().subject.CN));
          s.end();
        });
        s.on('error', reject);
      });
    assert.equal(await servedCn(), 'first');
    // As cert-manager or a Secret update does: new files in place.
    copyFileSync(second.cert, join(pki.dir, 'tls.crt'));
    copyFileSync(second.key, join(pki.dir, 'tls.key'));
    let cn = '';
    for (let i = 0; i < 50 && cn !== 'second'; i++) {
      await sleep(100);
      cn = await servedCn();
    }
    assert.equal(cn, 'second', 'the new certificate, same process');
    writeFileSync(join(pki.dir, 'tls.key'), 'not a key');
    await sleep(2500);
    assert.equal(await servedCn(), 'second', 'a broken key: the last good certificate stays');
    await ex.nextCycle();
    const v = seriesValues(
      (await get(`${ex.url}/metrics`, {}, { connect: { ca: pki.read(pki.caCert) } })).body.toString(),
    );
    assert.ok((v.get('tsmetrics_web_config_reload_failures_total') ?? 0) >= 1);
  },
);
