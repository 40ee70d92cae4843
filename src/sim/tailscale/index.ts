// A whole simulated tailnet: the fake API plus every device's client-metrics endpoint, on loopback.
// It stands in for the outside world, so nothing here imports from src/ outside src/sim.
import { randomBytes } from 'node:crypto';
import { ApiState } from './api-state.js';
import { increment } from '../shared/counters.js';
import { buildDevice, deviceMatches, type SimDevice, type SimDeviceSpec } from '../shared/device.js';
import {
  apiKeyIdOf,
  scenarioDirectory,
  SIM_OIDC_ISSUER,
  SIM_OIDC_SUBJECT,
  type SimDns,
  type SimKey,
  type SimService,
  type SimSettings,
  type SimUser,
} from './directory.js';
import { startFakeApi, type ApiFault, type ApiStats, type FakeApi, type SimLogs } from './api.js';
import { SimFlowLogs } from './flow-logs.js';
import { SimAuditLog, type AuditSources } from './audit-log.js';
import { DeviceFleet, type DeviceFault, type FleetStats } from '../shared/device-fleet.js';
import { loopbackAddress, tailnetIPv6 } from '../shared/ids.js';
import { mintIdToken, type IdTokenClaims } from './jwt.js';
import { standardServiceHosts, type SimIntegrations } from './integrations.js';
import { defaultPolicy, demoPolicy, type PolicyDocument, type PolicyObject } from './policy.js';
import { scenarioDevices, type Scenario } from './scenarios.js';
import { DeviceChurn } from './churn.js';

export type { ApiFault } from './api.js';
export { API_ENDPOINTS, FORBIDDEN_MESSAGE } from './api.js';
export type { DeviceFault } from '../shared/device-fleet.js';
export type { SimDevice } from '../shared/device.js';

export interface StartTailnetOptions {
  scenario?: Scenario;
  /** Port every device endpoint uses; default: a free ephemeral port. */
  clientMetricsPort?: number;
  /** Default 0 (ephemeral). */
  apiPort?: number;
  /** Every device endpoint answers after this delay (for benchmarks). Default 0. */
  deviceDelayMs?: number;
  /** Clock in ms; default Date.now. Drives token expiry and counter growth. */
  now?: () => number;
  /** Fixed credentials (for the standalone sim); random ones by default. */
  credentials?: { clientId?: string; clientSecret?: string; apiKey?: string; federatedClientId?: string };
  /** What the OAuth client is granted (see SimTailnet.setGrantedScopes); default `["all:read"]`. */
  grantedScopes?: readonly string[] | 'all';
  /** Start with the ids-only `/keys` list (see SimTailnet.setKeyListIdsOnly). */
  keyListIdsOnly?: boolean;
  /**
   * False: the device endpoints are not bound. The benchmark serves the same scenario's devices from a
   * second process, so building a 10,000-device list never stalls the devices' answers (in a real tailnet
   * the control plane and the devices are different machines).
   */
  serveDevices?: boolean;
  /** Each device logs one flow record per this many ms (default one a minute). */
  flowLogPeriodMs?: number;
  /**
   * Fraction 0..1 of the devices whose device-list entry changes before each device-list answer, in turn (see
   * churn.ts: connections dropped and regained, new DERP latencies). Default 0: the list is the same every time.
   */
  churn?: number;
}

type SimStats = ApiStats & FleetStats;

export interface SimTailnet {
  /** e.g. http://127.0.0.1:40123, no trailing slash; the API lives under /api/v2. */
  readonly apiUrl: string;
  /** The API accepts this name and "-". */
  readonly tailnet: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** A valid API access token, usable as Basic username or Bearer. */
  readonly apiKey: string;
  /** Client id of a federated identity (scopes all:read) for workload identity federation. */
  readonly federatedClientId: string;
  /**
   * A signed (not verifiable) OIDC ID token the token exchange accepts for federatedClientId: audience
   * api.tailscale.com/<id>, the simulated issuer and subject, valid for an hour; `claims` override any of it.
   */
  mintIdToken(claims?: Partial<IdTokenClaims>, options?: { alg?: 'HS256' | 'none' }): string;
  readonly clientMetricsPort: number;
  /** Live objects: mutate a field and the API reflects it. */
  readonly devices: SimDevice[];
  /**
   * Live users as the directory lists them; `/users` adds one member per device login missing here
   * and computes `deviceCount` / `currentlyConnected` from the devices unless set on the user.
   */
  readonly users: SimUser[];
  /** Live keys (auth keys, API tokens, the OAuth client, a federated identity). */
  readonly keys: SimKey[];
  /** Live Tailscale Services. */
  readonly services: SimService[];
  /** Live DNS configuration behind the four `/dns/*` endpoints. */
  readonly dns: SimDns;
  /** Live tailnet settings; booleans may be null. */
  readonly settings: SimSettings;
  /** Live integration health: log streams (a missing log type answers 404), posture integrations, service hosts, webhooks. */
  readonly integrations: SimIntegrations;
  /** The current policy file: JSON form, HuJSON text and ETag. */
  readonly policy: PolicyDocument;
  /** Replaces the policy file (an object, rendered as HuJSON, or HuJSON text); the ETag changes with it. */
  setPolicy(policy: PolicyObject | string): void;
  /** What the OAuth client is granted; default `["all:read"]`. */
  readonly grantedScopes: readonly string[];
  /**
   * Limits what the OAuth client may grant (`'all'` = the `all` scope). Takes effect for tokens
   * already issued too: a token works only for scopes it carries and its client is still granted.
   */
  setGrantedScopes(scopes: readonly string[] | 'all'): void;
  /** When on, `/keys` lists only `{id}` per key (the old documented shape). Default off. */
  setKeyListIdsOnly(on: boolean): void;
  /** When off, `/keys` leaves out revoked and expired keys, as "active keys" suggests. Default on. */
  setKeyListIncludesInvalid(on: boolean): void;
  /** When on, devices are listed without `connectedToControl` (Headscale's /api/v2 shape). Default off. */
  setDevicesWithoutConnectedToControl(on: boolean): void;
  setApiFault(fault: ApiFault | null): void;
  setDeviceFault(deviceNodeIdOrName: string, fault: DeviceFault | null): void;
  addDevice(partial: Partial<SimDeviceSpec>): Promise<SimDevice>;
  removeDevice(idOrName: string): Promise<void>;
  readonly stats: SimStats;
  /**
   * Network flow logs (made from the devices' own traffic counters) and the audit log; `supported = false`
   * makes both endpoints answer 404, settings.networkFlowLoggingOn = false makes flow logs empty.
   */
  readonly logs: SimLogs;
  close(): Promise<void>;
}

const SIM_TAILNET_NAME = 'example.com';

export async function startTailnet(options: StartTailnetOptions = {}): Promise<SimTailnet> {
  const now = options.now ?? Date.now;
  const startedAt = now();
  const stats: SimStats = {
    tokenRequests: 0,
    deviceListRequests: 0,
    routeRequests: 0,
    requests: new Map(),
    forbidden: new Map(),
    scrapes: new Map(),
    faultsInjected: new Map(),
  };
  const scenario = options.scenario ?? 'demo';
  const churn = new DeviceChurn(options.churn ?? 0, now);
  const factory = new DeviceFactory(startedAt);
  const devices = scenarioDevices(scenario, startedAt).map((p) => factory.make(p));
  const fleet = await DeviceFleet.start(options.serveDevices === false ? [] : devices, {
    port: options.clientMetricsPort,
    delayMs: options.deviceDelayMs ?? 0,
    now,
    startedAt,
    stats,
  });
  const credentials = makeCredentials(options.credentials);
  const ids = {
    clientId: credentials.clientId,
    apiKeyId: apiKeyIdOf(credentials.apiKey),
    federatedClientId: credentials.federatedClientId,
  };
  const state = new ApiState(
    scenarioDirectory(scenario, SIM_TAILNET_NAME, startedAt, ids),
    scenario === 'demo' || scenario === 'edge-cases' ? demoPolicy() : defaultPolicy(),
    ids,
  );
  state.directory.integrations.serviceHosts = standardServiceHosts(
    state.directory.services.map((svc) => svc.name),
    devices.map((d) => d.nodeId),
  );
  if (options.grantedScopes !== undefined) state.setGrantedScopes(options.grantedScopes);
  const auditSources = (): AuditSources => ({
    policyEtag: state.policy.etag,
    keys: state.directory.keys,
    devices,
    users: state.directory.users,
    settings: state.directory.settings,
  });
  const logs: SimLogs = {
    flow: new SimFlowLogs(startedAt, options.flowLogPeriodMs),
    audit: new SimAuditLog(SIM_TAILNET_NAME, startedAt, auditSources()),
    supported: true,
    auditSources,
  };
  state.keyListIdsOnly = options.keyListIdsOnly ?? false;
  let api: FakeApi;
  try {
    api = await startFakeApi({
      port: options.apiPort ?? 0,
      tailnet: SIM_TAILNET_NAME,
      ...credentials,
      now,
      devices: () => devices,
      beforeDeviceList: () => churn.step(devices),
      state,
      stats,
      onFault: (kind) => increment(stats.faultsInjected, `api:${kind}`),
      logs,
    });
  } catch (err) {
    await fleet.close();
    throw err;
  }
  return assemble({ api, fleet, devices, factory, state, stats, credentials, now, logs });
}

interface Parts {
  readonly api: FakeApi;
  readonly fleet: DeviceFleet;
  readonly devices: SimDevice[];
  readonly factory: DeviceFactory;
  readonly state: ApiState;
  readonly stats: SimStats;
  readonly credentials: Required<NonNullable<StartTailnetOptions['credentials']>>;
  readonly now: () => number;
  readonly logs: SimLogs;
}

function assemble({ api, fleet, devices, factory, state, stats, credentials, now, logs }: Parts): SimTailnet {
  // Changes made through these methods are in the audit log at once, stamped with the time they happened.
  const audited = <T>(change: () => T): T => {
    logs.audit.observe(now(), logs.auditSources());
    const result = change();
    logs.audit.observe(now(), logs.auditSources());
    return result;
  };
  const find = (key: string): SimDevice => {
    const device = devices.find((d) => deviceMatches(d, key));
    if (device === undefined) throw new Error(`no simulated device "${key}"`);
    return device;
  };
  let closing: Promise<void> | null = null;
  return {
    apiUrl: api.url,
    tailnet: SIM_TAILNET_NAME,
    ...credentials,
    mintIdToken(claims = {}, options = {}) {
      const nowSeconds = Math.floor(now() / 1000);
      const defaults: IdTokenClaims = {
        iss: SIM_OIDC_ISSUER,
        sub: SIM_OIDC_SUBJECT,
        aud: `api.tailscale.com/${credentials.federatedClientId}`,
        iat: nowSeconds,
        exp: nowSeconds + 3600,
      };
      return mintIdToken({ ...defaults, ...claims }, options);
    },
    clientMetricsPort: fleet.port,
    devices,
    stats,
    users: state.directory.users,
    keys: state.directory.keys,
    services: state.directory.services,
    dns: state.directory.dns,
    settings: state.directory.settings,
    integrations: state.directory.integrations,
    get policy() {
      return state.policy;
    },
    setPolicy: (policy) => audited(() => state.setPolicy(policy)),
    logs,
    get grantedScopes() {
      return state.grantedScopes;
    },
    setGrantedScopes: (scopes) => state.setGrantedScopes(scopes),
    setKeyListIdsOnly: (on) => {
      state.keyListIdsOnly = on;
    },
    setKeyListIncludesInvalid: (on) => {
      state.keyListIncludesInvalid = on;
    },
    setDevicesWithoutConnectedToControl: (on) => {
      state.devicesWithoutConnectedToControl = on;
    },
    setApiFault: (fault) => api.setFault(fault),
    setDeviceFault: (key, fault) => fleet.setFault(find(key), fault),
    async addDevice(partial) {
      if (closing !== null) throw new Error('simulated tailnet is closed');
      const device = factory.make(partial, now());
      await fleet.add(device);
      audited(() => devices.push(device));
      return device;
    },
    async removeDevice(key) {
      const device = find(key);
      audited(() => devices.splice(devices.indexOf(device), 1));
      await fleet.remove(device);
    },
    close() {
      closing ??= Promise.all([api.close(), fleet.close()]).then(() => undefined);
      return closing;
    },
  };
}

/** Numbers devices so ids and loopback addresses stay unique across scenario and later additions. */
class DeviceFactory {
  #index = 0;
  #loopbacks = 0;
  readonly #startedAt: number;

  constructor(startedAt: number) {
    this.#startedAt = startedAt;
  }

  make(partial: Partial<SimDeviceSpec>, nowMs: number = this.#startedAt): SimDevice {
    const index = this.#index++;
    const spec = buildDevice(partial, `sim-${index}`, index, nowMs);
    if (!spec.servesMetrics) return { ...spec, loopbackAddress: null };
    const address = loopbackAddress(this.#loopbacks++);
    const ipv6 = spec.addresses.find((a) => a.includes(':')) ?? tailnetIPv6(index);
    return { ...spec, addresses: [address, ipv6], loopbackAddress: address };
  }
}

function makeCredentials(fixed: StartTailnetOptions['credentials'] = {}): Parts['credentials'] {
  const clientId = fixed.clientId ?? randomKeyId();
  return {
    clientId,
    clientSecret: fixed.clientSecret ?? `tskey-client-${clientId}-${randomBytes(16).toString('hex')}`,
    apiKey: fixed.apiKey ?? `tskey-api-${randomKeyId()}-${randomBytes(16).toString('hex')}`,
    federatedClientId: fixed.federatedClientId ?? randomKeyId(),
  };
}

/** A random key id in the control plane's shape (`k` + 12 hex + "CNTRL"), unlike stableId's seeded ones. */
function randomKeyId(): string {
  return `k${randomBytes(6).toString('hex')}CNTRL`;
}
