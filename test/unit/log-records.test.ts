import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nodeLabels } from '../../src/collectors/flow-logs.js';
import { AuditTotals, MAX_AUDIT_SERIES, MAX_UNLISTED_VALUES } from '../../src/control/audit-log.js';
import { FlowTotals, hostOf, protocolName, RX_BYTES, TX_BYTES, TX_PACKETS } from '../../src/control/flow-logs.js';
import { MAX_WINDOW_MS, nextWindow, RecordDedup, recordKey } from '../../src/control/log-window.js';
import type { Device } from '../../src/control/device.js';

// Flow-log and audit-log records as the live API sends them (tailscale-facts §6.1), and the window and
// de-duplication rules that make each record count once.

const MIN = 60_000;

test('windows end lag before now, reach back the look-back, meet the last window after a gap, and never exceed an hour', () => {
  assert.deepEqual(nextWindow(100 * MIN, undefined, 2 * MIN, 5 * MIN), {
    startMs: 93 * MIN,
    endMs: 98 * MIN,
    skippedMs: 0,
  });
  // The next poll a minute later overlaps by four minutes.
  assert.deepEqual(nextWindow(101 * MIN, 98 * MIN, 2 * MIN, 5 * MIN), {
    startMs: 94 * MIN,
    endMs: 99 * MIN,
    skippedMs: 0,
  });
  // Polls missed for 20 minutes: the window reaches back to where the last one ended.
  assert.deepEqual(nextWindow(121 * MIN, 98 * MIN, 2 * MIN, 5 * MIN), {
    startMs: 98 * MIN,
    endMs: 119 * MIN,
    skippedMs: 0,
  });
  // Lag 0 is allowed.
  assert.deepEqual(nextWindow(100 * MIN, undefined, 0, 5 * MIN), { startMs: 95 * MIN, endMs: 100 * MIN, skippedMs: 0 });
  // Down for two hours: one hour is read, the hour before is reported as skipped.
  const w = nextWindow(300 * MIN, 178 * MIN, 2 * MIN, 5 * MIN);
  assert.equal(w.endMs - w.startMs, MAX_WINDOW_MS);
  assert.equal(w.skippedMs, 60 * MIN);
});

test('a record key depends on the content, not on key order or spacing', () => {
  const a = JSON.parse(
    '{"nodeId":"n1","start":"2026-01-01T00:00:00Z","virtualTraffic":[{"proto":6,"txBytes":5}]}',
  ) as unknown;
  const b = JSON.parse(
    '{ "virtualTraffic": [ {"txBytes":5, "proto":6} ], "start":"2026-01-01T00:00:00Z", "nodeId":"n1" }',
  ) as unknown;
  assert.equal(recordKey(a), recordKey(b));
  assert.notEqual(recordKey(a), recordKey({ ...(a as object), nodeId: 'n2' }));
  assert.ok(Number.isSafeInteger(recordKey(a)));
  // Escapes and number spellings are the serializer's choice; the parsed values are the content.
  assert.equal(recordKey(JSON.parse('{"n":"\\u00e9","v":5.0}')), recordKey(JSON.parse('{"v":5,"n":"é"}')));
  assert.equal(recordKey({ v: -0 }), recordKey({ v: 0 }));
  // An absent key and an undefined one are the same record; null is a value.
  assert.equal(recordKey({ a: 1, b: undefined }), recordKey({ a: 1 }));
  assert.notEqual(recordKey({ a: 1, b: null }), recordKey({ a: 1 }));
});

test('record keys tell apart values that read alike: types, nesting, boundaries, order within arrays', () => {
  const values: unknown[] = [
    null,
    true,
    false,
    0,
    1,
    '1',
    '',
    [],
    {},
    [[]],
    [{}],
    { a: [] },
    { a: {} },
    ['a', 'b'],
    ['b', 'a'],
    ['ab'],
    ['a', ['b']],
    [['a'], 'b'],
    [['a', 'b']],
    { a: { b: 1 }, c: 2 },
    { a: { b: 1, c: 2 } },
    { a: 'b', c: 'd' },
    { a: 'bc', '': 'd' },
    { ab: 'c' },
    { a: 'bc' },
    { a: { b: 1 } },
    { a: [{ b: 1 }] },
    { virtualTraffic: [{ txBytes: 5, rxBytes: 6 }] },
    { virtualTraffic: [{ txBytes: 6, rxBytes: 5 }] },
    { virtualTraffic: [{ txBytes: 5 }, { rxBytes: 6 }] },
  ];
  const keys = values.map(recordKey);
  assert.equal(new Set(keys).size, values.length, 'every value has a key of its own');
  for (const k of keys) assert.ok(Number.isSafeInteger(k) && k >= 0);
  // 100,000 records differing in one counter: no two share a key.
  const many = new Set<number>();
  for (let i = 0; i < 100_000; i++) many.add(recordKey({ nodeId: 'n1', start: '2026-01-01T00:00:00Z', txBytes: i }));
  assert.equal(many.size, 100_000);
});

test('the de-duplication keeps keys until their time passes, and evicts the oldest past its cap (counted)', () => {
  const d = new RecordDedup(3);
  assert.equal(d.add(1, 1_800_000_000), true);
  assert.equal(d.add(1, 1_800_000_000), false);
  d.add(2, 1_800_000_100);
  d.forget(1_800_000_050);
  assert.equal(d.size, 1);
  assert.equal(d.add(1, 1_800_000_000), true, 'forgotten: new again');
  d.add(3, 1_800_000_200);
  d.add(4, 1_800_000_300);
  assert.equal(d.size, 3);
  assert.equal(d.evictions, 1);
  assert.equal(d.add(2, 1_800_000_100), true, 'the oldest key was evicted');
});

test('a record key is a non-negative 53-bit integer, also when the high part of the hash is 0', () => {
  // The high 21 bits of this record's hash are all 0 (found by a search over txBytes): its key is the low 32
  // bits alone. Another hash function needs another record here.
  const key = recordKey({ nodeId: 'n1', txBytes: 3_321_314 });
  assert.ok(Math.abs(key) < 2 ** 32, `the record no longer has a hash with high bits 0: key ${key}`);
  for (const k of [key, recordKey({ nodeId: 'n1', txBytes: 0 })]) assert.ok(Number.isSafeInteger(k) && k >= 0, `${k}`);
});

test('a key is forgotten only once its time is before the bound: one at the bound itself may still come back', () => {
  // The API answers every record of [start, end]: a record at a later window's very start is in it.
  const d = new RecordDedup();
  d.add(1, 1_800_000_000);
  d.add(2, 1_800_000_001);
  d.forget(1_800_000_000);
  assert.equal(d.size, 2);
  assert.equal(d.add(1, 1_800_000_000), false, 'still known');
  d.forget(1_800_000_001);
  assert.equal(d.size, 1);
  assert.equal(d.add(1, 1_800_000_000), true, 'forgotten');
  assert.equal(d.add(2, 1_800_000_001), false, 'still known');
});

test('proto as a number or a name; ports :0; IPv6 in brackets', () => {
  assert.equal(protocolName(6), 'tcp');
  assert.equal(protocolName(17), 'udp');
  assert.equal(protocolName(99), 'tsmp');
  assert.equal(protocolName('tcp'), 'tcp');
  assert.equal(protocolName('IPV6-ICMP'), 'ipv6-icmp');
  assert.equal(protocolName('17'), 'udp');
  assert.equal(protocolName(0), 'unknown');
  assert.equal(protocolName(undefined), 'unknown');
  assert.equal(protocolName(253), 'other');
  assert.equal(protocolName('quic-ish'), 'other');
  assert.equal(hostOf('100.64.0.1:0'), '100.64.0.1');
  assert.equal(hostOf('[fd7a:115c:a1e0::1]:443'), 'fd7a:115c:a1e0::1');
  assert.equal(hostOf('fd7a:115c:a1e0::1'), 'fd7a:115c:a1e0::1');
  assert.equal(hostOf(undefined), undefined);
});

const record = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  logged: '2026-12-01T10:01:07Z',
  nodeId: 'nA',
  start: '2026-12-01T10:00:00Z',
  end: '2026-12-01T10:01:00Z',
  srcNode: { nodeId: 'nA', name: 'a.tail1234.ts.net.', addresses: ['100.64.0.1/32'] },
  dstNodes: [{ nodeId: 'nB', name: 'b.tail1234.ts.net.', addresses: ['100.64.0.2/32'] }],
  virtualTraffic: [
    { proto: 6, src: '100.64.0.1:51000', dst: '100.64.0.2:443', txPkts: 10, txBytes: 1000, rxPkts: 8, rxBytes: 4000 },
    { proto: 99, src: '100.64.0.1:0', dst: '100.64.0.3:0', rxPkts: 1, rxBytes: 40 },
  ],
  subnetTraffic: [
    { proto: 'udp', src: '100.64.0.2:5000', dst: '10.0.0.5:53', txPkts: 1, txBytes: 80, rxPkts: 1, rxBytes: 120 },
  ],
  // Exit entries have no dst and no proto.
  exitTraffic: [{ src: '100.64.0.1:0', txPkts: 3, txBytes: 300, rxPkts: 2, rxBytes: 200 }],
  physicalTraffic: [
    { src: '100.64.0.1:0', dst: '203.0.113.9:41641', txPkts: 12, txBytes: 1500, rxPkts: 9, rxBytes: 4300 },
    { src: '100.64.0.1:0', dst: '127.3.3.40:4', txPkts: 2, txBytes: 200, rxPkts: 1, rxBytes: 100 },
  ],
  futureField: { anything: true },
  ...over,
});

test('flow totals: each kind and direction, physical traffic split into direct and DERP-relayed', () => {
  const f = new FlowTotals();
  assert.equal(f.add(record()), true);
  const c = f.nodes.get('nA')!.counts;
  const at = (kind: number, i: number): number => c[kind * 4 + i]!;
  assert.equal(at(0, TX_BYTES), 1000);
  assert.equal(at(0, RX_BYTES), 4040);
  assert.equal(at(1, TX_BYTES), 80);
  assert.equal(at(2, TX_BYTES), 300);
  assert.equal(at(3, TX_BYTES), 1500);
  assert.equal(at(3, TX_PACKETS), 12);
  assert.equal(at(4, TX_BYTES), 200, 'dst 127.3.3.40:<region> is a DERP relay');
  assert.equal(f.nodes.get('nA')!.name, 'a.tail1234.ts.net');
  assert.deepEqual(Object.fromEntries(f.protocolBytes), { tcp: 5000, tsmp: 40, udp: 200, unknown: 500 });
});

test('flow totals: odd and unknown content is tolerated; a record without any device is not a record', () => {
  const f = new FlowTotals();
  assert.equal(
    f.add(
      record({
        virtualTraffic: [{ proto: 'newproto', src: 'x', txBytes: 'many', rxBytes: -5 }, null, 7],
        physicalTraffic: 'none',
      }),
    ),
    true,
  );
  assert.equal(f.nodes.get('nA')!.counts[0 * 4 + TX_BYTES], 0);
  // No nodeId: the srcNode names the device; neither: its source address does.
  f.add(record({ nodeId: undefined, srcNode: { nodeId: 'nC', name: 'c.', addresses: [] } }));
  assert.ok(f.nodes.has('nC'));
  f.add(record({ nodeId: undefined, srcNode: undefined }));
  assert.ok(f.nodes.has('addr:100.64.0.1'));
  assert.equal(f.add(record({ nodeId: undefined, srcNode: undefined, virtualTraffic: [] })), false);
  assert.equal(f.add('not an object'), false);
});

test('flow device labels: the device list by nodeId or address, else what the record said', () => {
  const dev = { id: '123', nodeId: 'nA', name: 'a.tail1234.ts.net', addresses: ['100.64.0.1'] } as unknown as Device;
  assert.deepEqual(nodeLabels('nA', '', [dev]), { device_id: '123', device_name: 'a.tail1234.ts.net' });
  assert.deepEqual(nodeLabels('addr:100.64.0.1', '', [dev]), { device_id: '123', device_name: 'a.tail1234.ts.net' });
  assert.deepEqual(nodeLabels('nGone', 'gone.tail1234.ts.net', [dev]), {
    device_id: 'nGone',
    device_name: 'gone.tail1234.ts.net',
  });
});

test('flow pairs: top N per window by bytes, the rest as other, at most 4 N pairs kept', () => {
  const f = new FlowTotals(1);
  const pair = (node: string, dst: string, bytes: number): Record<string, unknown> =>
    record({
      nodeId: node,
      dstNodes: [],
      subnetTraffic: [],
      exitTraffic: [],
      virtualTraffic: [{ proto: 6, src: '100.64.0.1:1', dst: `${dst}:443`, txBytes: bytes }],
    });
  f.add(pair('nA', '100.64.0.2', 100));
  f.add(pair('nA', '100.64.0.3', 10));
  f.finishWindow();
  assert.deepEqual([...f.pairs.keys()], ['nA\u0000addr:100.64.0.2']);
  assert.equal(f.otherPairBytes, 10);
  for (let i = 0; i < 6; i++) {
    f.add(pair('nA', `100.64.1.${i}`, 50));
    f.finishWindow();
  }
  assert.equal(f.pairs.size, 4, 'capped at 4 N');
  assert.ok(!f.pairs.has('nA\u0000addr:100.64.0.2'), 'the pair least recently in a top N went first');
  // With dstNodes, the peer is its node.
  const g = new FlowTotals(5);
  g.add(record());
  g.finishWindow();
  assert.ok(g.pairs.has('nA\u0000nB'));
});

const event = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  eventTime: '2026-12-01T10:00:00Z',
  type: 'CONFIG',
  eventGroupID: 'g1',
  origin: 'ADMIN_CONSOLE',
  actor: { id: 'u1', type: 'USER', loginName: 'admin@example.com' },
  target: { id: 't1', name: 'example.com', type: 'TAILNET', property: 'ACL' },
  action: 'UPDATE',
  ...over,
});

test('audit totals: events by kind and actor type (never identity), the latest time per kind', () => {
  const a = new AuditTotals();
  a.add(event());
  a.add(event({ eventTime: '2026-12-01T11:00:00Z' }));
  a.add(event({ eventTime: '2026-12-01T09:00:00Z', target: { type: 'API_KEY', id: 'k1' }, action: 'CREATE' }));
  const rows = [...a.events.values()];
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], {
    labels: {
      action: 'UPDATE',
      target_type: 'TAILNET',
      target_property: 'ACL',
      origin: 'ADMIN_CONSOLE',
      actor_type: 'USER',
    },
    count: 2,
  });
  assert.equal(rows[1]!.labels.target_property, 'NONE');
  assert.ok(!JSON.stringify(rows).includes('admin@example.com'));
  assert.equal(a.lastEvent.get('UPDATE\u0000TAILNET\u0000ACL')!.seconds, Date.parse('2026-12-01T11:00:00Z') / 1000);
  assert.equal(a.add({ action: 'UPDATE' }), false, 'no eventTime');
});

test('audit totals: new enum values are kept, a few per label, then OTHER; the series are capped', () => {
  const a = new AuditTotals();
  a.add(event({ origin: 'BORDER0_API', action: 'PAM_SESSION_START' }));
  assert.ok(
    [...a.events.values()].some((e) => e.labels.origin === 'BORDER0_API' && e.labels.action === 'PAM_SESSION_START'),
  );
  for (let i = 0; i < MAX_UNLISTED_VALUES + 5; i++) a.add(event({ origin: `NEW_ORIGIN_${i}` }));
  const origins = new Set([...a.events.values()].map((e) => e.labels.origin));
  assert.ok(origins.has('OTHER'));
  assert.ok(origins.size <= MAX_UNLISTED_VALUES + 3);
  a.add(event({ origin: 'weird value with spaces' }));
  assert.ok([...a.events.values()].some((e) => e.labels.origin === 'OTHER'));
  const b = new AuditTotals();
  const listed = ['CREATE', 'UPDATE', 'DELETE', 'REVOKE', 'APPROVE'];
  const props = ['ACL', 'TKA', 'KEY_EXPIRY', 'USER_ROLE', 'DNS_CONFIG', 'HTTPS', 'MAGIC_DNS', 'SCIM', 'SECRET'];
  const origins2 = ['ADMIN_CONSOLE', 'CONFIG_API', 'CONTROL', 'NODE', 'STRIPE'];
  const actors = ['USER', 'NODE', 'SCIM', 'OAUTH_CLIENT', 'MULLVAD', 'LOGSTREAM'];
  const types = ['TAILNET', 'USER', 'NODE', 'API_KEY', 'GROUP', 'INVITE', 'SHARE', 'BILLING'];
  for (const action of listed)
    for (const property of props)
      for (const origin of origins2)
        for (const actor of actors)
          for (const type of types) {
            b.add(event({ action, origin, actor: { type: actor }, target: { type, property } }));
          }
  assert.equal(b.events.size, MAX_AUDIT_SERIES + 1, 'the cap, plus one all-OTHER series');
  const all = 5 * 9 * 5 * 6 * 8;
  assert.deepEqual([...b.events.values()].at(-1), {
    labels: { action: 'OTHER', target_type: 'OTHER', target_property: 'OTHER', origin: 'OTHER', actor_type: 'OTHER' },
    count: all - MAX_AUDIT_SERIES,
  });
});

test('audit totals: absent, null and empty values are NONE; non-strings and values that are no name are OTHER', () => {
  const labelsOf = (v: unknown): string[] => {
    const a = new AuditTotals();
    assert.equal(a.add(event({ origin: v, actor: { type: v }, target: { type: v, property: v } })), true);
    const [only] = [...a.events.values()];
    const { action, ...rest } = only!.labels;
    assert.equal(action, 'UPDATE');
    return Object.values(rest);
  };
  const values = [undefined, null, '', 5, true, 'a b', '9LIVES', 'A'.repeat(64), 'A'.repeat(65), 'acl', 'new.Value-2'];
  assert.deepEqual(
    values.map(labelsOf),
    [
      ...[['NONE'], ['NONE'], ['NONE'], ['OTHER'], ['OTHER'], ['OTHER'], ['OTHER']],
      ['A'.repeat(64)],
      ['OTHER'],
      ['ACL'],
      ['NEW.VALUE-2'],
    ].map(([v]) => [v, v, v, v]),
  );
});

test('audit totals: MAX_UNLISTED_VALUES new values per label, then OTHER; kept and listed values stay themselves', () => {
  const a = new AuditTotals();
  const origins = Array.from({ length: MAX_UNLISTED_VALUES + 1 }, (_, i) => `NEW_ORIGIN_${i}`);
  for (const origin of [...origins, 'new_origin_3', 'control']) a.add(event({ origin }));
  assert.deepEqual(
    [...a.events.values()].map((e) => [e.labels.origin, e.count]),
    [
      ...origins.slice(0, MAX_UNLISTED_VALUES).map((o) => [o, o === 'NEW_ORIGIN_3' ? 2 : 1]),
      ['OTHER', 1],
      ['CONTROL', 1],
    ],
  );
});

test('audit totals: records that are not objects, lack an action or a string eventTime are skipped; the latest time wins', () => {
  const a = new AuditTotals();
  for (const bad of [null, [], 'x', 5, event({ action: undefined }), event({ action: 3 }), event({ eventTime: 2024 })])
    assert.equal(a.add(bad), false);
  assert.equal(a.events.size, 0);
  assert.equal(a.add(event({ eventTime: '2026-12-01T12:00:00Z', target: null, actor: null })), true);
  assert.equal(a.add(event({ eventTime: '2026-12-01T10:00:00Z', target: null, actor: null })), true);
  assert.deepEqual(
    [...a.events.values()],
    [
      {
        labels: {
          action: 'UPDATE',
          target_type: 'NONE',
          target_property: 'NONE',
          origin: 'ADMIN_CONSOLE',
          actor_type: 'NONE',
        },
        count: 2,
      },
    ],
  );
  assert.deepEqual(
    [...a.lastEvent.values()],
    [
      {
        labels: { action: 'UPDATE', target_type: 'NONE', target_property: 'NONE' },
        seconds: Date.parse('2026-12-01T12:00:00Z') / 1000,
      },
    ],
  );
});
