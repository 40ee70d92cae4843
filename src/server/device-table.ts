import type { DeviceScrapeState } from '../collectors/collector.js';
import type { CoverageState } from '../collectors/coverage.js';
import type { Selection } from '../devices/targets.js';
import type { FailingDevice, RefreshStatus } from '../refresh/status.js';

// The status page's device table: every device with the reason it is or is not scraped, sorted and grouped
// once per refresh cycle, so a request filters and cuts one page out of 10,000 devices without sorting.

/** The coverage states of tsmetrics_device_scrape_coverage, plus `pending`: eligible, no scrape result yet. */
export type DeviceState = CoverageState | 'pending';

/** Display order: what needs attention first, then the scraped, then the deliberately left out. */
export const STATE_ORDER: readonly DeviceState[] = [
  'failing',
  'pending',
  'address_refused',
  'client_too_old',
  'offline',
  'scraped',
  'untagged',
  'excluded',
  'other_shard',
];

export const PAGE_SIZE = 100;

export interface DeviceRow {
  readonly selection: Selection;
  readonly state: DeviceState;
  readonly failingSince: string | undefined;
}

export interface DeviceQuery {
  readonly state: DeviceState | 'all';
  /** Case-insensitive substring of name, host name, id or address; '' for all. */
  readonly q: string;
  /** 1-based. */
  readonly page: number;
}

export interface DevicePage {
  /** This page's rows, each with its last scrape result (eligible devices scraped at least once). */
  readonly rows: ReadonlyArray<DeviceRow & { readonly scrape: DeviceScrapeState | undefined }>;
  /** Rows matching the state and search, over all pages. */
  readonly matching: number;
  readonly page: number;
  readonly pages: number;
  /** Devices per state (before the search). */
  readonly counts: ReadonlyMap<DeviceState, number>;
  readonly total: number;
}

/** The same state the coverage collector reports (collectors/coverage.ts), with `pending` kept apart. */
function deviceState(s: Selection, scrape: DeviceScrapeState | undefined): DeviceState {
  if (s.state !== 'eligible') return s.state;
  if (scrape === undefined) return 'pending';
  return scrape.last.ok ? 'scraped' : 'failing';
}

export function parseDeviceQuery(params: URLSearchParams): DeviceQuery {
  const state = params.get('state') ?? 'all';
  const page = Number.parseInt(params.get('page') ?? '1', 10);
  return {
    state: (STATE_ORDER as readonly string[]).includes(state) ? (state as DeviceState) : 'all',
    q: (params.get('q') ?? '').trim().slice(0, 200),
    page: Number.isSafeInteger(page) && page >= 1 ? page : 1,
  };
}

interface Index {
  // Weak: the table must never keep a previous cycle's scrape results (they hold device families) alive.
  readonly scrapes: WeakRef<ReadonlyMap<string, DeviceScrapeState>>;
  readonly failing: WeakRef<readonly FailingDevice[]>;
  readonly byState: ReadonlyMap<DeviceState, readonly DeviceRow[]>;
  readonly all: readonly DeviceRow[];
}

/**
 * Keeps the sorted rows of the cycle last seen, rebuilt when the refresher has published a new selection or
 * new scrape results. Kept by selection in a WeakMap: once the refresher lets a selection (and so a device
 * list) go, its rows go with it, whether or not the page is asked for again.
 */
export class DeviceTable {
  readonly #indexes = new WeakMap<readonly Selection[], Index>();

  page(status: RefreshStatus, query: DeviceQuery): DevicePage {
    const index = this.#current(status);
    const inState = query.state === 'all' ? index.all : (index.byState.get(query.state) ?? []);
    const needle = query.q.toLowerCase();
    const matching = needle === '' ? inState : inState.filter((r) => matches(r.selection, needle));
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    const page = Math.min(query.page, pages);
    const counts = new Map([...index.byState].map(([state, list]) => [state, list.length]));
    const rows = matching.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE).map((r) => ({
      ...r,
      scrape: r.selection.state === 'eligible' ? status.scrapes.get(r.selection.device.id) : undefined,
    }));
    return { rows, matching: matching.length, page, pages, counts, total: index.all.length };
  }

  #current(status: RefreshStatus): Index {
    const i = this.#indexes.get(status.selections);
    if (i !== undefined && i.scrapes.deref() === status.scrapes && i.failing.deref() === status.failingDevices)
      return i;
    const index = build(status.selections, status.scrapes, status.failingDevices);
    this.#indexes.set(status.selections, index);
    return index;
  }
}

function build(
  selections: readonly Selection[],
  scrapes: ReadonlyMap<string, DeviceScrapeState>,
  failing: readonly FailingDevice[],
): Index {
  const since = new Map(failing.map((f) => [f.deviceId, f.since]));
  const groups = new Map<DeviceState, DeviceRow[]>(STATE_ORDER.map((s) => [s, []]));
  for (const selection of selections) {
    const scrape = selection.state === 'eligible' ? scrapes.get(selection.device.id) : undefined;
    const state = deviceState(selection, scrape);
    groups
      .get(state)!
      .push({ selection, state, failingSince: state === 'failing' ? since.get(selection.device.id) : undefined });
  }
  const byName = (a: DeviceRow, b: DeviceRow): number => {
    const x = a.selection.device.name;
    const y = b.selection.device.name;
    return x < y ? -1 : x > y ? 1 : 0;
  };
  for (const rows of groups.values()) rows.sort(byName);
  return {
    scrapes: new WeakRef(scrapes),
    failing: new WeakRef(failing),
    byState: groups,
    all: STATE_ORDER.flatMap((s) => groups.get(s)!),
  };
}

function matches(s: Selection, needle: string): boolean {
  const d = s.device;
  return (
    d.name.toLowerCase().includes(needle) ||
    d.hostname.toLowerCase().includes(needle) ||
    d.id.includes(needle) ||
    d.addresses.some((a) => a.includes(needle))
  );
}
