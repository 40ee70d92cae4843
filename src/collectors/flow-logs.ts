import { FamilyBuilder, type Labels, type MetricFamily } from '../exposition/family.js';
import type { Device } from '../control/device.js';
import {
  OTHER_NODE,
  RX_BYTES,
  RX_PACKETS,
  TRAFFIC_KINDS,
  TX_BYTES,
  TX_PACKETS,
  type FlowView,
} from '../control/flow-logs.js';
import type { LogPollView } from '../control/log-window.js';
import { deviceLabels, pauseBefore, stepwise, type ListCollector, type ListData } from './collector.js';
import { pollSource } from './log-pollers.js';

// Traffic of every device from the network flow logs (opt-in `flowlogs`): counters per device, kind of
// traffic and direction, labelled like every other device family. A record names its device by nodeId (or
// srcNode); one that names none is placed by its source address, through the device list's addresses.

/** The device list by nodeId and by address, built once per list. */
const indexes = new WeakMap<readonly Device[], { byNodeId: Map<string, Device>; byAddress: Map<string, Device> }>();

function indexOf(devices: readonly Device[]): { byNodeId: Map<string, Device>; byAddress: Map<string, Device> } {
  let index = indexes.get(devices);
  if (index === undefined) {
    index = { byNodeId: new Map(), byAddress: new Map() };
    for (const d of devices) {
      if (d.nodeId !== '') index.byNodeId.set(d.nodeId, d);
      for (const a of d.addresses) index.byAddress.set(a, d);
    }
    indexes.set(devices, index);
  }
  return index;
}

/** Labels of a node key: the device's own when the device list has it, else what the records said. */
export function nodeLabels(
  key: string,
  hint: string,
  devices: readonly Device[] | undefined,
): { readonly device_id: string; readonly device_name: string } {
  const index = devices === undefined ? undefined : indexOf(devices);
  const device = key.startsWith('addr:') ? index?.byAddress.get(key.slice(5)) : index?.byNodeId.get(key);
  if (device !== undefined) return deviceLabels(device);
  if (key === OTHER_NODE) return { device_id: OTHER_NODE, device_name: OTHER_NODE };
  const id = key.startsWith('addr:') ? '' : key;
  return { device_id: id, device_name: hint !== '' ? hint : key.startsWith('addr:') ? key.slice(5) : key };
}

export function makeFlowLogsCollector(
  view: () => { readonly flows: FlowView; readonly poll: LogPollView } | undefined,
): ListCollector {
  return {
    name: 'flowlogs',
    stage: 'list',
    source: () => pollSource(view()?.poll),
    ...stepwise(function* (data: ListData) {
      const v = view();
      if (v === undefined) return [];
      const { flows } = v;
      const bytes = new FamilyBuilder(
        'tailscale_flow_bytes_total',
        'counter',
        "Bytes of the device's traffic in the network flow logs since the exporter started (txBytes, rxBytes of virtualTraffic, subnetTraffic, exitTraffic, physicalTraffic); kind physical_relayed is traffic through a DERP relay (dst 127.3.3.40:<region>).",
      );
      const packets = new FamilyBuilder(
        'tailscale_flow_packets_total',
        'counter',
        "Packets of the device's traffic in the network flow logs since the exporter started (txPkts, rxPkts), by kind and direction.",
      );
      // Two keys may name one device (a record without nodeId is placed by address): their counts are summed.
      const byDevice = new Map<
        string,
        { labels: { readonly device_id: string; readonly device_name: string }; counts: Float64Array }
      >();
      let i = 0;
      for (const [key, node] of flows.nodes) {
        if (pauseBefore(i++)) yield;
        const labels = nodeLabels(key, node.name, data.devices);
        const id = `${labels.device_id}\u0000${labels.device_name}`;
        const seen = byDevice.get(id);
        if (seen === undefined) byDevice.set(id, { labels, counts: node.counts });
        else seen.counts = seen.counts.map((n, j) => n + node.counts[j]!);
      }
      i = 0;
      for (const { labels: device, counts: c } of byDevice.values()) {
        if (pauseBefore(i++)) yield;
        TRAFFIC_KINDS.forEach((kind, k) => {
          const base = k * 4;
          // A kind the device never had stays without series (most devices are no exit node).
          if (
            c[base + TX_BYTES] === 0 &&
            c[base + RX_BYTES] === 0 &&
            c[base + TX_PACKETS] === 0 &&
            c[base + RX_PACKETS] === 0
          )
            return;
          const tx: Labels = { ...device, kind, direction: 'tx' };
          const rx: Labels = { ...device, kind, direction: 'rx' };
          bytes.add(tx, c[base + TX_BYTES]!);
          bytes.add(rx, c[base + RX_BYTES]!);
          packets.add(tx, c[base + TX_PACKETS]!);
          packets.add(rx, c[base + RX_PACKETS]!);
        });
      }
      const families: MetricFamily[] = [bytes.build(), packets.build()];
      const protocols = new FamilyBuilder(
        'tailscale_flow_protocol_bytes_total',
        'counter',
        "Bytes (tx and rx) of virtual, subnet and exit traffic in the flow logs by IP protocol (proto; a number on the wire, named here; tsmp is Tailscale's rejection notice, unknown an absent or 0 proto).",
      );
      for (const [protocol, n] of flows.protocolBytes) protocols.add({ protocol }, n);
      families.push(protocols.build());
      if (flows.pairsOn) {
        const pairs = new FamilyBuilder(
          'tailscale_flow_pair_bytes_total',
          'counter',
          'Bytes (tx and rx) of virtual traffic between a device and a peer, as the device logged them, for the top FLOW_LOGS_PAIRS pairs of each window; all other pairs add to the series with device_id="other".',
        );
        const summed = new Map<string, { labels: Labels; bytes: number }>();
        for (const [key, p] of flows.pairs) {
          const [from = '', to = ''] = key.split('\u0000');
          const a = nodeLabels(from, flows.nodes.get(from)?.name ?? '', data.devices);
          const b = nodeLabels(to, flows.nodes.get(to)?.name ?? '', data.devices);
          const labels = { ...a, peer_device_id: b.device_id, peer_device_name: b.device_name };
          const id = Object.values(labels).join('\u0000');
          const seen = summed.get(id);
          if (seen === undefined) summed.set(id, { labels, bytes: p.bytes });
          else seen.bytes += p.bytes;
        }
        const otherId = [OTHER_NODE, OTHER_NODE, OTHER_NODE, OTHER_NODE].join('\u0000');
        const overflow = summed.get(otherId)?.bytes ?? 0;
        summed.delete(otherId);
        for (const { labels, bytes: n } of summed.values()) pairs.add(labels, n);
        pairs.add(
          { device_id: OTHER_NODE, device_name: OTHER_NODE, peer_device_id: OTHER_NODE, peer_device_name: OTHER_NODE },
          flows.otherPairBytes + overflow,
        );
        families.push(pairs.build());
      }
      return families;
    }),
  };
}
