import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadConfig } from '../../src/config/load.js';
import { loadWebConfig } from '../../src/config/web-config.js';
import { acceptsGzip } from '../../src/server/accept-encoding.js';
import { bearerChecker } from '../../src/server/bearer.js';
import { createAuthenticator } from '../../src/server/auth.js';
import { makePki } from '../helpers/certs.js';

const read = (p: string): string => readFileSync(p, 'utf8');
const HASH = bcrypt.hashSync('s3cret', 4);

test('web config: the exporter-toolkit schema; relative paths resolve against the file directory', (t) => {
  const pki = makePki(t);
  pki.issue('server', { cn: 'localhost', san: 'IP:127.0.0.1' });
  const file = join(pki.dir, 'web.yml');
  writeFileSync(
    file,
    [
      'tls_server_config:',
      '  cert_file: server.crt',
      '  key_file: server.key',
      '  client_auth_type: RequireAndVerifyClientCert',
      '  client_ca_file: ca.crt',
      '  client_allowed_sans: [prometheus]',
      '  min_version: TLS13',
      '  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]',
      '  curve_preferences: [X25519, CurveP256]',
      'http_server_config:',
      '  http2: true',
      '  headers:',
      '    Strict-Transport-Security: max-age=31536000',
      'basic_auth_users:',
      `  alice: ${HASH}`,
      'rate_limit: { interval: 100ms, burst: 5 }',
      '',
    ].join('\n'),
  );
  const web = loadWebConfig(file, read);
  assert.equal(web.tls?.certFile, join(pki.dir, 'server.crt'));
  assert.equal(web.tls?.clientCaFile, join(pki.dir, 'ca.crt'));
  assert.equal(web.tls?.clientAuthType, 'RequireAndVerifyClientCert');
  assert.deepEqual(web.tls?.clientAllowedSans, ['prometheus']);
  assert.equal(web.tls?.minVersion, 'TLSv1.3');
  assert.equal(web.tls?.maxVersion, 'TLSv1.3');
  assert.equal(web.tls?.ciphers, 'ECDHE-ECDSA-AES128-GCM-SHA256');
  assert.equal(web.tls?.ecdhCurve, 'X25519:P-256');
  assert.deepEqual(web.headers, { 'strict-transport-security': 'max-age=31536000' });
  assert.equal(web.basicAuthUsers.get('alice'), HASH);
  assert.deepEqual(web.rateLimit, { intervalMs: 100, burst: 5 });
  // An empty file is valid: plain HTTP, no users.
  writeFileSync(file, '');
  assert.equal(loadWebConfig(file, read).tls, undefined);
});

test('web config: a bad file is one line naming the key; loadConfig (start and --check-config) says the same', (t) => {
  const pki = makePki(t);
  const a = pki.issue('a', { cn: 'a', san: 'DNS:a' });
  const b = pki.issue('b', { cn: 'b', san: 'DNS:b' });
  const file = join(pki.dir, 'web.yml');
  const cases: Array<[string, RegExp]> = [
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cert_fle: x\n',
      /: tls_server_config\.cert_fle: unknown key$/,
    ],
    ['basic_auth_user:\n  alice: x\n', /: basic_auth_user: unknown key$/],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: Verify\n',
      /: tls_server_config\.client_auth_type: expected one of NoClientCert, .*RequireAndVerifyClientCert$/,
    ],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert\n',
      /: tls_server_config\.client_ca_file: missing/,
    ],
    ['tls_server_config:\n  cert_file: a.crt\n', /: tls_server_config\.key_file: missing/],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: b.key\n',
      /: tls_server_config\.key_file: does not fit the certificate/,
    ],
    [
      'tls_server_config:\n  cert_file: missing.crt\n  key_file: a.key\n',
      /: tls_server_config\.cert_file: cannot read .*missing\.crt \(ENOENT\)$/,
    ],
    [
      'tls_server_config:\n  cert_file: a.key\n  key_file: a.key\n',
      /: tls_server_config\.cert_file: not a PEM certificate$/,
    ],
    [
      'tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n  max_version: TLS12\n',
      /: tls_server_config\.min_version: is above max_version$/,
    ],
    ['basic_auth_users:\n  alice: plaintext\n', /: basic_auth_users\.alice: expected a bcrypt hash/],
    [
      'http_server_config:\n  headers:\n    Authorization: x\n',
      /: http_server_config\.headers\.Authorization: not allowed/,
    ],
    [
      'http_server_config:\n  headers:\n    X-Frame-Options: allow\n',
      /: http_server_config\.headers\.X-Frame-Options: value "allow" is not allowed$/,
    ],
    ['a: 1\na: 2\n', /: yaml: /],
  ];
  assert.ok(a.cert && b.key);
  for (const [text, expected] of cases) {
    writeFileSync(file, text);
    let message = '';
    try {
      loadConfig({ TEST_DEVICES: 'x', WEB_CONFIG_FILE: file }, { readFile: read });
    } catch (err) {
      message = (err as Error).message;
    }
    assert.match(message, expected, text);
    assert.ok(message.startsWith(`WEB_CONFIG_FILE=${JSON.stringify(file)}: `), message);
    assert.equal(message.split('\n').length, 1);
    assert.ok(!message.includes('plaintext'), 'a password value is never echoed');
  }
  assert.throws(
    () => loadConfig({ TEST_DEVICES: 'x', WEB_CONFIG_FILE: join(pki.dir, 'nope.yml') }, { readFile: read }),
    /cannot read the file \(ENOENT\)/,
  );
});

test('Accept-Encoding: q-values are honoured', () => {
  assert.equal(acceptsGzip('gzip'), true);
  assert.equal(acceptsGzip('deflate, gzip;q=1.0, *;q=0.5'), true);
  assert.equal(acceptsGzip('gzip;q=0'), false);
  assert.equal(acceptsGzip('gzip; q=0.000'), false);
  assert.equal(acceptsGzip('identity'), false);
  assert.equal(acceptsGzip('*'), true);
  assert.equal(acceptsGzip('*;q=0'), false);
  assert.equal(acceptsGzip('gzip;q=0, *'), false, 'gzip listed on its own wins over *');
  assert.equal(acceptsGzip('x-gzip'), true);
  assert.equal(acceptsGzip('br'), false);
  assert.equal(acceptsGzip(undefined), false);
  assert.equal(acceptsGzip(''), false);
});

test('Accept-Encoding: only a well-formed q parameter counts; others are ignored', () => {
  // Parameters that are not q, or only look like it, leave the coding at q=1.
  for (const param of ['level=1', 'xq=0', 'qx=0', 'q=0junk']) assert.equal(acceptsGzip(`gzip;${param}`), true, param);
  // An unreadable q is 0 for its own entry, and a later entry for the same coding still counts.
  assert.equal(acceptsGzip('gzip;q=1.2.3'), false);
  assert.equal(acceptsGzip('gzip;q=1.2.3, gzip'), true);
});

test('bearer token: the whole header, scheme first, then the exact token', () => {
  const check = bearerChecker('a-token-of-sixteen-chars');
  assert.equal(check('Bearer a-token-of-sixteen-chars'), true);
  assert.equal(check('bearer a-token-of-sixteen-chars'), true, 'the scheme is case-blind');
  assert.equal(check('xBearer a-token-of-sixteen-chars'), false);
  assert.equal(check('Bearer a-token-of-sixteen-chars\nX'), false);
  assert.equal(check('Bearer a-token-of-sixteen-chars '), false);
  assert.equal(check('Bearer a-token-of-sixteen-char'), false);
  assert.equal(check('Basic a-token-of-sixteen-chars'), false);
  assert.equal(check(undefined), false);
});

test('authenticator: bearer token or basic auth; a verified password is remembered; a new hash forgets it', async () => {
  let users = new Map([['alice', HASH]]);
  const auth = createAuthenticator('a-token-of-sixteen-chars', () => users);
  const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
  assert.equal(auth.required, true);
  assert.deepEqual(auth.challenges(), ['Basic realm="tsmetrics"', 'Bearer realm="tsmetrics"']);
  assert.equal(auth.quick('Bearer a-token-of-sixteen-chars'), true);
  assert.equal(auth.quick(basic('alice', 's3cret')), false, 'not verified yet');
  assert.equal(auth.needsSlowCheck(basic('alice', 's3cret')), true);
  assert.equal(await auth.verify(basic('alice', 'wrong')), false);
  assert.equal(await auth.verify(basic('bob', 's3cret')), false, 'unknown user');
  assert.equal(await auth.verify('Basic !!!'), false);
  assert.equal(auth.quick(basic('alice', 'wrong')), false, 'a failure is not remembered as a success');
  assert.equal(await auth.verify(basic('alice', 's3cret')), true);
  assert.equal(auth.quick(basic('alice', 's3cret')), true, 'remembered: no bcrypt at the next scrape');
  users = new Map([['alice', bcrypt.hashSync('other', 4)]]);
  assert.equal(
    auth.quick(basic('alice', 's3cret')),
    false,
    'the file changed the hash: the old password no longer passes',
  );
  assert.equal(createAuthenticator(undefined, () => new Map()).required, false);
});
