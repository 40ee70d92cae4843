import assert from 'node:assert/strict';
import { test } from 'node:test';
import bcrypt from 'bcryptjs';
import { loadConfig } from '../../src/config/load.js';
import { redactUrl, redactedConfig } from '../../src/config/redact.js';
import { makePki } from '../helpers/certs.js';

const OAUTH = { OAUTH_CLIENT_ID: 'kClient123', OAUTH_CLIENT_SECRET: 'tskey-client-FAKE' };
const HASH = bcrypt.hashSync('fake-password', 4);

test('redactUrl: only a password is replaced; anything else is shown as written', () => {
  assert.equal(redactUrl('https://api.example.com'), 'https://api.example.com');
  assert.equal(redactUrl('https://api.example.com/'), 'https://api.example.com/');
  assert.equal(redactUrl('https://ops@hs.example.com/'), 'https://ops@hs.example.com/');
  assert.equal(redactUrl('not a url'), 'not a url');
  assert.equal(redactUrl('https://ops:fake-pw@hs.example.com/'), 'https://ops:<redacted>@hs.example.com/');
  assert.equal(redactUrl('https://ops:fake-pw@hs.example.com'), 'https://ops:<redacted>@hs.example.com');
  assert.equal(redactUrl('https://:fake-pw@hs.example.com/api'), 'https://:<redacted>@hs.example.com/api');
});

test('redacted config: listen address, headscale key, metrics token and tsnet key', () => {
  const plain = redactedConfig(loadConfig(OAUTH));
  assert.equal(plain['listen'], '127.0.0.1:9100');
  assert.equal(plain['headscale_url'], undefined);
  assert.equal(plain['headscale_api_key'], undefined);
  assert.equal(plain['metrics_token'], undefined);
  assert.equal(plain['ts_authkey'], undefined);
  assert.equal(plain['web_config'], undefined);
  assert.equal(plain['redact_user_emails'], false);
  assert.deepEqual(plain['device_labels_from_tags'], []);

  const shown = redactedConfig(
    loadConfig({
      ...OAUTH,
      METRICS_TOKEN: 'a-fake-token-of-24-chars',
      TS_AUTHKEY: 'tskey-auth-FAKE',
      REDACT_USER_EMAILS: 'true',
      REDACT_KEY: 'a-fake-key-of-24-chars!!',
      DEVICE_LABELS_FROM_TAGS: 'team=tag:team-(.+)',
    }),
  );
  assert.equal(shown['metrics_token'], '<redacted>');
  assert.equal(shown['ts_authkey'], '<redacted>');
  assert.equal(shown['redact_user_emails'], true);
  assert.deepEqual(shown['device_labels_from_tags'], ['team=^(?:tag:team-(.+))$']);

  const hs = redactedConfig(
    loadConfig({ BACKEND: 'headscale', HEADSCALE_URL: 'https://hs.example.com', HEADSCALE_API_KEY: 'hskey-FAKE' }),
  );
  assert.equal(hs['headscale_url'], 'https://hs.example.com');
  assert.equal(hs['headscale_api_key'], '<redacted>');
});

test('redacted config: the web config shows whether TLS is on and the user names, never the hashes', () => {
  const files: Record<string, string> = { '/web.yml': `basic_auth_users:\n  alice: ${HASH}\n  bob: ${HASH}\n` };
  const shown = redactedConfig(loadConfig({ ...OAUTH, WEB_CONFIG_FILE: '/web.yml' }, { readFile: (p) => files[p]! }));
  assert.equal(shown['web_config_file'], '/web.yml');
  assert.deepEqual(shown['web_config'], {
    tls: false,
    client_auth_type: undefined,
    basic_auth_users: ['alice', 'bob'],
  });
  assert.ok(!JSON.stringify(shown).includes(HASH));
});

test('redacted config: each kind of Tailscale auth is shown with its secret replaced', () => {
  assert.deepEqual(redactedConfig(loadConfig(OAUTH))['auth'], {
    kind: 'oauth',
    client_id: 'kClient123',
    client_secret: '<redacted>',
  });
  assert.deepEqual(redactedConfig(loadConfig({ TAILSCALE_API_KEY: 'tskey-api-FAKE' }))['auth'], {
    kind: 'api-key',
    api_key: '<redacted>',
  });
  // Config allows no credentials at all; the display must not throw on it.
  assert.equal(redactedConfig({ ...loadConfig(OAUTH), auth: undefined })['auth'], undefined);
});

test('redacted config: a TLS web config shows its client auth type', (t) => {
  const pki = makePki(t);
  const server = pki.issue('server', { cn: 'localhost' });
  const files: Record<string, string> = {
    '/web.yml': `tls_server_config:\n  cert_file: ${server.cert}\n  key_file: ${server.key}\n`,
  };
  const readFile = (p: string): string => files[p] ?? pki.read(p);
  const shown = redactedConfig(loadConfig({ ...OAUTH, WEB_CONFIG_FILE: '/web.yml' }, { readFile }));
  assert.deepEqual(shown['web_config'], { tls: true, client_auth_type: 'NoClientCert', basic_auth_users: [] });
});
