import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEVICES_PER_STEP } from '../../src/collectors/collector.js';
import { makeFlowLogsCollector } from '../../src/collectors/flow-logs.js';
import { FlowTotals } from '../../src/control/flow-logs.js';
import type { LogPollView } from '../../src/control/log-window.js';
import { render } from '../../src/exposition/render.js';
import { device } from '../helpers/devices.js';
import { refreshData } from '../helpers/refresh-data.js';

// The flowlogs collector labels each device's counters from the current device list: a renamed device is
// served under its new name, and two node keys of one device add up to one series per kind and direction.
// (Keeping the 100,000 label sets of 10,000 devices between refreshes was tried: it saved their allocation
// but held their rendered texts, 41 MB more live heap; they are made per refresh.)

const poll = { state: 'ok', durationSeconds: 0 } as unknown as LogPollView;

function flowRecord(nodeId: string, src: string, txBytes: number): unknown {
  return {
    nodeId,
    start: '2026-12-07T00:00:00Z',
    end: '2026-12-07T00:00:05Z',
    virtualTraffic: [{ proto: 6, src: `${src}:1000`, dst: '100.64.0.9:22', txBytes, txPkts: 1 }],
  };
}

const bytesLines = (text: string): string[] =>
  text.split('\n').filter((l) => l.startsWith('tailscale_flow_bytes_total{') && l.includes('direction="tx"'));

test('series labels follow a rename, and one device under two node keys is one series', () => {
  const flows = new FlowTotals();
  flows.add(flowRecord('nA', '100.64.0.1', 100));
  // No nodeId: placed by its source address, the same device as nA.
  flows.add({ ...(flowRecord('', '100.64.0.1', 5) as object), nodeId: undefined });
  const collector = makeFlowLogsCollector(() => ({ flows, poll }));
  const before = device({ id: '1', nodeId: 'nA', name: 'a.tail.ts.net', addresses: ['100.64.0.1'] });
  const first = render(collector.collect(refreshData([before])));
  assert.deepEqual(bytesLines(first.text), [
    'tailscale_flow_bytes_total{device_id="1",device_name="a.tail.ts.net",kind="virtual",direction="tx"} 105',
  ]);
  const renamed = { ...before, name: 'b.tail.ts.net' };
  const second = render(collector.collect(refreshData([renamed])));
  assert.deepEqual(bytesLines(second.text), [
    'tailscale_flow_bytes_total{device_id="1",device_name="b.tail.ts.net",kind="virtual",direction="tx"} 105',
  ]);
  assert.equal(second.stats.duplicates, 0);
});

const pairLines = (text: string): string[] =>
  text.split('\n').filter((l) => l.startsWith('tailscale_flow_pair_bytes_total{'));

/** A record of `nodeId` sending `bytes` to `dst`; `peer` is the dstNodes entry that owns dst, if any. */
function pairRecord(nodeId: string, dst: string, bytes: number, peer?: string): unknown {
  return {
    nodeId,
    start: '2026-12-07T00:00:00Z',
    end: '2026-12-07T00:00:05Z',
    dstNodes: peer === undefined ? [] : [{ nodeId: peer, name: `${peer}.`, addresses: [`${dst}/32`] }],
    virtualTraffic: [{ proto: 6, src: '100.64.0.1:1000', dst: `${dst}:443`, txBytes: bytes - 1, rxBytes: 1 }],
  };
}

test('pairs: the top FLOW_LOGS_PAIRS pairs by device and peer, a peer without a device by its address, the rest as other', () => {
  const flows = new FlowTotals(3);
  flows.add(pairRecord('nA', '100.64.0.2', 1000, 'nB'));
  // No dstNodes: the peer is known by address only, and that address is device B's.
  flows.add(pairRecord('nA', '100.64.0.2', 50));
  flows.add(pairRecord('nA', '100.64.0.9', 300));
  flows.add(pairRecord('nB', '100.64.0.1', 10, 'nA'));
  flows.finishWindow();
  const a = device({ id: '1', nodeId: 'nA', name: 'a.tail.ts.net', addresses: ['100.64.0.1'] });
  const b = device({ id: '2', nodeId: 'nB', name: 'b.tail.ts.net', addresses: ['100.64.0.2'] });
  const out = render(makeFlowLogsCollector(() => ({ flows, poll })).collect(refreshData([a, b])));
  assert.deepEqual(pairLines(out.text), [
    'tailscale_flow_pair_bytes_total{device_id="1",device_name="a.tail.ts.net",peer_device_id="2",peer_device_name="b.tail.ts.net"} 1050',
    'tailscale_flow_pair_bytes_total{device_id="1",device_name="a.tail.ts.net",peer_device_id="",peer_device_name="100.64.0.9"} 300',
    'tailscale_flow_pair_bytes_total{device_id="other",device_name="other",peer_device_id="other",peer_device_name="other"} 10',
  ]);
  assert.equal(out.stats.duplicates, 0);
});

test('pairs: off by default, no family at all', () => {
  const flows = new FlowTotals();
  flows.add(pairRecord('nA', '100.64.0.2', 1000, 'nB'));
  flows.finishWindow();
  const out = render(makeFlowLogsCollector(() => ({ flows, poll })).collect(refreshData([])));
  assert.ok(out.text.includes('tailscale_flow_bytes_total{'));
  assert.ok(!out.text.includes('tailscale_flow_pair_bytes_total'));
});

test('pairs: a pair whose two ends are both named other joins the other series instead of duplicating it', () => {
  const flows = new FlowTotals(1);
  // Node keys `other` on both ends label the pair exactly as the other series is labelled.
  flows.add(pairRecord('other', '100.64.0.2', 70, 'other'));
  flows.add(pairRecord('nA', '100.64.0.2', 5));
  flows.finishWindow();
  const out = render(makeFlowLogsCollector(() => ({ flows, poll })).collect(refreshData([])));
  assert.deepEqual(pairLines(out.text), [
    'tailscale_flow_pair_bytes_total{device_id="other",device_name="other",peer_device_id="other",peer_device_name="other"} 75',
  ]);
  assert.equal(out.stats.duplicates, 0);
});

test('before the first device list, series are labelled from the records: nodeId and name, or the address', () => {
  const flows = new FlowTotals(5);
  flows.add({ ...(pairRecord('nA', '100.64.0.2', 100, 'nB') as object), srcNode: { nodeId: 'nA', name: 'a.ts.net.' } });
  // Neither nodeId nor srcNode: the device is its source address.
  flows.add({ ...(pairRecord('', '100.64.0.2', 40) as object), nodeId: undefined });
  flows.finishWindow();
  const out = render(makeFlowLogsCollector(() => ({ flows, poll })).collect(refreshData(undefined)));
  assert.deepEqual(bytesLines(out.text), [
    'tailscale_flow_bytes_total{device_id="nA",device_name="a.ts.net",kind="virtual",direction="tx"} 99',
    'tailscale_flow_bytes_total{device_id="",device_name="100.64.0.1",kind="virtual",direction="tx"} 39',
  ]);
  assert.deepEqual(pairLines(out.text), [
    'tailscale_flow_pair_bytes_total{device_id="nA",device_name="a.ts.net",peer_device_id="nB",peer_device_name="nB"} 100',
    'tailscale_flow_pair_bytes_total{device_id="",device_name="100.64.0.1",peer_device_id="",peer_device_name="100.64.0.2"} 40',
    'tailscale_flow_pair_bytes_total{device_id="other",device_name="other",peer_device_id="other",peer_device_name="other"} 0',
  ]);
});

test('without flow logs configured, the collector has nothing to serve', () => {
  assert.deepEqual(makeFlowLogsCollector(() => undefined).collect(refreshData([])), []);
});

test('many devices are labelled and rendered in pieces of DEVICES_PER_STEP, giving what collect() gives', () => {
  const count = DEVICES_PER_STEP * 2 + 7;
  const flows = new FlowTotals();
  for (let i = 0; i < count; i++) flows.add(flowRecord(`n${i}`, `100.64.${i >> 8}.${i & 255}`, 10));
  const collector = makeFlowLogsCollector(() => ({ flows, poll }));
  const data = refreshData([]);
  const steps = collector.steps!(data);
  let pieces = 1;
  let r = steps.next();
  for (; r.done !== true; r = steps.next()) pieces++;
  // Two passes over the devices (label, then render), each pausing before every DEVICES_PER_STEP-th.
  assert.equal(pieces, 1 + 2 * Math.floor((count - 1) / DEVICES_PER_STEP));
  assert.deepEqual(r.value, collector.collect(data));
  assert.equal(bytesLines(render(r.value).text).length, count);
});

test('every kind of traffic keeps its own tx/rx bytes and packets; a kind with only one counter still has its four series', () => {
  const flows = new FlowTotals();
  flows.add({
    nodeId: 'nK',
    start: '2026-12-07T00:00:00Z',
    end: '2026-12-07T00:00:05Z',
    virtualTraffic: [
      { proto: 6, src: '100.64.0.1:1000', dst: '100.64.0.9:22', txBytes: 11, rxBytes: 12, txPkts: 13, rxPkts: 14 },
    ],
    subnetTraffic: [
      { proto: 17, src: '100.64.0.1:1000', dst: '10.0.0.9:53', txBytes: 21, rxBytes: 22, txPkts: 23, rxPkts: 24 },
    ],
    // Only received packets: a kind with one non-zero counter is still a kind the device had.
    exitTraffic: [{ proto: 6, src: '100.64.0.1:1000', rxPkts: 34 }],
    physicalTraffic: [
      { src: '100.64.0.1:41641', dst: '203.0.113.7:41641', txBytes: 41, rxBytes: 42, txPkts: 43, rxPkts: 44 },
      { src: '100.64.0.1:41641', dst: '127.3.3.40:1', txBytes: 51, rxBytes: 52, txPkts: 53, rxPkts: 54 },
    ],
  });
  const collector = makeFlowLogsCollector(() => ({ flows, poll }));
  const d = device({ id: '7', nodeId: 'nK', name: 'k.tail.ts.net', addresses: ['100.64.0.1'] });
  const { text } = render(collector.collect(refreshData([d])));
  const series = (family: string): string[] =>
    text
      .split('\n')
      .filter((l) => l.startsWith(`${family}{`))
      .map((l) => l.replace(`${family}{device_id="7",device_name="k.tail.ts.net",`, '').replace('} ', ' '));
  assert.deepEqual(series('tailscale_flow_bytes_total'), [
    'kind="virtual",direction="tx" 11',
    'kind="virtual",direction="rx" 12',
    'kind="subnet",direction="tx" 21',
    'kind="subnet",direction="rx" 22',
    'kind="exit",direction="tx" 0',
    'kind="exit",direction="rx" 0',
    'kind="physical_direct",direction="tx" 41',
    'kind="physical_direct",direction="rx" 42',
    'kind="physical_relayed",direction="tx" 51',
    'kind="physical_relayed",direction="rx" 52',
  ]);
  assert.deepEqual(series('tailscale_flow_packets_total'), [
    'kind="virtual",direction="tx" 13',
    'kind="virtual",direction="rx" 14',
    'kind="subnet",direction="tx" 23',
    'kind="subnet",direction="rx" 24',
    'kind="exit",direction="tx" 0',
    'kind="exit",direction="rx" 34',
    'kind="physical_direct",direction="tx" 43',
    'kind="physical_direct",direction="rx" 44',
    'kind="physical_relayed",direction="tx" 53',
    'kind="physical_relayed",direction="rx" 54',
  ]);
  // Protocols (virtual, subnet and exit traffic, both directions), by name.
  assert.deepEqual(
    text.split('\n').filter((l) => l.startsWith('tailscale_flow_protocol_bytes_total{')),
    [
      'tailscale_flow_protocol_bytes_total{protocol="tcp"} 23',
      'tailscale_flow_protocol_bytes_total{protocol="udp"} 43',
    ],
  );
  // Each family says what it counts.
  for (const [family, words] of [
    ['tailscale_flow_bytes_total', 'Bytes of the device'],
    ['tailscale_flow_packets_total', 'Packets of the device'],
    ['tailscale_flow_protocol_bytes_total', 'by IP protocol'],
  ] as const)
    assert.match(text, new RegExp(`^# HELP ${family} .*${words}`, 'm'));
});

test('a device without a nodeId in the list is found by address only; the collector is unsuccessful while its poll fails', () => {
  const flows = new FlowTotals();
  flows.add({ ...(flowRecord('', '100.64.0.3', 9) as object), nodeId: undefined });
  const failing = { state: 'error', durationSeconds: 1, error: 'HTTP 500' } as unknown as LogPollView;
  const collector = makeFlowLogsCollector(() => ({ flows, poll: failing }));
  // nodeId '' must not index the device under '' (a record without nodeId is keyed by its address instead).
  const d = device({ id: '3', nodeId: '', name: 'c.tail.ts.net', addresses: ['100.64.0.3'] });
  assert.deepEqual(bytesLines(render(collector.collect(refreshData([d]))).text), [
    'tailscale_flow_bytes_total{device_id="3",device_name="c.tail.ts.net",kind="virtual",direction="tx"} 9',
  ]);
  assert.equal(collector.source?.(refreshData([d])).ok, false);
  assert.equal(makeFlowLogsCollector(() => undefined).source?.(refreshData([d])).ok, undefined);
});
