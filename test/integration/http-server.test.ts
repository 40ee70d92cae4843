import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadWebConfig } from '../../src/config/web-config.js';
import { buildSnapshot } from '../../src/exposition/snapshot.js';
import type { CycleRecord } from '../../src/refresh/status.js';
import { send } from '../../src/server/server.js';
import { httpGet, type Reply } from '../helpers/http.js';
import { sleep } from '../helpers/prometheus.js';
import { serve } from '../helpers/server.js';

// The HTTP server in-process, as a client meets it: which routes answer what to whom, credentials from the token
// and the web config file, the rate limits, the request and connection limits, and a web config changed while
// it runs.

const TOKEN = 'server-token-0123456789';
const BEARER = { authorization: `Bearer ${TOKEN}` };
const basic = (user: string, password: string): Record<string, string> => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

const cycle = (apiOk: boolean): CycleRecord => ({
  startedAt: '',
  durationSeconds: 1,
  scrapeDurationSeconds: 1,
  apiOk,
  devicesDiscovered: 3,
  devicesEligible: 2,
  devicesScraped: 2,
  scrapeFailures: 0,
});

/** A web config file in a temporary directory; `config` reads it as the exporter does at start-up. */
function webConfigFile(t: TestContext, yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tsmetrics-web-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'web.yml');
  writeFileSync(file, yaml);
  return { file, config: () => loadWebConfig(file, (p) => readFileSync(p, 'utf8')) };
}

test('open routes, the landing page, the status page and /debug by credentials; 404, 405, HEAD; requests counted', async (t) => {
  let now = 1_000_000;
  const s = await serve(t, {
    version: '1.2.3<rc>',
    debugConfig: { scrape_tag: 'tag:exporter', metrics_token: '<redacted>' },
    about: {
      mode: 'standalone',
      backend: 'tailscale',
      tailnet: 'example.com',
      scrapeTag: 'tag:exporter',
      requireExporterTag: true,
    },
    metricsToken: TOKEN,
    tsnetUp: () => false,
    now: () => now,
  });
  const get = (path: string, o: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> =>
    httpGet(`${s.url}${path}`, o);

  const livez = await get('/livez');
  assert.equal(livez.status, 200);
  assert.equal(livez.body, 'ok\n');
  assert.equal(livez.headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(livez.headers['cache-control'], 'no-store');
  assert.equal(livez.headers['x-content-type-options'], 'nosniff');
  const head = await get('/livez', { method: 'HEAD' });
  assert.equal(head.headers['content-length'], '3', 'HEAD: the length of the body it leaves out');
  assert.equal(head.body, '');
  assert.deepEqual([(await get('/healthz')).status, (await get('/healthz')).body], [200, 'starting\n']);

  const landing = await get('/');
  assert.equal(landing.status, 200);
  assert.equal(landing.headers['content-type'], 'text/html; charset=utf-8');
  assert.match(String(landing.headers['content-security-policy']), /^default-src 'none';/);
  assert.ok(landing.body.includes('version 1.2.3&lt;rc&gt;.'), 'the version, escaped');
  for (const link of ['/metrics', '/healthz', '/sd', '/probe?target=', '/debug', '/status'])
    assert.ok(landing.body.includes(`<li><a href="${link}">${link}</a>: `), link);
  assert.ok(!landing.body.includes('id="overview"'), 'without the token / is only the list of links');
  const page = await get('/', { headers: BEARER });
  assert.ok(page.body.includes('id="overview"'), 'with it, the status page');
  assert.ok(page.body.includes('own tailscaled <span class="bad">down</span>'));
  assert.match(String(page.headers['content-security-policy']), /^default-src 'none';/);

  const status = await get('/status?q=gw-7');
  assert.equal(status.status, 401);
  assert.equal(status.headers['www-authenticate'], 'Bearer realm="tsmetrics"');
  assert.equal(status.body, 'unauthorized\n');
  const found = await get('/status?q=gw-7', { headers: BEARER });
  assert.equal(found.status, 200);
  assert.ok(found.body.includes('action="/status"'), 'its links point back to /status');
  assert.ok(found.body.includes('name="q" value="gw-7"'), 'the query string reaches the device table');

  assert.equal((await get('/debug')).status, 401);
  const debug = async () =>
    JSON.parse((await get('/debug', { headers: BEARER })).body) as {
      version: string;
      config: unknown;
      runtime: { pid: number };
      refresh: Record<string, unknown> & { history: unknown[] };
    };
  const before = await debug();
  assert.equal(before.version, '1.2.3<rc>');
  assert.deepEqual(before.config, { scrape_tag: 'tag:exporter', metrics_token: '<redacted>' });
  assert.equal(before.runtime.pid, process.pid);
  assert.deepEqual(before.refresh, {
    last_cycle: null,
    last_successful_refresh: null,
    devices_discovered: 0,
    devices_scraped: 0,
    failing_devices: [],
    history: [],
  });
  s.status.record(cycle(false), now);
  const failing = await debug();
  assert.equal(failing.refresh.last_cycle, new Date(now).toISOString());
  assert.equal(failing.refresh.last_successful_refresh, null, 'the device list failed');
  now += 1000;
  s.status.record(cycle(true), now);
  const good = await debug();
  assert.equal(good.refresh.last_successful_refresh, new Date(now).toISOString());
  assert.equal(good.refresh.devices_discovered, 3);
  assert.equal(good.refresh.history.length, 2);
  assert.deepEqual([(await get('/healthz')).status, (await get('/healthz')).body], [200, 'degraded\n']);
  now += 4 * 30_000;
  assert.deepEqual([(await get('/healthz')).status, (await get('/healthz')).body], [503, 'unhealthy\n']);

  const metrics = await get('/metrics', { headers: BEARER });
  assert.deepEqual([metrics.status, metrics.body], [503, 'no data yet: the first refresh has not finished\n']);
  const missing = await get('/nope', { headers: BEARER });
  assert.deepEqual([missing.status, missing.body], [404, 'not found\n']);
  for (const path of ['/livez', '/metrics']) {
    const post = await get(path, { method: 'POST', headers: BEARER });
    assert.equal(post.status, 405, path);
    assert.equal(post.headers.allow, 'GET, HEAD');
  }
  // Counted when the response closes, which may be after the client has read it.
  for (let i = 0; i < 50 && s.stats.inFlight > 0; i++) await sleep(10);
  assert.equal(s.stats.requests.get('other\u0000404'), 1, 'an unknown path is "other"');
  assert.equal(s.stats.requests.get('/livez\u0000405'), 1);
  assert.equal(s.stats.requests.get('/status\u0000401'), 1);
  assert.equal(s.stats.requests.get('/healthz\u0000503'), 2);
});

test('without /debug: / lists the links, /status and /debug are absent; /health has no tsnet field', async (t) => {
  const s = await serve(t);
  const landing = await httpGet(`${s.url}/`);
  assert.equal(landing.status, 200);
  assert.ok(landing.body.includes('<li><a href="/sd">/sd</a>: '));
  assert.ok(!landing.body.includes('/status') && !landing.body.includes('/debug'));
  assert.equal((await httpGet(`${s.url}/status`)).status, 404);
  assert.equal((await httpGet(`${s.url}/debug`)).status, 404);
  const health = JSON.parse((await httpGet(`${s.url}/health`)).body) as Record<string, unknown>;
  assert.equal('tsnet_up' in health, false);
  assert.ok(Math.abs(Date.parse(String(health.timestamp)) - Date.now()) < 60_000, 'the real clock by default');
});

test('basic users from the web config and the token; one bucket per address for the rest, before bcrypt', async (t) => {
  let now = 1_000_000;
  const web = webConfigFile(
    t,
    `http_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  alice: ${bcrypt.hashSync('wonderland', 4)}\n`,
  );
  const s = await serve(t, {
    webConfig: web.config(),
    metricsToken: TOKEN,
    rateLimit: { perSecond: 1, burst: 3 },
    now: () => now,
  });
  s.store.swap(await buildSnapshot([], now));
  const status = async (path: string, headers: Record<string, string> = {}): Promise<number> =>
    (await httpGet(`${s.url}${path}`, { headers })).status;

  const denied = await httpGet(`${s.url}/metrics`);
  assert.equal(denied.status, 401);
  assert.equal(denied.headers['www-authenticate'], 'Basic realm="tsmetrics", Bearer realm="tsmetrics"');
  assert.equal(denied.headers['x-frame-options'], 'deny', 'headers from the file, on every answer');
  assert.equal(await status('/metrics', basic('alice', 'wonderland')), 200);
  assert.equal(await status('/metrics', basic('alice', 'wrong')), 401);
  // The bucket (3) is spent by the three requests above without remembered credentials.
  const limited = await httpGet(`${s.url}/metrics`, { headers: basic('mallory', 'wonderland') });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['retry-after'], '1');
  assert.equal(limited.body, 'too many requests\n');
  assert.equal(await status('/no-such-route'), 429, 'no 404-versus-429 oracle either');
  for (let i = 0; i < 5; i++) {
    assert.equal(await status('/metrics', basic('alice', 'wonderland')), 200, 'verified credentials are remembered');
    assert.equal(await status('/metrics', BEARER), 200);
    assert.equal(await status('/livez'), 200, 'the health routes are never throttled');
  }
  assert.equal((await httpGet(`${s.url}/livez`)).headers['x-frame-options'], 'deny');
  now += 1000;
  assert.equal(await status('/metrics', basic('alice', 'wrong')), 401, 'one token back after a second');
  assert.equal(await status('/metrics', basic('alice', 'wrong')), 429);
});

test('more than four bcrypt checks at once: the rest get 429 instead of queueing', async (t) => {
  const web = webConfigFile(t, `basic_auth_users:\n  alice: ${bcrypt.hashSync('wonderland', 10)}\n`);
  const s = await serve(t, { webConfig: web.config() });
  // Six clients whose requests arrive together: all connected and accepted first, then all sent at once (from
  // this process, one request each would otherwise reach the server per turn of its busy event loop).
  const sockets = await Promise.all(
    Array.from(
      { length: 6 },
      () =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ host: '127.0.0.1', port: Number(new URL(s.url).port) }, () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  t.after(() => sockets.forEach((socket) => socket.destroy()));
  for (let i = 0; i < 100 && s.stats.openConnections < 6; i++) await sleep(10);
  const answers = sockets.map(
    (socket) =>
      new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
        socket.on('close', () => resolve(text));
      }),
  );
  sockets.forEach((socket, i) =>
    socket.write(
      `GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\nauthorization: ${basic('alice', `wrong-${i}`).authorization}\r\n\r\n`,
    ),
  );
  const heads = (await Promise.all(answers)).map((a) => a.split('\r\n\r\n')[0]!);
  assert.deepEqual(heads.map((h) => h.split(' ')[1]).sort(), ['401', '401', '401', '401', '429', '429']);
  assert.ok(heads.filter((h) => h.includes(' 429 ')).every((h) => /\r\nretry-after: 1\r\n/i.test(h)));
});

test('a changed web config applies without a restart: headers, users, the global rate limit; a broken one changes nothing', async (t) => {
  let now = 1_000_000;
  const web = webConfigFile(t, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  const s = await serve(t, { webConfig: web.config(), webConfigPollMs: 50, now: () => now });
  s.store.swap(await buildSnapshot([], now));
  const get = (path: string, headers: Record<string, string> = {}): Promise<Reply> =>
    httpGet(`${s.url}${path}`, { headers });
  const frame = async (): Promise<unknown> => (await get('/livez')).headers['x-frame-options'];
  assert.equal((await get('/metrics')).status, 200, 'no credentials configured');

  writeFileSync(
    web.file,
    `http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\nbasic_auth_users:\n  bob: ${bcrypt.hashSync('builder', 4)}\nrate_limit:\n  interval: 2s\n`,
  );
  for (let i = 0; i < 100 && (await frame()) !== 'sameorigin'; i++) await sleep(50);
  assert.equal(await frame(), 'sameorigin');
  assert.equal((await get('/metrics')).status, 401, 'the users now in the file are required');
  // One token every 2 s for everyone (burst 0 means one), whatever the credentials.
  const shared = await get('/metrics', basic('bob', 'builder'));
  assert.equal(shared.status, 429);
  assert.equal(shared.headers['retry-after'], '2');
  now += 1000;
  assert.equal((await get('/metrics', basic('bob', 'builder'))).status, 429, 'half a token');
  now += 1000;
  assert.equal((await get('/metrics', basic('bob', 'builder'))).status, 200);
  assert.equal((await get('/metrics', basic('bob', 'builder'))).status, 429);
  assert.equal((await get('/livez')).status, 200, 'the health routes are not limited');

  const reloaded = s.lines.filter((l) => l.includes('web config reloaded')).length;
  writeFileSync(web.file, 'http_server_config:\n  headers:\n    X-Frame-Options: allow-all\n');
  for (let i = 0; i < 100 && s.stats.webConfigReloadFailures === 0; i++) await sleep(50);
  assert.equal(s.stats.webConfigReloadFailures, 1);
  assert.ok(s.lines.some((l) => l.includes('the previous settings stay in force') && l.includes('allow-all')));
  assert.equal(await frame(), 'sameorigin');
  now += 2000;
  assert.equal((await get('/metrics')).status, 401, 'the users stay');
  assert.equal((await get('/metrics', basic('bob', 'builder'))).status, 429, 'and so does the limit');

  await s.close();
  writeFileSync(web.file, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  await sleep(300);
  assert.equal(
    s.lines.filter((l) => l.includes('web config reloaded')).length,
    reloaded,
    'a closed server no longer watches the file',
  );
});

test('data routes beyond the in-flight limit get 503, /metrics and the open routes do not; a failing handler', async (t) => {
  let release = (): void => {};
  const gate = new Promise<void>((r) => (release = r));
  let entered = (): void => {};
  const holding = new Promise<void>((r) => (entered = r));
  const s = await serve(t, {
    limits: { maxRequestsInFlight: 1 },
    extraRoutes: {
      '/slow': async (_req, res) => {
        entered();
        await gate;
        send(res, 200, 'text/plain; charset=utf-8', 'slow\n');
      },
      '/fast': (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'fast\n'),
      '/boom': () => {
        throw new Error('handler bug');
      },
      '/half': (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('partial');
        throw new Error('failed mid-answer');
      },
    },
  });
  s.store.swap(await buildSnapshot([], Date.now()));
  const slow = httpGet(`${s.url}/slow`);
  await Promise.race([holding, slow.then((r) => assert.fail(`/slow answered ${r.status} before its handler ran`))]);
  const busy = await httpGet(`${s.url}/fast`);
  assert.deepEqual([busy.status, busy.body], [503, 'too many requests in flight\n']);
  assert.equal(busy.headers['retry-after'], '1');
  assert.equal((await httpGet(`${s.url}/metrics`)).status, 200, '/metrics answers from memory: not limited');
  assert.equal((await httpGet(`${s.url}/livez`)).status, 200);
  release();
  assert.equal((await slow).body, 'slow\n');
  let fast = 0;
  for (let i = 0; i < 50 && fast !== 200; i++) fast = (await httpGet(`${s.url}/fast`)).status;
  assert.equal(fast, 200, 'the slot is free again');
  assert.equal((await httpGet(`${s.url}/fast`)).status, 200);

  const boom = await httpGet(`${s.url}/boom`);
  assert.deepEqual([boom.status, boom.body], [500, 'internal error\n']);
  assert.ok(s.lines.some((l) => l.includes('request handler failed') && l.includes('"path":"/boom"')));
  await assert.rejects(httpGet(`${s.url}/half`), 'headers already sent: the connection is cut');
  assert.equal((await httpGet(`${s.url}/fast`)).status, 200, 'failed requests free their slot');
  // A server error after start-up is logged; without a listener it would throw.
  s.server.emit('error', new Error('accept failed'));
  assert.ok(s.lines.some((l) => l.includes('http server error') && l.includes('accept failed')));
});

/** A TCP connection from `localAddress` that sends nothing; `closedAt` resolves with the ms it stayed open. */
function silent(url: string, localAddress: string): Promise<{ socket: Socket; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(url).port), localAddress }, () =>
      resolve({ socket, closedAt }),
    );
    const closedAt = new Promise<number>((r) => socket.once('close', () => r(performance.now() - started)));
    socket.on('error', () => undefined);
    socket.once('error', reject);
    socket.resume();
  });
}

test('connections: per address and in all, refused and counted; silent ones closed at the header timeout', async (t) => {
  const s = await serve(t, {
    limits: { maxConnections: 2, maxConnectionsPerAddress: 1, headerTimeoutMs: 600, idleTimeoutMs: 5000 },
  });
  const connections = (): Promise<number> =>
    new Promise((resolve, reject) => s.server.getConnections((err, n) => (err ? reject(err) : resolve(n))));
  const held = await silent(s.url, '127.0.0.1');
  const second = await silent(s.url, '127.0.0.1');
  const refusedAfter = await second.closedAt;
  assert.equal(s.stats.refused.get('per_address'), 1);
  for (let i = 0; i < 100 && (await connections()) > 1; i++) await sleep(10);
  const other = await silent(s.url, '127.0.0.2');
  const third = await silent(s.url, '127.0.0.3');
  const droppedAfter = await third.closedAt;
  assert.equal(s.stats.refused.get('max_connections'), 1, 'the third connection in all is dropped');
  assert.equal(s.stats.openConnections, 2);
  const heldFor = await held.closedAt;
  const otherFor = await other.closedAt;
  assert.ok(refusedAfter < 500 && droppedAfter < 500, `refused at once: ${refusedAfter}, ${droppedAfter} ms`);
  // Node's own check would close them only after twice the timeout.
  assert.ok(
    [heldFor, otherFor].every((ms) => ms >= 550 && ms < 1150),
    `held until the timeout: ${heldFor}, ${otherFor} ms`,
  );
  for (let i = 0; i < 100 && s.stats.openConnections > 0; i++) await sleep(10);
  assert.equal(s.stats.headerTimeouts, 2);
  assert.equal(s.stats.openConnections, 0);

  // The address may connect again; a request in time stops the timer, and the idle connection stays open.
  const agent = new Agent({ keepAlive: true });
  t.after(() => agent.destroy());
  const kept = await new Promise<Socket>((resolve, reject) => {
    const req = request(`${s.url}/livez`, { agent, localAddress: '127.0.0.1' }, (res) => {
      res.resume();
      res.on('end', () => resolve(req.socket!));
    });
    req.on('error', reject);
    req.end();
  });
  await sleep(900);
  assert.equal(kept.destroyed, false, 'kept alive past the header timeout');
  assert.equal(s.stats.headerTimeouts, 2);
});
