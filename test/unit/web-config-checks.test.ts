import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadWebConfig, readTlsMaterial, secureContextOptions, type WebConfig } from '../../src/config/web-config.js';
import { makePki, type TestPki } from '../helpers/certs.js';

const HASH = bcrypt.hashSync('fake-password', 4);
const FILE = '/etc/tsmetrics/web.yml';

/** The one-line error of loading `text` as the web config, without its `WEB_CONFIG_FILE="...": ` prefix. */
function webError(text: string, readFile: (p: string) => string = () => text): string {
  try {
    loadWebConfig(FILE, (p) => (p === FILE ? text : readFile(p)));
  } catch (err) {
    const message = (err as Error).message;
    const prefix = `WEB_CONFIG_FILE=${JSON.stringify(FILE)}: `;
    assert.ok(message.startsWith(prefix), message);
    assert.ok(!message.includes('\n'), message);
    return message.slice(prefix.length);
  }
  assert.fail(`accepted: ${text}`);
}

const load = (text: string): WebConfig => loadWebConfig(FILE, () => text);

interface Tls {
  pki: TestPki;
  cert: string;
  key: string;
  /** Loads `text` with the PKI's files readable by their absolute paths. */
  load(text: string): WebConfig;
  error(text: string): string;
}

function tlsSetup(t: TestContext): Tls {
  const pki = makePki(t);
  const { cert, key } = pki.issue('server', { cn: 'localhost' });
  const readFile = (p: string): string => pki.read(p);
  return {
    pki,
    cert,
    key,
    load: (text) => loadWebConfig(FILE, (p) => (p === FILE ? text : readFile(p))),
    error: (text) => webError(text, readFile),
  };
}

test('web config: the shape errors name the key and what is expected', () => {
  assert.equal(webError('- a\n'), '(top level): expected object');
  assert.equal(webError('basic_auth_users: 5\n'), 'basic_auth_users: expected record');
  assert.equal(webError('http_server_config: 3\n'), 'http_server_config: expected object');
  assert.match(webError('a: 1\na: 2\n'), /^yaml: Map keys must be unique/);
  const tls = 'tls_server_config:\n  cert_file: a\n  key_file: b\n';
  assert.equal(
    webError(`${tls}  cipher_suites: [TLS_AES_128_GCM_SHA256]\n`),
    'tls_server_config.cipher_suites.0: not a cipher suite Go offers for TLS 1.2',
  );
  assert.equal(
    webError(`${tls}  curve_preferences: [P256]\n`),
    'tls_server_config.curve_preferences.0: expected CurveP256, CurveP384, CurveP521, X25519',
  );
  assert.equal(
    webError(`${tls}  min_version: TLS14\n`),
    'tls_server_config.min_version: expected TLS10, TLS11, TLS12 or TLS13',
  );
  assert.equal(
    webError(`${tls}  max_version: TLS1.3\n`),
    'tls_server_config.max_version: expected TLS10, TLS11, TLS12 or TLS13',
  );
});

test('web config: rate_limit needs a positive interval; without one there is no limiter', () => {
  for (const interval of ['0s', 'soon']) {
    assert.equal(
      webError(`rate_limit: { interval: ${interval} }\n`),
      'rate_limit.interval: expected a duration such as 1s',
    );
  }
  assert.deepEqual(load('rate_limit: { interval: 2s }\n').rateLimit, { intervalMs: 2000, burst: 0 });
  assert.equal(load('rate_limit: { burst: 5 }\n').rateLimit, undefined);
  assert.equal(load('rate_limit:\n').rateLimit, undefined);
});

test('web config: empty sections are allowed', () => {
  const web = load('tls_server_config:\nhttp_server_config:\nbasic_auth_users:\nrate_limit:\n');
  assert.equal(web.tls, undefined);
  assert.deepEqual(web.headers, {});
  assert.equal(web.basicAuthUsers.size, 0);
});

test('web config: basic auth users need a whole bcrypt hash', () => {
  const users = (hash: string): string => `basic_auth_users:\n  alice: '${hash}'\n`;
  assert.equal(load(users(HASH)).basicAuthUsers.get('alice'), HASH);
  // The original $2$ prefix is a bcrypt hash too.
  const v2 = HASH.replace(/^\$2[aby]/, '$2');
  assert.equal(load(users(v2)).basicAuthUsers.get('alice'), v2);
  for (const bad of [`x${HASH}`, `${HASH}x`]) {
    assert.equal(webError(users(bad)), 'basic_auth_users.alice: expected a bcrypt hash ($2y$10$...)');
  }
});

test('web config: header values are checked whole, case aside', () => {
  const headers = (name: string, value: string): string => `http_server_config:\n  headers:\n    ${name}: ${value}\n`;
  assert.deepEqual(load(headers('X-Frame-Options', 'DENY')).headers, { 'x-frame-options': 'DENY' });
  assert.deepEqual(load(headers('x-frame-options', 'sameorigin')).headers, { 'x-frame-options': 'sameorigin' });
  assert.deepEqual(load(headers('X-Content-Type-Options', 'NoSniff')).headers, {
    'x-content-type-options': 'NoSniff',
  });
  for (const [name, value] of [
    ['X-Frame-Options', 'deny-all'],
    ['X-Frame-Options', 'no-sameorigin'],
    ['X-Content-Type-Options', 'nosniff2'],
    ['X-Content-Type-Options', 'xnosniff'],
  ] as const) {
    assert.equal(webError(headers(name, value)), `http_server_config.headers.${name}: value "${value}" is not allowed`);
  }
});

test('web config: the TLS defaults are those of exporter-toolkit', (t) => {
  const s = tlsSetup(t);
  const tls = s.load(`tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${s.key}\n`).tls!;
  assert.equal(tls.clientAuthType, 'NoClientCert');
  assert.deepEqual(tls.clientAllowedSans, []);
  assert.equal(tls.minVersion, 'TLSv1.2');
  assert.equal(tls.maxVersion, 'TLSv1.3');
  assert.equal(tls.ciphers, undefined);
  assert.equal(tls.ecdhCurve, undefined);
  assert.equal(tls.honorCipherOrder, true);
  assert.equal(tls.clientCaFile, undefined);
  const off = s.load(
    `tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${s.key}\n  prefer_server_cipher_suites: false\n`,
  );
  assert.equal(off.tls?.honorCipherOrder, false);
});

test('web config: every cipher suite and curve name maps to its OpenSSL name', (t) => {
  const s = tlsSetup(t);
  const suites = [
    ['TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256', 'ECDHE-ECDSA-AES128-GCM-SHA256'],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384', 'ECDHE-ECDSA-AES256-GCM-SHA384'],
    ['TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE-RSA-AES128-GCM-SHA256'],
    ['TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'ECDHE-RSA-AES256-GCM-SHA384'],
    ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
    ['TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'],
    ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'],
    ['TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256', 'ECDHE-ECDSA-AES128-SHA256'],
    ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256', 'ECDHE-RSA-AES128-SHA256'],
    ['TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA', 'ECDHE-ECDSA-AES128-SHA'],
    ['TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA', 'ECDHE-ECDSA-AES256-SHA'],
    ['TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA', 'ECDHE-RSA-AES128-SHA'],
    ['TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA', 'ECDHE-RSA-AES256-SHA'],
    ['TLS_RSA_WITH_AES_128_GCM_SHA256', 'AES128-GCM-SHA256'],
    ['TLS_RSA_WITH_AES_256_GCM_SHA384', 'AES256-GCM-SHA384'],
    ['TLS_RSA_WITH_AES_128_CBC_SHA', 'AES128-SHA'],
    ['TLS_RSA_WITH_AES_256_CBC_SHA', 'AES256-SHA'],
  ];
  const tls = s.load(
    [
      'tls_server_config:',
      `  cert_file: ${s.cert}`,
      `  key_file: ${s.key}`,
      `  cipher_suites: [${suites.map(([go]) => go).join(', ')}]`,
      '  curve_preferences: [CurveP256, CurveP384, CurveP521, X25519]',
      '',
    ].join('\n'),
  ).tls!;
  assert.equal(tls.ciphers, suites.map(([, openssl]) => openssl).join(':'));
  assert.equal(tls.ecdhCurve, 'P-256:P-384:P-521:X25519');
});

test('web config: inline PEM is accepted, and mixing a file and inline text for one key is not', (t) => {
  const s = tlsSetup(t);
  const cert = s.pki.read(s.cert);
  const key = s.pki.read(s.key);
  const block = (pem: string): string => `|\n${pem.trimEnd().replace(/^/gm, '    ')}\n`;
  const inline = s.load(`tls_server_config:\n  cert: ${block(cert)}  key: ${block(key)}`);
  assert.equal(inline.tls?.certFile, undefined);
  assert.deepEqual(
    readTlsMaterial(inline, () => assert.fail('nothing to read')),
    {
      cert: `${cert.trimEnd()}\n`,
      key: `${key.trimEnd()}\n`,
      ca: undefined,
    },
  );
  assert.equal(s.load(`tls_server_config:\n  cert: ${block(cert)}  key_file: ${s.key}\n`).tls?.keyFile, s.key);
  assert.equal(s.load(`tls_server_config:\n  cert_file: ${s.cert}\n  key: ${block(key)}`).tls?.certFile, s.cert);
  assert.equal(
    s.error(`tls_server_config:\n  cert_file: ${s.cert}\n  cert: ${block(cert)}  key_file: ${s.key}\n`),
    'tls_server_config.cert: set only one of cert and cert_file',
  );
  assert.equal(
    s.error(`tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${s.key}\n  key: ${block(key)}`),
    'tls_server_config.key: set only one of key and key_file',
  );
  assert.equal(
    s.error(`tls_server_config:\n  key_file: ${s.key}\n`),
    'tls_server_config.cert_file: missing: TLS needs cert_file (or cert) and key_file (or key)',
  );
  assert.equal(
    s.error(`tls_server_config:\n  cert: ${block(cert)}  key: not a key\n`),
    'tls_server_config.key: not a PEM private key (encrypted keys are not supported)',
  );
  assert.equal(
    s.error(`tls_server_config:\n  cert: not a cert\n  key: ${block(key)}`),
    'tls_server_config.cert: not a PEM certificate',
  );
  // An empty cert_file is no file: the inline cert is then missing.
  assert.equal(
    s.error(`tls_server_config:\n  cert_file: ''\n  key_file: ${s.key}\n`),
    'tls_server_config.cert: not a PEM certificate',
  );
});

test('web config: the client CA is read and checked; verifying client auth types need one', (t) => {
  const s = tlsSetup(t);
  const base = `tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${s.key}\n`;
  for (const type of ['VerifyClientCertIfGiven', 'RequireAndVerifyClientCert']) {
    assert.equal(
      s.error(`${base}  client_auth_type: ${type}\n`),
      `tls_server_config.client_ca_file: missing: client_auth_type ${type} needs the CA that signs client certificates`,
    );
  }
  // An empty client_ca_file is no CA: Node would verify against its public roots instead.
  assert.equal(
    s.error(`${base}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ''\n`),
    'tls_server_config.client_ca_file: missing: client_auth_type RequireAndVerifyClientCert needs the CA that signs client certificates',
  );
  const web = s.load(`${base}  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ${s.pki.caCert}\n`);
  const m = readTlsMaterial(web, (p) => s.pki.read(p));
  assert.equal(m.ca, s.pki.read(s.pki.caCert));
  assert.equal(
    s.error(`${base}  client_auth_type: RequireAnyClientCert\n  client_ca_file: ${s.key}\n`),
    'tls_server_config.client_ca_file: not a PEM certificate',
  );
  assert.equal(
    s.error(`${base}  client_auth_type: RequireAnyClientCert\n  client_ca_file: /nope/ca.crt\n`),
    'tls_server_config.client_ca_file: cannot read /nope/ca.crt (ENOENT)',
  );
});

test('web config: an unreadable or wrong key file is named as such', (t) => {
  const s = tlsSetup(t);
  assert.equal(
    s.error(`tls_server_config:\n  cert_file: ${s.cert}\n  key_file: /nope/server.key\n`),
    'tls_server_config.key_file: cannot read /nope/server.key (ENOENT)',
  );
  assert.equal(
    s.error(`tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${s.cert}\n`),
    'tls_server_config.key_file: not a PEM private key (encrypted keys are not supported)',
  );
  const other = s.pki.issue('other', { cn: 'other' });
  assert.match(
    s.error(`tls_server_config:\n  cert_file: ${s.cert}\n  key_file: ${other.key}\n`),
    /^tls_server_config\.key_file: does not fit the certificate or settings \([a-z0-9 ]+ routines::key values mismatch\)$/,
  );
  // An error without a code (not a file system error) still reads as one line.
  const noCode = (): string => {
    throw new Error('boom');
  };
  assert.equal(
    webError(`tls_server_config:\n  cert_file: /x.crt\n  key_file: /x.key\n`, noCode),
    'tls_server_config.cert_file: cannot read /x.crt (unreadable)',
  );
  assert.throws(() => loadWebConfig(FILE, noCode), {
    message: `WEB_CONFIG_FILE=${JSON.stringify(FILE)}: cannot read the file (unreadable); expected a readable YAML file`,
  });
});

test('secureContextOptions: only the settings given are passed on', () => {
  const tls = load('').tls;
  assert.equal(tls, undefined);
  const settings = {
    certFile: undefined,
    keyFile: undefined,
    inlineCert: 'C',
    inlineKey: 'K',
    clientAuthType: 'NoClientCert',
    clientCaFile: undefined,
    clientAllowedSans: [],
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: undefined,
    ecdhCurve: undefined,
    honorCipherOrder: true,
  } as const;
  assert.deepEqual(secureContextOptions(settings, { cert: 'C', key: 'K', ca: undefined }), {
    cert: 'C',
    key: 'K',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    honorCipherOrder: true,
  });
  assert.deepEqual(
    secureContextOptions(
      { ...settings, ciphers: 'AES128-SHA', ecdhCurve: 'X25519', honorCipherOrder: false },
      { cert: 'C', key: 'K', ca: 'A' },
    ),
    {
      cert: 'C',
      key: 'K',
      ca: 'A',
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      ciphers: 'AES128-SHA',
      ecdhCurve: 'X25519',
      honorCipherOrder: false,
    },
  );
});
