// Network flow logs (GET /tailnet/{t}/logging/network, tailscale-facts §6.1) turned into running totals per
// device and kind of traffic. Records are read as the live API sends them: `proto` a number (names are
// accepted too), `:0` for "no port", exit entries without `dst`, a DERP relay as `127.3.3.40:<region>`, the
// undocumented `srcNode`/`dstNodes`; unknown fields are ignored and an odd entry costs that entry only.

export const TRAFFIC_KINDS = ['virtual', 'subnet', 'exit', 'physical_direct', 'physical_relayed'] as const;

/** Counters per kind: tx bytes, tx packets, rx bytes, rx packets. */
const PER_KIND = 4;
export const TX_BYTES = 0;
export const TX_PACKETS = 1;
export const RX_BYTES = 2;
export const RX_PACKETS = 3;

/** The address a DERP-relayed physical entry has as its `dst`, the region id as its port. */
const DERP_RELAY_ADDRESS = '127.3.3.40';

/** IANA protocol numbers of the names the OpenAPI document uses, plus TSMP (Tailscale's rejection notices). */
const PROTOCOLS: ReadonlyMap<number, string> = new Map([
  [1, 'icmp'],
  [2, 'igmp'],
  [4, 'ipv4'],
  [6, 'tcp'],
  [8, 'egp'],
  [9, 'igp'],
  [17, 'udp'],
  [33, 'dccp'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [58, 'ipv6-icmp'],
  [99, 'tsmp'],
  [132, 'sctp'],
]);
const PROTOCOL_NAMES: ReadonlySet<string> = new Set(PROTOCOLS.values());

/** `proto` as a label value: a known name, `unknown` when absent or 0, `other` for anything else. */
export function protocolName(proto: unknown): string {
  if (proto === undefined || proto === null || proto === 0 || proto === '') return 'unknown';
  if (typeof proto === 'number') return PROTOCOLS.get(proto) ?? 'other';
  if (typeof proto === 'string') {
    const lower = proto.toLowerCase();
    if (PROTOCOL_NAMES.has(lower)) return lower;
    return /^\d+$/.test(proto) ? protocolName(Number(proto)) : 'other';
  }
  return 'other';
}

/** The IP of `ip:port` or `[ipv6]:port`; undefined when there is none. The port (`:0` = none) is not needed. */
export function hostOf(addrPort: unknown): string | undefined {
  if (typeof addrPort !== 'string' || addrPort === '') return undefined;
  if (addrPort.startsWith('[')) {
    const close = addrPort.indexOf(']');
    return close > 1 ? addrPort.slice(1, close) : undefined;
  }
  const colon = addrPort.lastIndexOf(':');
  // More than one colon without brackets: a bare IPv6 address.
  if (colon < 0 || addrPort.indexOf(':') !== colon) return addrPort;
  return colon > 0 ? addrPort.slice(0, colon) : undefined;
}

const count = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0);

interface NodeRef {
  readonly nodeId: string;
  readonly name: string;
  readonly addresses: readonly string[];
}

function nodeRef(v: unknown): NodeRef | undefined {
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.nodeId !== 'string' || o.nodeId === '') return undefined;
  return {
    nodeId: o.nodeId,
    name: typeof o.name === 'string' ? o.name.replace(/\.$/, '') : '',
    addresses: Array.isArray(o.addresses)
      ? o.addresses.filter((a): a is string => typeof a === 'string').map((a) => a.replace(/\/\d+$/, ''))
      : [],
  };
}

const entries = (v: unknown): Array<Record<string, unknown>> =>
  Array.isArray(v) ? v.filter((e): e is Record<string, unknown> => e !== null && typeof e === 'object') : [];

/** One device's totals; `name` is what the records called it, for a device no longer in the device list. */
export interface NodeTotals {
  readonly counts: Float64Array;
  name: string;
}

export interface PairTotals {
  bytes: number;
  /** Window number the pair was last among the top N: the least recent goes first when the pairs are capped. */
  lastTop: number;
}

/** What the flowlogs collector renders: read-only views of the running totals. */
export interface FlowView {
  /** Node key (a nodeId, or `addr:<ip>` when a record named no node) -> its totals. */
  readonly nodes: ReadonlyMap<string, NodeTotals>;
  /** Bytes (tx + rx) of virtual, subnet and exit traffic by protocol name. */
  readonly protocolBytes: ReadonlyMap<string, number>;
  /** `${node key}\u0000${peer key}` -> bytes the node exchanged with the peer; empty unless pairs are on. */
  readonly pairs: ReadonlyMap<string, PairTotals>;
  /** Bytes of the pairs outside the top N of their window. */
  readonly otherPairBytes: number;
  readonly pairsOn: boolean;
}

/** Devices tracked at most: past it, new devices' traffic is added to the `other` node. */
const MAX_NODES = 100_000;
export const OTHER_NODE = 'other';

/** Running totals of every flow record counted; they only grow while the process lives (Prometheus counters). */
export class FlowTotals implements FlowView {
  readonly nodes = new Map<string, NodeTotals>();
  readonly protocolBytes = new Map<string, number>();
  readonly pairs = new Map<string, PairTotals>();
  otherPairBytes = 0;
  readonly #pairsTopN: number;
  /** This window's pair bytes, before the top N are picked. */
  #windowPairs = new Map<string, number>();
  #window = 0;

  constructor(pairsTopN = 0) {
    this.#pairsTopN = pairsTopN;
  }

  get pairsOn(): boolean {
    return this.#pairsTopN > 0;
  }

  /** Adds one record (already known to be new); false when it is not a flow record at all. */
  add(raw: unknown): boolean {
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return false;
    const r = raw as Record<string, unknown>;
    const src = nodeRef(r.srcNode);
    const virtual = entries(r.virtualTraffic);
    const nodeId = typeof r.nodeId === 'string' && r.nodeId !== '' ? r.nodeId : src?.nodeId;
    const firstSrc = hostOf(virtual[0]?.src);
    const key = nodeId ?? (firstSrc === undefined ? undefined : `addr:${firstSrc}`);
    if (key === undefined) return false;
    const node = this.#node(key, src?.name ?? '');
    const add = (kind: number, e: Record<string, unknown>): void => {
      const base = kind * PER_KIND;
      node.counts[base + TX_BYTES]! += count(e.txBytes);
      node.counts[base + TX_PACKETS]! += count(e.txPkts);
      node.counts[base + RX_BYTES]! += count(e.rxBytes);
      node.counts[base + RX_PACKETS]! += count(e.rxPkts);
    };
    const byProtocol = (e: Record<string, unknown>): void => {
      const name = protocolName(e.proto);
      this.protocolBytes.set(name, (this.protocolBytes.get(name) ?? 0) + count(e.txBytes) + count(e.rxBytes));
    };
    const peers = this.pairsOn
      ? Array.isArray(r.dstNodes)
        ? r.dstNodes.map(nodeRef).filter((n): n is NodeRef => n !== undefined)
        : []
      : [];
    for (const e of virtual) {
      add(0, e);
      byProtocol(e);
      if (this.pairsOn) this.#pair(key, e, peers);
    }
    for (const e of entries(r.subnetTraffic)) {
      add(1, e);
      byProtocol(e);
    }
    for (const e of entries(r.exitTraffic)) {
      add(2, e);
      byProtocol(e);
    }
    for (const e of entries(r.physicalTraffic)) add(hostOf(e.dst) === DERP_RELAY_ADDRESS ? 4 : 3, e);
    return true;
  }

  #node(key: string, name: string): NodeTotals {
    let node = this.nodes.get(key);
    if (node === undefined) {
      if (this.nodes.size >= MAX_NODES && key !== OTHER_NODE) return this.#node(OTHER_NODE, OTHER_NODE);
      node = { counts: new Float64Array(TRAFFIC_KINDS.length * PER_KIND), name };
      this.nodes.set(key, node);
    } else if (name !== '' && node.name !== name) node.name = name;
    return node;
  }

  #pair(key: string, e: Record<string, unknown>, peers: readonly NodeRef[]): void {
    const dst = hostOf(e.dst);
    if (dst === undefined) return;
    const peer = peers.find((p) => p.addresses.includes(dst));
    const pairKey = `${key}\u0000${peer?.nodeId ?? `addr:${dst}`}`;
    this.#windowPairs.set(pairKey, (this.#windowPairs.get(pairKey) ?? 0) + count(e.txBytes) + count(e.rxBytes));
  }

  /**
   * Ends a window: its top N pairs by bytes are added to their own counters, the rest to `other`. At most
   * 4 N pairs are kept; past that the pair least recently in a top N is dropped (its series ends).
   */
  finishWindow(): void {
    if (!this.pairsOn || this.#windowPairs.size === 0) return;
    this.#window++;
    const ranked = [...this.#windowPairs].sort((a, b) => b[1] - a[1]);
    this.#windowPairs = new Map();
    ranked.forEach(([key, bytes], i) => {
      if (i >= this.#pairsTopN) {
        this.otherPairBytes += bytes;
        return;
      }
      const p = this.pairs.get(key);
      if (p === undefined) this.pairs.set(key, { bytes, lastTop: this.#window });
      else {
        p.bytes += bytes;
        p.lastTop = this.#window;
      }
    });
    const cap = 4 * this.#pairsTopN;
    if (this.pairs.size > cap) {
      const stale = [...this.pairs].sort((a, b) => a[1].lastTop - b[1].lastTop).slice(0, this.pairs.size - cap);
      for (const [key] of stale) this.pairs.delete(key);
    }
  }
}
