import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { test } from 'node:test';
import { checkHealth, HEALTH_CHECK_TIMEOUT_MS } from '../../src/server/health-check.js';
import { makePki } from '../helpers/certs.js';

// `--health-check` (src/server/health-check.ts): the exact line and verdict for each outcome.

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(t: TestContext, server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/livez`;
}

const plain = (t: TestContext, handler: Handler): Promise<string> => listen(t, createServer(handler));

test('200: ok, the status and the trimmed body in one line', async (t) => {
  const url = await plain(t, (_req, res) => res.writeHead(200).end('  ok\n\n'));
  assert.deepEqual(await checkHealth(url, undefined), { ok: true, line: '200 ok' });
});

test('any status but 200 is not ok, a 2xx included; an empty body leaves the status alone', async (t) => {
  const url = await plain(t, (req, res) => {
    if (req.url === '/livez') res.writeHead(503).end('unhealthy: no refresh\n');
    else res.writeHead(204).end();
  });
  assert.deepEqual(await checkHealth(url, undefined), { ok: false, line: '503 unhealthy: no refresh' });
  assert.deepEqual(await checkHealth(url.replace('/livez', '/none'), undefined), { ok: false, line: '204 ' });
});

test('a long body is cut at 200 characters', async (t) => {
  const url = await plain(t, (_req, res) => res.writeHead(200).end(`${'x'.repeat(199)}yz${'z'.repeat(300)}`));
  assert.deepEqual(await checkHealth(url, undefined), { ok: true, line: `200 ${'x'.repeat(199)}y` });
});

test('refused: unreachable, with the cause', async (t) => {
  const server = createServer();
  const url = await listen(t, server);
  await new Promise((resolve) => server.close(resolve));
  const port = new URL(url).port;
  assert.deepEqual(await checkHealth(url, undefined), {
    ok: false,
    line: `unreachable: fetch failed (connect ECONNREFUSED 127.0.0.1:${port})`,
  });
});

test('an unreadable web config: unreachable, its error alone (no cause)', async () => {
  const r = await checkHealth('http://127.0.0.1:1/livez', '/nonexistent/web.yml');
  assert.deepEqual(r, {
    ok: false,
    line: 'unreachable: WEB_CONFIG_FILE="/nonexistent/web.yml": cannot read the file (ENOENT); expected a readable YAML file',
  });
});

test('a web config without TLS: plain http', async (t) => {
  const pki = makePki(t);
  const file = join(pki.dir, 'web.yml');
  writeFileSync(file, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  const url = await plain(t, (_req, res) => res.writeHead(200).end('ok\n'));
  assert.deepEqual(await checkHealth(url, file), { ok: true, line: '200 ok' });
});

test('TLS on: https to the same address, any certificate accepted, its own certificate presented when asked', async (t) => {
  const pki = makePki(t);
  const { cert, key } = pki.issue('server', { cn: 'localhost', san: 'IP:127.0.0.1' });
  const file = join(pki.dir, 'web.yml');
  const seen: Array<string | undefined> = [];
  const server = createHttpsServer(
    {
      cert: readFileSync(cert),
      key: readFileSync(key),
      ca: readFileSync(pki.caCert),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      seen.push(peer.subject === undefined ? undefined : String(peer.subject.CN));
      res.writeHead(200).end('ok over tls\n');
    },
  );
  const url = await listen(t, server);
  writeFileSync(file, `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n`);
  assert.deepEqual(await checkHealth(url, file), { ok: true, line: '200 ok over tls' });
  assert.deepEqual(seen, [undefined], 'NoClientCert: no certificate presented');
  writeFileSync(
    file,
    `tls_server_config:\n  cert_file: ${cert}\n  key_file: ${key}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ${pki.caCert}\n`,
  );
  assert.deepEqual(await checkHealth(url, file), { ok: true, line: '200 ok over tls' });
  assert.deepEqual(seen, [undefined, 'localhost'], 'client certificates asked for: the server certificate is shown');
  const http = await checkHealth(url, undefined);
  assert.equal(http.ok, false, 'without the web config it speaks http to a TLS port');
});

test('no answer within the deadline (5 s unless given): unreachable, timed out', async (t) => {
  assert.equal(HEALTH_CHECK_TIMEOUT_MS, 5000);
  const url = await plain(t, () => undefined);
  const started = Date.now();
  const r = await checkHealth(url, undefined, 300);
  assert.deepEqual(r, { ok: false, line: 'unreachable: The operation was aborted due to timeout' });
  assert.ok(Date.now() - started >= 290, `${Date.now() - started} ms`);
});
