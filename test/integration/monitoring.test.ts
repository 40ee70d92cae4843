// The integration-health collectors (logstream, posture_integrations, service_hosts, webhooks) against the
// simulator's data through the real exporter, their 404 and 403 paths, malformed answers, and the
// federated and client rows of the keys collector.
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { ApiError } from '../../src/errors.js';
import { Inventory } from '../../src/refresh/inventory.js';
import { WEBHOOK_SECRETS } from '../../src/sim/tailscale/integrations.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { tailscaleResources } from '../../src/control/api.js';
import type { TailnetJson } from '../../src/control/inventory.js';
import {
  fetchLogStreams,
  fetchPostureIntegrations,
  fetchServiceHosts,
  fetchWebhooks,
  urlDestination,
} from '../../src/control/monitoring.js';
import { seriesValues, startExporterWith } from '../helpers/exporter.js';
import { memoryLogger } from '../helpers/log.js';
import { promtoolCheck } from '../helpers/promtool.js';

const ALL = 'all,service_hosts';
const NEW = ['logstream', 'posture_integrations', 'service_hosts', 'webhooks'];

async function sim(t: TestContext, prepare: (tn: SimTailnet) => void = () => {}) {
  const tn = await startTailnet({ scenario: 'demo' });
  t.after(() => tn.close());
  prepare(tn);
  return tn;
}

async function exporterOn(t: TestContext, tn: SimTailnet, env: Record<string, string> = {}) {
  const ex = await startExporterWith(t, {
    OAUTH_CLIENT_ID: tn.clientId,
    OAUTH_CLIENT_SECRET: tn.clientSecret,
    TAILSCALE_API_URL: tn.apiUrl,
    CLIENT_METRICS_PORT: String(tn.clientMetricsPort),
    COLLECTORS: ALL,
    ...env,
  });
  const text = await ex.metrics();
  return { ...ex, text, v: seriesValues(text) };
}

const get = (v: Map<string, number>, prefix: string, ...parts: string[]): Array<[string, number]> =>
  [...v.entries()].filter(([k]) => k.startsWith(`${prefix}{`) && parts.every((p) => k.includes(p)));
const one = (v: Map<string, number>, prefix: string, ...parts: string[]): number | undefined => {
  const found = get(v, prefix, ...parts);
  assert.ok(found.length <= 1, `${prefix} ${parts.join(' ')}: ${found.length} series`);
  return found[0]?.[1];
};
const seconds = (iso: string): number => Math.floor(Date.parse(iso) / 1000);

test('happy path: every figure comes from the API answer, and no secret or error text is exported', async (t) => {
  const tn = await sim(t);
  const { v, text, lines } = await exporterOn(t, tn);
  for (const c of NEW) assert.equal(v.get(`tsmetrics_collector_success{collector="${c}"}`), 1, c);

  const streams = tn.integrations.logStreams;
  for (const [logType, s] of Object.entries(streams)) {
    const lt = `log_type="${logType}"`;
    assert.equal(one(v, 'tailscale_logstream_status_available', lt), 1);
    assert.equal(one(v, 'tailscale_logstream_entries_sent_total', lt), s.numEntriesSent);
    assert.equal(one(v, 'tailscale_logstream_bytes_sent_total', lt), s.numBytesSent);
    assert.equal(one(v, 'tailscale_logstream_requests_total', lt), s.numTotalRequests);
    assert.equal(one(v, 'tailscale_logstream_failed_requests_total', lt), s.numFailedRequests);
    assert.equal(one(v, 'tailscale_logstream_spoofed_entries_total', lt), s.numSpoofedEntries);
    assert.equal(one(v, 'tailscale_logstream_last_activity_timestamp_seconds', lt), seconds(s.lastActivity));
    assert.equal(one(v, 'tailscale_logstream_error', lt), s.lastError === '' ? 0 : 1);
    assert.equal(
      one(v, 'tailscale_logstream_last_error_timestamp_seconds', lt),
      undefined,
      'no error seen appearing yet',
    );
  }

  for (const p of tn.integrations.postureIntegrations) {
    const id = `integration_id="${p.id}"`;
    assert.equal(
      one(v, 'tailscale_posture_integration_info', id, `provider="${p.provider}"`, `cloud_id="${p.cloudId}"`),
      1,
    );
    assert.equal(
      one(v, 'tailscale_posture_integration_config_updated_timestamp_seconds', id),
      seconds(p.configUpdated),
    );
    assert.equal(
      one(v, 'tailscale_posture_integration_last_sync_timestamp_seconds', id),
      p.status === undefined ? undefined : seconds(p.status.lastSync),
    );
    assert.equal(
      one(v, 'tailscale_posture_integration_error', id),
      p.status === undefined ? undefined : p.status.error === '' ? 0 : 1,
    );
    assert.equal(one(v, 'tailscale_posture_integration_provider_hosts', id), p.status?.providerHostCount);
    assert.equal(one(v, 'tailscale_posture_integration_matched_hosts', id), p.status?.matchedCount);
    assert.equal(one(v, 'tailscale_posture_integration_possible_matched_hosts', id), p.status?.possibleMatchedCount);
  }

  for (const svc of tn.services) {
    const hosts = tn.integrations.serviceHosts[svc.name] ?? [];
    const s = `service="${svc.name}"`;
    assert.equal(
      one(v, 'tailscale_service_approved_ready_hosts', s),
      hosts.filter((h) => h.approvalLevel !== 'not-approved' && h.configured === 'ready').length,
    );
    const counted = get(v, 'tailscale_service_hosts', s).reduce((sum, [, n]) => sum + n, 0);
    assert.equal(counted, hosts.length, svc.name);
  }
  assert.equal(
    one(v, 'tailscale_service_approved_ready_hosts', 'service="svc:wiki"'),
    0,
    'the demo has a service nobody can reach',
  );
  assert.equal(
    one(v, 'tailscale_service_hosts', 'service="svc:postgres"', 'approval_level="not-approved"', 'configured="ready"'),
    1,
  );
  assert.equal(tn.stats.requests.get('service_hosts'), tn.services.length, 'one call per service');

  assert.equal(v.get('tailscale_webhook_endpoints'), tn.integrations.webhooks.length);
  for (const w of tn.integrations.webhooks) {
    const id = `endpoint_id="${w.endpointId}"`;
    assert.equal(one(v, 'tailscale_webhook_subscriptions', id), w.subscriptions.length);
    for (const event of w.subscriptions)
      assert.equal(one(v, 'tailscale_webhook_subscription_info', id, `event="${event}"`), 1);
  }
  assert.equal(
    one(
      v,
      'tailscale_webhook_info',
      'endpoint_id="123456"',
      'provider_type="slack"',
      'destination="https://hooks.slack.com"',
    ),
    1,
  );
  assert.equal(
    one(
      v,
      'tailscale_webhook_info',
      'endpoint_id="123457"',
      'provider_type=""',
      'destination="https://hooks.example.com:8443"',
    ),
    1,
  );

  // Secrets in webhook URLs, the log stream's error (it quotes the SIEM URL) and the posture error text stay out.
  const errorTexts = [streams.network!.lastError, 'siem-secret', 'AADSTS90002', 'd1ae389b', '/services/T0000'];
  for (const secret of [...WEBHOOK_SECRETS, ...errorTexts]) {
    assert.ok(!text.includes(secret), `${secret} in /metrics`);
    assert.ok(!lines.some((l) => l.includes(secret)), `${secret} in the log`);
  }
  assert.deepEqual(promtoolCheck(text), []);
});

test('service_hosts is opt-in: COLLECTORS=all makes no per-service calls', async (t) => {
  const tn = await sim(t);
  const { v } = await exporterOn(t, tn, { COLLECTORS: 'all' });
  assert.equal(tn.stats.requests.get('service_hosts'), undefined);
  assert.equal(v.get('tsmetrics_collector_success{collector="service_hosts"}'), undefined);
  for (const c of ['logstream', 'posture_integrations', 'webhooks'])
    assert.equal(v.get(`tsmetrics_collector_success{collector="${c}"}`), 1, `${c} is on by default`);
  assert.deepEqual(
    loadConfig({ TEST_DEVICES: 'a', COLLECTORS: 'all,service_hosts' }).collectors.filter((c) => NEW.includes(c)),
    ['logstream', 'posture_integrations', 'webhooks', 'service_hosts'],
  );
  assert.deepEqual(loadConfig({ TEST_DEVICES: 'a', COLLECTORS: 'service_hosts' }).collectors, ['service_hosts']);
  assert.throws(() => loadConfig({ TEST_DEVICES: 'a', COLLECTORS: 'all,hosts' }), /COLLECTORS="all,hosts" is invalid/);
});

test('404 (not configured, not on the plan, or a missing scope): nothing to report, no failure, logged once', async (t) => {
  const tn = await sim(t, (s) => {
    delete s.integrations.logStreams.network;
    // Without log_streaming:read, feature_settings:read and webhooks:read the live API answers 404, not 403.
    s.setGrantedScopes([
      'devices:core:read',
      'devices:routes:read',
      'users:read',
      'services:read',
      'dns:read',
      'policy_file:read',
      'auth_keys:read',
    ]);
  });
  const { v, lines } = await exporterOn(t, tn);
  assert.equal(v.get('tailscale_logstream_status_available{log_type="configuration"}'), 0);
  assert.equal(v.get('tailscale_logstream_status_available{log_type="network"}'), 0);
  assert.equal(get(v, 'tailscale_logstream_entries_sent_total').length, 0);
  assert.equal(get(v, 'tailscale_posture_integration_info').length, 0);
  assert.equal(v.get('tailscale_webhook_endpoints'), undefined, 'unknown, not 0');
  for (const c of ['logstream', 'posture_integrations', 'webhooks']) {
    assert.equal(v.get(`tsmetrics_collector_success{collector="${c}"}`), 1, c);
    assert.equal(
      lines.filter((l) => l.includes('answered 404') && l.includes(`"collector":"${c}"`)).length,
      1,
      `${c}: one line`,
    );
  }
  assert.ok(
    lines.some((l) => l.includes('answered 404') && l.includes('log_streaming:read')),
    'the line names the scope',
  );

  // With the scope, the configured stream appears; the unconfigured one stays "not available".
  tn.setGrantedScopes(['all:read']);
  const fresh = await exporterOn(t, tn);
  assert.equal(fresh.v.get('tailscale_logstream_status_available{log_type="configuration"}'), 1);
  assert.equal(fresh.v.get('tailscale_logstream_status_available{log_type="network"}'), 0);
  assert.ok(fresh.v.get('tailscale_logstream_entries_sent_total{log_type="configuration"}')! > 0);
  assert.equal(fresh.v.get('tailscale_logstream_entries_sent_total{log_type="network"}'), undefined);
});

test('403: a service host list without devices:core:read fails the collector, names the scope, keeps the others', async (t) => {
  const tn = await sim(t, (s) => s.setGrantedScopes(['devices:routes:read', 'services:read', 'users:read']));
  const { v, lines } = await exporterOn(t, tn);
  assert.equal(v.get('tsmetrics_collector_success{collector="service_hosts"}'), 0);
  assert.equal(get(v, 'tailscale_service_approved_ready_hosts').length, 0);
  assert.equal(v.get('tsmetrics_collector_success{collector="services"}'), 1);
  assert.ok(
    lines.some((l) => l.includes('refused the service_hosts collector (403)') && l.includes('devices:core:read')),
  );
});

test('malformed answers: damaged entries are dropped, the rest kept; unparseable bodies fail only their collector', async (t) => {
  const wrong = await sim(t, (s) => s.setApiFault({ kind: 'wrong-types' }));
  const w = (await exporterOn(t, wrong)).v;
  for (const c of NEW) assert.equal(w.get(`tsmetrics_collector_success{collector="${c}"}`), 1, c);
  const posture = wrong.integrations.postureIntegrations;
  assert.deepEqual(
    get(w, 'tailscale_posture_integration_info').map(([k]) => /integration_id="([^"]+)"/.exec(k)![1]),
    [posture[1]!.id],
    'every other integration is damaged',
  );
  assert.deepEqual(
    get(w, 'tailscale_webhook_info').map(([k]) => /endpoint_id="([^"]+)"/.exec(k)![1]),
    [wrong.integrations.webhooks[1]!.endpointId],
  );
  assert.equal(w.get('tailscale_webhook_endpoints'), 1);
  assert.equal(w.get('tailscale_logstream_status_available{log_type="network"}'), 1);
  assert.equal(
    w.get('tailscale_logstream_entries_sent_total{log_type="network"}'),
    undefined,
    'a string count is no count',
  );
  assert.equal(
    w.get('tailscale_logstream_failed_requests_total{log_type="network"}'),
    undefined,
    'nor is a negative one',
  );
  assert.equal(
    w.get('tailscale_logstream_bytes_sent_total{log_type="network"}'),
    wrong.integrations.logStreams.network!.numBytesSent,
  );
  // The service list is damaged too (svc:grafana goes); of svc:postgres' hosts the damaged first one goes.
  assert.equal(w.get('tailscale_service_approved_ready_hosts{service="svc:grafana"}'), undefined);
  assert.equal(w.get('tailscale_service_approved_ready_hosts{service="svc:postgres"}'), 0);
  assert.equal(
    w.get('tailscale_service_hosts{service="svc:postgres",approval_level="not-approved",configured="ready"}'),
    1,
  );

  const broken = await sim(t, (s) => s.setApiFault({ kind: 'malformed-json' }));
  const b = await exporterOn(t, broken);
  for (const c of NEW) assert.equal(b.v.get(`tsmetrics_collector_success{collector="${c}"}`), 0, c);
  assert.equal(get(b.v, 'tailscale_logstream_status_available').length, 0, 'no data yet: nothing, not zeros');
});

// ------------------------------------------------------------------- the fetchers on a scripted API

function scripted(answers: Record<string, unknown>): TailnetJson & { calls: string[] } {
  const calls: string[] = [];
  return {
    tailnet: '-',
    calls,
    getJson(endpoint, path) {
      calls.push(path);
      const answer = answers[path];
      if (answer instanceof Error) return Promise.reject(answer);
      if (answer === undefined)
        return Promise.reject(new ApiError(endpoint, 'http_status', 'HTTP 404: not found', 404));
      return Promise.resolve(answer);
    },
  };
}

test('fetchers: 404 is "not available", 403 and malformed bodies throw, a vanished service is skipped', async () => {
  const empty = scripted({});
  assert.deepEqual(await fetchPostureIntegrations(empty), { available: false, integrations: [] });
  assert.deepEqual(await fetchWebhooks(empty), { available: false, webhooks: [] });
  assert.deepEqual(await fetchServiceHosts(empty), { available: false, services: [] });
  assert.deepEqual(
    (await fetchLogStreams(empty, undefined, 0)).map((s) => [s.logType, s.available]),
    [
      ['configuration', false],
      ['network', false],
    ],
  );

  const forbidden = new ApiError('webhooks', 'auth', 'HTTP 403', 403);
  await assert.rejects(
    fetchWebhooks(scripted({ '/api/v2/tailnet/-/webhooks': forbidden })),
    (e: ApiError) => e.status === 403,
  );
  await assert.rejects(
    fetchWebhooks(scripted({ '/api/v2/tailnet/-/webhooks': { webhooks: 'none' } })),
    (e: ApiError) => e.reason === 'invalid_response',
  );
  await assert.rejects(
    fetchPostureIntegrations(scripted({ '/api/v2/tailnet/-/posture/integrations': [1, 2] })),
    (e: ApiError) => e.reason === 'invalid_response',
  );
  await assert.rejects(
    fetchLogStreams(scripted({ '/api/v2/tailnet/-/logging/network/stream/status': 'up' }), undefined, 0),
    (e: ApiError) => e.reason === 'invalid_response',
  );
  assert.deepEqual(await fetchWebhooks(scripted({ '/api/v2/tailnet/-/webhooks': { webhooks: null } })), {
    available: true,
    webhooks: [],
  });

  const hosts = await fetchServiceHosts(
    scripted({
      '/api/v2/tailnet/-/services': { vipServices: [{ name: 'svc:a' }, { name: 'svc:gone' }, { name: 7 }] },
      '/api/v2/tailnet/-/services/svc%3Aa/devices': {
        hosts: [
          { stableNodeID: 'n1', approvalLevel: 'approved:auto', configured: 'ready' },
          { stableNodeID: 'n1' },
          { approvalLevel: 'approved:auto' },
        ],
      },
    }),
  );
  assert.deepEqual(hosts, {
    available: true,
    services: [{ service: 'svc:a', hosts: [{ nodeId: 'n1', approvalLevel: 'approved:auto', configured: 'ready' }] }],
  });

  for (const [url, expected] of [
    ['https://hooks.slack.com/services/T0/B0/secret', 'https://hooks.slack.com'],
    ['https://user:pw@example.com:8443/x?token=t#f', 'https://example.com:8443'],
    ['not a url', ''],
    [undefined, ''],
  ] as const)
    assert.equal(urlDestination(url), expected);
});

test('log streams: the time of the last error is when tsmetrics sees failures rise or the error change', async () => {
  const path = '/api/v2/tailnet/-/logging/network/stream/status';
  const status = (failed: number, lastError: string) => ({
    [path]: { numFailedRequests: failed, lastError, numEntriesSent: 1 },
  });
  const first = await fetchLogStreams(scripted(status(5, 'boom')), undefined, 1000);
  const network = (l: typeof first) => l.find((s) => s.logType === 'network')!;
  assert.equal(network(first).lastErrorSeconds, undefined, 'the first look cannot tell when');
  assert.equal(network(first).erroring, true);
  const same = await fetchLogStreams(scripted(status(5, 'boom')), undefined, 2000, first);
  assert.equal(network(same).lastErrorSeconds, undefined);
  const more = await fetchLogStreams(scripted(status(6, 'boom')), undefined, 3000, same);
  assert.equal(network(more).lastErrorSeconds, 3000);
  const changed = await fetchLogStreams(scripted(status(6, 'other')), undefined, 4000, more);
  assert.equal(network(changed).lastErrorSeconds, 4000);
  const quiet = await fetchLogStreams(scripted(status(6, '')), undefined, 5000, changed);
  assert.equal(network(quiet).lastErrorSeconds, 4000, 'kept after the error clears');
  assert.equal(network(quiet).erroring, false);
  assert.ok(!JSON.stringify(changed).includes('other'), 'the error text is not kept');
});

test('inventory: a 403 keeps the last good data of that collector only', async () => {
  const answers: Record<string, unknown> = {
    '/api/v2/tailnet/-/webhooks': {
      webhooks: [{ endpointId: 'e1', endpointUrl: 'https://x.example/secret', subscriptions: ['nodeCreated'] }],
    },
    '/api/v2/tailnet/-/posture/integrations': { integrations: [] },
  };
  let now = 0;
  const { log, lines } = memoryLogger();
  const inventory = new Inventory({
    resources: tailscaleResources(scripted(answers)),
    enabled: ['webhooks', 'posture_integrations'],
    intervalMs: 60_000,
    log,
    now: () => now,
  });
  await inventory.refreshIfDue();
  assert.equal(inventory.current().webhooks.data?.webhooks.length, 1);
  answers['/api/v2/tailnet/-/webhooks'] = new ApiError('webhooks', 'auth', 'HTTP 403', 403);
  now += 60_000;
  await inventory.refreshIfDue();
  const state = inventory.current();
  assert.equal(state.webhooks.ok, false);
  assert.equal(state.webhooks.data?.webhooks[0]?.endpointId, 'e1', 'last good data kept');
  assert.equal(state.postureIntegrations.ok, true);
  assert.ok(lines.some((l) => l.includes('refused the webhooks collector (403)') && l.includes('webhooks:read')));
});

test('keys: federated identities and OAuth clients are rows of their own, with an expiry only where they have one', async (t) => {
  const tn = await sim(t);
  const { v } = await exporterOn(t, tn);
  for (const type of ['federated', 'client'] as const) {
    const keys = tn.keys.filter((k) => k.keyType === type);
    assert.ok(keys.length > 0, type);
    for (const k of keys) {
      assert.equal(one(v, 'tailscale_key_info', `key_id="${k.id}"`, `key_type="${type}"`), 1);
      const expires = k.expires === undefined || k.expires.startsWith('0001-') ? undefined : seconds(k.expires);
      assert.equal(one(v, 'tailscale_key_expiry_timestamp_seconds', `key_id="${k.id}"`), expires, k.description);
    }
  }
  // A federated identity with a real expiry has its series.
  const fed = tn.keys.find((k) => k.keyType === 'federated')!;
  fed.expires = new Date(Date.now() + 86_400_000).toISOString();
  const again = await exporterOn(t, tn);
  assert.equal(
    one(again.v, 'tailscale_key_expiry_timestamp_seconds', `key_id="${fed.id}"`, 'key_type="federated"'),
    seconds(fed.expires),
  );
});
