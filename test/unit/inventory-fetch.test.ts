import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  EMPTY_INVENTORY,
  fetchDns,
  fetchKeys,
  fetchPolicy,
  fetchServices,
  fetchSettings,
  fetchUsers,
  tailnetPath,
} from '../../src/control/inventory.js';
import { ApiError } from '../../src/errors.js';
import { fakeTailnetApi } from '../helpers/tailnet-api.js';

// The Tailscale inventory readers on their own, over a fake API answering by exact path: the endpoint and path
// of every call, every field converted (timestamps in Unix seconds, absent stays absent, zero stays zero).

const TAILNET = 'example.com';
const CREATED = '2026-02-01T00:00:00Z';
const CREATED_S = 1_769_904_000;
const SEEN = '2026-03-01T10:00:00.900Z';
const SEEN_S = 1_772_359_200;
const PAST = '2000-01-01T00:00:00Z';
const PAST_S = 946_684_800;
const FUTURE = '2100-01-01T00:00:00Z';
const FUTURE_S = 4_102_444_800;

const fakeApi = (answers: Record<string, unknown>, tailnet = TAILNET) => fakeTailnetApi(answers, tailnet);

const path = (rest: string) => `/api/v2/tailnet/${TAILNET}${rest}`;

test('tailnet paths: /api/v2/tailnet/<tailnet, URL-encoded><rest>', () => {
  assert.equal(
    tailnetPath({ tailnet: 'tn/1 x', getJson: () => Promise.resolve({}) }, '/users'),
    '/api/v2/tailnet/tn%2F1%20x/users',
  );
});

test('users: GET /users?type=all, every field converted, absent fields empty or undefined, zero kept', async () => {
  const { api, calls } = fakeApi({
    [path('/users?type=all')]: {
      users: [
        {
          id: 'u1',
          loginName: 'alice@example.com',
          displayName: 'Alice',
          role: 'owner',
          status: 'active',
          type: 'member',
          created: CREATED,
          lastSeen: SEEN,
          currentlyConnected: true,
          deviceCount: 3,
        },
        { id: 42, currentlyConnected: false, deviceCount: 0 },
        { id: 'u3', currentlyConnected: null, deviceCount: 'many' },
        { id: 'u1', loginName: 'repeated' },
        { loginName: 'no id' },
      ],
    },
  });
  assert.deepEqual(await fetchUsers(api), [
    {
      id: 'u1',
      loginName: 'alice@example.com',
      displayName: 'Alice',
      role: 'owner',
      status: 'active',
      type: 'member',
      createdSeconds: CREATED_S,
      lastSeenSeconds: SEEN_S,
      currentlyConnected: true,
      deviceCount: 3,
    },
    {
      id: '42',
      loginName: '',
      displayName: '',
      role: '',
      status: '',
      type: '',
      createdSeconds: undefined,
      lastSeenSeconds: undefined,
      currentlyConnected: false,
      deviceCount: 0,
    },
    {
      id: 'u3',
      loginName: '',
      displayName: '',
      role: '',
      status: '',
      type: '',
      createdSeconds: undefined,
      lastSeenSeconds: undefined,
      currentlyConnected: undefined,
      deviceCount: undefined,
    },
  ]);
  assert.deepEqual(calls, [['users', path('/users?type=all')]]);
});

test('users: an answer without a users list is an error', async () => {
  await assert.rejects(fetchUsers(fakeApi({ [path('/users?type=all')]: { users: null } }).api));
  await assert.rejects(fetchUsers(fakeApi({ [path('/users?type=all')]: {} }).api));
});

test("a malformed answer is an invalid response naming what it lacks, never zod's dump of issues", async () => {
  const failure = async (call: Promise<unknown>): Promise<[string, string, string | undefined, number | undefined]> => {
    const err = await call.then(
      () => assert.fail('resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApiError, String(err));
    return [err.reason, err.message, err.endpoint, err.status];
  };
  const cases: Array<[Promise<unknown>, string, string]> = [
    [fetchUsers(fakeApi({ [path('/users?type=all')]: { users: 'u1' } }).api), 'users', 'has no "users" array'],
    [fetchKeys(fakeApi({ [path('/keys?all=true')]: [] }).api), 'keys', 'has no "keys" array'],
    [fetchSettings(fakeApi({ [path('/settings')]: 'on' }).api), 'settings', 'is not an object'],
    [fetchServices(fakeApi({ [path('/services')]: { vipServices: 1 } }).api), 'services', 'has no "vipServices" array'],
    [fetchPolicy(fakeApi({ [path('/acl')]: ['acls'] }).api), 'acl', 'is not an object'],
  ];
  for (const [call, endpoint, expected] of cases)
    assert.deepEqual(await failure(call), ['invalid_response', `${endpoint}: response ${expected}`, endpoint, 200]);
});

test('keys: GET /keys?all=true, every field converted; no detail call for listed keys with a type', async () => {
  const { api, calls } = fakeApi({
    [path('/keys?all=true')]: {
      keys: [
        {
          id: 'k1',
          keyType: 'auth',
          description: 'ci',
          userId: 'u1',
          created: CREATED,
          expires: FUTURE,
          revoked: '',
          invalid: false,
        },
        { id: 'k2', keyType: 'client' },
        { id: '', keyType: 'auth' },
        { id: 'k1', keyType: 'repeated' },
      ],
    },
  });
  assert.deepEqual(await fetchKeys(api, undefined, CREATED_S), [
    {
      id: 'k1',
      keyType: 'auth',
      description: 'ci',
      userId: 'u1',
      createdSeconds: CREATED_S,
      expiresSeconds: FUTURE_S,
      revoked: false,
      invalid: false,
    },
    {
      id: 'k2',
      keyType: 'client',
      description: '',
      userId: '',
      createdSeconds: undefined,
      expiresSeconds: undefined,
      revoked: false,
      invalid: false,
    },
  ]);
  assert.deepEqual(calls, [['keys', path('/keys?all=true')]]);
});

test('keys: bare ids are completed from GET /keys/<id> (encoded); a malformed detail keeps the bare key', async () => {
  const { api, calls } = fakeApi({
    [path('/keys?all=true')]: { keys: [{ id: 'k/1' }, { id: 'k2' }, { id: 'k3', keyType: 'api' }] },
    [path('/keys/k%2F1')]: { id: 'k/1', keyType: 'auth', description: 'detailed' },
    [path('/keys/k2')]: { keyType: 'auth' },
  });
  const keys = await fetchKeys(api, undefined, CREATED_S);
  assert.deepEqual(
    keys.map((k) => [k.id, k.keyType, k.description]),
    [
      ['k/1', 'auth', 'detailed'],
      ['k2', 'unknown', ''],
      ['k3', 'api', ''],
    ],
  );
  assert.deepEqual(calls.slice(1).sort(), [
    ['key', path('/keys/k%2F1')],
    ['key', path('/keys/k2')],
  ]);
});

test('keys: invalid when flagged, revoked, or expired at or before now; a future or absent expiry is valid', async () => {
  const now = CREATED_S;
  const { api } = fakeApi({
    [path('/keys?all=true')]: {
      keys: [
        { id: 'flagged', keyType: 'auth', invalid: true },
        { id: 'revoked', keyType: 'auth', revoked: PAST },
        { id: 'zero-revoked', keyType: 'auth', revoked: '0001-01-01T00:00:00Z' },
        { id: 'expired', keyType: 'auth', expires: PAST },
        { id: 'expiring-now', keyType: 'auth', expires: CREATED },
        { id: 'expiring-later', keyType: 'auth', expires: SEEN },
        { id: 'never', keyType: 'auth', invalid: null },
      ],
    },
  });
  const keys = await fetchKeys(api, undefined, now);
  assert.deepEqual(
    keys.map((k) => [k.id, k.revoked, k.invalid, k.expiresSeconds]),
    [
      ['flagged', false, true, undefined],
      ['revoked', true, true, undefined],
      ['zero-revoked', false, false, undefined],
      ['expired', false, true, PAST_S],
      ['expiring-now', false, true, CREATED_S],
      ['expiring-later', false, false, SEEN_S],
      ['never', false, false, undefined],
    ],
  );
});

test('keys: without a time given, expiry is judged against the clock in seconds', async () => {
  const { api } = fakeApi({
    [path('/keys?all=true')]: {
      keys: [
        { id: 'past', keyType: 'auth', expires: PAST },
        { id: 'future', keyType: 'auth', expires: FUTURE },
      ],
    },
  });
  assert.deepEqual(
    (await fetchKeys(api)).map((k) => [k.id, k.invalid]),
    [
      ['past', true],
      ['future', false],
    ],
  );
});

const BOOLEANS = [
  'aclsExternallyManagedOn',
  'devicesApprovalOn',
  'devicesAutoUpdatesOn',
  'usersApprovalOn',
  'networkFlowLoggingOn',
  'regionalRoutingOn',
  'postureIdentityCollectionOn',
  'httpsEnabled',
];

test('settings: GET /settings, each boolean setting by name, anything not boolean unknown (null)', async () => {
  const answer: Record<string, unknown> = Object.fromEntries(BOOLEANS.map((name, i) => [name, i % 2 === 0]));
  answer.devicesKeyDurationDays = 90;
  answer.usersRoleAllowedToJoinExternalTailnets = 'admin';
  answer.unknownSetting = true;
  const { api, calls } = fakeApi({ [path('/settings')]: answer });
  assert.deepEqual(await fetchSettings(api), {
    booleans: Object.fromEntries(BOOLEANS.map((name, i) => [name, i % 2 === 0])),
    devicesKeyDurationDays: 90,
    usersRoleAllowedToJoinExternalTailnets: 'admin',
  });
  assert.deepEqual(calls, [['settings', path('/settings')]]);
  const odd = fakeApi({
    [path('/settings')]: {
      devicesApprovalOn: 'true',
      httpsEnabled: null,
      devicesKeyDurationDays: '90',
      usersRoleAllowedToJoinExternalTailnets: 1,
    },
  });
  assert.deepEqual(await fetchSettings(odd.api), {
    booleans: Object.fromEntries(BOOLEANS.map((name) => [name, null])),
    devicesKeyDurationDays: undefined,
    usersRoleAllowedToJoinExternalTailnets: undefined,
  });
  const zero = fakeApi({
    [path('/settings')]: { devicesKeyDurationDays: 0, usersRoleAllowedToJoinExternalTailnets: '' },
  });
  const z = await fetchSettings(zero.api);
  assert.deepEqual([z.devicesKeyDurationDays, z.usersRoleAllowedToJoinExternalTailnets], [0, '']);
});

test('DNS: four calls by endpoint and path; nameservers and search paths deduplicated, split DNS per domain', async () => {
  const { api, calls } = fakeApi({
    [path('/dns/nameservers')]: { dns: ['8.8.8.8', '1.1.1.1', '8.8.8.8'] },
    [path('/dns/preferences')]: { magicDNS: true },
    [path('/dns/searchpaths')]: { searchPaths: ['corp.example', 'corp.example', 'lab.example'] },
    [path('/dns/split-dns')]: { 'corp.example': ['10.0.0.53'], 'lab.example': null, 'bad.example': 'x' },
  });
  assert.deepEqual(await fetchDns(api), {
    magicDns: true,
    nameservers: ['8.8.8.8', '1.1.1.1'],
    searchPaths: ['corp.example', 'lab.example'],
    splitDns: { 'corp.example': ['10.0.0.53'], 'lab.example': [], 'bad.example': [] },
  });
  assert.deepEqual(calls, [
    ['dns_nameservers', path('/dns/nameservers')],
    ['dns_preferences', path('/dns/preferences')],
    ['dns_searchpaths', path('/dns/searchpaths')],
    ['dns_split', path('/dns/split-dns')],
  ]);
});

test('DNS: odd answers are empty or unknown, never an error; magicDNS false stays false', async () => {
  const odd = fakeApi({
    [path('/dns/nameservers')]: { dns: null },
    [path('/dns/preferences')]: { magicDNS: 'yes' },
    [path('/dns/searchpaths')]: {},
    [path('/dns/split-dns')]: ['corp.example'],
  });
  assert.deepEqual(await fetchDns(odd.api), { magicDns: undefined, nameservers: [], searchPaths: [], splitDns: {} });
  const junk = fakeApi({
    [path('/dns/nameservers')]: 'x',
    [path('/dns/preferences')]: null,
    [path('/dns/searchpaths')]: 7,
    [path('/dns/split-dns')]: null,
  });
  assert.deepEqual(await fetchDns(junk.api), { magicDns: undefined, nameservers: [], searchPaths: [], splitDns: {} });
  const off = fakeApi({
    [path('/dns/nameservers')]: { dns: [] },
    [path('/dns/preferences')]: { magicDNS: false },
    [path('/dns/searchpaths')]: { searchPaths: null },
    [path('/dns/split-dns')]: {},
  });
  assert.equal((await fetchDns(off.api)).magicDns, false);
});

test('DNS: a failed call fails the read', async () => {
  const { api } = fakeApi({
    [path('/dns/nameservers')]: { dns: [] },
    [path('/dns/preferences')]: new ApiError('dns_preferences', 'http_status', 'HTTP 403', 403),
    [path('/dns/searchpaths')]: {},
    [path('/dns/split-dns')]: {},
  });
  await assert.rejects(fetchDns(api), /dns_preferences: HTTP 403/);
});

test('services: GET /services, fields converted and deduplicated, nameless and repeated services dropped', async () => {
  const { api, calls } = fakeApi({
    [path('/services')]: {
      vipServices: [
        {
          name: 'svc:web',
          comment: 'the site',
          addrs: ['100.100.0.1', '100.100.0.1'],
          ports: ['tcp:443', 'tcp:443'],
          tags: ['tag:web', 'tag:web'],
        },
        { name: 'svc:db', addrs: 'x' },
        { name: '' },
        { name: 'svc:web', comment: 'repeated' },
      ],
    },
  });
  assert.deepEqual(await fetchServices(api), [
    { name: 'svc:web', comment: 'the site', addrs: ['100.100.0.1'], ports: ['tcp:443'], tags: ['tag:web'] },
    { name: 'svc:db', comment: '', addrs: [], ports: [], tags: [] },
  ]);
  assert.deepEqual(calls, [['services', path('/services')]]);
  assert.deepEqual(await fetchServices(fakeApi({ [path('/services')]: { vipServices: null } }).api), []);
  assert.deepEqual(await fetchServices(fakeApi({ [path('/services')]: {} }).api), []);
  await assert.rejects(fetchServices(fakeApi({ [path('/services')]: { vipServices: 'svc:web' } }).api));
});

const sha16 = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);

test('policy: GET /acl, counts of lists and maps, 0 for anything else', async () => {
  const { api, calls } = fakeApi({
    [path('/acl')]: {
      acls: [{}, {}, {}],
      grants: [{}],
      groups: { 'group:a': [], 'group:b': [] },
      tagOwners: { 'tag:x': [] },
      tests: [],
      ssh: 'not a list',
      postures: null,
      autoApprovers: { routes: {}, exitNode: [] },
    },
  });
  const p = await fetchPolicy(api);
  assert.deepEqual(p.counts, {
    acls: 3,
    grants: 1,
    groups: 2,
    tag_owners: 1,
    tests: 0,
    ssh: 0,
    postures: 0,
    auto_approvers: 2,
  });
  assert.deepEqual(calls, [['acl', path('/acl')]]);
  const empty = await fetchPolicy(fakeApi({ [path('/acl')]: {} }).api);
  assert.deepEqual(Object.values(empty.counts), [0, 0, 0, 0, 0, 0, 0, 0]);
});

test('policy hash: the first 16 hex digits of the SHA-256 of canonical JSON, key order and spacing ignored', async () => {
  const policy = { b: [1, { d: 2, c: null }, 'x'], a: { z: true, y: [] } };
  const hash = (await fetchPolicy(fakeApi({ [path('/acl')]: policy }).api)).hash;
  assert.equal(hash, sha16('{"a":{"y":[],"z":true},"b":[1,{"c":null,"d":2},"x"]}'));
  const reordered = { a: { y: [], z: true }, b: [1, { c: null, d: 2 }, 'x'] };
  assert.equal((await fetchPolicy(fakeApi({ [path('/acl')]: reordered }).api)).hash, hash);
  const changed = { a: { y: [], z: true }, b: [1, { c: null, d: 3 }, 'x'] };
  assert.notEqual((await fetchPolicy(fakeApi({ [path('/acl')]: changed }).api)).hash, hash);
  assert.match(hash, /^[0-9a-f]{16}$/);
});

test('before the first fetch every resource is unknown: no data, no verdict, no duration; the value is frozen', () => {
  const unknown = { data: undefined, ok: undefined, durationSeconds: 0 };
  assert.deepEqual(EMPTY_INVENTORY, {
    users: unknown,
    keys: unknown,
    settings: unknown,
    dns: unknown,
    services: unknown,
    policy: unknown,
    headscaleUsers: unknown,
    preauthkeys: unknown,
    apikeys: unknown,
    headscaleHealth: unknown,
    logstream: unknown,
    postureIntegrations: unknown,
    serviceHosts: unknown,
    webhooks: unknown,
  });
  assert.ok(Object.isFrozen(EMPTY_INVENTORY));
});
