import { boolValue, counter, gauge, type Labels, type MetricFamily } from '../exposition/family.js';
import type { Device } from '../control/device.js';
import type { LocalStatus, PeerStatus } from '../tsnet/localapi.js';
import type { ListCollector } from './collector.js';
import { rfc3339Seconds } from '../util/time.js';

// tsnet mode only: the exporter's own tailscaled sees every peer it has a path to, from the data plane.
// Source: GET /localapi/v0/status of the exporter's tailscaled (ipnstate.Status, field names below).
//
// | Metric | Type | Labels | Meaning and source |
// |---|---|---|---|
// | `tailscale_peer_online` | gauge | device_id, device_name | 1 if the peer is connected to the control plane, as the exporter's node sees it (Peer[].Online). |
// | `tailscale_peer_direct` | gauge | device_id, device_name, derp_region | 1 if the exporter's node reaches the peer directly (Peer[].CurAddr non-empty), 0 if relayed through the DERP region derp_region (Peer[].Relay); absent while there is no path at all. |
// | `tailscale_peer_rx_bytes_total` | counter | device_id, device_name | Bytes the exporter's node received from the peer (Peer[].RxBytes); resets when tailscaled restarts. |
// | `tailscale_peer_tx_bytes_total` | counter | device_id, device_name | Bytes the exporter's node sent to the peer (Peer[].TxBytes); resets when tailscaled restarts. |
// | `tailscale_peer_last_handshake_timestamp_seconds` | gauge | device_id, device_name | Unix time of the last WireGuard handshake with the peer (Peer[].LastHandshake); absent before the first one. |
// | `tsmetrics_tsnet_up` | gauge | - | 1 if the exporter's own tailscaled runs and is logged in (BackendState Running), 0 while it is down or restarting. |
//
// device_id and device_name are those of the API metrics: the peer's stable node ID (Peer[].ID) is the
// API's `nodeId`; a peer the API list does not know (or before the first list) is matched by its MagicDNS
// name (Peer[].DNSName without the trailing dot, the API's `name`), and failing that is labelled with
// device_id = its stable node ID and device_name = its MagicDNS name.

export interface PeerFamilyOptions {
  /** tsmetrics_tsnet_up; by default BackendState === 'Running'. */
  readonly up?: boolean;
}

/**
 * Metric families of the peers in a LocalAPI status. Pure: no I/O, no clock reads. `nowSeconds` is the
 * refresh time, accepted so every collector has the same inputs; no peer family depends on it today.
 */
export function peerFamilies(
  status: LocalStatus | undefined,
  nowSeconds: number,
  deviceIdByNodeId: ReadonlyMap<string, string>,
  deviceNameByNodeId: ReadonlyMap<string, string>,
  options: PeerFamilyOptions = {},
): MetricFamily[] {
  void nowSeconds;
  const up = options.up ?? status?.BackendState === 'Running';
  const upFamily = gauge(
    'tsmetrics_tsnet_up',
    "1 if the exporter's own tailscaled runs and is logged in (tsnet mode).",
    [[{}, boolValue(up)]],
  );
  if (status === undefined) return [upFamily];

  const nodeIdByName = new Map<string, string>();
  for (const [nodeId, name] of deviceNameByNodeId) nodeIdByName.set(name.toLowerCase(), nodeId);

  const online: Array<readonly [Labels, number]> = [];
  const direct: Array<readonly [Labels, number]> = [];
  const rx: Array<readonly [Labels, number]> = [];
  const tx: Array<readonly [Labels, number]> = [];
  const handshake: Array<readonly [Labels, number]> = [];
  // Sorted by node key so the output does not depend on the JSON's key order.
  for (const key of Object.keys(status.Peer).sort()) {
    const peer = status.Peer[key]!;
    const labels = peerLabels(peer, deviceIdByNodeId, deviceNameByNodeId, nodeIdByName);
    if (labels === undefined) continue;
    online.push([labels, boolValue(peer.Online)]);
    if (peer.CurAddr !== '') direct.push([{ ...labels, derp_region: peer.Relay }, 1]);
    else if (peer.Relay !== '') direct.push([{ ...labels, derp_region: peer.Relay }, 0]);
    rx.push([labels, Math.max(0, peer.RxBytes)]);
    tx.push([labels, Math.max(0, peer.TxBytes)]);
    const seconds = rfc3339Seconds(peer.LastHandshake);
    if (seconds !== undefined) handshake.push([labels, seconds]);
  }
  return [
    upFamily,
    gauge(
      'tailscale_peer_online',
      "1 if the peer is connected to the control plane, as the exporter's node sees it (LocalAPI Peer.Online).",
      online,
    ),
    gauge(
      'tailscale_peer_direct',
      "1 if the exporter's node reaches the peer directly (LocalAPI Peer.CurAddr), 0 if relayed through the DERP region derp_region (Peer.Relay).",
      direct,
    ),
    counter(
      'tailscale_peer_rx_bytes_total',
      "Bytes the exporter's node received from the peer (LocalAPI Peer.RxBytes).",
      rx,
    ),
    counter('tailscale_peer_tx_bytes_total', "Bytes the exporter's node sent to the peer (LocalAPI Peer.TxBytes).", tx),
    gauge(
      'tailscale_peer_last_handshake_timestamp_seconds',
      'Unix time of the last WireGuard handshake with the peer (LocalAPI Peer.LastHandshake).',
      handshake,
    ),
  ];
}

/** What the peers collector reads from the tsnet supervisor at collect time. */
export interface TsnetView {
  readonly up: boolean;
  readonly status: LocalStatus | undefined;
}

/**
 * The peer families as a collector. `tsnet` returns undefined outside tsnet mode (then nothing is
 * emitted); its status is the supervisor's last poll, joined with the cycle's API device list.
 */
export function makePeersCollector(tsnet: () => TsnetView | undefined): ListCollector {
  return {
    name: 'tsnet',
    stage: 'list',
    collect(data) {
      const view = tsnet();
      if (view === undefined) return [];
      const { idByNodeId, nameByNodeId } = deviceJoinMaps(data.devices);
      // Two peers may resolve to one API device (e.g. after a re-key): the renderer drops the repeated series.
      return peerFamilies(view.status, data.nowSeconds, idByNodeId, nameByNodeId, { up: view.up });
    },
  };
}

/** nodeId -> device_id and nodeId -> device_name of an API device list, for peerFamilies. */
export function deviceJoinMaps(devices: readonly Pick<Device, 'id' | 'nodeId' | 'name'>[] | undefined): {
  readonly idByNodeId: Map<string, string>;
  readonly nameByNodeId: Map<string, string>;
} {
  const idByNodeId = new Map<string, string>();
  const nameByNodeId = new Map<string, string>();
  for (const d of devices ?? []) {
    if (d.nodeId === '') continue;
    idByNodeId.set(d.nodeId, d.id);
    nameByNodeId.set(d.nodeId, d.name);
  }
  return { idByNodeId, nameByNodeId };
}

function peerLabels(
  peer: PeerStatus,
  idByNodeId: ReadonlyMap<string, string>,
  nameByNodeId: ReadonlyMap<string, string>,
  nodeIdByName: ReadonlyMap<string, string>,
): Labels | undefined {
  const dnsName = peer.DNSName.replace(/\.$/, '');
  const nodeId = idByNodeId.has(peer.ID)
    ? peer.ID
    : dnsName !== ''
      ? nodeIdByName.get(dnsName.toLowerCase())
      : undefined;
  if (nodeId !== undefined) {
    const id = idByNodeId.get(nodeId);
    const name = nameByNodeId.get(nodeId);
    if (id !== undefined && name !== undefined) return { device_id: id, device_name: name };
  }
  const name = dnsName !== '' ? dnsName : peer.HostName;
  if (peer.ID === '' && name === '') return undefined;
  return { device_id: peer.ID !== '' ? peer.ID : name, device_name: name !== '' ? name : peer.ID };
}
