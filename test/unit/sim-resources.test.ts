// The fake API beyond devices, over real loopback HTTP: users, keys (and the ids-only list quirk),
// settings with nulls, DNS, Tailscale Services, the policy file (HuJSON vs JSON, ETag), faults, stats.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { standardizeHuJson } from '../../src/sim/tailscale/policy.js';
import { startTailnet, type SimTailnet, type StartTailnetOptions } from '../../src/sim/tailscale/index.js';

const T0 = Date.parse('2026-09-01T12:00:00Z');
const DAY = 86_400_000;

type Json = Record<string, unknown>;

async function sim(
  t: TestContext,
  options: StartTailnetOptions = {},
): Promise<{ tn: SimTailnet; clock: { ms: number } }> {
  const clock = { ms: T0 };
  const tn = await startTailnet({ now: () => clock.ms, ...options });
  t.after(() => tn.close());
  return { tn, clock };
}

function get(
  tn: SimTailnet,
  path: string,
  headers: Record<string, string> = {},
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${tn.apiUrl}/api/v2${path}`, {
    headers: { authorization: `Bearer ${tn.apiKey}`, ...headers },
    ...(signal ? { signal } : {}),
  });
}

async function json<T = Json>(res: Response, status = 200): Promise<T> {
  assert.equal(res.status, status, `HTTP ${res.status}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  return (await res.json()) as T;
}

async function users(tn: SimTailnet, query = ''): Promise<Json[]> {
  return (await json<{ users: Json[] }>(await get(tn, `/tailnet/-/users${query}`))).users;
}

async function keys(tn: SimTailnet, query = '', auth?: string): Promise<Json[]> {
  const res = await get(tn, `/tailnet/-/keys${query}`, auth === undefined ? {} : { authorization: auth });
  return (await json<{ keys: Json[] }>(res)).keys;
}

function byDescription(list: Json[], description: string): Json {
  const key = list.find((k) => k['description'] === description);
  assert.ok(key, `key "${description}" listed`);
  return key;
}

const USER_FIELDS = [
  'created',
  'currentlyConnected',
  'deviceCount',
  'displayName',
  'id',
  'lastSeen',
  'loginName',
  'profilePicUrl',
  'role',
  'status',
  'tailnetId',
  'type',
];

test('users: every role, status and type, with the exact User fields; type defaults to member', async (t) => {
  const { tn } = await sim(t);
  const all = await users(tn, '?type=all');
  for (const u of all) assert.deepEqual(Object.keys(u).sort(), USER_FIELDS, String(u['loginName']));
  assert.deepEqual(
    new Set(all.map((u) => u['role'])),
    new Set(['owner', 'admin', 'member', 'it-admin', 'network-admin', 'billing-admin', 'auditor']),
  );
  assert.deepEqual(
    new Set(all.map((u) => u['status'])),
    new Set(['active', 'idle', 'suspended', 'needs-approval', 'over-billing-limit']),
  );
  assert.deepEqual(new Set(all.map((u) => u['type'])), new Set(['member', 'shared']));
  assert.ok(all.every((u) => typeof u['id'] === 'string' && /^u[0-9A-Za-z]+CNTRL$/.test(String(u['id']))));
  assert.ok(
    all.some((u) => u['role'] !== 'member' && u['status'] !== 'active'),
    'label mix-ups are visible',
  );

  const members = await users(tn);
  assert.deepEqual(members, await users(tn, '?type=member'));
  assert.ok(members.every((u) => u['type'] === 'member'));
  const shared = await users(tn, '?type=shared');
  assert.deepEqual(
    shared.map((u) => [u['loginName'], u['tailnetId']]),
    [['dave@partner.example', 'partner.example']],
  );
  assert.equal(members.length + shared.length, all.length);
  assert.deepEqual(
    (await users(tn, '?role=owner')).map((u) => u['loginName']),
    ['admin@example.com'],
  );
  assert.deepEqual(
    (await users(tn, '?type=all&role=auditor')).map((u) => u['status']),
    ['suspended'],
  );
  for (const bad of ['?type=robot', '?role=superuser']) {
    assert.equal(typeof (await json(await get(tn, `/tailnet/-/users${bad}`), 400))['message'], 'string', bad);
  }
});

test('users: deviceCount and currentlyConnected follow the devices; unknown logins get a user', async (t) => {
  const { tn, clock } = await sim(t);
  const find = async (login: string): Promise<Json> => {
    const u = (await users(tn, '?type=all')).find((x) => x['loginName'] === login);
    assert.ok(u, login);
    return u;
  };
  // alice-macbook (online) and alice-iphone; ops registered only tagged devices, which it does not own.
  assert.deepEqual(
    [(await find('alice@example.com'))['deviceCount'], (await find('alice@example.com'))['currentlyConnected']],
    [2, true],
  );
  assert.equal((await find('alice@example.com'))['lastSeen'], new Date(clock.ms).toISOString().replace('.000Z', 'Z'));
  assert.deepEqual(
    [(await find('bob@example.com'))['deviceCount'], (await find('bob@example.com'))['currentlyConnected']],
    [1, false],
  );
  assert.equal((await find('ops@example.com'))['deviceCount'], 0);
  assert.equal((await find('dave@partner.example'))['deviceCount'], 1);
  const devicesByUser = new Map<string, number>();
  for (const d of tn.devices)
    if ((d.tags?.length ?? 0) === 0) devicesByUser.set(d.user, (devicesByUser.get(d.user) ?? 0) + 1);
  for (const u of await users(tn, '?type=all'))
    assert.equal(u['deviceCount'], devicesByUser.get(String(u['loginName'])) ?? 0, String(u['loginName']));

  await tn.addDevice({ hostname: 'grace-laptop', user: 'grace@example.com', os: 'macOS' });
  assert.equal((await find('grace@example.com'))['deviceCount'], 1);
  await tn.addDevice({ hostname: 'zoe-phone', user: 'zoe@example.com', os: 'iOS' });
  const zoe = await find('zoe@example.com');
  assert.deepEqual(
    [zoe['type'], zoe['role'], zoe['status'], zoe['deviceCount'], zoe['currentlyConnected']],
    ['member', 'member', 'active', 1, true],
  );

  const one = await json(await get(tn, `/users/${String(zoe['id'])}`));
  assert.deepEqual(one, zoe);
  assert.equal((await get(tn, '/users/uNoSuchUserCNTRL')).status, 404);
});

test('keys: full objects by default; expiry, revocation and the OAuth client without expires', async (t) => {
  const { tn, clock } = await sim(t);
  const mine = await keys(tn);
  const all = await keys(tn, '?all=true');
  assert.equal(all.length, tn.keys.length);
  assert.ok(mine.length < all.length, "without all=true an API token sees only its user's keys");
  assert.ok(!mine.some((k) => k['description'] === 'alice scripts' || k['userId'] === ''));
  assert.deepEqual(new Set(all.map((k) => k['keyType'])), new Set(['auth', 'api', 'client', 'federated']));

  const ci = byDescription(all, 'ci runners');
  assert.equal(ci['keyType'], 'auth');
  assert.equal(Date.parse(String(ci['expires'])) - clock.ms, 10 * DAY);
  assert.deepEqual(ci['capabilities'], {
    devices: { create: { reusable: true, ephemeral: false, preauthorized: true, tags: ['tag:ci', 'tag:exporter'] } },
  });
  assert.ok(!('invalid' in ci) && !('key' in ci), 'no secret, no invalid flag on a valid key');
  const revoked = byDescription(all, 'old laptop enrolment');
  assert.equal(revoked['invalid'], true);
  assert.ok(Date.parse(String(revoked['revoked'])) < clock.ms && Date.parse(String(revoked['expires'])) > clock.ms);
  const expired = byDescription(all, 'lab');
  assert.equal(expired['invalid'], true);
  assert.ok(Date.parse(String(expired['expires'])) < clock.ms && !('revoked' in expired));
  const token = byDescription(all, 'terraform');
  assert.deepEqual([token['keyType'], Date.parse(String(token['expires'])) - clock.ms], ['api', 5 * DAY]);
  const client = all.find((k) => k['id'] === tn.clientId);
  assert.ok(client);
  assert.deepEqual([client['keyType'], 'expires' in client, client['scopes']], ['client', false, ['all:read']]);
  const federated = byDescription(all, 'github actions deploy');
  assert.deepEqual(
    [federated['keyType'], federated['expires'], 'invalid' in federated],
    ['federated', '0001-01-01T00:00:00Z', false],
  );
  assert.equal(typeof federated['issuer'], 'string');
  assert.equal(typeof federated['subject'], 'string');

  for (const key of all) assert.deepEqual(await json(await get(tn, `/tailnet/-/keys/${String(key['id'])}`)), key);
  assert.equal((await json(await get(tn, '/tailnet/-/keys/kNoSuchKeyCNTRL'), 404))['message'], 'key not found');

  clock.ms += 5 * DAY;
  assert.equal(
    byDescription(await keys(tn, '?all=true'), 'terraform')['invalid'],
    true,
    'the API token expired on the clock',
  );
  tn.setKeyListIncludesInvalid(false);
  const active = await keys(tn, '?all=true');
  assert.ok(active.every((k) => !('invalid' in k)));
  assert.equal(active.length, all.length - 3);
});

test('keys: setKeyListIdsOnly makes the list return only ids; details still come from /keys/{id}', async (t) => {
  const { tn } = await sim(t);
  const full = await keys(tn, '?all=true');
  tn.setKeyListIdsOnly(true);
  const ids = await keys(tn, '?all=true');
  assert.deepEqual(
    ids,
    full.map((k) => ({ id: k['id'] })),
  );
  const detail = await json(await get(tn, `/tailnet/-/keys/${String(ids[0]?.['id'])}`));
  assert.deepEqual(detail, full[0]);
  tn.setKeyListIdsOnly(false);
  assert.deepEqual(await keys(tn, '?all=true'), full);
});

test('keys: an OAuth token lists OAuth clients unless all=true, and only key types its scopes cover', async (t) => {
  const { tn } = await sim(t);
  const bearer = async (scope?: string): Promise<string> => {
    const res = await fetch(`${tn.apiUrl}/api/v2/oauth/token`, {
      method: 'POST',
      body: new URLSearchParams({
        client_id: tn.clientId,
        client_secret: tn.clientSecret,
        ...(scope ? { scope } : {}),
      }),
    });
    return `Bearer ${(await json<{ access_token: string }>(res)).access_token}`;
  };
  const readAll = await bearer();
  assert.deepEqual(
    (await keys(tn, '', readAll)).map((k) => k['keyType']),
    ['client'],
  );
  assert.equal((await keys(tn, '?all=true', readAll)).length, tn.keys.length);
  const authOnly = await bearer('auth_keys:read');
  const authKeys = await keys(tn, '?all=true', authOnly);
  assert.ok(authKeys.length > 0 && authKeys.every((k) => k['keyType'] === 'auth'));
  const terraform = tn.keys.find((k) => k.description === 'terraform');
  assert.ok(terraform);
  const denied = await get(tn, `/tailnet/-/keys/${terraform.id}`, { authorization: authOnly });
  assert.deepEqual(await json(denied, 403), {
    message: 'calling actor does not have enough permissions to perform this function',
  });
});

test('settings: some settings are null, devicesKeyDurationDays is set, gated ones need their scope', async (t) => {
  const { tn } = await sim(t);
  const settings = await json(await get(tn, '/tailnet/-/settings'));
  assert.equal(settings['devicesKeyDurationDays'], 180);
  assert.equal(settings['networkFlowLoggingOn'], null);
  assert.equal(settings['regionalRoutingOn'], null);
  assert.equal(settings['httpsEnabled'], true);
  assert.equal(settings['aclsExternallyManagedOn'], true);
  assert.equal(settings['usersRoleAllowedToJoinExternalTailnets'], 'admin');

  const res = await fetch(`${tn.apiUrl}/api/v2/oauth/token`, {
    method: 'POST',
    body: new URLSearchParams({
      client_id: tn.clientId,
      client_secret: tn.clientSecret,
      scope: 'feature_settings:read',
    }),
  });
  const token = (await json<{ access_token: string }>(res)).access_token;
  const narrow = await json(await get(tn, '/tailnet/-/settings', { authorization: `Bearer ${token}` }));
  assert.deepEqual(
    [narrow['httpsEnabled'], narrow['aclsExternallyManagedOn'], narrow['aclsExternalLink']],
    [null, null, null],
  );
  assert.equal(narrow['devicesKeyDurationDays'], 180);

  tn.settings.devicesKeyDurationDays = 30;
  tn.settings.usersApprovalOn = null;
  const changed = await json(await get(tn, '/tailnet/-/settings'));
  assert.deepEqual([changed['devicesKeyDurationDays'], changed['usersApprovalOn']], [30, null]);
});

test('dns: nameservers, preferences, search paths and split DNS in their real shapes', async (t) => {
  const { tn } = await sim(t);
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/nameservers')), {
    dns: ['1.1.1.1', '8.8.8.8', '2606:4700:4700::1111'],
  });
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/preferences')), { magicDNS: true });
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/searchpaths')), {
    searchPaths: ['corp.example.com', 'example.internal'],
  });
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/split-dns')), {
    'corp.example.com': ['10.20.0.53', '10.20.0.54'],
    'aws.internal': ['172.16.0.2'],
  });
  tn.dns.magicDNS = false;
  tn.dns.splitDns['gone.example'] = null;
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/preferences')), { magicDNS: false });
  assert.equal((await json(await get(tn, '/tailnet/-/dns/split-dns')))['gone.example'], null);
  assert.equal((await get(tn, '/tailnet/other.example/dns/nameservers')).status, 404);
});

test('dns and services in edge-cases: empty lists, a null split-DNS entry, odd service names', async (t) => {
  const { tn } = await sim(t, { scenario: 'edge-cases' });
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/nameservers')), { dns: [] });
  assert.equal((await json(await get(tn, '/tailnet/-/dns/split-dns')))['cleared.example'], null);
  const settings = await json(await get(tn, '/tailnet/-/settings'));
  assert.equal(settings['devicesKeyDurationDays'], 1);
  assert.ok(!('aclsExternalLink' in settings));
  const names = (await json<{ vipServices: Json[] }>(await get(tn, '/tailnet/-/services'))).vipServices.map(
    (s) => s['name'],
  );
  assert.ok(names.includes('svc:odd "name"'));
  const odd = await json(await get(tn, `/tailnet/-/services/${encodeURIComponent('svc:odd "name"')}`));
  assert.equal(odd['comment'], 'line\nbreak and \\backslash');
});

test('services: /services and /vip-services list VIP services; one by name', async (t) => {
  const { tn } = await sim(t);
  const list = (await json<{ vipServices: Json[] }>(await get(tn, '/tailnet/-/services'))).vipServices;
  assert.deepEqual((await json<{ vipServices: Json[] }>(await get(tn, '/tailnet/-/vip-services'))).vipServices, list);
  assert.deepEqual(
    list.map((s) => s['name']),
    ['svc:grafana', 'svc:postgres', 'svc:wiki'],
  );
  const grafana = list[0];
  assert.ok(grafana);
  assert.deepEqual(Object.keys(grafana), ['name', 'addrs', 'comment', 'ports', 'tags']);
  const addrs = grafana['addrs'] as string[];
  assert.match(addrs[0] ?? '', /^100\./);
  assert.match(addrs[1] ?? '', /^fd7a:115c:a1e0:/);
  const deviceAddresses = new Set(tn.devices.flatMap((d) => d.addresses));
  assert.ok(list.every((s) => (s['addrs'] as string[]).every((a) => !deviceAddresses.has(a))));
  assert.ok(!('comment' in (list[1] ?? {})) && !('tags' in (list[2] ?? {})), 'optional fields are omitted');
  assert.deepEqual(await json(await get(tn, '/tailnet/-/services/svc:grafana')), grafana);
  assert.equal((await get(tn, '/tailnet/-/services/svc:nope')).status, 404);
  tn.services.push({ name: 'svc:new', addrs: [], ports: ['tcp:8080'] });
  assert.equal((await json<{ vipServices: Json[] }>(await get(tn, '/tailnet/-/services'))).vipServices.length, 4);
});

test('acl: HuJSON by default, JSON with Accept: application/json, the same ETag on both', async (t) => {
  const { tn } = await sim(t);
  const hujson = await get(tn, '/tailnet/-/acl');
  assert.equal(hujson.status, 200);
  assert.equal(hujson.headers.get('content-type'), 'application/hujson');
  const etag = hujson.headers.get('etag') ?? '';
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const text = await hujson.text();
  assert.match(text, /^\/\/ /, 'starts with a comment');
  assert.match(text, /,\n\t*[}\]]/, 'has trailing commas');
  assert.throws(() => JSON.parse(text), SyntaxError, 'HuJSON is not plain JSON');

  const asJson = await get(tn, '/tailnet/-/acl', { accept: 'application/json' });
  assert.equal(asJson.headers.get('etag'), etag);
  const policy = await json(asJson);
  for (const key of ['grants', 'acls', 'groups', 'tagOwners', 'hosts', 'tests', 'ssh', 'autoApprovers', 'nodeAttrs'])
    assert.ok(key in policy, key);
  assert.deepEqual(JSON.parse(standardizeHuJson(text)), policy);
  assert.deepEqual(policy, tn.policy.json);
  assert.ok(
    (policy['grants'] as Json[]).some(
      (g) => JSON.stringify(g) === JSON.stringify({ src: ['tag:monitoring'], dst: ['tag:exporter'], ip: ['tcp:5252'] }),
    ),
  );

  const details = await json(await get(tn, '/tailnet/-/acl?details=true'));
  assert.equal(Buffer.from(String(details['acl']), 'base64').toString('utf8'), text);
});

test('acl: setPolicy replaces the policy (object or HuJSON text) and changes the ETag', async (t) => {
  const { tn } = await sim(t);
  const before = tn.policy.etag;
  tn.setPolicy({ grants: [{ src: ['*'], dst: ['*'], ip: ['*'] }] });
  const res = await get(tn, '/tailnet/-/acl', { accept: 'application/json' });
  assert.notEqual(res.headers.get('etag'), before);
  assert.deepEqual(await json(res), { grants: [{ src: ['*'], dst: ['*'], ip: ['*'] }] });

  const text =
    '// mine\n{\n  "acls": [{"action": "accept", "src": ["*"], "dst": ["*:*"]},], /* block */\n  "hosts": {"url": "http://x//y"},\n}\n';
  tn.setPolicy(text);
  assert.equal(await (await get(tn, '/tailnet/-/acl')).text(), text, 'HuJSON is served as given');
  assert.deepEqual(await json(await get(tn, '/tailnet/-/acl', { accept: 'application/json' })), {
    acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }],
    hosts: { url: 'http://x//y' },
  });
  assert.throws(() => tn.setPolicy('[1, 2]'), TypeError);
  assert.throws(() => tn.setPolicy('{"acls": [}'), SyntaxError);
});

test('faults apply to the new endpoints and are counted; stats.requests counts per endpoint', async (t) => {
  const { tn } = await sim(t);
  tn.setApiFault({ kind: 'status', status: 503, retryAfterSeconds: 2, times: 3 });
  for (const path of ['/tailnet/-/users', '/tailnet/-/keys', '/tailnet/-/acl']) {
    const res = await get(tn, path);
    assert.equal(res.status, 503, path);
    assert.equal(res.headers.get('retry-after'), '2');
  }
  assert.equal((await get(tn, '/tailnet/-/users')).status, 200);
  assert.equal(tn.stats.faultsInjected.get('api:status'), 3);

  tn.setApiFault({ kind: 'malformed-json', times: 2 });
  const settings = await get(tn, '/tailnet/-/settings');
  assert.equal(settings.status, 200);
  const broken = await settings.text();
  assert.ok(broken.startsWith('{"aclsExternallyManagedOn"'));
  assert.throws(() => JSON.parse(broken), SyntaxError);
  const acl = await (await get(tn, '/tailnet/-/acl')).text();
  assert.ok(acl.length < tn.policy.hujson.length && tn.policy.hujson.startsWith(acl));

  tn.setApiFault({ kind: 'empty', times: 3 });
  assert.deepEqual(await users(tn), []);
  assert.deepEqual(await keys(tn, '?all=true'), []);
  assert.deepEqual(await json(await get(tn, '/tailnet/-/services')), { vipServices: [] });

  tn.setApiFault({ kind: 'wrong-types', times: 4 });
  const damagedUsers = await users(tn, '?type=all');
  assert.ok(damagedUsers.some((u) => typeof u['deviceCount'] === 'string' && !('id' in u)));
  assert.ok(
    damagedUsers.some((u) => typeof u['deviceCount'] === 'number'),
    'some users stay valid',
  );
  const damagedKeys = await keys(tn, '?all=true');
  assert.ok(damagedKeys.some((k) => typeof k['expires'] === 'number'));
  assert.deepEqual(await json(await get(tn, '/tailnet/-/dns/preferences')), { magicDNS: 'true' });
  assert.equal(typeof (await json(await get(tn, '/tailnet/-/settings')))['devicesKeyDurationDays'], 'string');
  assert.equal(tn.stats.faultsInjected.get('api:wrong-types'), 4);
  assert.equal(tn.stats.faultsInjected.get('api:empty'), 3);
  assert.equal(tn.stats.faultsInjected.get('api:malformed-json'), 2);

  tn.setApiFault({ kind: 'hang', times: 1 });
  await assert.rejects(get(tn, '/tailnet/-/dns/searchpaths', {}, AbortSignal.timeout(200)), { name: 'TimeoutError' });

  tn.setApiFault({ kind: 'reset', times: 1 });
  await assert.rejects(get(tn, '/tailnet/-/dns/searchpaths'), TypeError);
  tn.setApiFault(null);
  assert.equal((await get(tn, '/tailnet/-/dns/searchpaths')).status, 200);

  assert.equal(tn.stats.requests.get('users'), 4);
  assert.equal(tn.stats.requests.get('keys'), 3);
  assert.equal(tn.stats.requests.get('acl'), 2);
  assert.equal(tn.stats.requests.get('settings'), 2);
  assert.equal(tn.stats.requests.get('dns_searchpaths'), 3);
  assert.equal(tn.stats.requests.get('dns_preferences'), 1);
  assert.equal(tn.stats.requests.get('services'), 1);
  assert.equal(tn.stats.requests.get('token'), undefined);
});
