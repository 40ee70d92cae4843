import assert from 'node:assert/strict';
import { test } from 'node:test';
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
