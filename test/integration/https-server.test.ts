import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { loadWebConfig } from '../../src/config/web-config.js';
import type { ServerOptions } from '../../src/server/server.js';
import { makePki, type TestPki } from '../helpers/certs.js';
import { httpGet } from '../helpers/http.js';
import { sleep } from '../helpers/prometheus.js';
import { serve } from '../helpers/server.js';

// The HTTPS server in-process: the client_auth_type rules of exporter-toolkit, certificate rotation and a
// changed client_auth_type without a restart, and a rotation that fails keeping the last good certificate.

const readText = (p: string): string => readFileSync(p, 'utf8');

interface Credentials {
  readonly cert: string;
  readonly key: string;
}

/** A test CA and the server's certificate for 127.0.0.1 in tls.crt and tls.key. */
function serverPki(t: TestContext) {
  const pki = makePki(t);
  const server = pki.issue('server', { cn: 'tsmetrics', san: 'IP:127.0.0.1' });
  copyFileSync(server.cert, join(pki.dir, 'tls.crt'));
  copyFileSync(server.key, join(pki.dir, 'tls.key'));
  return { pki, server };
}

/** Client certificates of every kind; `none` is a client without one. */
function clientsOf(t: TestContext, pki: TestPki): Record<string, Credentials | undefined> {
  return {
    none: undefined,
    client: pki.issue('client', { cn: 'prometheus', san: 'DNS:prometheus' }),
    stranger: pki.issue('stranger', { cn: 'stranger', san: 'DNS:stranger' }),
    expired: pki.issue('expired', { cn: 'prometheus', san: 'DNS:prometheus', days: -1 }),
    // The allowed name as its subject only: SANs are what is compared.
    bare: pki.issue('bare', { cn: 'prometheus' }),
    // Another CA's certificate with the allowed SAN: only verification tells it apart.
    foreign: makePki(t).issue('foreign', { cn: 'prometheus', san: 'DNS:prometheus' }),
  };
}

/** Writes `yaml` as the web config file and starts a server with it, polling the file every 50 ms. */
async function serveTls(t: TestContext, pki: TestPki, yaml: string, o: Partial<ServerOptions> = {}) {
  const file = join(pki.dir, 'web.yml');
  writeFileSync(file, yaml);
  const server = await serve(t, { webConfig: loadWebConfig(file, readText), webConfigPollMs: 50, ...o });
  return { ...server, file };
}

const tlsConfig = (clientAuth: string, sans: readonly string[] = []): string =>
  [
    'tls_server_config:',
    '  cert_file: tls.crt',
    '  key_file: tls.key',
    `  client_auth_type: ${clientAuth}`,
    '  client_ca_file: ca.crt',
    ...(sans.length === 0 ? [] : [`  client_allowed_sans: [${sans.join(', ')}]`]),
    '',
  ].join('\n');

/** The status of a GET over TLS with the test CA trusted, or `refused` when the server ends the connection. */
function attempt(
  pki: TestPki,
  url: string,
  creds: Credentials | undefined,
  headers: Record<string, string> = {},
): Promise<number | 'refused'> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        agent: false,
        ca: pki.read(pki.caCert),
        headers,
        ...(creds === undefined ? {} : { cert: pki.read(creds.cert), key: pki.read(creds.key) }),
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    // A hang is not a refusal: it fails the test instead.
    req.setTimeout(5000, () => req.destroy(new Error('client timeout')));
    req.on('error', (err) => (err.message === 'client timeout' ? reject(err) : resolve('refused')));
    req.end();
  });
}

/** The serial number of the certificate the server presents to a new connection. */
function servedSerial(pki: TestPki, url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port: Number(new URL(url).port), ca: pki.read(pki.caCert) }, () => {
      resolve(s.getPeerCertificate().serialNumber);
      s.end();
    });
    s.setTimeout(5000, () => s.destroy(new Error('no handshake within 5 s')));
    s.on('error', reject);
  });
}

const serialOf = (pki: TestPki, cert: string): string => new X509Certificate(pki.read(cert)).serialNumber;

test('HTTPS from the web config file; plain HTTP to it gets no answer and a debug line', async (t) => {
  const { pki, server } = serverPki(t);
  const s = await serveTls(t, pki, tlsConfig('NoClientCert'));
  assert.match(s.url, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(await attempt(pki, `${s.url}/livez`, undefined), 200);
  assert.equal(await servedSerial(pki, s.url), serialOf(pki, server.cert));
  await assert.rejects(httpGet(`${s.url.replace('https:', 'http:')}/livez`));
  assert.ok(
    s.lines.some((l) => l.includes('TLS handshake failed')),
    'a failed handshake is logged (at debug)',
  );
});

test('client_auth_type and client_allowed_sans decide which client certificates are served', async (t) => {
  const { pki } = serverPki(t);
  const clients = clientsOf(t, pki);
  const R = 'refused';
  // Columns: no certificate, the test CA's with SAN prometheus, the test CA's with SAN stranger, an expired
  // one of the test CA, the test CA's with CN prometheus and no SAN, another CA's with SAN prometheus.
  const cases: Array<[string, string[], Array<number | 'refused'>]> = [
    ['NoClientCert', [], [200, 200, 200, 200, 200, 200]],
    ['RequestClientCert', [], [200, 200, 200, 200, 200, 200]],
    ['RequireAnyClientCert', [], [R, 200, 200, 200, 200, 200]],
    ['VerifyClientCertIfGiven', [], [200, 200, 200, R, 200, R]],
    ['RequireAndVerifyClientCert', [], [R, 200, 200, R, 200, R]],
    // The SANs are checked only when a certificate is asked for; a verified one must also carry an allowed SAN.
    ['NoClientCert', ['prometheus'], [200, 200, 200, 200, 200, 200]],
    ['RequireAnyClientCert', ['prometheus'], [R, 200, R, 200, R, 200]],
    ['VerifyClientCertIfGiven', ['prometheus'], [R, 200, R, R, R, R]],
    ['RequireAndVerifyClientCert', ['prometheus'], [R, 200, R, R, R, R]],
  ];
  for (const [type, sans, expected] of cases) {
    const s = await serveTls(t, pki, tlsConfig(type, sans));
    const got = await Promise.all(Object.values(clients).map((c) => attempt(pki, `${s.url}/livez`, c)));
    assert.deepEqual(got, expected, `${type} ${sans.join(',')}`);
    await s.close();
  }
});

test('a verified client certificate spares the anonymous rate limit but does not replace the token', async (t) => {
  const { pki } = serverPki(t);
  const client = pki.issue('client', { cn: 'prometheus', san: 'DNS:prometheus' });
  const now = 1_000_000;
  const s = await serveTls(t, pki, tlsConfig('VerifyClientCertIfGiven'), {
    metricsToken: 'https-token-0123456789',
    rateLimit: { perSecond: 1, burst: 2 },
    now: () => now,
  });
  const url = `${s.url}/metrics`;
  const anonymous: Array<number | 'refused'> = [];
  for (let i = 0; i < 3; i++) anonymous.push(await attempt(pki, url, undefined));
  assert.deepEqual(anonymous, [401, 401, 429]);
  const certified: Array<number | 'refused'> = [];
  for (let i = 0; i < 3; i++) certified.push(await attempt(pki, url, client));
  assert.deepEqual(certified, [401, 401, 401]);
  assert.equal(
    await attempt(pki, url, client, { authorization: 'Bearer https-token-0123456789' }),
    503,
    'past the credentials: no snapshot yet',
  );

  // NoClientCert asks for no certificate (a browser would offer one): the same client is anonymous there.
  await s.close();
  const plain = await serveTls(t, pki, tlsConfig('NoClientCert'), {
    metricsToken: 'https-token-0123456789',
    rateLimit: { perSecond: 1, burst: 2 },
    now: () => now,
  });
  const unasked: Array<number | 'refused'> = [];
  for (let i = 0; i < 3; i++) unasked.push(await attempt(pki, `${plain.url}/metrics`, client));
  assert.deepEqual(unasked, [401, 401, 429]);
});

test('a rotated certificate is served to new connections; a broken one or TLS turned off keeps the last good', async (t) => {
  const { pki } = serverPki(t);
  const s = await serveTls(t, pki, tlsConfig('NoClientCert'));
  const second = pki.issue('second', { cn: 'tsmetrics', san: 'IP:127.0.0.1' });
  copyFileSync(second.cert, join(pki.dir, 'tls.crt'));
  copyFileSync(second.key, join(pki.dir, 'tls.key'));
  const want = serialOf(pki, second.cert);
  let served = '';
  for (let i = 0; i < 100 && served !== want; i++) {
    await sleep(50);
    served = await servedSerial(pki, s.url);
  }
  assert.equal(served, want, 'the new certificate, same server');
  assert.ok(s.lines.some((l) => l.includes('web config reloaded')));

  const failed = (message: string): boolean =>
    s.lines.some((l) => l.includes('web config reload failed') && l.includes(message));
  const failuresBefore = s.stats.webConfigReloadFailures;
  rmSync(join(pki.dir, 'tls.key'));
  for (let i = 0; i < 100 && s.stats.webConfigReloadFailures === failuresBefore; i++) await sleep(50);
  assert.equal(s.stats.webConfigReloadFailures, failuresBefore + 1, 'a missing key is a failed reload, counted once');
  assert.ok(failed('tls_server_config.key_file: cannot read'));
  writeFileSync(join(pki.dir, 'tls.key'), 'not a key');
  for (let i = 0; i < 100 && s.stats.webConfigReloadFailures === failuresBefore + 1; i++) await sleep(50);
  assert.equal(s.stats.webConfigReloadFailures, failuresBefore + 2);
  assert.ok(failed('tls_server_config.key_file: not a PEM private key'));
  assert.equal(await servedSerial(pki, s.url), want, 'a broken key: the last good certificate stays');
  assert.equal(await attempt(pki, `${s.url}/livez`, undefined), 200);

  copyFileSync(second.key, join(pki.dir, 'tls.key'));
  writeFileSync(s.file, 'http_server_config:\n  headers:\n    X-Frame-Options: deny\n');
  for (let i = 0; i < 100 && !s.lines.some((l) => l.includes('switching TLS on or off')); i++) await sleep(50);
  assert.ok(
    s.lines.some((l) => l.includes('switching TLS on or off needs a restart')),
    'turning TLS off is refused',
  );
  assert.equal(await servedSerial(pki, s.url), want);
  const r = await new Promise<Record<string, unknown>>((resolve, reject) => {
    request(`${s.url}/livez`, { agent: false, ca: pki.read(pki.caCert) }, (res) => {
      res.resume();
      resolve(res.headers);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(r['x-frame-options'], undefined, 'nothing of the refused file is in force');
});

test('a changed client_auth_type and allowed SANs apply to new connections without a restart', async (t) => {
  const { pki } = serverPki(t);
  const clients = clientsOf(t, pki);
  const s = await serveTls(t, pki, tlsConfig('NoClientCert'));
  assert.equal(await attempt(pki, `${s.url}/livez`, undefined), 200);
  writeFileSync(s.file, tlsConfig('RequireAndVerifyClientCert', ['prometheus']));
  let anonymous: number | 'refused' = 200;
  for (let i = 0; i < 100 && anonymous !== 'refused'; i++) {
    await sleep(50);
    anonymous = await attempt(pki, `${s.url}/livez`, undefined);
  }
  assert.equal(anonymous, 'refused', 'a client certificate is now required');
  assert.equal(await attempt(pki, `${s.url}/livez`, clients.client), 200);
  assert.equal(await attempt(pki, `${s.url}/livez`, clients.stranger), 'refused', 'and must carry an allowed SAN');
  assert.equal(await attempt(pki, `${s.url}/livez`, clients.foreign), 'refused', 'and come from the new client CA');
});
