import type { Logger } from 'pino';
import { BACKEND_INFO, type BackendInfo } from '../config/backends.js';
import { ApiError } from '../errors.js';
import type { Resource, ResourceReaders } from '../control/control.js';
import { EMPTY_INVENTORY, type InventoryData, type Policy, type ResourceState } from '../control/inventory.js';

export { EMPTY_INVENTORY, type InventoryData } from '../control/inventory.js';

// Fetches the slowly changing inventory on its own interval (INVENTORY_INTERVAL), each resource on its
// own: a failure or a missing OAuth scope (403) costs that resource only, and keeps its last good data.

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
  readonly #readers: ResourceReaders;
  readonly #backend: BackendInfo;
  readonly #enabled: readonly Resource[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #now: () => number;
  #state: { -readonly [K in Resource]: InventoryData[K] } = { ...EMPTY_INVENTORY };
  #lastRunMs: number | undefined;
  readonly #warnedScope = new Set<string>();
  readonly #notedUnavailable = new Set<string>();

  /** `resources` are the backend's readers: the resources it serves, which COLLECTORS then narrows. */
  constructor(o: {
    resources: ResourceReaders;
    enabled: readonly string[];
    intervalMs: number;
    log: Logger;
    now?: () => number;
    /** The backend, for the messages about refusals (default: the Tailscale API). */
    backend?: BackendInfo;
  }) {
    this.#readers = o.resources;
    this.#backend = o.backend ?? BACKEND_INFO.tailscale;
    // COLLECTORS names the collector `users` for both backends; Headscale's users are their own resource.
    const wanted = o.enabled.flatMap((c) => [c, ...(ALSO_FOR[c] ?? [])]);
    this.#enabled = (Object.keys(this.#readers) as Resource[]).filter((r) => wanted.includes(r));
    this.#intervalMs = o.intervalMs;
    this.#log = o.log;
    this.#now = o.now ?? Date.now;
  }

  #scope(collector: string): string {
    const needs: Readonly<Record<string, string>> = this.#backend.collectors;
    return Object.hasOwn(needs, collector) ? needs[collector]! : 'the read scope';
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
      const data = await this.#readers[resource]!(signal, nowSeconds, previous.data as never);
      const durationSeconds = (performance.now() - started) / 1000;
      if (!unavailable(data)) this.#notedUnavailable.delete(resource);
      else if (!this.#notedUnavailable.has(resource)) {
        this.#notedUnavailable.add(resource);
        const collector = collectorOf(resource);
        const scope = this.#scope(collector);
        this.#log.info(
          { collector, scope },
          `${this.#backend.apiName} answered 404 for the ${collector} collector: ${this.#backend.notFoundHint(scope)}; it exports nothing until that changes`,
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
          const scope = this.#scope(collector);
          this.#log.error(
            { collector, scope },
            `${this.#backend.apiName} refused the ${collector} collector (403): ${this.#backend.forbiddenHint(scope)}, or turn the collector off with COLLECTORS`,
          );
        }
      } else if (previous.ok !== false) {
        this.#log.warn({ collector: resource, err: message }, 'collector failed; keeping its last good data');
      }
    }
  }
}
