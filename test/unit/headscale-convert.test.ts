import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { test, type TestContext } from 'node:test';
import { StaticToken } from '../../src/control/auth.js';
import type { Device } from '../../src/control/device.js';
import {
  HEADSCALE_UNSUPPORTED_FAMILIES,
  HeadscaleApi,
  nodeTags,
  nodeToDevice,
  type HeadscaleNode,
} from '../../src/control/headscale.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { ApiError } from '../../src/errors.js';
import { apiFailure } from '../helpers/api-error.js';
import { deviceServer } from '../helpers/device-server.js';
import { memoryLogger } from '../helpers/log.js';

// The Headscale client on its own: protojson nodes, users and keys converted field by field, the exact paths asked
// for, and the errors a malformed answer gives. The API is a loopback server answering from a route table.

const CREATED = '2026-02-01T00:00:00Z';
const CREATED_S = 1_769_904_000;
const SEEN = '2026-03-01T10:00:00.900Z';
const SEEN_S = 1_772_359_200;
const EXPIRY = '2026-06-30T12:00:00Z';
const EXPIRY_S = 1_782_820_800;

/** Everything a Headscale device has in common, whatever the node: what Headscale does not know. */
const HEADSCALE_CONSTANTS = {
  os: '',
  clientVersion: '',
  authorized: true,
  updateAvailable: false,
  isExternal: false,
  blocksIncomingConnections: false,
  multipleConnections: false,
  tailnetLockError: '',
  clientConnectivity: undefined,
  postureSerialNumbers: undefined,
  sshEnabled: undefined,
} as const;

const node = (fields: Partial<HeadscaleNode>): HeadscaleNode => ({ id: '1', ...fields });

/** A legacy (before 0.28) node with every field the conversion reads, as protojson sends it. */
const FULL_NODE = {
  id: '7',
  name: 'host-a',
  givenName: 'given-a',
  ipAddresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'],
  user: { id: '1', name: 'alice', email: 'alice@example.com' },
  lastSeen: SEEN,
  expiry: EXPIRY,
  createdAt: CREATED,
  online: true,
  preAuthKey: { ephemeral: true },
  approvedRoutes: ['10.0.0.0/24', '10.0.0.0/24'],
  availableRoutes: ['10.0.0.0/24', '10.1.0.0/24', '10.1.0.0/24'],
  subnetRoutes: ['10.0.0.0/24', '10.0.0.0/24'],
  forcedTags: ['tag:forced', 'tag:both'],
  validTags: ['tag:valid', 'tag:both'],
  invalidTags: ['tag:invalid'],
};

const FULL_DEVICE: Device = {
  ...HEADSCALE_CONSTANTS,
  id: '7',
  nodeId: '7',
  name: 'given-a',
  hostname: 'host-a',
  user: 'alice@example.com',
  addresses: ['100.64.0.7', 'fd7a:115c:a1e0::7'],
  tags: ['tag:forced', 'tag:both', 'tag:valid'],
  online: true,
  isEphemeral: true,
  keyExpiryDisabled: false,
  createdSeconds: CREATED_S,
  lastSeenSeconds: SEEN_S,
  expiresSeconds: EXPIRY_S,
  advertisedRoutes: ['10.0.0.0/24', '10.1.0.0/24'],
  enabledRoutes: ['10.0.0.0/24'],
  servingRoutes: ['10.0.0.0/24'],
};

test('a fully populated legacy node becomes a device field by field', () => {
  assert.deepEqual(nodeToDevice(FULL_NODE), FULL_DEVICE);
});

test('a bare node: names fall back to the id, no user, lists empty, never expires, offline, not ephemeral', () => {
  assert.deepEqual(nodeToDevice(node({ id: '9' })), {
    ...HEADSCALE_CONSTANTS,
    id: '9',
    nodeId: '9',
    name: '9',
    hostname: '9',
    user: '',
    addresses: [],
    tags: [],
    online: false,
    isEphemeral: false,
    keyExpiryDisabled: true,
    createdSeconds: undefined,
    lastSeenSeconds: undefined,
    expiresSeconds: undefined,
    advertisedRoutes: [],
    enabledRoutes: [],
    servingRoutes: [],
  });
});

test('null lastSeen, expiry and preAuthKey are absent; online false is offline', () => {
  const d = nodeToDevice(node({ lastSeen: null, expiry: null, preAuthKey: null, online: false }));
  assert.deepEqual(
    [d.lastSeenSeconds, d.expiresSeconds, d.keyExpiryDisabled, d.isEphemeral, d.online],
    [undefined, undefined, true, false, false],
  );
  assert.equal(nodeToDevice(node({ preAuthKey: { ephemeral: false } })).isEphemeral, false);
  assert.equal(nodeToDevice(node({ preAuthKey: {} })).isEphemeral, false);
});

test('the device name is the given name, else the node name; the host name is the node name, else the name', () => {
  const named = nodeToDevice(node({ id: '3', name: 'host-b' }));
  assert.deepEqual([named.name, named.hostname], ['host-b', 'host-b']);
  const given = nodeToDevice(node({ id: '3', givenName: 'given-b' }));
  assert.deepEqual([given.name, given.hostname], ['given-b', 'given-b']);
});

test('the user label: the e-mail, else the name; nothing for a node tagged with the 0.28 tags list', () => {
  const alice = { id: '1', name: 'alice', email: 'alice@example.com' };
  assert.equal(nodeToDevice(node({ user: alice })).user, 'alice@example.com');
  assert.equal(nodeToDevice(node({ user: { id: '1', name: 'alice' } })).user, 'alice');
  assert.equal(nodeToDevice(node({ user: { id: '1', name: 'alice', email: '' } })).user, 'alice', 'empty e-mail');
  assert.equal(nodeToDevice(node({ user: { id: '1' } })).user, '');
  assert.equal(nodeToDevice(node({ user: alice, tags: ['tag:server'] })).user, '', 'tagged: owned by its tags');
  assert.equal(nodeToDevice(node({ user: alice, tags: [] })).user, 'alice@example.com', 'an empty tags list');
  assert.equal(nodeToDevice(node({ user: alice, tags: null })).user, 'alice@example.com', 'a null tags list');
  assert.equal(nodeToDevice(node({ user: alice, forcedTags: ['tag:f'] })).user, 'alice@example.com', 'legacy tags');
});

test('tags: the 0.28 list wins over legacy lists and is deduplicated; without it forced and valid tags, not invalid', () => {
  assert.deepEqual(nodeTags(node({ tags: ['tag:a', 'tag:b', 'tag:a'], forcedTags: ['tag:f'] })), ['tag:a', 'tag:b']);
  assert.deepEqual(nodeTags(node({ tags: [], forcedTags: ['tag:f'] })), [], 'an empty 0.28 list is still the list');
  assert.deepEqual(nodeTags(node({ tags: null, forcedTags: ['tag:f'], validTags: ['tag:v'] })), ['tag:f', 'tag:v']);
  assert.deepEqual(nodeTags(node({ validTags: ['tag:v'], invalidTags: ['tag:i'] })), ['tag:v']);
  assert.deepEqual(nodeTags(node({ forcedTags: ['tag:f'], validTags: null })), ['tag:f']);
  assert.deepEqual(nodeTags(node({})), []);
});

type Route = (req: IncomingMessage, res: ServerResponse) => void;

const json =
  (status: number, body: unknown): Route =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

/** A Headscale API on loopback answering `routes` by exact path and query; what was asked, in order. */
async function headscale(t: TestContext, routes: Record<string, Route>) {
  const asked: string[] = [];
  const base = await deviceServer(t, (req, res) => {
    asked.push(req.url ?? '');
    (routes[req.url ?? ''] ?? json(404, { code: 5, message: 'Not Found' }))(req, res);
  });
  const stats = new RequestStats();
  const api = new HeadscaleApi({
    baseUrl: base,
    timeoutMs: 5_000,
    tokens: new StaticToken('hskey-api-test'),
    stats,
    log: memoryLogger().log,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
    sleep: () => Promise.resolve(),
  });
  t.after(() => api.close());
  const endpoints = () => stats.snapshot().map(([endpoint]) => endpoint);
  return { api, asked, endpoints };
}

test('listDevices: GET /api/v1/node, every valid node once, the invalid and repeated ones counted', async (t) => {
  const { api, asked, endpoints } = await headscale(t, {
    '/api/v1/node': json(200, {
      nodes: [{ id: '1', name: 'a' }, { id: 2, name: 'b' }, { id: '1', name: 'again' }, { name: 'no id' }, 'junk'],
    }),
  });
  const list = await api.listDevices();
  assert.deepEqual(asked, ['/api/v1/node']);
  assert.deepEqual(endpoints(), ['nodes']);
  assert.deepEqual(
    list.devices.map((d) => [d.id, d.name]),
    [
      ['1', 'a'],
      ['2', 'b'],
    ],
  );
  assert.equal(list.invalidDevices, 3);
  assert.equal(api.logs, undefined, 'Headscale has no logs');
});

test('listDevices: every field of a node in the answer reaches the device; odd optional fields are dropped', async (t) => {
  const odd = { id: 8, name: 'host-b', online: 'yes', ipAddresses: 'x', user: 'bob', preAuthKey: 'k', tags: 'tag:x' };
  const { api } = await headscale(t, { '/api/v1/node': json(200, { nodes: [FULL_NODE, odd] }) });
  const list = await api.listDevices();
  assert.deepEqual(list.devices[0], FULL_DEVICE);
  assert.deepEqual(list.devices[1], nodeToDevice({ id: '8', name: 'host-b' }));
  assert.equal(list.invalidDevices, 0);
});

test('listDevices: a null or missing nodes list is no node; anything else is an invalid response', async (t) => {
  for (const body of [{ nodes: null }, {}]) {
    const { api } = await headscale(t, { '/api/v1/node': json(200, body) });
    assert.deepEqual(await api.listDevices(), { devices: [], invalidDevices: 0 }, JSON.stringify(body));
  }
  const { api } = await headscale(t, { '/api/v1/node': json(200, { nodes: 'none' }) });
  const err = await apiFailure(api.listDevices());
  assert.deepEqual(
    [err.endpoint, err.reason, err.message],
    ['nodes', 'invalid_response', 'nodes: response has no "nodes" array'],
  );
});

test('users: GET /api/v1/user, every field converted, absent ones empty, numeric ids as text', async (t) => {
  const { api, asked, endpoints } = await headscale(t, {
    '/api/v1/user': json(200, {
      users: [
        {
          id: '1',
          name: 'alice',
          displayName: 'Alice A.',
          email: 'alice@example.com',
          provider: 'oidc',
          providerId: 'sub-1',
          createdAt: CREATED,
        },
        { id: 2 },
        { id: 2, name: 'repeated' },
      ],
    }),
  });
  assert.deepEqual(await api.resources.headscaleUsers!(undefined, 0, undefined), [
    {
      id: '1',
      name: 'alice',
      displayName: 'Alice A.',
      email: 'alice@example.com',
      provider: 'oidc',
      createdSeconds: CREATED_S,
    },
    { id: '2', name: '', displayName: '', email: '', provider: '', createdSeconds: undefined },
  ]);
  assert.deepEqual(asked, ['/api/v1/user']);
  assert.deepEqual(endpoints(), ['users']);
});

test('users: a null or missing list is empty, a list of something else an invalid response naming the key', async (t) => {
  for (const body of [{ users: null }, {}]) {
    const { api } = await headscale(t, { '/api/v1/user': json(200, body) });
    assert.deepEqual(await api.resources.headscaleUsers!(undefined, 0, undefined), [], JSON.stringify(body));
  }
  const { api } = await headscale(t, { '/api/v1/user': json(200, { users: { id: '1' } }) });
  const err = await apiFailure(api.resources.headscaleUsers!(undefined, 0, undefined));
  assert.deepEqual(
    [err.endpoint, err.reason, err.message],
    ['users', 'invalid_response', 'users: response has no "users" array'],
  );
  // An answer that is no object at all is one without the list too (not a dump of zod's issues).
  for (const body of ['users', [1], null]) {
    const bad = await headscale(t, { '/api/v1/user': json(200, body) });
    const notObject = await apiFailure(bad.api.resources.headscaleUsers!(undefined, 0, undefined));
    assert.deepEqual(
      [notObject.endpoint, notObject.reason, notObject.message],
      ['users', 'invalid_response', 'users: response has no "users" array'],
      JSON.stringify(body),
    );
  }
});

const KEYS_028 = {
  preAuthKeys: [
    {
      id: '1',
      user: { id: '1', name: 'alice' },
      reusable: true,
      ephemeral: true,
      used: true,
      expiration: EXPIRY,
      createdAt: CREATED,
      aclTags: ['tag:ci'],
    },
    { id: '2', user: 'bob' },
    { id: '3', user: null, reusable: false, expiration: null, createdAt: null },
  ],
};

test('pre-auth keys (0.28+): one GET /api/v1/preauthkey, every field converted, absent flags false', async (t) => {
  const { api, asked, endpoints } = await headscale(t, { '/api/v1/preauthkey': json(200, KEYS_028) });
  assert.deepEqual(await api.resources.preauthkeys!(undefined, 0, undefined), [
    {
      id: '1',
      user: 'alice',
      reusable: true,
      ephemeral: true,
      used: true,
      expirationSeconds: EXPIRY_S,
      createdSeconds: CREATED_S,
      aclTags: ['tag:ci'],
    },
    {
      id: '2',
      user: 'bob',
      reusable: false,
      ephemeral: false,
      used: false,
      expirationSeconds: undefined,
      createdSeconds: undefined,
      aclTags: [],
    },
    {
      id: '3',
      user: '',
      reusable: false,
      ephemeral: false,
      used: false,
      expirationSeconds: undefined,
      createdSeconds: undefined,
      aclTags: [],
    },
  ]);
  assert.deepEqual(asked, ['/api/v1/preauthkey']);
  assert.deepEqual(endpoints(), ['preauthkeys']);
});

for (const status of [400, 500]) {
  test(`pre-auth keys (0.26-0.27): HTTP ${status} without ?user= means reading them user by user, ids encoded`, async (t) => {
    const { api, asked } = await headscale(t, {
      '/api/v1/preauthkey': json(status, { code: 3, message: 'user required' }),
      '/api/v1/user': json(200, {
        users: [
          { id: '1', name: 'alice' },
          { id: 'x/2', name: 'bob' },
        ],
      }),
      '/api/v1/preauthkey?user=1': json(200, { preAuthKeys: [{ id: '10', user: { name: 'alice' }, used: true }] }),
      '/api/v1/preauthkey?user=x%2F2': json(200, { preAuthKeys: null }),
    });
    const keys = await api.resources.preauthkeys!(undefined, 0, undefined);
    assert.deepEqual(
      keys.map((k) => [k.id, k.user, k.used]),
      [['10', 'alice', true]],
    );
    assert.deepEqual(asked, [
      '/api/v1/preauthkey',
      '/api/v1/user',
      '/api/v1/preauthkey?user=1',
      '/api/v1/preauthkey?user=x%2F2',
    ]);
  });
}

test('pre-auth keys: other refusals and malformed lists fail as they are, without the user-by-user fallback', async (t) => {
  for (const status of [403, 404, 502]) {
    const { api, asked } = await headscale(t, { '/api/v1/preauthkey': json(status, { message: 'no' }) });
    const err = await apiFailure(api.resources.preauthkeys!(undefined, 0, undefined));
    assert.equal(err.status, status);
    assert.deepEqual(asked, ['/api/v1/preauthkey'], `HTTP ${status}`);
  }
  const { api, asked } = await headscale(t, { '/api/v1/preauthkey': json(200, { preAuthKeys: 'all of them' }) });
  const err = await apiFailure(api.resources.preauthkeys!(undefined, 0, undefined));
  assert.deepEqual(
    [err.endpoint, err.reason, err.message],
    ['preAuthKeys', 'invalid_response', 'preAuthKeys: response has no "preAuthKeys" array'],
  );
  assert.deepEqual(asked, ['/api/v1/preauthkey']);
});

test('pre-auth keys per user: a malformed list of one user fails the whole read', async (t) => {
  const { api } = await headscale(t, {
    '/api/v1/preauthkey': json(400, { message: 'user required' }),
    '/api/v1/user': json(200, { users: [{ id: '1' }] }),
    '/api/v1/preauthkey?user=1': json(200, { preAuthKeys: 7 }),
  });
  const err = await apiFailure(api.resources.preauthkeys!(undefined, 0, undefined));
  assert.equal(err.message, 'preAuthKeys: response has no "preAuthKeys" array');
});

test('API keys: GET /api/v1/apikey, prefix and three timestamps, absent or null ones undefined', async (t) => {
  const { api, asked, endpoints } = await headscale(t, {
    '/api/v1/apikey': json(200, {
      apiKeys: [
        { id: '1', prefix: 'abc1234', expiration: EXPIRY, createdAt: CREATED, lastSeen: SEEN },
        { id: 2, expiration: null, createdAt: null, lastSeen: null },
        { id: '1', prefix: 'repeated' },
      ],
    }),
  });
  assert.deepEqual(await api.resources.apikeys!(undefined, 0, undefined), [
    { id: '1', prefix: 'abc1234', expirationSeconds: EXPIRY_S, createdSeconds: CREATED_S, lastSeenSeconds: SEEN_S },
    { id: '2', prefix: '', expirationSeconds: undefined, createdSeconds: undefined, lastSeenSeconds: undefined },
  ]);
  assert.deepEqual(asked, ['/api/v1/apikey']);
  assert.deepEqual(endpoints(), ['apikeys']);
  const bad = await headscale(t, { '/api/v1/apikey': json(200, { apiKeys: {} }) });
  const err = await apiFailure(bad.api.resources.apikeys!(undefined, 0, undefined));
  assert.equal(err.message, 'apiKeys: response has no "apiKeys" array');
});

test('health: GET /api/v1/health; 404 unknown, 500 no connectivity, other failures and bad answers thrown', async (t) => {
  const { api, asked, endpoints } = await headscale(t, {
    '/api/v1/health': json(200, { databaseConnectivity: true }),
  });
  assert.deepEqual(await api.resources.headscaleHealth!(undefined, 0, undefined), { databaseConnectivity: true });
  assert.deepEqual(asked, ['/api/v1/health']);
  assert.deepEqual(endpoints(), ['health']);
  const cases: Array<[Route, unknown]> = [
    [json(200, {}), { databaseConnectivity: false }],
    [json(200, { databaseConnectivity: false }), { databaseConnectivity: false }],
    [json(404, { message: 'Not Found' }), { databaseConnectivity: undefined }],
    [json(500, { message: 'pinging database' }), { databaseConnectivity: false }],
  ];
  for (const [route, expected] of cases) {
    const hs = await headscale(t, { '/api/v1/health': route });
    assert.deepEqual(await hs.api.resources.headscaleHealth!(undefined, 0, undefined), expected);
  }
  const refused = await headscale(t, { '/api/v1/health': json(403, { message: 'no' }) });
  assert.equal((await apiFailure(refused.api.resources.headscaleHealth!(undefined, 0, undefined))).status, 403);
  const bad = await headscale(t, { '/api/v1/health': json(200, { databaseConnectivity: 'yes' }) });
  const err = await apiFailure(bad.api.resources.headscaleHealth!(undefined, 0, undefined));
  assert.deepEqual(
    [err.endpoint, err.reason, err.status, err.message],
    ['health', 'invalid_response', 200, 'health: response has no boolean "databaseConnectivity"'],
  );
  assert.ok(err instanceof ApiError);
});

test('close() ends the connection pool: no request is sent afterwards', async (t) => {
  const { api, asked } = await headscale(t, { '/api/v1/node': json(200, { nodes: [] }) });
  await api.listDevices();
  await api.close();
  await assert.rejects(api.listDevices());
  assert.deepEqual(asked, ['/api/v1/node']);
});

test('the families Headscale has no data for, left absent rather than faked', () => {
  assert.deepEqual([...HEADSCALE_UNSUPPORTED_FAMILIES].sort(), [
    'tailscale_device_authorized',
    'tailscale_device_blocks_incoming_connections',
    'tailscale_device_client_supports',
    'tailscale_device_client_version_below_minimum',
    'tailscale_device_client_version_info',
    'tailscale_device_endpoints_total',
    'tailscale_device_external',
    'tailscale_device_latency_ms',
    'tailscale_device_multiple_connections',
    'tailscale_device_posture_serial_numbers_total',
    'tailscale_device_tailnet_lock_error',
    'tailscale_device_update_available',
  ]);
});
