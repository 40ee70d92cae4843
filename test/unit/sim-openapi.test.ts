// The simulator's answers validate against Tailscale's official OpenAPI document, endpoint by endpoint, with the
// live-API differences tailscale-facts.md records allowed by instance path and nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { API_ENDPOINTS } from '../../src/sim/fake-api.js';
import { startTailnet } from '../../src/sim/tailnet.js';
import { assertMatchesOpenApi, documented, openApiErrors } from '../helpers/openapi.js';

test('every documented GET of the simulated API answers in the shape of the OpenAPI document', async (t) => {
  const tn = await startTailnet({ scenario: { count: 40 } });
  t.after(() => tn.close());
  const get = async (path: string): Promise<unknown> => {
    const res = await fetch(`${tn.apiUrl}/api/v2${path}`, { headers: { authorization: `Bearer ${tn.apiKey}`, accept: 'application/json' } });
    assert.equal(res.status, 200, `${path}: HTTP ${res.status}`);
    return res.json();
  };
  const device = tn.devices[0]!;
  const ids: Record<string, string> = {
    '{tailnet}': '-',
    '{deviceId}': device.id,
    '{userId}': tn.users[0]!.id,
    '{keyId}': tn.keys[0]!.id,
    '{serviceName}': tn.services[0]!.name,
    '{logType}': 'network',
  };
  const checked: string[] = [];
  for (const endpoint of API_ENDPOINTS) {
    if (endpoint.method !== 'GET' || !documented('GET', endpoint.path)) continue;
    const path = endpoint.path.replace(/\{[A-Za-z]+\}/g, (p) => ids[p] ?? assert.fail(`no id for ${p}`));
    const body = await get(endpoint.name === 'devices' ? `${path}?fields=all` : path);
    assertMatchesOpenApi(body, 'GET', endpoint.path);
    checked.push(endpoint.path);
  }
  // The core of what the exporter reads must be among the checked answers.
  for (const p of [
    '/tailnet/{tailnet}/devices', '/tailnet/{tailnet}/users', '/tailnet/{tailnet}/keys', '/tailnet/{tailnet}/settings', '/tailnet/{tailnet}/services',
    '/tailnet/{tailnet}/logging/{logType}/stream/status', '/tailnet/{tailnet}/posture/integrations', '/tailnet/{tailnet}/services/{serviceName}/devices', '/tailnet/{tailnet}/webhooks',
  ]) {
    assert.ok(checked.includes(p), `${p} validated`);
  }
});

test('the validator rejects an answer that breaks the document', () => {
  // Guards the guard: a wrong type where the document says string is an error, a missing array too.
  assert.notDeepEqual(openApiErrors({ devices: [{ id: 1 }] }, 'GET', '/tailnet/{tailnet}/devices'), []);
  assert.notDeepEqual(openApiErrors({ users: 'none' }, 'GET', '/tailnet/{tailnet}/users'), []);
  assert.deepEqual(openApiErrors({ devices: [{ id: 1 }] }, 'GET', '/tailnet/{tailnet}/devices', 200, [/^\/devices\/0\/id$/]), []);
});
