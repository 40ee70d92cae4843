import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import {
  fetchLogStreams,
  fetchPostureIntegrations,
  fetchServiceHosts,
  fetchWebhooks,
  urlDestination,
  type LogStreamStatus,
} from '../../src/control/monitoring.js';
import { ApiError } from '../../src/errors.js';
import { fakeTailnetApi } from '../helpers/tailnet-api.js';
import { apiFailure } from '../helpers/api-error.js';

// The integration-health readers on their own, over a fake API answering by exact path: endpoints and paths,
// every field converted, 404 as "not available", malformed answers as errors naming the list, and when a log
// stream's last error is dated.

const TAILNET = 'example.com';
const SEEN = '2026-03-01T10:00:00.900Z';
const SEEN_S = 1_772_359_200;
const CREATED = '2026-02-01T00:00:00Z';
const CREATED_S = 1_769_904_000;
const NOW = 1_800_000_000;

const fakeApi = (answers: Record<string, unknown>) => fakeTailnetApi(answers, TAILNET);

const path = (rest: string) => `/api/v2/tailnet/${TAILNET}${rest}`;
const CONFIG = path('/logging/configuration/stream/status');
const NETWORK = path('/logging/network/stream/status');
const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 16);
const refused = (endpoint: string) => new ApiError(endpoint, 'http_status', 'HTTP 403', 403);

const UNAVAILABLE = {
  available: false,
  entriesSent: undefined,
  bytesSent: undefined,
  totalRequests: undefined,
  failedRequests: undefined,
  spoofedEntries: undefined,
  lastActivitySeconds: undefined,
  erroring: false,
  lastErrorSeconds: undefined,
  errorDigest: '',
};

test('log streams: one status call per log type; every figure converted, 404 unavailable', async () => {
  const { api, calls } = fakeApi({
    [CONFIG]: {
      lastActivity: SEEN,
      lastError: 'dial tcp: https://siem.example/secret',
      numBytesSent: 2048,
      numEntriesSent: 10,
      numSpoofedEntries: 0,
      numTotalRequests: 7,
      numFailedRequests: 2,
    },
  });
  assert.deepEqual(await fetchLogStreams(api, undefined, NOW), [
    {
      logType: 'configuration',
      available: true,
      entriesSent: 10,
      bytesSent: 2048,
      totalRequests: 7,
      failedRequests: 2,
      spoofedEntries: 0,
      lastActivitySeconds: SEEN_S,
      erroring: true,
      lastErrorSeconds: undefined,
      errorDigest: digest('dial tcp: https://siem.example/secret'),
    },
    { logType: 'network', ...UNAVAILABLE },
  ]);
  assert.deepEqual(calls, [
    ['logstream_status', CONFIG],
    ['logstream_status', NETWORK],
  ]);
});

test('log streams: an empty status has no figures, no error and an empty digest; negative counts are dropped', async () => {
  const { api } = fakeApi({ [CONFIG]: {}, [NETWORK]: { numBytesSent: -1, numFailedRequests: 1.5, lastError: '' } });
  const [config, network] = await fetchLogStreams(api, undefined, NOW);
  const empty = { ...UNAVAILABLE, available: true };
  assert.deepEqual(config, { logType: 'configuration', ...empty });
  assert.deepEqual(network, { logType: 'network', ...empty });
});

test('log streams: a refusal or a status that is no object fails the read, with its reason', async () => {
  await assert.rejects(
    fetchLogStreams(fakeApi({ [CONFIG]: refused('logstream_status'), [NETWORK]: {} }).api, undefined, NOW),
    /HTTP 403/,
  );
  const err = await apiFailure(fetchLogStreams(fakeApi({ [CONFIG]: {}, [NETWORK]: 'ok' }).api, undefined, NOW));
  assert.deepEqual(
    [err.endpoint, err.reason, err.status, err.message],
    ['logstream_status', 'invalid_response', 200, 'logstream_status: log streaming status is not an object'],
  );
  await assert.rejects(
    fetchLogStreams(fakeApi({ [CONFIG]: new Error('socket hang up'), [NETWORK]: {} }).api, undefined, NOW),
    /socket hang up/,
  );
});

/** The configuration stream's status after one reading with `status`, given what was seen before. */
async function configAfter(status: Record<string, unknown>, before: Partial<LogStreamStatus> | undefined) {
  const previous: LogStreamStatus[] =
    before === undefined ? [] : [{ logType: 'configuration', ...UNAVAILABLE, available: true, ...before }];
  const [config] = await fetchLogStreams(fakeApi({ [CONFIG]: status }).api, undefined, NOW, previous);
  return config!;
}

test('log streams: the last error is dated now when failed requests rise, not when they stay or fall', async () => {
  const old = { failedRequests: 5, lastErrorSeconds: 1_000 };
  assert.equal((await configAfter({ numFailedRequests: 6 }, old)).lastErrorSeconds, NOW);
  assert.equal((await configAfter({ numFailedRequests: 5 }, old)).lastErrorSeconds, 1_000);
  assert.equal((await configAfter({ numFailedRequests: 4 }, old)).lastErrorSeconds, 1_000);
  assert.equal((await configAfter({}, old)).lastErrorSeconds, 1_000, 'no count now');
  assert.equal(
    (await configAfter({ numFailedRequests: 6 }, { lastErrorSeconds: 1_000 })).lastErrorSeconds,
    1_000,
    'no count before',
  );
  assert.equal((await configAfter({ numFailedRequests: 6 }, undefined)).lastErrorSeconds, undefined, 'first reading');
});

test('log streams: the last error is dated now when a new error text appears, not for the same one or none', async () => {
  const seen = { errorDigest: digest('old error'), lastErrorSeconds: 1_000 };
  assert.equal((await configAfter({ lastError: 'new error' }, seen)).lastErrorSeconds, NOW);
  assert.equal((await configAfter({ lastError: 'old error' }, seen)).lastErrorSeconds, 1_000);
  assert.equal((await configAfter({}, seen)).lastErrorSeconds, 1_000, 'the error cleared');
  assert.equal((await configAfter({ lastError: 'error' }, { errorDigest: '' })).lastErrorSeconds, NOW);
  assert.equal((await configAfter({ lastError: 'error' }, undefined)).lastErrorSeconds, undefined, 'first reading');
});

test('log streams: each log type is compared with its own previous state', async () => {
  const previous: LogStreamStatus[] = [
    { logType: 'configuration', ...UNAVAILABLE, available: true, failedRequests: 0, lastErrorSeconds: 1_000 },
  ];
  const [config, network] = await fetchLogStreams(
    fakeApi({ [CONFIG]: { numFailedRequests: 0 }, [NETWORK]: { numFailedRequests: 3 } }).api,
    undefined,
    NOW,
    previous,
  );
  assert.equal(config!.lastErrorSeconds, 1_000);
  assert.equal(network!.lastErrorSeconds, undefined, 'network had no previous state');
});

test('posture integrations: GET /posture/integrations, every field converted; no status means never synced', async () => {
  const { api, calls } = fakeApi({
    [path('/posture/integrations')]: {
      integrations: [
        {
          id: 'p1',
          provider: 'intune',
          cloudId: 'tenant-1',
          configUpdated: CREATED,
          status: {
            lastSync: SEEN,
            error: 'tenant tenant-1 refused',
            providerHostCount: 12,
            matchedCount: 0,
            possibleMatchedCount: 3,
          },
        },
        { id: 'p2', status: { error: '' } },
        { id: 'p3', status: null },
        { id: '' },
        { id: 'p1', provider: 'repeated' },
      ],
    },
  });
  const none = { configUpdatedSeconds: undefined, lastSyncSeconds: undefined, erroring: false };
  const noCounts = { providerHostCount: undefined, matchedCount: undefined, possibleMatchedCount: undefined };
  assert.deepEqual(await fetchPostureIntegrations(api), {
    available: true,
    integrations: [
      {
        id: 'p1',
        provider: 'intune',
        cloudId: 'tenant-1',
        configUpdatedSeconds: CREATED_S,
        lastSyncSeconds: SEEN_S,
        erroring: true,
        providerHostCount: 12,
        matchedCount: 0,
        possibleMatchedCount: 3,
      },
      { id: 'p2', provider: '', cloudId: '', ...none, ...noCounts },
      { id: 'p3', provider: '', cloudId: '', ...none, ...noCounts },
    ],
  });
  assert.deepEqual(calls, [['posture_integrations', path('/posture/integrations')]]);
});

test('posture integrations: 404 unavailable, a null list empty, a bad list an error naming it, 403 thrown', async () => {
  assert.deepEqual(await fetchPostureIntegrations(fakeApi({}).api), { available: false, integrations: [] });
  assert.deepEqual(
    await fetchPostureIntegrations(fakeApi({ [path('/posture/integrations')]: { integrations: null } }).api),
    { available: true, integrations: [] },
  );
  for (const body of [{ integrations: 'p1' }, 'integrations', null]) {
    const err = await apiFailure(fetchPostureIntegrations(fakeApi({ [path('/posture/integrations')]: body }).api));
    assert.deepEqual(
      [err.endpoint, err.reason, err.status, err.message],
      ['posture_integrations', 'invalid_response', 200, 'posture_integrations: response has no "integrations" array'],
      JSON.stringify(body),
    );
  }
  const err = await apiFailure(
    fetchPostureIntegrations(fakeApi({ [path('/posture/integrations')]: refused('posture_integrations') }).api),
  );
  assert.equal(err.status, 403);
});

test('service hosts: the service list, then the devices of each (name encoded); a vanished service is skipped', async () => {
  const { api, calls } = fakeApi({
    [path('/services')]: { vipServices: [{ name: 'svc:web' }, { name: 'svc:gone' }, { name: 'svc:a/b' }, {}] },
    [path('/services/svc%3Aweb/devices')]: {
      hosts: [
        { stableNodeID: 'n1', approvalLevel: 'approved:auto', configured: 'ready' },
        { stableNodeID: 'n2' },
        { stableNodeID: '' },
        { stableNodeID: 'n1', configured: 'repeated' },
      ],
    },
    [path('/services/svc%3Aa%2Fb/devices')]: { hosts: null },
  });
  assert.deepEqual(await fetchServiceHosts(api), {
    available: true,
    services: [
      {
        service: 'svc:web',
        hosts: [
          { nodeId: 'n1', approvalLevel: 'approved:auto', configured: 'ready' },
          { nodeId: 'n2', approvalLevel: '', configured: '' },
        ],
      },
      { service: 'svc:a/b', hosts: [] },
    ],
  });
  assert.deepEqual(calls[0], ['services', path('/services')]);
  assert.deepEqual(calls.slice(1).sort(), [
    ['service_hosts', path('/services/svc%3Aa%2Fb/devices')],
    ['service_hosts', path('/services/svc%3Agone/devices')],
    ['service_hosts', path('/services/svc%3Aweb/devices')],
  ]);
});

test('service hosts: 404 on the list unavailable; bad lists errors naming them; a refused host list thrown', async () => {
  assert.deepEqual(await fetchServiceHosts(fakeApi({}).api), { available: false, services: [] });
  assert.deepEqual(await fetchServiceHosts(fakeApi({ [path('/services')]: {} }).api), {
    available: true,
    services: [],
  });
  const badList = await apiFailure(fetchServiceHosts(fakeApi({ [path('/services')]: { vipServices: {} } }).api));
  assert.deepEqual(
    [badList.endpoint, badList.reason, badList.status, badList.message],
    ['services', 'invalid_response', 200, 'services: response has no "vipServices" array'],
  );
  const services = { vipServices: [{ name: 'svc:web' }] };
  const badHosts = await apiFailure(
    fetchServiceHosts(
      fakeApi({ [path('/services')]: services, [path('/services/svc%3Aweb/devices')]: { hosts: 'n1' } }).api,
    ),
  );
  assert.deepEqual(
    [badHosts.endpoint, badHosts.message],
    ['service_hosts', 'service_hosts: response has no "hosts" array'],
  );
  const err = await apiFailure(
    fetchServiceHosts(
      fakeApi({ [path('/services')]: services, [path('/services/svc%3Aweb/devices')]: refused('service_hosts') }).api,
    ),
  );
  assert.equal(err.status, 403);
});

test('webhooks: GET /webhooks, destination without path or secrets, subscriptions deduplicated', async () => {
  const { api, calls } = fakeApi({
    [path('/webhooks')]: {
      webhooks: [
        {
          endpointId: 'w1',
          endpointUrl: 'https://hooks.slack.com/services/T0/B0/secret',
          providerType: 'slack',
          subscriptions: ['nodeCreated', 'nodeCreated', 'userCreated'],
        },
        { endpointId: 'w2', endpointUrl: 'not a url', subscriptions: null },
        { endpointId: '' },
        { endpointId: 'w1', providerType: 'repeated' },
      ],
    },
  });
  assert.deepEqual(await fetchWebhooks(api), {
    available: true,
    webhooks: [
      {
        endpointId: 'w1',
        providerType: 'slack',
        destination: 'https://hooks.slack.com',
        subscriptions: ['nodeCreated', 'userCreated'],
      },
      { endpointId: 'w2', providerType: '', destination: '', subscriptions: [] },
    ],
  });
  assert.deepEqual(calls, [['webhooks', path('/webhooks')]]);
});

test('webhooks: 404 unavailable, a null list empty, a bad list an error naming it, 403 thrown', async () => {
  assert.deepEqual(await fetchWebhooks(fakeApi({}).api), { available: false, webhooks: [] });
  assert.deepEqual(await fetchWebhooks(fakeApi({ [path('/webhooks')]: { webhooks: null } }).api), {
    available: true,
    webhooks: [],
  });
  const err = await apiFailure(fetchWebhooks(fakeApi({ [path('/webhooks')]: { webhooks: 'w1' } }).api));
  assert.deepEqual(
    [err.endpoint, err.reason, err.status, err.message],
    ['webhooks', 'invalid_response', 200, 'webhooks: response has no "webhooks" array'],
  );
  assert.equal(
    (await apiFailure(fetchWebhooks(fakeApi({ [path('/webhooks')]: refused('webhooks') }).api))).status,
    403,
  );
});

test('a webhook destination is scheme and host (with port) only; no URL or no host is ""', () => {
  assert.equal(urlDestination('https://user:pw@hooks.example:8443/path?token=secret#x'), 'https://hooks.example:8443');
  assert.equal(urlDestination('http://discord.example/api/webhooks/1/secret'), 'http://discord.example');
  assert.equal(urlDestination('mailto:ops@example.com'), '');
  assert.equal(urlDestination('not a url'), '');
  assert.equal(urlDestination(''), '');
  assert.equal(urlDestination(undefined), '');
});
