// A simulated Headscale control server: its REST API (/api/v1 through grpc-gateway) on 127.0.0.1
// plus the client-metrics endpoints of the nodes that serve them, exactly as the Tailscale sim's
// devices serve theirs (one 127.0.X.Y per node, one shared port, same DeviceFleet).
// It stands in for the outside world, so nothing here imports from src/ outside src/sim.
import { randomBytes } from 'node:crypto';
import { increment } from '../shared/counters.js';
import { buildDevice, dnsLabel, EXPORTER_TAG, type SimDevice } from '../shared/device.js';
import { DeviceFleet, type DeviceFault, type FleetStats } from '../shared/device-fleet.js';
import { startHeadscaleApi, type HeadscaleApi, type HeadscaleApiStats, type HeadscaleFault } from './api.js';
import {
  appliedTags,
  isTagged,
  type HeadscaleData,
  type HeadscaleFlavor,
  type HeadscaleTagModel,
  type SimHeadscaleApiKey,
  type SimHeadscaleNode,
  type SimHeadscalePreAuthKey,
  type SimHeadscaleUser,
} from './model.js';
import { headscaleScenario, urlSafe, type HeadscaleNodeSpec, type HeadscaleScenario } from './scenarios.js';
import { cgnatIPv4, keyFrom, loopbackAddress } from '../shared/ids.js';
import { DAY_MS } from '../shared/time.js';

export type { HeadscaleTagModel, SimHeadscaleNode } from './model.js';
export { TAGGED_DEVICES_USER_ID } from './model.js';
export type { HeadscaleScenario } from './scenarios.js';

export interface StartHeadscaleOptions {
  /** Default 'demo'. */
  scenario?: HeadscaleScenario;
  /** Node shape: 'legacy' (0.26–0.27) or 'v028' (0.28+). Default 'v028'. */
  tagModel?: HeadscaleTagModel;
  /** 'v030': the 0.30 (main) API: problem+json errors, null times, tagged nodes without a user. Default 'grpc-gateway'. */
  flavor?: HeadscaleFlavor;
  /** false: no GET /api/v1/health, as before 0.27. Default true. */
  healthEndpoint?: boolean;
  /** Default 0 (ephemeral). */
  apiPort?: number;
  /** Port every node's metrics endpoint uses; default: a free ephemeral port. */
  clientMetricsPort?: number;
  /** Every node metrics endpoint answers after this delay. Default 0. */
  deviceDelayMs?: number;
  /** Clock in ms; default Date.now. Drives expiry checks and counter growth. */
  now?: () => number;
  /** A fixed valid API key (for the standalone sim); a random one in the model's format by default. */
  apiKey?: string;
}

type SimHeadscaleStats = HeadscaleApiStats & FleetStats;

export interface SimHeadscale {
  /** e.g. http://127.0.0.1:40123, no trailing slash; the API lives under /api/v1. */
  readonly url: string;
  /** A valid API key for `Authorization: Bearer <apiKey>` (API key id 1). */
  readonly apiKey: string;
  readonly tagModel: HeadscaleTagModel;
  readonly clientMetricsPort: number;
  /** Live objects: mutate a field and the API reflects it. */
  readonly nodes: SimHeadscaleNode[];
  readonly users: SimHeadscaleUser[];
  readonly preAuthKeys: SimHeadscalePreAuthKey[];
  /** Every API key, the sim's own first; `key` holds each full credential (expired ones get 401). */
  readonly apiKeys: SimHeadscaleApiKey[];
  /** The stored policy text served by GET /api/v1/policy. */
  policy: string;
  /** When false, /api/v1/health fails and /health says "fail". Default true. */
  setDatabaseHealthy(healthy: boolean): void;
  setFault(fault: HeadscaleFault | null): void;
  /** Fault for one node's metrics endpoint (id, hostname or givenName). */
  setDeviceFault(nodeIdOrName: string, fault: DeviceFault | null): void;
  /** Registers a node (next id and addresses); metrics-serving ones start listening first. */
  addNode(spec: HeadscaleNodeSpec): Promise<SimHeadscaleNode>;
  removeNode(nodeIdOrName: string): Promise<void>;
  readonly stats: SimHeadscaleStats;
  close(): Promise<void>;
}

export async function startHeadscale(options: StartHeadscaleOptions = {}): Promise<SimHeadscale> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const model = options.tagModel ?? 'v028';
  const scenario = headscaleScenario(options.scenario ?? 'demo', model, startedAt);
  const ownKey = makeApiKey(model, options.apiKey, startedAt);
  const data: HeadscaleData = {
    users: scenario.users,
    preAuthKeys: scenario.preAuthKeys,
    apiKeys: [
      ownKey,
      ...scenario.apiKeys.map((spec) => ({ ...spec, ...apiKeyCredential(model, `apikey:${spec.id}`) })),
    ],
    nodes: [],
  };
  const factory = new NodeFactory(model, data, startedAt);
  const devices = new Map<SimHeadscaleNode, SimDevice>();
  for (const spec of scenario.nodes) {
    const { node, device } = factory.make(spec);
    data.nodes.push(node);
    if (device !== null) devices.set(node, device);
  }
  const stats: SimHeadscaleStats = {
    requests: new Map(),
    unauthorized: 0,
    scrapes: new Map(),
    faultsInjected: new Map(),
  };
  const fleet = await DeviceFleet.start([...devices.values()], {
    port: options.clientMetricsPort,
    delayMs: options.deviceDelayMs ?? 0,
    now,
    startedAt,
    stats,
  });
  let databaseHealthy = true;
  const policy = { text: defaultPolicy(data), updatedAt: startedAt - 7 * DAY_MS };
  let api: HeadscaleApi;
  try {
    api = await startHeadscaleApi({
      port: options.apiPort ?? 0,
      model,
      flavor: options.flavor ?? 'grpc-gateway',
      healthEndpoint: options.healthEndpoint ?? true,
      now,
      data,
      stats,
      databaseHealthy: () => databaseHealthy,
      policy: () => policy,
      onFault: (kind) => increment(stats.faultsInjected, `api:${kind}`),
    });
  } catch (err) {
    await fleet.close();
    throw err;
  }

  const find = (key: string): SimHeadscaleNode => {
    const node = data.nodes.find((n) => String(n.id) === key || n.hostname === key || n.givenName === key);
    if (node === undefined) throw new Error(`no simulated Headscale node "${key}"`);
    return node;
  };
  let closing: Promise<void> | null = null;
  return {
    url: api.url,
    apiKey: ownKey.key,
    tagModel: model,
    clientMetricsPort: fleet.port,
    nodes: data.nodes,
    users: data.users,
    preAuthKeys: data.preAuthKeys,
    apiKeys: data.apiKeys,
    get policy() {
      return policy.text;
    },
    set policy(text: string) {
      policy.text = text;
      policy.updatedAt = now();
    },
    stats,
    setDatabaseHealthy(healthy) {
      databaseHealthy = healthy;
    },
    setFault: (fault) => api.setFault(fault),
    setDeviceFault(key, fault) {
      const device = devices.get(find(key));
      if (device === undefined) throw new Error(`node "${key}" serves no client metrics`);
      fleet.setFault(device, fault);
    },
    async addNode(spec) {
      if (closing !== null) throw new Error('simulated Headscale is closed');
      const { node, device } = factory.make(spec, now());
      if (device !== null) {
        await fleet.add(device);
        devices.set(node, device);
      }
      data.nodes.push(node);
      return node;
    },
    async removeNode(key) {
      const node = find(key);
      data.nodes.splice(data.nodes.indexOf(node), 1);
      const device = devices.get(node);
      devices.delete(node);
      if (device !== undefined) await fleet.remove(device);
    },
    close() {
      closing ??= Promise.all([api.close(), fleet.close()]).then(() => undefined);
      return closing;
    },
  };
}

/**
 * Turns specs into nodes with Headscale-style sequential ids and addresses (100.64.0.N and
 * fd7a:115c:a1e0::N), except that metrics-serving nodes get a 127.0.X.Y loopback IPv4 instead.
 */
class NodeFactory {
  #nextId = 1;
  #loopbacks = 0;
  readonly #model: HeadscaleTagModel;
  readonly #data: HeadscaleData;
  readonly #startedAt: number;

  constructor(model: HeadscaleTagModel, data: HeadscaleData, startedAt: number) {
    this.#model = model;
    this.#data = data;
    this.#startedAt = startedAt;
  }

  make(spec: HeadscaleNodeSpec, nowMs: number = this.#startedAt): { node: SimHeadscaleNode; device: SimDevice | null } {
    const id = this.#nextId++;
    const seed = `headscale:${id}:${spec.hostname}`;
    const servesMetrics = spec.servesMetrics ?? false;
    const forcedTags = [...(spec.forcedTags ?? [])];
    if (servesMetrics && !forcedTags.includes(EXPORTER_TAG) && !(spec.requestedTags ?? []).includes(EXPORTER_TAG)) {
      forcedTags.unshift(EXPORTER_TAG);
    }
    const loopback = servesMetrics ? loopbackAddress(this.#loopbacks++) : null;
    const userId = this.#userId(spec.user);
    const online = spec.online ?? true;
    const preAuthKeyId = spec.preAuthKeyId ?? null;
    const node: SimHeadscaleNode = {
      id,
      hostname: spec.hostname,
      givenName: spec.givenName ?? dnsLabel(spec.hostname, 'node'),
      userId,
      machineKey: keyFrom('mkey', seed),
      nodeKey: keyFrom('nodekey', seed),
      discoKey: keyFrom('discokey', seed),
      ipAddresses: [loopback ?? cgnatIPv4(id), `fd7a:115c:a1e0::${id.toString(16)}`],
      lastSeen: spec.lastSeen !== undefined ? spec.lastSeen : online ? nowMs - 30_000 : null,
      expiry: 'zero',
      createdAt: spec.createdAt ?? nowMs,
      preAuthKeyId,
      registerMethod:
        spec.registerMethod ?? (preAuthKeyId !== null ? 'REGISTER_METHOD_AUTH_KEY' : 'REGISTER_METHOD_CLI'),
      online,
      availableRoutes: [...(spec.availableRoutes ?? [])],
      approvedRoutes: [...(spec.approvedRoutes ?? [])],
      forcedTags,
      requestedTags: [...(spec.requestedTags ?? [])],
      invalidTags: [...(spec.invalidTags ?? [])],
      servesMetrics,
      loopbackAddress: loopback,
    };
    // 0.28+ clears the expiry of tagged nodes; before, the client's zero request was stored as is.
    node.expiry = spec.expiry !== undefined ? spec.expiry : this.#model === 'v028' && isTagged(node) ? null : 'zero';
    return { node, device: loopback === null ? null : metricsDevice(node, spec, seed, nowMs) };
  }

  #userId(name: string | null): number | null {
    if (name === null) {
      if (this.#model === 'legacy') throw new Error('legacy Headscale nodes always belong to a user');
      return null;
    }
    const user = this.#data.users.find((u) => u.name === name);
    if (user === undefined) throw new Error(`no simulated Headscale user "${name}"`);
    return user.id;
  }
}

/**
 * The SimDevice DeviceFleet serves for a node: counters keyed by the node id, route gauges read
 * live from the node (tailscaled_advertised_routes / _approved_routes follow route changes).
 */
function metricsDevice(node: SimHeadscaleNode, spec: HeadscaleNodeSpec, seed: string, nowMs: number): SimDevice {
  const homeDerpRegionId = spec.homeDerpRegionId ?? 4;
  const base = buildDevice(
    {
      hostname: node.hostname,
      nodeId: String(node.id),
      addresses: [...node.ipAddresses],
      tags: appliedTags(node),
      servesMetrics: true,
      clientMetrics: { homeDerpRegionId, healthWarnings: spec.healthWarnings ?? 0 },
    },
    seed,
    node.id,
    nowMs,
  );
  const device = { ...base, loopbackAddress: node.loopbackAddress } as SimDevice;
  Object.defineProperties(device, {
    advertisedRoutes: { get: () => node.availableRoutes, enumerable: true },
    enabledRoutes: { get: () => node.approvedRoutes, enumerable: true },
  });
  return device;
}

/** The full credential and stored prefix of an API key in the model's format. */
function apiKeyCredential(
  model: HeadscaleTagModel,
  seed: string,
  secretSource?: () => string,
): { prefix: string; key: string } {
  if (model === 'legacy') {
    const prefix = urlSafe(`apikey-prefix:${seed}`, 7);
    return { prefix, key: `${prefix}.${secretSource?.() ?? urlSafe(`apikey-secret:${seed}`, 32)}` };
  }
  const prefix = urlSafe(`apikey-prefix:${seed}`, 12);
  return { prefix, key: `hskey-api-${prefix}-${secretSource?.() ?? urlSafe(`apikey-secret:${seed}`, 64)}` };
}

/** API key id 1, the one the sim hands out: fixed if given, else random in the model's format. */
function makeApiKey(model: HeadscaleTagModel, fixed: string | undefined, startedAt: number): SimHeadscaleApiKey {
  const times = {
    id: 1,
    expiration: startedAt + 80 * DAY_MS,
    createdAt: startedAt - 10 * DAY_MS,
    lastSeen: startedAt - 60_000,
  };
  if (fixed !== undefined) return { ...times, prefix: prefixOf(fixed), key: fixed };
  const salt = randomBytes(8).toString('hex');
  const random = (length: number): string => urlSafe(`${salt}:${randomBytes(16).toString('hex')}`, length);
  const credential = apiKeyCredential(model, `own:${salt}`, () => random(model === 'legacy' ? 32 : 64));
  return { ...times, ...credential };
}

/** The stored prefix of a given key: `hskey-api-<12>-…` or `<7>.…`, else its first 7 characters. */
function prefixOf(key: string): string {
  const modern = /^hskey-api-(.{12})-/.exec(key);
  if (modern?.[1] !== undefined) return modern[1];
  const dot = key.indexOf('.');
  return dot > 0 ? key.slice(0, dot) : key.slice(0, 7);
}

/** A small HuJSON policy naming the scenario's tags, as `headscale policy get` would print it. */
function defaultPolicy(data: HeadscaleData): string {
  const tags = [...new Set(data.nodes.flatMap(appliedTags))].sort();
  const owners = tags.map((tag) => `    "${tag}": ["group:admins"],`).join('\n');
  return [
    '{',
    '  // Simulated Headscale policy',
    '  "groups": { "group:admins": ["ops@"] },',
    '  "tagOwners": {',
    owners,
    '  },',
    '  "acls": [',
    '    { "action": "accept", "src": ["group:admins"], "dst": ["*:*"] },',
    `    { "action": "accept", "src": ["autogroup:member"], "dst": ["${EXPORTER_TAG}:5252"] },`,
    '  ],',
    '}',
    '',
  ].join('\n');
}
