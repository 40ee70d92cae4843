// Network flow log records of the simulated devices (tailscale-facts §6.1), made from the same counters
// their client metrics serve: the physical bytes and packets of a record are what the device's
// tailscaled_{in,out}bound_{bytes,packets}_total{path} grew by over the record's period, and its virtual,
// subnet and exit entries share out the same totals. Every device logs one record per period; a record is
// logged (and becomes visible) seconds to minutes after its period ends, a few of them later than the
// default lag, so a window already read gains records. Wire shape as the live API sends it: numeric
// `proto`, `:0` for no port, exit entries without `dst`, DERP relays as 127.3.3.40:<region>, `srcNode` and
// `dstNodes`, empty lists left out.
import { isExitRoute, type SimDevice } from '../shared/device.js';
import { fnv1a32 } from '../../util/fnv.js';
import { trafficCounter, type TrafficPath } from '../shared/client-metrics.js';
import { HOUR_MS, isoTimeMillis } from '../shared/time.js';

/** One record per device per minute by default (the live clients log every few seconds; see README). */
const DEFAULT_FLOW_PERIOD_MS = 60_000;
/** Records exist from an hour before the simulation started: a fresh exporter has a window to read. */
const FLOW_HISTORY_MS = HOUR_MS;
/** The latest a record is logged after its period ends (within the default lag plus look-back). */
export const MAX_FLOW_DELAY_MS = 240_000;

export interface SimFlowRecord {
  /** Unix ms of start and of logging (when the API starts returning it). */
  readonly startMs: number;
  readonly loggedMs: number;
  readonly nodeId: string;
  /** The JSON object the API serves. */
  readonly json: Record<string, unknown>;
}

const RELAY = '127.3.3.40';

/** How long after its period ends record `k` of a device is logged: mostly seconds, 1 in 20 beyond 2 minutes. */
function flowDelayMs(nodeId: string, k: number): number {
  const h = fnv1a32(`${nodeId}#${k}`);
  const r = h % 100;
  if (r < 80) return 2_000 + ((h >>> 8) % 10_000);
  if (r < 95) return 30_000 + ((h >>> 8) % 70_000);
  return 150_000 + ((h >>> 8) % (MAX_FLOW_DELAY_MS - 150_000));
}

/** `total` cut into integer parts by `weights`; the parts add up to `total` exactly. */
function split(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const parts = weights.map((w) => Math.floor((total * w) / sum));
  parts[parts.length - 1]! += total - parts.reduce((a, b) => a + b, 0);
  return parts;
}

function nodeJson(d: SimDevice): Record<string, unknown> {
  return {
    nodeId: d.nodeId,
    name: `${d.name}.`,
    addresses: d.addresses.map((a) => (a.includes(':') ? `${a}/128` : `${a}/32`)),
    os: d.os,
    user: d.user,
    ...(d.tags === undefined ? {} : { tags: d.tags }),
  };
}

type Dir = 'outBytes' | 'outPackets' | 'inBytes' | 'inPackets';

export class SimFlowLogs {
  readonly #startedAt: number;
  readonly #periodMs: number;

  constructor(startedAt: number, periodMs = DEFAULT_FLOW_PERIOD_MS) {
    this.#startedAt = startedAt;
    this.#periodMs = periodMs;
  }

  get periodMs(): number {
    return this.#periodMs;
  }

  /** Devices that log: connected and of this tailnet. */
  static logs(d: SimDevice): boolean {
    return d.connectedToControl && !d.isExternal;
  }

  /**
   * Every record whose start lies in [fromMs, toMs) and whose period has ended by `nowMs`, visible or not
   * (the caller filters by loggedMs), in time order.
   */
  records(devices: readonly SimDevice[], fromMs: number, toMs: number, nowMs: number): SimFlowRecord[] {
    const out: SimFlowRecord[] = [];
    const P = this.#periodMs;
    const from = Math.max(fromMs, this.#startedAt - FLOW_HISTORY_MS);
    devices.forEach((d, i) => {
      if (!SimFlowLogs.logs(d)) return;
      const anchor = this.#startedAt - (fnv1a32(d.nodeId) % P);
      for (let k = Math.ceil((from - anchor) / P); anchor + k * P < toMs; k++) {
        const start = anchor + k * P;
        if (start + P > nowMs) break;
        out.push(this.#record(devices, d, i, k, start));
      }
    });
    return out.sort((a, b) => a.startMs - b.startMs);
  }

  #record(devices: readonly SimDevice[], d: SimDevice, index: number, k: number, start: number): SimFlowRecord {
    const end = start + this.#periodMs;
    const loggedMs = end + flowDelayMs(d.nodeId, k);
    const delta = (dir: Dir, path: TrafficPath): number =>
      trafficCounter(d.nodeId, dir, path, (end - this.#startedAt) / 1000) -
      trafficCounter(d.nodeId, dir, path, (start - this.#startedAt) / 1000);
    const own = d.addresses[0] ?? '100.64.0.1';
    const peers = [devices[(index + 1) % devices.length], devices[(index + 7) % devices.length]].filter(
      (p): p is SimDevice => p !== undefined && p !== d,
    );
    const peerAddr = (j: number): string => peers[j % Math.max(1, peers.length)]?.addresses[0] ?? '100.100.100.100';

    // Physical traffic: one entry per path, exactly the device's own counters.
    const host = (index % 250) + 1;
    const physicalDst: Record<TrafficPath, string> = {
      direct_ipv4: `203.0.113.${host}:41641`,
      direct_ipv6: `[2001:db8::${host.toString(16)}]:41641`,
      derp: `${RELAY}:${d.clientMetrics.homeDerpRegionId}`,
      peer_relay_ipv4: `198.51.100.${host}:40000`,
    };
    const totals = { outBytes: 0, outPackets: 0, inBytes: 0, inPackets: 0 };
    const physicalTraffic: Array<Record<string, unknown>> = [];
    for (const path of Object.keys(physicalDst) as TrafficPath[]) {
      const e = {
        txBytes: delta('outBytes', path),
        txPkts: delta('outPackets', path),
        rxBytes: delta('inBytes', path),
        rxPkts: delta('inPackets', path),
      };
      totals.outBytes += e.txBytes;
      totals.outPackets += e.txPkts;
      totals.inBytes += e.rxBytes;
      totals.inPackets += e.rxPkts;
      physicalTraffic.push({ src: `${own}:0`, dst: physicalDst[path], ...e });
    }

    // The same totals as what travelled inside the tunnels: to peers, to a subnet, through the exit node.
    const routes = d.enabledRoutes ?? [];
    const subnet = routes.find((r) => !isExitRoute(r) && !r.includes(':'));
    const exit = routes.some(isExitRoute);
    const shares = [0.6, 0.3, 0.1, subnet === undefined ? 0 : 0.3, exit ? 0.2 : 0];
    const weights = shares.filter((w) => w > 0);
    const cut = (dir: Dir): number[] => split(totals[dir], weights);
    const [txB, txP, rxB, rxP] = [cut('outBytes'), cut('outPackets'), cut('inBytes'), cut('inPackets')];
    const entry = (j: number): { txBytes: number; txPkts: number; rxBytes: number; rxPkts: number } => ({
      txBytes: txB[j]!,
      txPkts: txP[j]!,
      rxBytes: rxB[j]!,
      rxPkts: rxP[j]!,
    });
    const port = 40_000 + (fnv1a32(`${d.nodeId}:${k}`) % 20_000);
    const virtualTraffic = [
      { proto: 6, src: `${own}:${port}`, dst: `${peerAddr(0)}:443`, ...entry(0) },
      { proto: 17, src: `${own}:${port + 1}`, dst: `${peerAddr(1)}:53`, ...entry(1) },
      { proto: 1, src: `${own}:0`, dst: `${peerAddr(0)}:0`, ...entry(2) },
    ];
    // The subnet share (if any) follows the three virtual ones, then the exit share.
    const exitIndex = subnet === undefined ? 3 : 4;
    const subnetTraffic =
      subnet === undefined
        ? []
        : [
            {
              proto: 6,
              src: `${peerAddr(0)}:${port}`,
              dst: `${subnet.split('/')[0]!.replace(/\.\d+$/, '.5')}:443`,
              ...entry(3),
            },
          ];
    const exitTraffic = exit ? [{ src: `${own}:0`, ...entry(exitIndex) }] : [];

    const json: Record<string, unknown> = {
      logged: isoTimeMillis(loggedMs),
      nodeId: d.nodeId,
      start: isoTimeMillis(start),
      end: isoTimeMillis(end),
      srcNode: nodeJson(d),
      ...(peers.length === 0 ? {} : { dstNodes: peers.map(nodeJson) }),
      virtualTraffic,
      ...(subnetTraffic.length === 0 ? {} : { subnetTraffic }),
      ...(exitTraffic.length === 0 ? {} : { exitTraffic }),
      physicalTraffic,
    };
    return { startMs: start, loggedMs, nodeId: d.nodeId, json };
  }
}
