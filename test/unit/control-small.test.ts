import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { connectHeadscale, connectTailscale, type Connection } from '../../src/control/connect.js';
import { shortName } from '../../src/control/device.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { parseRetryAfter } from '../../src/control/retry.js';
import { serveOnLoopback } from '../helpers/device-server.js';
import { memoryLogger } from '../helpers/log.js';

// Small pieces of the control plane: Retry-After parsing, the short device name, and the backend client factories.

test('Retry-After: delta-seconds of any length, surrounding blanks ignored; digits mixed with other text are not seconds', () => {
  assert.equal(parseRetryAfter('5', 0), 5000);
  assert.equal(parseRetryAfter('12', 0), 12_000);
  assert.equal(parseRetryAfter('120', 1_000_000), 120_000, 'seconds are relative, whatever the clock');
  assert.equal(parseRetryAfter(' 5 ', 0), 5000);
  assert.equal(parseRetryAfter('\t30\n', 0), 30_000);
  assert.equal(parseRetryAfter('0', 0), 0);
  assert.equal(parseRetryAfter('5x', 0), undefined);
  assert.equal(parseRetryAfter('x5', 0), undefined);
  assert.equal(parseRetryAfter('', 0), undefined);
  // An HTTP date: the time until then, never negative.
  const at = Date.UTC(2030, 0, 1, 0, 0, 10);
  assert.equal(parseRetryAfter(new Date(at).toUTCString(), at - 10_000), 10_000);
  assert.equal(parseRetryAfter(` ${new Date(at).toUTCString()} `, at - 10_000), 10_000);
  assert.equal(parseRetryAfter(new Date(at).toUTCString(), at + 5000), 0);
});

test('shortName: the first label of the MagicDNS name, the host name when that label is empty', () => {
  assert.equal(shortName({ name: 'web-1.tail1234.ts.net', hostname: 'WEB-1' }), 'web-1');
  assert.equal(shortName({ name: 'solo', hostname: 'h' }), 'solo');
  assert.equal(shortName({ name: '', hostname: 'laptop' }), 'laptop');
  assert.equal(shortName({ name: '.tail1234.ts.net', hostname: 'laptop' }), 'laptop');
});

/**
 * A stand-in control server answering both backends' device lists, and the server-side sockets it accepted. It keeps
 * idle connections for a minute (the shared helper's server drops them after 5 s, and the client follows its hint), so
 * only the client's close ends them within a test.
 */
async function standIn(t: TestContext): Promise<{ base: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((req, res) => {
    if (!sockets.includes(req.socket)) sockets.push(req.socket);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url!.startsWith('/api/v1/node') ? '{"nodes":[]}' : '{"devices":[]}');
  });
  server.keepAliveTimeout = 60_000;
  return { base: await serveOnLoopback(t, server), sockets };
}

/** Closes `connection` and waits until the server has seen every pooled connection end (the test's timeout bounds it). */
async function closedConnections(connection: Connection, sockets: Socket[]): Promise<void> {
  assert.ok(sockets.length > 0, 'a request was made over a pooled connection');
  const ended = sockets.map((s) => (s.destroyed ? Promise.resolve() : once(s, 'close')));
  await connection.close();
  await Promise.all(ended);
}

test(
  'connectTailscale: an API-key client logging with stage=api; close ends its pooled connections',
  { timeout: 10_000 },
  async (t) => {
    const { base, sockets } = await standIn(t);
    const config = loadConfig({ TAILSCALE_API_KEY: 'tskey-api-KEY', TAILSCALE_API_URL: base, API_TIMEOUT: '2s' });
    const { log, lines } = memoryLogger('debug');
    const connection = connectTailscale(config, { stats: new RequestStats(), log, now: Date.now });
    assert.deepEqual((await connection.control.listDevices()).devices, []);
    const request = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'api request');
    assert.equal(request?.['stage'], 'api');
    assert.equal(request?.['endpoint'], 'devices');
    await closedConnections(connection, sockets);
  },
);

test(
  'connectHeadscale: a client logging with stage=headscale; close ends its pooled connections',
  { timeout: 10_000 },
  async (t) => {
    const { base, sockets } = await standIn(t);
    const config = loadConfig({ BACKEND: 'headscale', HEADSCALE_URL: base, HEADSCALE_API_KEY: 'hskey-KEY' });
    const { log, lines } = memoryLogger('debug');
    const connection = connectHeadscale(config, { stats: new RequestStats(), log, now: Date.now });
    assert.deepEqual((await connection.control.listDevices()).devices, []);
    const request = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l['msg'] === 'api request');
    assert.equal(request?.['stage'], 'headscale');
    assert.equal(request?.['endpoint'], 'nodes');
    await closedConnections(connection, sockets);
  },
);

test('a configuration without the backend credentials is refused by its factory, by name', () => {
  // The simulated tailnet's configuration carries no credentials of either backend.
  const deps = { stats: new RequestStats(), log: memoryLogger().log, now: Date.now };
  const simulated = loadConfig({ TEST_DEVICES: 'gateway-1' });
  assert.equal(simulated.auth, undefined);
  assert.throws(() => connectTailscale(simulated, deps), { message: 'no API credentials' });
  const simulatedHeadscale = loadConfig({ BACKEND: 'headscale', TEST_DEVICES: 'gateway-1' });
  assert.equal(simulatedHeadscale.headscale, undefined);
  assert.throws(() => connectHeadscale(simulatedHeadscale, deps), { message: 'no Headscale settings' });
});
