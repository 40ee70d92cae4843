// OAuth scopes in the fake API: what the token endpoint grants, which endpoints answer 403, and the
// pure scope rules behind both.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { canGrant, covers } from '../../src/sim/tailscale/scopes.js';
import { API_ENDPOINTS, FORBIDDEN_MESSAGE, startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';

const T0 = Date.parse('2026-09-01T12:00:00Z');

type Json = Record<string, unknown>;

async function sim(t: TestContext): Promise<SimTailnet> {
  const tn = await startTailnet({ now: () => T0 });
  t.after(() => tn.close());
  return tn;
}

function requestToken(tn: SimTailnet, scope?: string): Promise<Response> {
  return fetch(`${tn.apiUrl}/api/v2/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: tn.clientId,
      client_secret: tn.clientSecret,
      ...(scope === undefined ? {} : { scope }),
    }),
  });
}

async function token(tn: SimTailnet, scope?: string): Promise<{ auth: string; scope: string }> {
  const res = await requestToken(tn, scope);
  assert.equal(res.status, 200, scope);
  const body = (await res.json()) as { access_token: string; scope: string };
  return { auth: `Bearer ${body.access_token}`, scope: body.scope };
}

async function status(tn: SimTailnet, path: string, auth: string): Promise<number> {
  const res = await fetch(`${tn.apiUrl}/api/v2${path}`, { headers: { authorization: auth } });
  if (res.status === 403) assert.deepEqual(await res.json(), { message: FORBIDDEN_MESSAGE });
  else await res.arrayBuffer();
  return res.status;
}

/** One request path per read endpoint, and the scope that opens it. */
function probes(tn: SimTailnet): Array<[string, string]> {
  const device = tn.devices[0]?.nodeId ?? '';
  const user = tn.users[0]?.id ?? '';
  return [
    ['/tailnet/-/devices', 'devices:core:read'],
    [`/device/${device}`, 'devices:core:read'],
    [`/device/${device}/routes`, 'devices:routes:read'],
    ['/tailnet/-/settings', 'feature_settings:read'],
    ['/tailnet/-/users', 'users:read'],
    [`/users/${user}`, 'users:read'],
    ['/tailnet/-/keys', 'oauth_keys:read'],
    ['/tailnet/-/dns/nameservers', 'dns:read'],
    ['/tailnet/-/dns/preferences', 'dns:read'],
    ['/tailnet/-/dns/searchpaths', 'dns:read'],
    ['/tailnet/-/dns/split-dns', 'dns:read'],
    ['/tailnet/-/services', 'services:read'],
    ['/tailnet/-/services/svc:grafana', 'services:read'],
    ['/tailnet/-/acl', 'policy_file:read'],
  ];
}

test('each endpoint needs its scope: a narrow token gets 200 there and 403 elsewhere', async (t) => {
  const tn = await sim(t);
  const probeList = probes(tn);
  for (const scope of new Set(probeList.map(([, s]) => s))) {
    const { auth, scope: granted } = await token(tn, scope);
    assert.equal(granted, scope);
    for (const [path, needs] of probeList)
      assert.equal(await status(tn, path, auth), needs === scope ? 200 : 403, `${scope} on ${path}`);
  }
  const readAll = (await token(tn)).auth;
  for (const [path] of probeList) assert.equal(await status(tn, path, readAll), 200, `all:read on ${path}`);
  for (const [path] of probeList)
    assert.equal(await status(tn, path, `Bearer ${tn.apiKey}`), 200, `API key on ${path}`);
  assert.equal(
    tn.stats.forbidden.get('users'),
    new Set(probeList.map(([, s]) => s)).size - 1,
    'once per narrow token but users:read',
  );
});

test('any credential may read its own key; other keys need the scope of their type', async (t) => {
  const tn = await sim(t);
  const { auth } = await token(tn, 'devices:core:read');
  assert.equal(await status(tn, `/tailnet/-/keys/${tn.clientId}`, auth), 200);
  const ciKey = tn.keys.find((k) => k.keyType === 'auth');
  assert.ok(ciKey);
  assert.equal(await status(tn, `/tailnet/-/keys/${ciKey.id}`, auth), 403);
  assert.equal(await status(tn, `/tailnet/-/keys/${ciKey.id}`, (await token(tn, 'auth_keys:read')).auth), 200);
  assert.equal(tn.stats.forbidden.get('key'), 1);
});

test('token endpoint: the scope field narrows the token; ungranted scopes get the real 403 message', async (t) => {
  const tn = await sim(t);
  tn.setGrantedScopes(['devices:core:read', 'users:read']);
  assert.deepEqual(tn.keys.find((k) => k.id === tn.clientId)?.scopes, ['devices:core:read', 'users:read']);
  assert.equal((await token(tn)).scope, 'devices:core:read users:read', 'default = everything the client was granted');
  const refused = await requestToken(tn, 'devices:core:read dns:read');
  assert.equal(refused.status, 403);
  assert.deepEqual(await refused.json(), { message: 'OAuth client cannot grant scopes "devices:core:read dns:read"' });
  for (const scope of ['all:read', 'devices:core', 'devices:read', 'no-such:read'])
    assert.equal((await requestToken(tn, scope)).status, 403, scope);

  const { auth } = await token(tn, 'users:read');
  assert.equal(await status(tn, '/tailnet/-/users', auth), 200);
  assert.equal(await status(tn, '/tailnet/-/devices', auth), 403, 'the token carries only users:read');
  tn.setGrantedScopes(['devices:core:read']);
  assert.equal(await status(tn, '/tailnet/-/users', auth), 403, 'narrowing the client reaches live tokens');
  assert.equal(await status(tn, '/tailnet/-/users', `Bearer ${tn.apiKey}`), 200, 'API keys have every scope');
});

test('token endpoint: all, write scopes and legacy scopes', async (t) => {
  const tn = await sim(t);
  assert.equal(
    (await requestToken(tn, 'devices:read')).status,
    403,
    'a granular client cannot grant legacy scopes (AH #34)',
  );
  tn.setGrantedScopes('all');
  assert.equal((await token(tn)).scope, 'all');
  const legacy = (await token(tn, 'devices:read')).auth;
  assert.equal(await status(tn, '/tailnet/-/devices', legacy), 200);
  assert.equal(await status(tn, `/device/${tn.devices[0]?.nodeId}/routes`, legacy), 200);
  assert.equal(await status(tn, '/tailnet/-/users', legacy), 403);
  tn.setGrantedScopes(['users', 'policy_file']);
  const write = (await token(tn, 'users policy_file:read')).auth;
  assert.equal(await status(tn, '/tailnet/-/users', write), 200, 'a write scope includes its read scope');
  assert.equal(await status(tn, '/tailnet/-/acl', write), 200);
  assert.throws(() => tn.setGrantedScopes(['devices:core:read', 'bogus']), RangeError);
  assert.throws(() => tn.setGrantedScopes([]), RangeError);
});

test('settings gated by a second scope come back null without it', async (t) => {
  const tn = await sim(t);
  const fetchSettings = async (scope: string): Promise<Json> => {
    const res = await fetch(`${tn.apiUrl}/api/v2/tailnet/-/settings`, {
      headers: { authorization: (await token(tn, scope)).auth },
    });
    assert.equal(res.status, 200);
    return (await res.json()) as Json;
  };
  const base = await fetchSettings('feature_settings:read');
  assert.equal(base['httpsEnabled'], null);
  assert.equal(base['aclsExternallyManagedOn'], null);
  const more = await fetchSettings('feature_settings:read networking_settings:read policy_file:read');
  assert.equal(more['httpsEnabled'], true);
  assert.equal(more['aclsExternallyManagedOn'], true);
  assert.equal(more['aclsExternalLink'], 'https://github.com/example/tailnet-policy');
});

test('scope rules: all:read covers reads, write covers read, legacy expands, nothing else', () => {
  assert.ok(covers(['all:read'], 'users:read'));
  assert.ok(!covers(['all:read'], 'users'));
  assert.ok(covers(['all'], 'devices:core'));
  assert.ok(covers(['policy_file'], 'policy_file:read'));
  assert.ok(!covers(['policy_file:read'], 'policy_file'));
  assert.ok(covers(['devices'], 'devices:routes:read'));
  assert.ok(covers(['acl:read'], 'policy_file:read'));
  assert.ok(!covers(['devices:core:read'], 'devices:routes:read'));
  assert.ok(canGrant(['all:read'], 'dns:read'));
  assert.ok(!canGrant(['all:read'], 'all'));
  assert.ok(!canGrant(['all:read'], 'devices:read'));
  assert.ok(canGrant(['all'], 'devices:read'));
  assert.ok(!canGrant(['all'], 'made:up'));
});

test('API_ENDPOINTS documents a scope for every data endpoint', () => {
  for (const e of API_ENDPOINTS) {
    if (e.name === 'token' || e.name === 'token_exchange') assert.deepEqual(e.scopes, []);
    else if (e.name === 'key') assert.equal(e.scopes, null);
    else assert.ok((e.scopes?.length ?? 0) > 0 && e.scopes?.every((s) => s.endsWith(':read')), e.path);
  }
});

test('integration-health endpoints: a missing scope answers 404 where the live API does; service hosts also need devices:core:read', async (t) => {
  const tn = await sim(t);
  const paths: Array<[string, string]> = [
    ['/tailnet/-/logging/network/stream/status', 'log_streaming:read'],
    ['/tailnet/-/posture/integrations', 'feature_settings:read'],
    ['/tailnet/-/webhooks', 'webhooks:read'],
  ];
  const narrow = (await token(tn, 'users:read')).auth;
  for (const [path, scope] of paths) {
    const res = await fetch(`${tn.apiUrl}/api/v2${path}`, { headers: { authorization: narrow } });
    assert.equal(res.status, 404, `${path} without ${scope}`);
    assert.deepEqual(await res.json(), { message: 'not found' });
    assert.equal(await status(tn, path, (await token(tn, scope)).auth), 200, `${path} with ${scope}`);
  }
  const hosts = '/tailnet/-/services/svc:grafana/devices';
  assert.equal(await status(tn, hosts, (await token(tn, 'services:read')).auth), 403, 'services:read alone');
  assert.equal(await status(tn, hosts, (await token(tn, 'services:read devices:core:read')).auth), 200);
  assert.equal(await status(tn, '/tailnet/-/services/svc:nope/devices', `Bearer ${tn.apiKey}`), 404, 'unknown service');
  assert.equal(
    await status(tn, '/tailnet/-/logging/bogus/stream/status', `Bearer ${tn.apiKey}`),
    404,
    'unknown log type',
  );
  delete tn.integrations.logStreams.configuration;
  assert.equal(
    await status(tn, '/tailnet/-/logging/configuration/stream/status', `Bearer ${tn.apiKey}`),
    404,
    'not configured',
  );
});
