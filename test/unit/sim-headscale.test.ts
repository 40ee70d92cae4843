// The simulated Headscale over real loopback HTTP: auth, the grpc-gateway JSON shapes in both tag
// models, filters, errors, faults, the nodes' client-metrics endpoints, and a clean close().
import assert from 'node:assert/strict';
import { httpGet, type GetOptions, type Reply } from '../helpers/http.js';
import { connect } from 'node:net';
import { test, type TestContext } from 'node:test';
import {
  startHeadscale,
  TAGGED_DEVICES_USER_ID,
  type SimHeadscale,
  type SimHeadscaleNode,
  type StartHeadscaleOptions,
} from '../../src/sim/headscale/index.js';
import { ZERO_TIME } from '../../src/sim/shared/time.js';

const T0 = Date.parse('2026-09-01T12:00:00Z');
const DAY = 86_400_000;
/** RFC 3339 UTC as protojson writes Timestamps: 0, 3, 6 or 9 fractional digits. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{3}|\.\d{6}|\.\d{9})?Z$/;
const NODE_FIELDS_COMMON = [
  'id',
  'machineKey',
  'nodeKey',
  'discoKey',
  'ipAddresses',
  'name',
  'user',
  'lastSeen',
  'expiry',
  'preAuthKey',
  'createdAt',
  'registerMethod',
  'givenName',
  'online',
  'approvedRoutes',
  'availableRoutes',
  'subnetRoutes',
];
const USER_FIELDS = ['id', 'name', 'createdAt', 'displayName', 'email', 'providerId', 'provider', 'profilePicUrl'];
const PREAUTHKEY_FIELDS = ['user', 'id', 'key', 'reusable', 'ephemeral', 'used', 'expiration', 'createdAt', 'aclTags'];
const APIKEY_FIELDS = ['id', 'prefix', 'expiration', 'createdAt', 'lastSeen'];

async function sim(
  t: TestContext,
  options: StartHeadscaleOptions = {},
): Promise<{ hs: SimHeadscale; clock: { ms: number } }> {
  const clock = { ms: T0 };
  const hs = await startHeadscale({ now: () => clock.ms, ...options });
  t.after(() => hs.close());
  return { hs, clock };
}

function api(hs: SimHeadscale, path: string, options: GetOptions = {}): Promise<Reply> {
  return httpGet(`${hs.url}${path}`, {
    ...options,
    headers: { authorization: `Bearer ${hs.apiKey}`, ...options.headers },
  });
}

async function apiJson(hs: SimHeadscale, path: string): Promise<Record<string, unknown>> {
  const reply = await api(hs, path);
  assert.equal(reply.status, 200, `${path}: ${reply.body}`);
  assert.equal(reply.headers['content-type'], 'application/json');
  return JSON.parse(reply.body) as Record<string, unknown>;
}

type Obj = Record<string, unknown>;

async function listNodes(hs: SimHeadscale, query = ''): Promise<Obj[]> {
  const body = await apiJson(hs, `/api/v1/node${query}`);
  assert.deepEqual(Object.keys(body), ['nodes']);
  return body['nodes'] as Obj[];
}

function byName(nodes: Obj[], name: string): Obj {
  const node = nodes.find((n) => n['name'] === name);
  assert.ok(node, `node ${name} listed`);
  return node;
}

function metricsUrl(hs: SimHeadscale, node: SimHeadscaleNode): string {
  assert.ok(node.loopbackAddress, `${node.hostname} serves metrics`);
  return `http://${node.loopbackAddress}:${hs.clientMetricsPort}/metrics`;
}

function sample(body: string, series: string): number {
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} present`);
  return Number(line.slice(series.length + 1));
}

/** Every value under a key named `id` is a decimal string (protojson's uint64). */
function assertIdsAreStrings(value: unknown, path = '$'): void {
  if (Array.isArray(value)) value.forEach((v, i) => assertIdsAreStrings(v, `${path}[${i}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'id') {
        assert.equal(typeof v, 'string', `${path}.id is a string`);
        assert.match(v as string, /^\d+$/, `${path}.id`);
      }
      assertIdsAreStrings(v, `${path}.${key}`);
    }
  }
}

function assertTime(value: unknown, what: string): void {
  assert.equal(typeof value, 'string', `${what} is a string`);
  assert.match(value as string, RFC3339, what);
}

function refused(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

// --- auth ---

test('auth: a valid Bearer key gets 200; bad, missing, wrongly prefixed or expired keys get 401 "Unauthorized"', async (t) => {
  for (const tagModel of ['legacy', 'v028'] as const) {
    const { hs } = await sim(t, { tagModel });
    assert.equal((await api(hs, '/api/v1/node')).status, 200);
    const expired = hs.apiKeys.find((k) => k.expiration !== null && k.expiration < T0);
    assert.ok(expired, 'the demo has an expired API key');
    const attempts: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong-key' },
      { authorization: `bearer ${hs.apiKey}` },
      { authorization: `Bearer  ${hs.apiKey}` },
      { authorization: hs.apiKey },
      { authorization: `Basic ${Buffer.from(`${hs.apiKey}:`).toString('base64')}` },
      { authorization: `Bearer ${expired.key}` },
    ];
    for (const headers of attempts) {
      const reply = await httpGet(`${hs.url}/api/v1/node`, { headers });
      assert.equal(reply.status, 401, JSON.stringify(headers));
      assert.equal(reply.body, 'Unauthorized');
      assert.equal(reply.headers['content-type'], 'text/plain; charset=utf-8');
    }
    assert.equal(hs.stats.unauthorized, attempts.length);
    // Other valid keys work too, not just the sim's own.
    const other = hs.apiKeys.find((k) => k.id === 2);
    assert.ok(other);
    assert.equal(
      (await httpGet(`${hs.url}/api/v1/user`, { headers: { authorization: `Bearer ${other.key}` } })).status,
      200,
    );
  }
});

test('auth: API keys have the format of their version', async (t) => {
  const { hs: legacy } = await sim(t, { tagModel: 'legacy' });
  const { hs: modern } = await sim(t, { tagModel: 'v028' });
  assert.match(legacy.apiKey, /^[A-Za-z0-9_-]{7}\.[A-Za-z0-9_-]{32}$/);
  assert.match(modern.apiKey, /^hskey-api-[A-Za-z0-9_-]{12}-[A-Za-z0-9_-]{64}$/);
  const { hs: fixed } = await sim(t, { apiKey: 'hskey-api-abcdefghijkl-secret' });
  assert.equal(fixed.apiKey, 'hskey-api-abcdefghijkl-secret');
  assert.equal((await api(fixed, '/api/v1/node')).status, 200);
  const keys = (await apiJson(fixed, '/api/v1/apikey'))['apiKeys'] as Obj[];
  assert.equal(keys[0]?.['prefix'], 'hskey-api-abcdefghijkl-***');
});

// --- nodes ---

test('nodes v028: protojson shape, string ids, single tags field, tagged nodes shown as tagged-devices', async (t) => {
  const { hs } = await sim(t, { tagModel: 'v028' });
  const nodes = await listNodes(hs);
  assert.equal(nodes.length, 8);
  assertIdsAreStrings(nodes);
  assert.deepEqual(
    nodes.map((n) => n['id']),
    ['1', '2', '3', '4', '5', '6', '7', '8'],
  );
  for (const node of nodes) {
    assert.deepEqual(Object.keys(node).sort(), [...NODE_FIELDS_COMMON, 'tags'].sort());
    assert.match(node['machineKey'] as string, /^mkey:[0-9a-f]{64}$/);
    assert.match(node['nodeKey'] as string, /^nodekey:[0-9a-f]{64}$/);
    assert.match(node['discoKey'] as string, /^discokey:[0-9a-f]{64}$/);
    assertTime(node['createdAt'], 'createdAt');
    for (const field of ['ipAddresses', 'approvedRoutes', 'availableRoutes', 'subnetRoutes', 'tags']) {
      assert.ok(Array.isArray(node[field]), field);
    }
    const user = node['user'] as Obj;
    assert.deepEqual(Object.keys(user).sort(), [...USER_FIELDS].sort());
    assert.ok(
      ['REGISTER_METHOD_AUTH_KEY', 'REGISTER_METHOD_CLI', 'REGISTER_METHOD_OIDC'].includes(
        node['registerMethod'] as string,
      ),
    );
  }
  const gateway = byName(nodes, 'gateway-1');
  assert.deepEqual(gateway['tags'], ['tag:exporter', 'tag:gateway']);
  assert.equal((gateway['user'] as Obj)['id'], String(TAGGED_DEVICES_USER_ID));
  assert.equal((gateway['user'] as Obj)['name'], 'tagged-devices');
  assert.equal((gateway['user'] as Obj)['createdAt'], ZERO_TIME);
  assert.equal(gateway['expiry'], null, 'tagged nodes never expire: expiry null');
  assert.deepEqual(gateway['availableRoutes'], ['10.20.0.0/16', '192.168.10.0/24']);
  assert.deepEqual(gateway['approvedRoutes'], ['10.20.0.0/16']);
  assert.deepEqual(gateway['subnetRoutes'], ['10.20.0.0/16']);
  const key = gateway['preAuthKey'] as Obj;
  assert.deepEqual(Object.keys(key).sort(), [...PREAUTHKEY_FIELDS].sort());
  assert.match(key['key'] as string, /^hskey-auth-[A-Za-z0-9_-]{12}-\*\*\*$/);
  assert.equal((key['user'] as Obj)['name'], 'ops', 'the key keeps its creator');
  const ci = byName(nodes, 'ci-runner-7f3a');
  assert.equal((ci['preAuthKey'] as Obj)['user'], null, 'tags-only key');
  assert.equal((ci['preAuthKey'] as Obj)['ephemeral'], true);
  assert.equal(ci['lastSeen'], null);
  const exit = byName(nodes, 'exit-node-1');
  assert.deepEqual(exit['subnetRoutes'], ['0.0.0.0/0', '::/0']);
  const laptop = byName(nodes, 'alice-laptop');
  assert.deepEqual(laptop['tags'], []);
  assert.equal((laptop['user'] as Obj)['name'], 'alice');
  assert.equal((laptop['user'] as Obj)['provider'], 'oidc');
  assert.equal(laptop['registerMethod'], 'REGISTER_METHOD_OIDC');
  assert.equal(laptop['preAuthKey'], null);
  assert.deepEqual(laptop['availableRoutes'], ['192.168.1.0/24']);
  assert.deepEqual(laptop['approvedRoutes'], [], 'available but not approved');
  assert.deepEqual(laptop['subnetRoutes'], []);
  assert.ok(Date.parse(laptop['expiry'] as string) > T0);
  const bob = byName(nodes, 'bob-desktop');
  assert.equal(bob['online'], false);
  assert.equal(bob['registerMethod'], 'REGISTER_METHOD_CLI');
  assertTime(bob['expiry'], 'expiry');
  assert.ok(Date.parse(bob['expiry'] as string) < T0, 'expired');
  assert.ok(Date.parse(bob['lastSeen'] as string) < T0 - 2 * DAY);
  assert.deepEqual(
    nodes.filter((n) => n['online'] === false).map((n) => n['name']),
    ['alice-phone', 'bob-desktop'],
  );
});

test('nodes legacy: forcedTags/validTags/invalidTags, owners kept, zero-time expiry, plaintext pre-auth keys', async (t) => {
  const { hs } = await sim(t, { tagModel: 'legacy' });
  const nodes = await listNodes(hs);
  assert.equal(nodes.length, 8);
  assertIdsAreStrings(nodes);
  for (const node of nodes) {
    assert.deepEqual(
      Object.keys(node).sort(),
      [...NODE_FIELDS_COMMON, 'forcedTags', 'invalidTags', 'validTags'].sort(),
    );
    assert.notEqual((node['user'] as Obj | null)?.['name'], 'tagged-devices');
    assert.deepEqual(node['invalidTags'], [], 'empty since Headscale 0.24');
  }
  const gateway = byName(nodes, 'gateway-1');
  assert.deepEqual(gateway['forcedTags'], ['tag:exporter']);
  assert.deepEqual(gateway['validTags'], ['tag:gateway', 'tag:exporter']);
  assert.equal((gateway['user'] as Obj)['name'], 'ops');
  assert.equal(gateway['expiry'], ZERO_TIME, 'the client asked for no expiry');
  assert.match((gateway['preAuthKey'] as Obj)['key'] as string, /^[0-9a-f]{48}$/);
  const ci = byName(nodes, 'ci-runner-7f3a');
  assert.equal((ci['user'] as Obj)['name'], 'ops');
  assert.deepEqual(ci['validTags'], ['tag:exporter', 'tag:ci']);
  assert.deepEqual(byName(nodes, 'alice-laptop')['validTags'], []);
});

test('nodes: ?user=<name> filters by owner; v028 leaves tagged nodes out; unknown user is code 2 / HTTP 500', async (t) => {
  const { hs: legacy } = await sim(t, { tagModel: 'legacy' });
  const { hs: modern } = await sim(t, { tagModel: 'v028' });
  assert.deepEqual(
    (await listNodes(legacy, '?user=ops')).map((n) => n['name']),
    ['gateway-1', 'gateway-2', 'exit-node-1', 'db-1', 'ci-runner-7f3a'],
  );
  assert.deepEqual(await listNodes(modern, '?user=ops'), []);
  for (const hs of [legacy, modern]) {
    assert.deepEqual(
      (await listNodes(hs, '?user=alice')).map((n) => n['name']),
      ['alice-laptop', 'alice-phone'],
    );
    assert.equal((await listNodes(hs, '?user=')).length, 8);
    const missing = await api(hs, '/api/v1/node?user=nobody');
    assert.equal(missing.status, 500);
    assert.equal(missing.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(missing.body), { code: 2, message: 'user not found', details: [] });
  }
  assert.equal((await api(modern, '/api/v1/node?user=tagged-devices')).status, 500);
});

test('nodes: GET /api/v1/node/{id} returns node.Proto() alone; errors for unknown and non-numeric ids', async (t) => {
  const { hs } = await sim(t, { tagModel: 'v028' });
  const body = await apiJson(hs, '/api/v1/node/1');
  const node = body['node'] as Obj;
  assert.equal(node['id'], '1');
  assert.equal((node['user'] as Obj)['name'], 'ops', 'creator, not tagged-devices');
  assert.deepEqual(node['subnetRoutes'], []);
  const missing = await api(hs, '/api/v1/node/99');
  assert.equal(missing.status, 404);
  assert.deepEqual(JSON.parse(missing.body), { code: 5, message: 'node not found', details: [] });
  const bad = await api(hs, '/api/v1/node/abc');
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as Obj)['code'], 3);
  const { hs: legacy } = await sim(t, { tagModel: 'legacy' });
  assert.deepEqual(((await apiJson(legacy, '/api/v1/node/1'))['node'] as Obj)['validTags'], []);
});

test('nodes: live objects, and metrics nodes first carry a loopback IPv4 then a tailnet IPv6', async (t) => {
  const { hs } = await sim(t);
  const served = hs.nodes.filter((n) => n.servesMetrics);
  assert.equal(served.length, 5);
  for (const node of served) {
    assert.match(node.ipAddresses[0] ?? '', /^127\.0\.\d+\.\d+$/);
    assert.equal(node.ipAddresses[0], node.loopbackAddress);
    assert.match(node.ipAddresses[1] ?? '', /^fd7a:115c:a1e0::[0-9a-f]+$/);
    assert.ok([...node.forcedTags, ...node.requestedTags].includes('tag:exporter'));
  }
  for (const node of hs.nodes.filter((n) => !n.servesMetrics)) {
    assert.match(node.ipAddresses[0] ?? '', /^100\.64\.0\.\d+$/);
    assert.equal(node.loopbackAddress, null);
  }
  assert.equal(new Set(served.map((n) => n.loopbackAddress)).size, 5);
  const laptop = hs.nodes.find((n) => n.hostname === 'alice-laptop');
  assert.ok(laptop);
  laptop.approvedRoutes = ['192.168.1.0/24'];
  laptop.online = false;
  const listed = byName(await listNodes(hs), 'alice-laptop');
  assert.deepEqual(listed['approvedRoutes'], ['192.168.1.0/24']);
  assert.deepEqual(listed['subnetRoutes'], [], 'offline nodes are no primary');
  assert.equal(listed['online'], false);
});

// --- users, keys ---

test('users: list, filters by name / email / id, bad id is 400', async (t) => {
  const { hs } = await sim(t);
  const users = (await apiJson(hs, '/api/v1/user'))['users'] as Obj[];
  assertIdsAreStrings(users);
  assert.deepEqual(
    users.map((u) => [u['id'], u['name']]),
    [
      ['1', 'ops'],
      ['2', 'alice'],
      ['3', 'bob'],
    ],
  );
  for (const user of users) {
    assert.deepEqual(Object.keys(user).sort(), [...USER_FIELDS].sort());
    assertTime(user['createdAt'], 'createdAt');
  }
  assert.deepEqual(
    ((await apiJson(hs, '/api/v1/user?name=bob'))['users'] as Obj[]).map((u) => u['id']),
    ['3'],
  );
  assert.deepEqual(
    ((await apiJson(hs, '/api/v1/user?email=alice%40example.com'))['users'] as Obj[]).map((u) => u['id']),
    ['2'],
  );
  assert.deepEqual(
    ((await apiJson(hs, '/api/v1/user?id=1'))['users'] as Obj[]).map((u) => u['name']),
    ['ops'],
  );
  assert.deepEqual((await apiJson(hs, '/api/v1/user?name=nobody'))['users'], []);
  const bad = await api(hs, '/api/v1/user?id=x');
  assert.equal(bad.status, 400);
  assert.equal((JSON.parse(bad.body) as Obj)['code'], 3);
});

test('preauth keys v028: all keys without a user parameter (which is ignored), masked keys, keys without user', async (t) => {
  const { hs } = await sim(t, { tagModel: 'v028' });
  const keys = (await apiJson(hs, '/api/v1/preauthkey'))['preAuthKeys'] as Obj[];
  assertIdsAreStrings(keys);
  assert.deepEqual(
    keys.map((k) => k['id']),
    ['1', '2', '3', '4', '5'],
  );
  for (const key of keys) {
    assert.deepEqual(Object.keys(key).sort(), [...PREAUTHKEY_FIELDS].sort());
    assert.match(key['key'] as string, /^hskey-auth-[A-Za-z0-9_-]{12}-\*\*\*$/);
    assertTime(key['expiration'], 'expiration');
    assertTime(key['createdAt'], 'createdAt');
  }
  const [reusable, ephemeral, expiredUnused, usedExpired] = keys;
  assert.equal(reusable?.['reusable'], true);
  assert.deepEqual(reusable?.['aclTags'], ['tag:exporter']);
  assert.equal(ephemeral?.['ephemeral'], true);
  assert.equal(ephemeral?.['user'], null);
  assert.equal(expiredUnused?.['used'], false);
  assert.ok(Date.parse(expiredUnused?.['expiration'] as string) < T0);
  assert.equal(usedExpired?.['used'], true);
  assert.ok(Date.parse(usedExpired?.['expiration'] as string) < T0);
  assert.deepEqual(await apiJson(hs, '/api/v1/preauthkey?user=1'), await apiJson(hs, '/api/v1/preauthkey'));
  assert.deepEqual(await apiJson(hs, '/api/v1/preauthkey?user=ops'), await apiJson(hs, '/api/v1/preauthkey'));
});

test('preauth keys legacy: ?user=<numeric id> required, plaintext 48-hex keys', async (t) => {
  const { hs } = await sim(t, { tagModel: 'legacy' });
  const keys = (await apiJson(hs, '/api/v1/preauthkey?user=1'))['preAuthKeys'] as Obj[];
  assert.deepEqual(
    keys.map((k) => k['id']),
    ['1', '2', '5'],
  );
  for (const key of keys) {
    assert.match(key['key'] as string, /^[0-9a-f]{48}$/);
    assert.equal((key['user'] as Obj)['id'], '1');
  }
  assert.deepEqual(
    ((await apiJson(hs, '/api/v1/preauthkey?user=3'))['preAuthKeys'] as Obj[]).map((k) => k['id']),
    ['4'],
  );
  const without = await api(hs, '/api/v1/preauthkey');
  assert.equal(without.status, 500);
  assert.deepEqual(JSON.parse(without.body), { code: 2, message: 'user not found', details: [] });
  const byName = await api(hs, '/api/v1/preauthkey?user=ops');
  assert.equal(byName.status, 400);
  assert.deepEqual(JSON.parse(byName.body), {
    code: 3,
    message: 'parsing field "user": strconv.ParseUint: parsing "ops": invalid syntax',
    details: [],
  });
  assert.equal((await api(hs, '/api/v1/preauthkey?user=42')).status, 500);
});

test('API keys: prefix per version, one expiring soon, one expired, one never used', async (t) => {
  for (const tagModel of ['legacy', 'v028'] as const) {
    const { hs } = await sim(t, { tagModel });
    const keys = (await apiJson(hs, '/api/v1/apikey'))['apiKeys'] as Obj[];
    assertIdsAreStrings(keys);
    assert.equal(keys.length, 4);
    for (const key of keys) {
      assert.deepEqual(Object.keys(key).sort(), [...APIKEY_FIELDS].sort());
      assert.match(
        key['prefix'] as string,
        tagModel === 'legacy' ? /^[A-Za-z0-9_-]{7}$/ : /^hskey-api-[A-Za-z0-9_-]{12}-\*\*\*$/,
      );
    }
    const expirations = keys.map((k) => Date.parse(k['expiration'] as string) - T0);
    assert.ok(
      expirations.some((ms) => ms > 0 && ms < 7 * DAY),
      'expiring soon',
    );
    assert.ok(
      expirations.some((ms) => ms < 0),
      'expired',
    );
    assert.ok(
      keys.some((k) => k['lastSeen'] === null),
      'never used',
    );
    const ownPrefix =
      tagModel === 'legacy' ? hs.apiKey.slice(0, 7) : `${hs.apiKey.slice(0, 'hskey-api-'.length + 12)}-***`;
    assert.equal(keys[0]?.['prefix'], ownPrefix);
  }
});

test('health and policy: /api/v1/health, the unauthenticated /health, GET /api/v1/policy', async (t) => {
  const { hs } = await sim(t);
  assert.deepEqual(await apiJson(hs, '/api/v1/health'), { databaseConnectivity: true });
  const plain = await httpGet(`${hs.url}/health`);
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['content-type'], 'application/health+json; charset=utf-8');
  assert.deepEqual(JSON.parse(plain.body), { status: 'pass' });
  hs.setDatabaseHealthy(false);
  assert.equal((await api(hs, '/api/v1/health')).status, 500);
  assert.equal((await httpGet(`${hs.url}/health`)).status, 500);
  const policy = await apiJson(hs, '/api/v1/policy');
  assert.match(policy['policy'] as string, /"tag:exporter"/);
  assertTime(policy['updatedAt'], 'updatedAt');
});

test('routing: unknown /api/v1 path 404, wrong method 501, outside /api a plain 404, auth before routing', async (t) => {
  const { hs } = await sim(t);
  const unknown = await api(hs, '/api/v1/nodes');
  assert.equal(unknown.status, 404);
  assert.deepEqual(JSON.parse(unknown.body), { code: 5, message: 'Not Found', details: [] });
  const post = await api(hs, '/api/v1/node', { method: 'POST' });
  assert.equal(post.status, 501);
  assert.deepEqual(JSON.parse(post.body), { code: 12, message: 'Method Not Allowed', details: [] });
  assert.equal((await httpGet(`${hs.url}/api/v1/nodes`)).status, 401);
  const outside = await httpGet(`${hs.url}/metrics`);
  assert.equal(outside.status, 404);
  assert.equal(outside.body, '404 page not found\n');
  assert.equal((await api(hs, '/api/v1/node')).headers['grpc-metadata-content-type'], 'application/grpc');
  assert.equal(hs.stats.requests.get('node'), 1);
});

// --- client metrics ---

test('metrics: every metrics-serving node answers on its loopback address with growing tailscaled_* counters', async (t) => {
  const { hs, clock } = await sim(t);
  const served = hs.nodes.filter((n) => n.servesMetrics);
  const series = 'tailscaled_inbound_bytes_total{path="direct_ipv4"}';
  const before = new Map<number, number>();
  for (const node of served) {
    const reply = await httpGet(metricsUrl(hs, node));
    assert.equal(reply.status, 200, node.hostname);
    assert.equal(reply.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.match(reply.body, /^# TYPE tailscaled_inbound_bytes_total counter$/m);
    assert.match(reply.body, /^tailscaled_home_derp_region_id \d+$/m);
    before.set(node.id, sample(reply.body, series));
  }
  clock.ms += 60_000;
  for (const node of served) {
    const after = sample((await httpGet(metricsUrl(hs, node))).body, series);
    assert.ok(after > (before.get(node.id) ?? Infinity), `${node.hostname} counter grows`);
  }
  assert.equal(hs.stats.scrapes.get('1'), 2);
  const gateway = served.find((n) => n.hostname === 'gateway-1');
  assert.ok(gateway);
  let body = (await httpGet(metricsUrl(hs, gateway))).body;
  assert.equal(sample(body, 'tailscaled_advertised_routes'), 2);
  assert.equal(sample(body, 'tailscaled_approved_routes'), 1);
  gateway.approvedRoutes = [...gateway.availableRoutes];
  body = (await httpGet(metricsUrl(hs, gateway))).body;
  assert.equal(sample(body, 'tailscaled_approved_routes'), 2, 'gauges follow the node');
});

test('metrics: device faults reuse the Tailscale sim fleet', async (t) => {
  const { hs } = await sim(t);
  const db = hs.nodes.find((n) => n.hostname === 'db-1');
  assert.ok(db);
  hs.setDeviceFault('db-1', { kind: 'status', status: 503 });
  assert.equal((await httpGet(metricsUrl(hs, db))).status, 503);
  hs.setDeviceFault(String(db.id), null);
  assert.equal((await httpGet(metricsUrl(hs, db))).status, 200);
  assert.equal(hs.stats.faultsInjected.get('device:status'), 1);
  assert.throws(() => hs.setDeviceFault('alice-laptop', { kind: 'hang' }), /serves no client metrics/);
});

// --- API faults ---

test('faults: status (times), malformed-json, reset, hang, unauthorized, per endpoint', async (t) => {
  const { hs } = await sim(t);
  hs.setFault({ kind: 'status', status: 503, times: 2 });
  for (let i = 0; i < 2; i++) {
    const reply = await api(hs, '/api/v1/node');
    assert.equal(reply.status, 503);
    assert.equal((JSON.parse(reply.body) as Obj)['message'], 'simulated HTTP 503');
  }
  assert.equal((await api(hs, '/api/v1/node')).status, 200, 'fault used up');

  hs.setFault({ kind: 'malformed-json', times: 1 });
  const malformed = await api(hs, '/api/v1/user');
  assert.equal(malformed.status, 200);
  assert.throws(() => JSON.parse(malformed.body));

  hs.setFault({ kind: 'reset', times: 1 });
  await assert.rejects(api(hs, '/api/v1/node'), /ECONNRESET|socket hang up/);

  hs.setFault({ kind: 'hang', times: 1 });
  await assert.rejects(api(hs, '/api/v1/node', { timeoutMs: 200 }), /client timeout/);

  hs.setFault({ kind: 'unauthorized', times: 1 });
  assert.equal((await api(hs, '/api/v1/node')).status, 401);
  assert.equal((await api(hs, '/api/v1/node')).status, 200);

  hs.setFault({ kind: 'status', status: 502, endpoint: 'preauthkey' });
  assert.equal((await api(hs, '/api/v1/node')).status, 200);
  assert.equal((await api(hs, '/api/v1/preauthkey')).status, 502);
  assert.equal((await api(hs, '/api/v1/preauthkey')).status, 502);
  hs.setFault(null);
  assert.equal((await api(hs, '/api/v1/preauthkey')).status, 200);

  assert.equal(hs.stats.faultsInjected.get('api:status'), 4);
  assert.equal(hs.stats.faultsInjected.get('api:malformed-json'), 1);
  assert.equal(hs.stats.faultsInjected.get('api:reset'), 1);
  assert.equal(hs.stats.faultsInjected.get('api:hang'), 1);
  assert.equal(hs.stats.faultsInjected.get('api:unauthorized'), 1);
});

// --- scenarios, add/remove, close ---

test('scenario names: one tagged metrics-serving node per name', async (t) => {
  const { hs } = await sim(t, { scenario: { names: ['web-1', 'web-2', 'web-3'] } });
  const nodes = await listNodes(hs);
  assert.deepEqual(
    nodes.map((n) => n['name']),
    ['web-1', 'web-2', 'web-3'],
  );
  for (const node of nodes) assert.deepEqual(node['tags'], ['tag:exporter']);
  for (const node of hs.nodes) assert.equal((await httpGet(metricsUrl(hs, node))).status, 200);
  const users = (await apiJson(hs, '/api/v1/user'))['users'] as Obj[];
  assert.deepEqual(
    users.map((u) => u['name']),
    ['ops'],
  );
});

test('addNode / removeNode: new node listed and scraped, removed node gone and closed', async (t) => {
  const { hs } = await sim(t);
  const added = await hs.addNode({
    hostname: 'new-server',
    user: 'ops',
    servesMetrics: true,
    requestedTags: ['tag:server'],
  });
  assert.equal(added.id, 9);
  const listed = byName(await listNodes(hs), 'new-server');
  assert.deepEqual(listed['tags'], ['tag:exporter', 'tag:server']);
  assert.equal((listed['ipAddresses'] as string[])[0], added.loopbackAddress);
  assert.equal((await httpGet(metricsUrl(hs, added))).status, 200);
  const plain = await hs.addNode({ hostname: 'carol-tablet', user: 'bob' });
  assert.deepEqual(plain.ipAddresses, ['100.64.0.10', 'fd7a:115c:a1e0::a']);
  await hs.removeNode('new-server');
  assert.equal(
    (await listNodes(hs)).some((n) => n['name'] === 'new-server'),
    false,
  );
  assert.equal(await refused(added.loopbackAddress ?? '', hs.clientMetricsPort), true);
  await assert.rejects(hs.addNode({ hostname: 'x', user: 'nobody' }), /no simulated Headscale user/);
});

test('close(): the API and every metrics endpoint stop listening', async (t) => {
  const { hs } = await sim(t);
  const port = Number(new URL(hs.url).port);
  hs.setFault({ kind: 'hang' });
  const hung = api(hs, '/api/v1/user').catch((err: unknown) => err);
  while (hs.stats.requests.get('user') !== 1) await new Promise((r) => setTimeout(r, 5));
  await hs.close();
  assert.ok((await hung) instanceof Error, 'a hung request is cut');
  assert.equal(await refused('127.0.0.1', port), true);
  for (const node of hs.nodes.filter((n) => n.servesMetrics)) {
    assert.equal(await refused(node.loopbackAddress ?? '', hs.clientMetricsPort), true, node.hostname);
  }
  await hs.close();
});
