import type { CollectorName } from '../config/schema.js';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { TailscaleApi } from '../tailscale/api.js';
import {
  EMPTY_INVENTORY,
  fetchDns,
  fetchKeys,
  fetchPolicy,
  fetchServices,
  fetchSettings,
  fetchUsers,
  type InventoryData,
  type Policy,
  type ResourceState,
} from '../tailscale/inventory.js';

export { EMPTY_INVENTORY, type InventoryData } from '../tailscale/inventory.js';
import { fetchApiKeys, fetchHeadscaleHealth, fetchHeadscaleUsers, fetchPreAuthKeys } from '../tailscale/headscale.js';
import {
  fetchLogStreams,
  fetchPostureIntegrations,
  fetchServiceHosts,
  fetchWebhooks,
} from '../tailscale/monitoring.js';

// Fetches the slowly changing inventory on its own interval (INVENTORY_INTERVAL), each resource on its
// own: a failure or a missing OAuth scope (403) costs that resource only, and keeps its last good data.

/** The OAuth scope each collector needs (README: least-privilege scopes). */
export const COLLECTOR_SCOPES: Readonly<Record<CollectorName, string>> = {
  devices: 'devices:core:read (and devices:routes:read, devices:posture_attributes:read)',
  client_metrics: 'none (reaches devices on tcp:5252)',
  users: 'users:read',
  keys: 'auth_keys:read, api_access_tokens:read, oauth_keys:read, federated_keys:read (each adds its key type)',
  settings: 'feature_settings:read',
  dns: 'dns:read',
  services: 'services:read',
  policy: 'policy_file:read',
  preauthkeys: 'a Headscale API key (no scopes)',
  apikeys: 'a Headscale API key (no scopes)',
  logstream: 'log_streaming:read',
  posture_integrations: 'feature_settings:read',
  service_hosts: 'services:read and devices:core:read',
  webhooks: 'webhooks:read',
  flowlogs: 'logs:network:read',
  audit: 'logs:configuration:read',
};

type Resource = keyof InventoryData;

/** Health signals: fetched on every refresh cycle, not on INVENTORY_INTERVAL. */
const EVERY_CYCLE: ReadonlySet<Resource> = new Set(['headscaleHealth']);

/** Resources fetched for a public collector name other than their own (the backend decides which exist). */
const ALSO_FOR: Readonly<Record<string, readonly Resource[]>> = {
  users: ['headscaleUsers'],
  devices: ['headscaleHealth'],
  posture_integrations: ['postureIntegrations'],
  service_hosts: ['serviceHosts'],
};

/** The public collector name of a resource, for messages about scopes. */
function collectorOf(resource: Resource): string {
  return Object.entries(ALSO_FOR).find(([, resources]) => resources.includes(resource))?.[0] ?? resource;
}

/** Data that says the API answered 404 for it: not configured, not on this plan, or a missing scope. */
function unavailable(data: unknown): boolean {
  const flag = (d: unknown): boolean =>
    d !== null && typeof d === 'object' && (d as { available?: unknown }).available === false;
  return Array.isArray(data) ? data.length > 0 && data.every(flag) : flag(data);
}

export class Inventory {
  readonly #api: TailscaleApi;
  readonly #enabled: readonly Resource[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #state: { -readonly [K in Resource]: InventoryData[K] } = { ...EMPTY_INVENTORY };
  #lastRunMs: number | undefined;
  readonly #warnedScope = new Set<string>();
  readonly #notedUnavailable = new Set<string>();

  readonly #fetchers: Partial<Fetchers>;

  /** `backend` picks the resources: the Tailscale inventory, or Headscale's users and keys. */
  constructor(o: {
    api: TailscaleApi;
    enabled: readonly string[];
    intervalMs: number;
    log: Logger;
    now?: () => number;
    backend?: 'tailscale' | 'headscale';
  }) {
    this.#api = o.api;
    this.#fetchers = o.backend === 'headscale' ? HEADSCALE_FETCHERS : TAILSCALE_FETCHERS;
    // COLLECTORS names the collector `users` for both backends; Headscale's users are their own resource.
    const wanted = o.enabled.flatMap((c) => [c, ...(ALSO_FOR[c] ?? [])]);
    this.#enabled = (Object.keys(this.#fetchers) as Resource[]).filter((r) => wanted.includes(r));
    this.#intervalMs = o.intervalMs;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
  }

  current(): InventoryData {
    return { ...this.#state };
  }

  /**
   * Fetches every enabled resource when the interval has passed since the last round, and the health
   * signals (EVERY_CYCLE) on every call; never rejects.
   */
  async refreshIfDue(signal?: AbortSignal): Promise<void> {
    const now = this.#now();
    const due = this.#lastRunMs === undefined || now - this.#lastRunMs >= this.#intervalMs;
    const resources = this.#enabled.filter((r) => due || EVERY_CYCLE.has(r));
    if (resources.length === 0) return;
    if (due) this.#lastRunMs = now;
    await Promise.all(resources.map((r) => this.#refresh(r, signal)));
  }

  async #refresh(resource: Resource, signal?: AbortSignal): Promise<void> {
    const started = performance.now();
    const nowSeconds = Math.floor(this.#now() / 1000);
    const previous = this.#state[resource];
    try {
      const data = await this.#fetchers[resource]!(this.#api, signal, nowSeconds, previous.data as never);
      const durationSeconds = (performance.now() - started) / 1000;
      if (!unavailable(data)) this.#notedUnavailable.delete(resource);
      else if (!this.#notedUnavailable.has(resource)) {
        this.#notedUnavailable.add(resource);
        const collector = collectorOf(resource);
        const scope = collector in COLLECTOR_SCOPES ? COLLECTOR_SCOPES[collector as CollectorName] : 'the read scope';
        this.#log.info(
          { collector, scope },
          `the Tailscale API answered 404 for the ${collector} collector: not configured, not on this plan, or the OAuth client lacks ${scope}; it exports nothing until that changes`,
        );
      }
      if (resource === 'policy') {
        const before = previous.data as Policy | undefined;
        const changed = before === undefined || before.hash !== (data as Policy).hash;
        this.#state.policy = {
          data: data as Policy,
          ok: true,
          durationSeconds,
          changedAtSeconds: changed ? nowSeconds : (previous.changedAtSeconds ?? nowSeconds),
        };
      } else {
        (this.#state as Record<Resource, ResourceState<unknown>>)[resource] = { data, ok: true, durationSeconds };
      }
      if (previous.ok === false) this.#log.info({ collector: resource }, 'collector recovered');
    } catch (err) {
      if (signal?.aborted) return;
      const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
      (this.#state as Record<Resource, ResourceState<unknown>>)[resource] = {
        ...previous,
        ok: false,
        durationSeconds: (performance.now() - started) / 1000,
        error: message,
      };
      if (err instanceof ApiError && err.status === 403) {
        if (!this.#warnedScope.has(resource)) {
          this.#warnedScope.add(resource);
          const collector = collectorOf(resource);
          const scope = collector in COLLECTOR_SCOPES ? COLLECTOR_SCOPES[collector as CollectorName] : 'the read scope';
          this.#log.error(
            { collector, scope },
            `the Tailscale API refused the ${collector} collector (403): grant the OAuth client ${scope} or all:read, or turn the collector off with COLLECTORS`,
          );
        }
      } else if (previous.ok !== false) {
        this.#log.warn({ collector: resource, err: message }, 'collector failed; keeping its last good data');
      }
    }
  }
}

type Fetchers = {
  [K in Resource]: (
    api: TailscaleApi,
    signal: AbortSignal | undefined,
    nowSeconds: number,
    previous: InventoryData[K]['data'],
  ) => Promise<NonNullable<InventoryData[K]['data']>>;
};

const HEADSCALE_FETCHERS: Partial<Fetchers> = {
  headscaleUsers: (api, signal) => fetchHeadscaleUsers(api, signal),
  preauthkeys: (api, signal) => fetchPreAuthKeys(api, signal),
  apikeys: (api, signal) => fetchApiKeys(api, signal),
  headscaleHealth: (api, signal) => fetchHeadscaleHealth(api, signal),
};

const TAILSCALE_FETCHERS: Partial<Fetchers> = {
  users: (api, signal) => fetchUsers(api, signal),
  keys: (api, signal, now) => fetchKeys(api, signal, now),
  settings: (api, signal) => fetchSettings(api, signal),
  dns: (api, signal) => fetchDns(api, signal),
  services: (api, signal) => fetchServices(api, signal),
  policy: (api, signal) => fetchPolicy(api, signal),
  logstream: (api, signal, now, previous) => fetchLogStreams(api, signal, now, previous),
  postureIntegrations: (api, signal) => fetchPostureIntegrations(api, signal),
  serviceHosts: (api, signal) => fetchServiceHosts(api, signal),
  webhooks: (api, signal) => fetchWebhooks(api, signal),
};
