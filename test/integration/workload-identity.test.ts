// Workload identity federation: OAUTH_CLIENT_ID + OAUTH_ID_TOKEN_FILE, exchanged at /api/v2/oauth/token-exchange
// for bearer tokens, against the simulator's exchange (which checks audience, issuer, subject, expiry, not-before
// and that the token is signed at all).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { redactedConfig } from '../../src/config/redact.js';
import { ApiError } from '../../src/errors.js';
import { idTokenProblem, mintIdToken } from '../../src/sim/tailscale/jwt.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { HttpTailscaleApi } from '../../src/control/api.js';
import { OAuthTokenSource, TOKEN_EXCHANGE_HINT } from '../../src/control/auth.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { memoryLogger } from '../helpers/log.js';
import { seriesValues, startExporterWith } from '../helpers/exporter.js';

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsmetrics-wif-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function sim(t: TestContext): Promise<SimTailnet> {
  const tn = await startTailnet({ scenario: { names: ['gw-1'] } });
  t.after(() => tn.close());
  return tn;
}

function exchangeSource(tn: SimTailnet, file: string, stats = new RequestStats(), reads?: string[]): OAuthTokenSource {
  return new OAuthTokenSource({
    baseUrl: tn.apiUrl,
    clientId: tn.federatedClientId,
    idTokenFile: file,
    timeoutMs: 2000,
    stats,
    ...(reads === undefined
      ? {}
      : { readIdToken: (p: string) => (reads.push(p), Promise.resolve(readFileSync(p, 'utf8'))) }),
  });
}

test('the token from the exchange works for API calls; the ID token file is re-read for every exchange', async (t) => {
  const tn = await sim(t);
  const file = join(tempDir(t), 'token');
  writeFileSync(file, `${tn.mintIdToken()}\n`);
  const reads: string[] = [];
  const stats = new RequestStats();
  const tokens = exchangeSource(tn, file, stats, reads);
  t.after(() => tokens.close());
  const { log } = memoryLogger();
  const api = new HttpTailscaleApi({ baseUrl: tn.apiUrl, tailnet: '-', timeoutMs: 2000, tokens, stats, log });
  t.after(() => api.close());
  assert.equal((await api.listDevices()).devices.length, tn.devices.length);
  assert.equal(tn.stats.requests.get('token_exchange'), 1);
  assert.equal(tn.stats.tokenRequests, 0, 'the client-credentials endpoint is never called');
  assert.equal(new Map(stats.snapshot()).get('oauth_token_exchange')?.requests, 1);
  // Cached: a second call needs no exchange.
  await api.listDevices();
  assert.equal(tn.stats.requests.get('token_exchange'), 1);

  // The projected token rotates: the next exchange must send the file's new content.
  writeFileSync(file, tn.mintIdToken({ exp: Math.floor(Date.now() / 1000) - 10 }));
  tokens.invalidate();
  await assert.rejects(tokens.token(), (err: ApiError) => err.reason === 'auth' && err.status === 400);
  writeFileSync(file, tn.mintIdToken());
  tokens.invalidate();
  assert.match(await tokens.token(), /^tskey-api-/);
  assert.deepEqual(reads, [file, file, file]);
});

test('a refused ID token: the uniform 400 becomes a message naming audience, issuer and subject, never the token', async (t) => {
  const tn = await sim(t);
  const dir = tempDir(t);
  const nowSeconds = Math.floor(Date.now() / 1000);
  const bad: Record<string, string> = {
    audience: tn.mintIdToken({ aud: 'api.tailscale.com/someone-else' }),
    issuer: tn.mintIdToken({ iss: 'https://token.actions.githubusercontent.com' }),
    subject: tn.mintIdToken({ sub: 'system:serviceaccount:default:other' }),
    expired: tn.mintIdToken({ exp: nowSeconds - 1 }),
    'not yet valid': tn.mintIdToken({ nbf: nowSeconds + 600 }),
    unsigned: tn.mintIdToken({}, { alg: 'none' }),
    garbage: 'not.a.jwt',
  };
  for (const [why, jwt] of Object.entries(bad)) {
    const file = join(dir, why.replace(/ /g, '-'));
    writeFileSync(file, jwt);
    const stats = new RequestStats();
    const tokens = exchangeSource(tn, file, stats);
    try {
      await assert.rejects(tokens.token(), (err: unknown) => {
        assert.ok(err instanceof ApiError, why);
        assert.equal(err.status, 400, why);
        assert.equal(err.reason, 'auth', why);
        assert.equal(err.endpoint, 'oauth_token_exchange');
        assert.ok(err.message.includes(TOKEN_EXCHANGE_HINT), why);
        for (const word of ['audience', 'issuer', 'subject']) assert.match(err.message, new RegExp(word), why);
        assert.ok(!err.message.includes(jwt), `${why}: the token is not in the message`);
        return true;
      });
      assert.equal(new Map(stats.snapshot()).get('oauth_token_exchange')?.errors.get('auth'), 1, why);
    } finally {
      await tokens.close();
    }
  }
  // The simulator's own reasons, which the exchange hides behind "invalid request".
  const identity = {
    audience: `api.tailscale.com/${tn.federatedClientId}`,
    issuer: 'https://oidc.cluster.example',
    subject: 'system:serviceaccount:monitoring:*',
  };
  const at = nowSeconds;
  assert.equal(idTokenProblem(tn.mintIdToken(), identity, at), null, 'a subject glob matches');
  assert.equal(idTokenProblem(bad['audience']!, identity, at), 'audience');
  assert.equal(idTokenProblem(bad['issuer']!, identity, at), 'issuer');
  assert.equal(idTokenProblem(bad['subject']!, identity, at), 'subject');
  assert.equal(idTokenProblem(bad['expired']!, identity, at), 'expired');
  assert.equal(idTokenProblem(bad['unsigned']!, identity, at), 'unsigned');
  assert.equal(idTokenProblem('not.a.jwt', identity, at), 'not a JWT');
  assert.equal(
    idTokenProblem(
      mintIdToken({ iss: identity.issuer, sub: 'x', aud: [identity.audience, 'other'], exp: at + 60 }),
      { ...identity, subject: 'x' },
      at,
    ),
    null,
    'aud as a list',
  );
});

test("an unknown client id, a revoked identity and a missing file fail; the identity's scopes apply to its tokens", async (t) => {
  const tn = await sim(t);
  const file = join(tempDir(t), 'token');
  writeFileSync(file, tn.mintIdToken());
  const post = (clientId: string) =>
    fetch(`${tn.apiUrl}/api/v2/oauth/token-exchange`, {
      method: 'POST',
      body: new URLSearchParams({ client_id: clientId, jwt: tn.mintIdToken() }),
    });
  const unknown = await post('kNoSuchIdentity');
  assert.equal(unknown.status, 400);
  assert.deepEqual(await unknown.json(), { message: 'invalid request' });
  assert.equal((await post(tn.clientId)).status, 400, 'an OAuth client id is not a federated identity');

  const good = await post(tn.federatedClientId);
  assert.equal(good.status, 200);
  const body = (await good.json()) as { access_token: string; token_type: string; expires_in: number; scope: string };
  assert.deepEqual([body.token_type, body.expires_in, body.scope], ['Bearer', 3600, 'all:read']);
  const identity = tn.keys.find((k) => k.id === tn.federatedClientId)!;
  identity.scopes = ['devices:core:read'];
  const users = await fetch(`${tn.apiUrl}/api/v2/tailnet/-/users`, {
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  assert.equal(users.status, 403, 'narrowing the identity reaches its live tokens');
  const devices = await fetch(`${tn.apiUrl}/api/v2/tailnet/-/devices`, {
    headers: { authorization: `Bearer ${body.access_token}` },
  });
  assert.equal(devices.status, 200);

  identity.revoked = new Date().toISOString();
  assert.equal((await post(tn.federatedClientId)).status, 400, 'a revoked identity exchanges nothing');

  const missing = exchangeSource(tn, join(tempDir(t), 'gone'));
  t.after(() => missing.close());
  await assert.rejects(missing.token(), /cannot read OAUTH_ID_TOKEN_FILE=".*gone" \(ENOENT\)/);
});

test('configuration: exactly one credential kind; the token file must be readable and hold a JWT', (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'token');
  const jwt = mintIdToken({
    iss: 'https://issuer.example',
    sub: 's',
    aud: 'api.tailscale.com/kFED',
    exp: 2_000_000_000,
  });
  writeFileSync(file, `${jwt}\n`);
  const readFile = (p: string) => readFileSync(p, 'utf8');
  const c = loadConfig({ OAUTH_CLIENT_ID: 'kFED', OAUTH_ID_TOKEN_FILE: file }, { readFile });
  assert.deepEqual(c.auth, { kind: 'federated', clientId: 'kFED', idTokenFile: file });
  const shown = JSON.stringify(redactedConfig(c));
  assert.match(shown, /"kind":"federated","client_id":"kFED","id_token_file":/);
  assert.ok(!shown.includes(jwt), 'the token itself is never shown');

  assert.throws(
    () => loadConfig({ OAUTH_CLIENT_ID: 'kFED', OAUTH_ID_TOKEN_FILE: join(dir, 'nope') }, { readFile }),
    /^ConfigError: OAUTH_ID_TOKEN_FILE=".*nope": cannot read the file \(ENOENT\); expected a readable file holding an OIDC ID token \(JWT\)$/,
  );
  writeFileSync(join(dir, 'text'), 'hello world');
  assert.throws(
    () => loadConfig({ OAUTH_CLIENT_ID: 'kFED', OAUTH_ID_TOKEN_FILE: join(dir, 'text') }, { readFile }),
    /OAUTH_ID_TOKEN_FILE=".*text" is invalid: expected a file holding an OIDC ID token/,
  );
  writeFileSync(join(dir, 'empty'), '\n');
  assert.throws(
    () => loadConfig({ OAUTH_CLIENT_ID: 'kFED', OAUTH_ID_TOKEN_FILE: join(dir, 'empty') }, { readFile }),
    /is invalid/,
  );
  assert.throws(
    () =>
      loadConfig(
        { OAUTH_CLIENT_ID: 'kFED', OAUTH_CLIENT_SECRET: 'tskey-client-x', OAUTH_ID_TOKEN_FILE: file },
        { readFile },
      ),
    /OAUTH_CLIENT_SECRET and OAUTH_ID_TOKEN_FILE are both set/,
  );
  assert.throws(() => loadConfig({ OAUTH_ID_TOKEN_FILE: file }, { readFile }), /OAUTH_CLIENT_ID is not set/);
  assert.throws(
    () => loadConfig({ TAILSCALE_API_KEY: 'tskey-api-x', OAUTH_ID_TOKEN_FILE: file }, { readFile }),
    /choose one way to authenticate/,
  );
});

test('--check-config and start report a missing token file alike: exit 2, one line', (t) => {
  const dir = tempDir(t);
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    OAUTH_CLIENT_ID: 'kFED',
    OAUTH_ID_TOKEN_FILE: join(dir, 'missing-token'),
  };
  const bin = join(process.cwd(), 'bin/tsmetrics.js');
  const check = spawnSync(process.execPath, [bin, '--check-config'], {
    cwd: dir,
    env,
    encoding: 'utf8',
    timeout: 20_000,
  });
  const start = spawnSync(process.execPath, [bin], { cwd: dir, env, encoding: 'utf8', timeout: 20_000 });
  for (const r of [check, start]) {
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      /^tsmetrics: invalid configuration: OAUTH_ID_TOKEN_FILE=".*missing-token": cannot read the file \(ENOENT\)/,
    );
  }
  assert.equal(check.stderr, start.stderr);
});

test('the exporter runs on workload identity federation end to end', async (t) => {
  const tn = await sim(t);
  const file = join(tempDir(t), 'token');
  writeFileSync(file, tn.mintIdToken());
  const { metrics } = await startExporterWith(t, {
    TAILSCALE_API_URL: tn.apiUrl,
    OAUTH_CLIENT_ID: tn.federatedClientId,
    OAUTH_ID_TOKEN_FILE: file,
    CLIENT_METRICS_PORT: String(tn.clientMetricsPort),
  });
  const v = seriesValues(await metrics());
  assert.equal(v.get('tsmetrics_api_up'), 1);
  assert.equal(v.get('tailscale_device_count'), tn.devices.length);
  assert.equal(v.get('tsmetrics_api_requests_total{endpoint="oauth_token_exchange"}'), 1);
  assert.equal(v.get('tsmetrics_collector_success{collector="users"}'), 1);
});
