import type { Logger } from 'pino';
import type {
  Collector,
  CycleCollector,
  DeviceScrapeState,
  ListCollector,
  ListData,
  RefreshData,
} from '../collectors/collector.js';
import { COLLECTORS, CollectorResults, runStage } from '../collectors/index.js';
import { Interner, prerenderFamilies } from './device-families.js';
import type { DeviceScraper, ScrapeResult } from '../devices/scraper.js';
import type { ScrapeTarget, Selection, SelectionState } from '../devices/targets.js';
import { SnapshotBuilder, type SnapshotStore } from '../exposition/snapshot.js';
import type { MetricFamily } from '../exposition/family.js';
import type { DeviceList, DeviceSource } from '../tailscale/control.js';
import type { Device } from '../tailscale/device.js';
import type { RequestStats } from '../tailscale/request-stats.js';
import { failureHint, type RefreshStatus } from './status.js';
import { EMPTY_INVENTORY, type Inventory } from './inventory.js';

export interface RefresherOptions {
  readonly api: DeviceSource;
  readonly apiStats: RequestStats;
  readonly select: (devices: readonly Device[]) => Selection[];
  readonly scraper: DeviceScraper;
  readonly store: SnapshotStore;
  readonly status: RefreshStatus;
  readonly log: Logger;
  readonly intervalMs: number;
  readonly version: string;
  /** The control server is the built-in simulator: said in tsmetrics_simulated. */
  readonly simulated?: boolean;
  readonly collectors?: readonly Collector[];
  /** The slowly changing inventory (users, keys, ...); refreshed on its own interval inside the cycle. */
  readonly inventory?: Inventory;
  /** False when COLLECTORS leaves out client_metrics: no device is dialled. */
  readonly scrapeDevices?: boolean;
  readonly now?: () => number;
}

/** A device's last good client metrics are re-served while a scrape fails, for this many intervals. */
const RETAIN_INTERVALS = 3;

/**
 * Sequences one cycle: API -> selection -> scrapes -> collectors -> render -> snapshot swap. Cycles never
 * overlap. A failure anywhere keeps the last good data: an API outage is never an empty tailnet.
 */
export class Refresher {
  readonly #o: RefresherOptions;
  readonly #now: () => number;
  #devices: readonly Device[] | undefined;
  #apiUp = false;
  #lastApiSuccessSeconds: number | undefined;
  #scrapes = new Map<string, DeviceScrapeState>();
  #deviceErrors = new Map<string, number>();
  #apiRefreshFailures = 0;
  #invalidApiDevices = 0;
  #cycleOverruns = 0;
  #addressRefusals = 0;
  #renderDropped = 0;
  #typeConflicts = 0;
  #lastStates = new Map<string, SelectionState>();
  #failingSince = new Map<string, number>();
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #stopped = false;

  constructor(options: RefresherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** Runs a cycle now, then one every interval (measured start to start), until stop(). */
  start(): void {
    const loop = async (): Promise<void> => {
      const started = this.#now();
      await this.runOnce();
      if (this.#stopped) return;
      const elapsed = this.#now() - started;
      if (elapsed > this.#o.intervalMs) {
        this.#cycleOverruns++;
        this.#o.log.warn(
          { duration_ms: elapsed, interval_ms: this.#o.intervalMs },
          'refresh cycle took longer than SCRAPE_INTERVAL; the next one starts now',
        );
      }
      this.#timer = setTimeout(() => void loop(), Math.max(0, this.#o.intervalMs - elapsed));
    };
    void loop();
  }

  /** Stops the loop and aborts a cycle in flight; resolves when it has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort.abort(new Error('shutting down'));
    await this.#running;
  }

  /** One cycle. Single-flight: a call while a cycle runs joins it. Never rejects. */
  runOnce(): Promise<void> {
    this.#running ??= this.#cycle()
      .catch((err: unknown) => this.#o.log.error({ err }, 'refresh cycle failed unexpectedly'))
      .finally(() => {
        this.#running = undefined;
      });
    return this.#running;
  }

  async #cycle(): Promise<void> {
    const signal = this.#abort.signal;
    const startedMs = this.#now();
    const t0 = performance.now();
    let apiError: string | undefined;

    let list: DeviceList | undefined;
    const listStarted = performance.now();
    const inventoryDone = this.#o.inventory?.refreshIfDue(signal);
    // The devices to scrape rarely change between cycles: scrape last cycle's targets while the device
    // list is fetched, then reconcile with the new list (drop the gone, scrape the new).
    const s0 = performance.now();
    let earlySelections: Selection[] | undefined = this.#o.select(this.#devices ?? []);
    const early = this.#targets(earlySelections);
    // Each device's families are relabelled and rendered to text as its scrape completes.
    const interner = new Interner();
    const keep = (families: readonly MetricFamily[], target: ScrapeTarget): MetricFamily[] => {
      const prerendered = prerenderFamilies(families, target.deviceId, target.deviceName, interner);
      this.#renderDropped += prerendered.invalid;
      // The previous text is kept only to re-serve while the device fails: the new one takes its place
      // now, so the two are never held together.
      const previous = this.#scrapes.get(target.deviceId);
      if (previous !== undefined)
        this.#scrapes.set(target.deviceId, {
          ...previous,
          families: prerendered.families,
          lastSuccessSeconds: Math.floor(this.#now() / 1000),
        });
      return prerendered.families;
    };
    const earlyResults = this.#o.scraper.scrapeAll(early, signal, keep);
    try {
      list = await this.#o.api.listDevices(signal);
    } catch (err) {
      if (signal.aborted) return;
      apiError = err instanceof Error ? err.message : String(err);
    }
    const listDurationSeconds = (performance.now() - listStarted) / 1000;
    await inventoryDone;
    if (signal.aborted) {
      await earlyResults;
      return;
    }
    if (list !== undefined) {
      if (!this.#apiUp && this.#lastApiSuccessSeconds !== undefined) this.#o.log.info('Tailscale API reachable again');
      this.#devices = list.devices;
      this.#invalidApiDevices += list.invalidDevices;
      this.#apiUp = true;
      this.#lastApiSuccessSeconds = Math.floor(startedMs / 1000);
    } else {
      this.#apiRefreshFailures++;
      const level = this.#apiUp || this.#apiRefreshFailures === 1 ? 'error' : 'warn';
      if (this.#devices === undefined)
        this.#o.log[level](
          { err: apiError },
          'device list refresh failed; no device list yet, so no device data until the API answers',
        );
      else
        this.#o.log[level](
          { err: apiError, serving_devices_from: this.#lastApiSuccessSeconds ?? null },
          'device list refresh failed; serving the last good data',
        );
      this.#apiUp = false;
    }

    // Without a new list the devices are the same ones: no need to select them again.
    const selections = list === undefined ? earlySelections : this.#o.select(this.#devices ?? []);
    // They hold the previous device list: let it go now, not when the cycle ends (10,000 devices are ~30 MB).
    // eslint-disable-next-line no-useless-assignment -- read by the garbage collector, not by this code
    earlySelections = undefined;
    this.#noteSelectionChanges(selections);
    this.#o.status.selections = selections;
    const debug = this.#o.log.isLevelEnabled('debug');
    if (debug) {
      // "Why is device X not scraped?": one line per device and cycle, only when asked for.
      for (const s of selections)
        this.#o.log.debug(
          {
            device_id: s.device.id,
            device_name: s.device.name,
            state: s.state,
            ...(s.target === undefined ? {} : { url: s.target.url }),
          },
          'device selection',
        );
    }
    const targets = this.#targets(selections);

    // The API families need only the list: they are collected, rendered and compressed while the devices
    // are scraped (the event loop mostly waits on devices then), so the snapshot is nearly built when the
    // last device answers.
    const listData: ListData = {
      nowSeconds: Math.floor(this.#now() / 1000),
      version: this.#o.version,
      simulated: this.#o.simulated === true,
      devices: this.#devices,
      api: {
        up: this.#apiUp,
        lastSuccessSeconds: this.#lastApiSuccessSeconds,
        listDurationSeconds,
        stats: this.#o.apiStats,
        error: apiError,
      },
      selections,
      inventory: this.#o.inventory?.current() ?? EMPTY_INVENTORY,
    };
    const builder = new SnapshotBuilder({
      keepPlain: this.#o.store.plainWanted(this.#now()),
      plainSizeHint: this.#o.store.current()?.plainLength,
    });
    const collected = new CollectorResults();
    const onError = (name: string, err: unknown): void =>
      this.#o.log.error({ err, collector: name }, 'collector failed');
    const emit = (families: MetricFamily[]): Promise<void> => builder.add(families);
    // Settled into a value: a failure surfaces when awaited below, never as an unhandled rejection.
    const listStage = runStage(this.#stage('list'), listData, collected, emit, onError).then(
      () => undefined,
      (err: unknown) => err,
    );

    const wanted = new Set(targets.map(targetKey));
    const done = (await earlyResults).filter((r) => wanted.has(targetKey(r.target)));
    const doneKeys = new Set(done.map((r) => targetKey(r.target)));
    const results = [
      ...done,
      ...(await this.#o.scraper.scrapeAll(
        targets.filter((t) => !doneKeys.has(targetKey(t))),
        signal,
        keep,
      )),
    ];
    const listError = await listStage;
    if (signal.aborted || listError !== undefined) {
      builder.discard();
      if (listError !== undefined)
        throw listError instanceof Error ? listError : new Error('the list stage failed', { cause: listError });
      return;
    }
    const scrapeSeconds = (performance.now() - s0) / 1000;
    this.#applyScrapes(results, Math.floor(this.#now() / 1000));
    // Published at once: holding the previous map until the snapshot is built would keep the previous
    // cycle's device families (in each result) alive through the cycle's peak.
    this.#o.status.scrapes = this.#scrapes;

    const mem = process.memoryUsage();
    const data: RefreshData = {
      ...listData,
      scrapes: new Map(this.#scrapes),
      cycle: {
        durationSeconds: (performance.now() - t0) / 1000,
        scrapeDurationSeconds: scrapeSeconds,
        startedSeconds: Math.floor(startedMs / 1000),
      },
      errors: {
        deviceScrapeErrors: new Map(this.#deviceErrors),
        apiRefreshFailures: this.#apiRefreshFailures,
        cycleOverruns: this.#cycleOverruns,
        addressRefusals: this.#addressRefusals,
        invalidApiDevices: this.#invalidApiDevices,
        renderDropped: this.#renderDropped,
        typeConflicts: this.#typeConflicts,
      },
      process: {
        startSeconds: Math.floor(this.#o.status.startedAtMs / 1000),
        rssBytes: mem.rss,
        heapBytes: mem.heapUsed,
      },
    };
    let snapshot;
    try {
      await runStage(this.#stage('cycle'), data, collected, emit, onError);
      await builder.add(collected.families());
      snapshot = await builder.finish(this.#now());
    } catch (err) {
      builder.discard();
      throw err;
    }
    this.#renderDropped += snapshot.stats.invalid + snapshot.stats.duplicates;
    this.#typeConflicts += snapshot.stats.typeConflicts;
    this.#o.store.swap(snapshot);
    this.#o.status.recordCollectors(collected.outcomes(), this.#now());

    const scraped = results.filter((r) => r.ok).length;
    if (debug) {
      for (const r of results) {
        const common = {
          device_id: r.target.deviceId,
          device_name: r.target.deviceName,
          url: r.target.url,
          duration_ms: Math.round(r.durationSeconds * 1000),
        };
        if (r.ok) this.#o.log.debug({ ...common, outcome: 'ok', series: r.series, bytes: r.bytes }, 'device scrape');
        else
          this.#o.log.debug(
            {
              ...common,
              outcome: r.reason,
              detail: r.message,
              ...(r.status === undefined ? {} : { status: r.status }),
            },
            'device scrape',
          );
      }
      this.#o.log.debug(
        {
          duration_ms: Math.round(performance.now() - t0),
          api_ok: list !== undefined,
          devices: this.#devices?.length ?? 0,
          eligible: targets.length,
          scraped,
          failed: results.length - scraped,
        },
        'refresh cycle finished',
      );
    }
    this.#o.status.failingDevices = results
      .filter((r): r is Extract<ScrapeResult, { ok: false }> => !r.ok)
      .map((r) => ({
        deviceId: r.target.deviceId,
        deviceName: r.target.deviceName,
        reason: r.reason,
        message: r.message,
        hint: failureHint(r.reason, r.message, r.status),
        since: new Date(this.#failingSince.get(r.target.deviceId) ?? startedMs).toISOString(),
      }));
    this.#o.status.record(
      {
        startedAt: new Date(startedMs).toISOString(),
        durationSeconds: (performance.now() - t0) / 1000,
        scrapeDurationSeconds: scrapeSeconds,
        apiOk: list !== undefined,
        ...(apiError === undefined ? {} : { apiError }),
        devicesDiscovered: this.#devices?.length ?? 0,
        devicesEligible: targets.length,
        devicesScraped: scraped,
        scrapeFailures: results.length - scraped,
      },
      this.#now(),
    );
  }

  #stage(stage: 'list'): ListCollector[];
  #stage(stage: 'cycle'): CycleCollector[];
  #stage(stage: Collector['stage']): Collector[] {
    return (this.#o.collectors ?? COLLECTORS).filter((c) => c.stage === stage);
  }

  #targets(selections: readonly Selection[]): ScrapeTarget[] {
    return this.#o.scrapeDevices === false ? [] : selections.flatMap((s) => (s.target === undefined ? [] : [s.target]));
  }

  #applyScrapes(results: readonly ScrapeResult[], nowSeconds: number): void {
    const next = new Map<string, DeviceScrapeState>();
    const retainSeconds = (RETAIN_INTERVALS * this.#o.intervalMs) / 1000;
    for (const r of results) {
      const id = r.target.deviceId;
      const previous = this.#scrapes.get(id);
      if (r.ok) {
        if (this.#failingSince.has(id)) {
          this.#o.log.info({ device_id: id, device_name: r.target.deviceName }, 'device scrape recovered');
          this.#failingSince.delete(id);
        }
        next.set(id, { last: r, families: r.families, lastSuccessSeconds: nowSeconds });
        continue;
      }
      const key = `${id}\u0000${r.reason}`;
      this.#deviceErrors.set(key, (this.#deviceErrors.get(key) ?? 0) + 1);
      if (!this.#failingSince.has(id)) {
        // Logged when the state changes, not on every cycle.
        this.#failingSince.set(id, nowSeconds * 1000);
        this.#o.log.warn(
          { device_id: id, device_name: r.target.deviceName, reason: r.reason, detail: r.message },
          'device scrape failed',
        );
      }
      const last = previous?.lastSuccessSeconds;
      const fresh = last !== undefined && nowSeconds - last <= retainSeconds;
      next.set(id, { last: r, families: fresh ? previous?.families : undefined, lastSuccessSeconds: last });
    }
    // Devices no longer scraped lose their series and their error counters.
    for (const key of this.#deviceErrors.keys()) {
      if (!next.has(key.split('\u0000')[0]!)) this.#deviceErrors.delete(key);
    }
    for (const id of this.#failingSince.keys()) if (!next.has(id)) this.#failingSince.delete(id);
    this.#scrapes = next;
  }

  #noteSelectionChanges(selections: readonly Selection[]): void {
    const states = new Map<string, SelectionState>();
    for (const s of selections) {
      states.set(s.device.id, s.state);
      if (s.state === 'address_refused') {
        this.#addressRefusals++;
        if (this.#lastStates.get(s.device.id) !== 'address_refused') {
          this.#o.log.warn(
            { device_id: s.device.id, device_name: s.device.name, addresses: s.device.addresses },
            'device address is outside SCRAPE_ALLOWED_CIDRS; not scraping it',
          );
        }
      }
    }
    this.#lastStates = states;
  }
}

/** A target is the same only when device and address are: a device that moved is scraped at its new address. */
const targetKey = (t: ScrapeTarget): string => `${t.deviceId} ${t.url}`;
