// The simulator's churn knob: which device-list entries change between two requests, how, and that the changed
// entries are still what the API document and the exporter's own schema accept.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiDeviceSchema, toDevice } from '../../src/control/schemas.js';
import { isoTime } from '../../src/sim/shared/time.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { assertMatchesOpenApi } from '../helpers/openapi.js';

const T0 = Date.parse('2026-09-01T12:00:00Z');

type Entry = Record<string, unknown>;

async function listText(tn: SimTailnet, fields = 'all'): Promise<string> {
  const res = await fetch(`${tn.apiUrl}/api/v2/tailnet/-/devices?fields=${fields}`, {
    headers: { authorization: `Bearer ${tn.apiKey}` },
  });
  assert.equal(res.status, 200);
  return res.text();
}

async function entries(tn: SimTailnet): Promise<Entry[]> {
  return (JSON.parse(await listText(tn)) as { devices: Entry[] }).devices;
}

/** Ids of the entries that differ between two lists of the same devices in the same order. */
function changedIds(before: readonly Entry[], after: readonly Entry[]): string[] {
  assert.deepEqual(
    after.map((e) => e['id']),
    before.map((e) => e['id']),
    'same devices, same order',
  );
  return after.filter((e, i) => JSON.stringify(e) !== JSON.stringify(before[i])).map((e) => String(e['id']));
}

/** The fields of a changed entry that differ, `clientConnectivity` split into its members. */
function changedFields(before: Entry, after: Entry): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  const out: string[] = [];
  for (const name of names) {
    if (JSON.stringify(before[name]) === JSON.stringify(after[name])) continue;
    if (name !== 'clientConnectivity') out.push(name);
    else out.push(...changedFields(before[name] as Entry, after[name] as Entry).map((m) => `${name}.${m}`));
  }
  return out.sort();
}

async function tailnet(t: { after: (fn: () => Promise<void>) => void }, count: number, churn?: number) {
  const tn = await startTailnet({ scenario: { count }, now: () => T0, serveDevices: false, churn });
  t.after(() => tn.close());
  return tn;
}

test('churn 0 (the default, and set): consecutive device lists are byte-identical', async (t) => {
  for (const churn of [undefined, 0]) {
    const tn = await tailnet(t, 1000, churn);
    const first = await listText(tn);
    assert.equal(await listText(tn), first);
    assert.equal(await listText(tn), first);
    assert.equal(tn.stats.deviceListRequests, 3);
  }
});

test('churn 0.01 at 1,000 devices: exactly 10 entries change per request, different ones each time', async (t) => {
  const tn = await tailnet(t, 1000, 0.01);
  const lists = [await entries(tn), await entries(tn), await entries(tn), await entries(tn)];
  const changes = [1, 2, 3].map((i) => changedIds(lists[i - 1]!, lists[i]!));
  for (const ids of changes) assert.equal(ids.length, 10);
  const all = changes.flat();
  assert.equal(new Set(all).size, 30, 'three requests, thirty different devices');
  // Only what a live tailnet changes between refreshes: the connection and the DERP latencies.
  const seen = new Set<string>();
  for (let i = 1; i < lists.length; i++) {
    for (const [k, after] of lists[i]!.entries()) {
      const before = lists[i - 1]![k]!;
      for (const field of changedFields(before, after)) seen.add(field);
    }
  }
  assert.deepEqual([...seen].sort(), ['clientConnectivity.latency', 'connectedToControl', 'lastSeen']);
});

test('churn: the devices are taken in turn, and a fraction of a device carries over to the next request', async (t) => {
  const tn = await tailnet(t, 100, 0.025);
  const lists = [await entries(tn)];
  for (let i = 0; i < 4; i++) lists.push(await entries(tn));
  // 2.5 devices per request: 2 (at the first request, before lists[0] was answered), 3, 2, 3, 2: the half
  // owed from one request is made at the next.
  const counts = [1, 2, 3, 4].map((i) => changedIds(lists[i - 1]!, lists[i]!).length);
  assert.deepEqual(counts, [3, 2, 3, 2]);
  const order = [1, 2, 3, 4].flatMap((i) => changedIds(lists[i - 1]!, lists[i]!));
  const positions = order.map((id) => lists[0]!.findIndex((e) => e['id'] === id));
  assert.deepEqual(
    positions,
    positions.map((_, i) => positions[0]! + i),
    'consecutive devices',
  );
});

test('churn 1: every entry differs between consecutive requests', async (t) => {
  const tn = await tailnet(t, 300, 1);
  let previous = await entries(tn);
  for (let i = 0; i < 6; i++) {
    const next = await entries(tn);
    assert.equal(changedIds(previous, next).length, 300, `request ${i + 2}`);
    previous = next;
  }
});

test('churned entries: a dropped connection sends lastSeen = now, a regained one drops it; latencies move, nothing else', async (t) => {
  const tn = await tailnet(t, 200, 1);
  const before = await entries(tn);
  const after = await entries(tn);
  let disconnected = 0;
  let reconnected = 0;
  let moved = 0;
  for (const [i, a] of after.entries()) {
    const b = before[i]!;
    const fields = changedFields(b, a);
    if (b['connectedToControl'] === true && a['connectedToControl'] === false) {
      disconnected++;
      assert.deepEqual(fields, ['connectedToControl', 'lastSeen']);
      assert.equal(a['lastSeen'], isoTime(T0));
    } else if (b['connectedToControl'] === false && a['connectedToControl'] === true) {
      reconnected++;
      assert.ok(!('lastSeen' in a), 'a connected device has no lastSeen');
    } else {
      moved++;
      assert.deepEqual(fields, ['clientConnectivity.latency']);
      const lb = (b['clientConnectivity'] as { latency: Record<string, { latencyMs: number; preferred?: boolean }> })
        .latency;
      const la = (a['clientConnectivity'] as { latency: Record<string, { latencyMs: number; preferred?: boolean }> })
        .latency;
      assert.deepEqual(Object.keys(la), Object.keys(lb), 'the same regions');
      for (const region of Object.keys(la)) {
        assert.notEqual(la[region]!.latencyMs, lb[region]!.latencyMs, `${region} moved`);
        assert.ok(Math.abs(la[region]!.latencyMs - lb[region]!.latencyMs) <= 4, `${region} moved a little`);
        assert.equal(la[region]!.preferred, lb[region]!.preferred, 'the home region stays');
      }
    }
  }
  // One change of a device in five drops its connection, the devices out of step: about a fifth of the connected
  // devices drop at each request, and every disconnected one comes back.
  const connected = before.filter((e) => e['connectedToControl'] === true).length;
  assert.equal(disconnected + moved, connected);
  assert.equal(reconnected, 200 - connected);
  assert.ok(disconnected >= 0.1 * connected && disconnected <= 0.3 * connected, `${disconnected} of ${connected}`);
  assert.ok(reconnected > 0);
});

test('churned device lists validate against the OpenAPI document and parse with the exporter schema', async (t) => {
  const tn = await tailnet(t, 200, 1);
  for (let i = 0; i < 5; i++) {
    const body = JSON.parse(await listText(tn)) as { devices: Entry[] };
    assertMatchesOpenApi(body, 'GET', '/tailnet/{tailnet}/devices', 200);
    let offline = 0;
    for (const entry of body.devices) {
      const parsed = apiDeviceSchema.safeParse(entry);
      assert.ok(parsed.success, `entry ${String(entry['id'])} parses`);
      const device = toDevice(parsed.data, T0 / 1000);
      assert.equal(device.online, entry['connectedToControl']);
      if (!device.online) {
        offline++;
        assert.equal(typeof device.lastSeenSeconds, 'number');
      }
      assert.equal(device.clientConnectivity?.latency.length, 3);
    }
    assert.ok(offline > 0 && offline < 100, `request ${i + 1}: ${offline} devices offline`);
  }
});

test('churn is repeatable: two tailnets on the same clock answer the same bytes, request by request', async (t) => {
  const a = await tailnet(t, 500, 0.1);
  const b = await tailnet(t, 500, 0.1);
  for (let i = 0; i < 4; i++) assert.equal(await listText(a), await listText(b), `request ${i + 1}`);
});

test('churn changes the live devices: the single-device endpoint agrees with the list', async (t) => {
  const tn = await tailnet(t, 50, 1);
  await listText(tn);
  const list = await entries(tn);
  const device = tn.devices[7]!;
  const res = await fetch(`${tn.apiUrl}/api/v2/device/${device.id}?fields=all`, {
    headers: { authorization: `Bearer ${tn.apiKey}` },
  });
  assert.deepEqual(await res.json(), list[7]);
});

test('with fields=default only the changes of connection show (latencies are a fields=all field)', async (t) => {
  const tn = await tailnet(t, 100, 1);
  const before = (JSON.parse(await listText(tn, 'default')) as { devices: Entry[] }).devices;
  const after = (JSON.parse(await listText(tn, 'default')) as { devices: Entry[] }).devices;
  const changed = changedIds(before, after);
  const flipped = after.filter((e, i) => e['connectedToControl'] !== before[i]!['connectedToControl']);
  assert.deepEqual(
    changed,
    flipped.map((e) => String(e['id'])),
  );
  assert.ok(changed.length > 0 && changed.length < 100);
});

test('a churn outside 0..1 is refused', async () => {
  for (const churn of [-0.01, 1.01, Number.NaN]) {
    await assert.rejects(startTailnet({ scenario: { count: 1 }, churn, serveDevices: false }), RangeError);
  }
});
