import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowTotals, hostOf, OTHER_NODE, protocolName } from '../../src/control/flow-logs.js';

// FlowTotals compared whole: every device's 20 counters (kind × tx/rx bytes/packets), the protocol bytes, the
// pairs and their windows, so an entry counted under the wrong kind, device or pair shows.

const view = (f: FlowTotals): unknown => ({
  nodes: Object.fromEntries([...f.nodes].map(([k, n]) => [k, { name: n.name, counts: [...n.counts] }])),
  protocolBytes: Object.fromEntries(f.protocolBytes),
  pairs: Object.fromEntries([...f.pairs].map(([k, p]) => [k.replace('\u0000', ' > '), { ...p }])),
  otherPairBytes: f.otherPairBytes,
});

/** 20 counters: virtual, subnet, exit, physical direct, physical relayed; each tx bytes, tx pkts, rx bytes, rx pkts. */
const counts = (...kinds: Array<[number, number, number, number] | 0>): number[] =>
  [0, 1, 2, 3, 4].flatMap((i) => {
    const k = kinds[i];
    return k === undefined || k === 0 ? [0, 0, 0, 0] : k;
  });

test('protocolName: every number and name of the table; absent, empty or odd values', () => {
  const table: Record<string, string> = {
    1: 'icmp',
    2: 'igmp',
    4: 'ipv4',
    6: 'tcp',
    8: 'egp',
    9: 'igp',
    17: 'udp',
    33: 'dccp',
    47: 'gre',
    50: 'esp',
    51: 'ah',
    58: 'ipv6-icmp',
    99: 'tsmp',
    132: 'sctp',
  };
  for (const [n, name] of Object.entries(table)) {
    assert.equal(protocolName(Number(n)), name);
    assert.equal(protocolName(n), name);
    assert.equal(protocolName(name.toUpperCase()), name);
  }
  assert.deepEqual([undefined, null, 0, '', true, {}, ' 17', '17 ', '6.0', 'x6', 3, '3'].map(protocolName), [
    'unknown',
    'unknown',
    'unknown',
    'unknown',
    'other',
    'other',
    'other',
    'other',
    'other',
    'other',
    'other',
    'other',
  ]);
});

test('hostOf: IPv4 and bracketed or bare IPv6, with or without a port; nothing for empty or portless forms', () => {
  assert.deepEqual(
    ['', '[]:80', '[fd7a::1]:0', '[fd7a::1', ':80', '100.64.0.1', '100.64.0.1:0', 'fd7a::1', 5].map(hostOf),
    [undefined, undefined, 'fd7a::1', undefined, undefined, '100.64.0.1', '100.64.0.1', 'fd7a::1', undefined],
  );
});

test('flow totals, whole: kinds, DERP relay, odd counts and entries, node keys and names, non-records', () => {
  const f = new FlowTotals();
  const add = (r: unknown): boolean => f.add(r);
  assert.deepEqual(
    [undefined, null, 5, 'x', [], {}, { virtualTraffic: 'x' }, { nodeId: '', srcNode: { nodeId: '' } }].map(add),
    [false, false, false, false, false, false, false, false],
  );
  assert.equal(
    add({
      nodeId: 'n1',
      srcNode: { nodeId: 'nS', name: 'one.ts.net.' },
      unknownField: 'x',
      virtualTraffic: [
        { proto: 6, src: '100.64.0.1:5000', dst: '100.64.0.2:22', txBytes: 100, txPkts: 2, rxBytes: 50, rxPkts: 1 },
        7,
        null,
        { proto: 17, txBytes: '5', rxBytes: Infinity, txPkts: -3, rxPkts: 4 },
      ],
      subnetTraffic: [{ proto: 1, txBytes: 10, txPkts: 1 }],
      exitTraffic: [{ proto: 'udp', rxBytes: 20, rxPkts: 2 }],
      physicalTraffic: [
        { src: '192.0.2.1:41641', dst: '198.51.100.2:41641', txBytes: 1000, txPkts: 5 },
        { dst: '127.3.3.40:1', txBytes: 300, txPkts: 3, rxBytes: 200, rxPkts: 2 },
      ],
    }),
    true,
  );
  // An empty nodeId falls back to srcNode's; no name keeps the name empty.
  assert.equal(add({ nodeId: '', srcNode: { nodeId: 'n2' }, virtualTraffic: [{ proto: 6, txBytes: 1 }] }), true);
  // srcNode with an empty or non-string nodeId names no device: the first source address does.
  add({ srcNode: { nodeId: '' }, virtualTraffic: [{ proto: 6, src: '100.64.0.4:1', rxBytes: 2 }] });
  add({ srcNode: { nodeId: 7, name: 'x' }, virtualTraffic: [{ proto: 6, src: '100.64.0.5:1', txBytes: 3 }] });
  // A null srcNode is no srcNode; a record without a name does not clear one.
  add({ nodeId: 'n1', srcNode: null });
  add({ nodeId: 'n2', srcNode: { nodeId: 'n2', name: 'two' } });
  add({ nodeId: 'n3', srcNode: { nodeId: 'n3', name: 5, addresses: 'x' } });
  assert.deepEqual(view(f), {
    nodes: {
      n1: {
        name: 'one.ts.net',
        counts: counts([100, 2, 50, 5], [10, 1, 0, 0], [0, 0, 20, 2], [1000, 5, 0, 0], [300, 3, 200, 2]),
      },
      n2: { name: 'two', counts: counts([1, 0, 0, 0]) },
      'addr:100.64.0.4': { name: '', counts: counts([0, 0, 2, 0]) },
      'addr:100.64.0.5': { name: '', counts: counts([3, 0, 0, 0]) },
      n3: { name: '', counts: counts() },
    },
    protocolBytes: { tcp: 156, udp: 20, icmp: 10 },
    pairs: {},
    otherPairBytes: 0,
  });
});

test('flow pairs, whole: peers by address, top N by bytes, sums over windows, empty windows skipped', () => {
  const f = new FlowTotals(2);
  const b = { nodeId: 'b', addresses: [5, '100.64.0.2/32', 'fd7a::2/128'] };
  f.add({
    nodeId: 'a',
    dstNodes: [null, { nodeId: '' }, b, { nodeId: 'c' }],
    virtualTraffic: [
      { src: '100.64.0.1:1', dst: '100.64.0.9:80', txBytes: 1 },
      { dst: '100.64.0.2:22', txBytes: 10, rxBytes: 5 },
      { dst: '[fd7a::2]:22', txBytes: 5 },
      { txBytes: 1000 },
      { dst: '100.64.0.7:1', txBytes: 7 },
    ],
  });
  f.add({ nodeId: 'd', virtualTraffic: [{ dst: '100.64.0.1:1', txBytes: 2 }] });
  f.finishWindow();
  f.finishWindow();
  f.add({
    nodeId: 'a',
    dstNodes: [b],
    virtualTraffic: [
      { dst: '100.64.0.2:0', txBytes: 1 },
      { dst: '100.64.0.7:1', rxBytes: 30 },
    ],
  });
  f.finishWindow();
  const v = view(f) as { pairs: unknown; otherPairBytes: number };
  assert.deepEqual(v.pairs, {
    'a > b': { bytes: 21, lastTop: 2 },
    'a > addr:100.64.0.7': { bytes: 37, lastTop: 2 },
  });
  assert.equal(v.otherPairBytes, 3);
});

test('flow pairs: past 4 N pairs, the one least recently in a top N is dropped', () => {
  const f = new FlowTotals(1);
  for (const dst of ['1', '2', '3', '4', '1', '5']) {
    f.add({ nodeId: 'a', virtualTraffic: [{ dst: `100.64.0.${dst}:1`, txBytes: 1 }] });
    f.finishWindow();
  }
  assert.deepEqual((view(f) as { pairs: unknown }).pairs, {
    'a > addr:100.64.0.1': { bytes: 2, lastTop: 5 },
    'a > addr:100.64.0.3': { bytes: 1, lastTop: 3 },
    'a > addr:100.64.0.4': { bytes: 1, lastTop: 4 },
    'a > addr:100.64.0.5': { bytes: 1, lastTop: 6 },
  });
});

test('flow totals: past 100,000 devices, new devices add up under the other node', () => {
  const f = new FlowTotals();
  for (let i = 0; i < 100_002; i++) f.add({ nodeId: `n${i}`, virtualTraffic: [{ proto: 6, txBytes: 1 + i }] });
  assert.equal(f.nodes.size, 100_001);
  assert.equal(f.nodes.get('n99999')!.counts[0], 100_000);
  assert.equal(f.nodes.has('n100000'), false);
  assert.deepEqual(
    { ...f.nodes.get(OTHER_NODE)!, counts: [...f.nodes.get(OTHER_NODE)!.counts] },
    {
      name: OTHER_NODE,
      counts: counts([100_001 + 100_002, 0, 0, 0]),
    },
  );
});
