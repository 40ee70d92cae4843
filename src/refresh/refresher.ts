import type { Logger } from 'pino';
import type { Collector, CycleCollector, ListCollector, ListData, RefreshData } from '../collectors/collector.js';
import { COLLECTORS, CollectorResults, runStage } from '../collectors/index.js';
import type { DeviceScraper, ScrapeResult } from '../devices/scraper.js';
import type { ScrapeTarget, Selection } from '../devices/targets.js';
import { SnapshotBuilder, type SnapshotStore } from '../exposition/snapshot.js';
import { DeviceTextRenderer } from '../exposition/device-text.js';
import type { MetricFamily } from '../exposition/family.js';
import type { DeviceList, DeviceSource } from '../control/control.js';
import type { Device } from '../control/device.js';
import type { RequestStats } from '../control/request-stats.js';
import { failureHint, type RefreshStatus } from './status.js';
import { EMPTY_INVENTORY, type Inventory } from './inventory.js';
import { ApiHistory } from './api-history.js';
import { RefusalHistory } from './refusal-history.js';
import { RETAIN_INTERVALS, ScrapeHistory } from './scrape-history.js';

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

/** The device list call of one cycle: the list, or why there is none. */
type ListOutcome = { readonly list: DeviceList | undefined; readonly error?: string; readonly durationSeconds: number };

/**
 * Sequences one cycle: API -> selection -> scrapes -> collectors -> render -> snapshot swap. Cycles never
 * overlap. A failure anywhere keeps the last good data: an API outage is never an empty tailnet. What the
 * cycles remember (the API's and each device's recent past, refused addresses) lives in history values
 * this class feeds with the time and reads back; it keeps only the device list and a few counters.
 */
export class Refresher {
  readonly #o: RefresherOptions;
  readonly #now: () => number;
  #devices: readonly Device[] | undefined;
  readonly #api = new ApiHistory();
  readonly #scrapes: ScrapeHistory;
  readonly #refusals = new RefusalHistory();
  #cycleOverruns = 0;
  #renderDropped = 0;
  #typeConflicts = 0;
  /** Series the exposition check dropped are logged the first time only; the counter tells the rest. */
  #dropLogged = false;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #stopped = false;

  constructor(options: RefresherOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#scrapes = new ScrapeHistory((RETAIN_INTERVALS * options.intervalMs) / 1000);
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
    const listStarted = performance.now();
    const inventoryDone = this.#o.inventory?.refreshIfDue(signal);

    // 1. The devices to scrape rarely change between cycles: scrape last cycle's targets while the device
    // list is fetched, then reconcile with the new list (drop the gone, scrape the new).
    const s0 = performance.now();
    let earlySelections: Selection[] | undefined = this.#o.select(this.#devices ?? []);
    const early = this.#targets(earlySelections);
    // Each device's families are relabelled and rendered to text as its scrape completes.
    const deviceText = new DeviceTextRenderer();
    const keep = (families: readonly MetricFamily[], target: ScrapeTarget): MetricFamily[] => {
      const prerendered = deviceText.render(families, target.deviceId, target.deviceName);
      this.#renderDropped += prerendered.dropped;
      if (prerendered.dropped > 0) this.#logDrop(`invalid or repeated client metrics of device ${target.deviceId}`);
      this.#scrapes.replaceFamilies(target.deviceId, prerendered.families, Math.floor(this.#now() / 1000));
      return prerendered.families;
    };
    const earlyResults = this.#o.scraper.scrapeAll(early, signal, keep);

    // 2. The device list.
    const listed = await this.#listDevices(signal, startedMs, listStarted);
    await inventoryDone;
    // Aborted, during the list call (no list then) or after it: the cycle ends when the scrapes it started
    // have, so stop() never returns while they run.
    if (listed === undefined || signal.aborted) {
      await earlyResults;
      return;
    }

    // 3. Selection: without a new list the devices are the same ones, no need to select them again.
    const selections = listed.list === undefined ? earlySelections : this.#o.select(this.#devices ?? []);
    // They hold the previous device list: let it go now, not when the cycle ends (10,000 devices are ~30 MB).
    // eslint-disable-next-line no-useless-assignment -- read by the garbage collector, not by this code
    earlySelections = undefined;
    this.#noteSelections(selections);
    const targets = this.#targets(selections);

    // 4. The API families need only the list: they are collected, rendered and compressed while the devices
    // are scraped (the event loop mostly waits on devices then), so the snapshot is nearly built when the
    // last device answers.
    const listData = this.#listData(listed, selections);
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

    // 5. The scrapes: the early ones still wanted, then the targets they missed.
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

    // 6. Retention and error counts.
    this.#noteScrapes(results, Math.floor(this.#now() / 1000));

    // 7. The cycle collectors, then the snapshot swap.
    const data: RefreshData = {
      ...listData,
      scrapes: new Map(this.#scrapes.states),
      cycle: {
        durationSeconds: (performance.now() - t0) / 1000,
        scrapeDurationSeconds: scrapeSeconds,
        startedSeconds: Math.floor(startedMs / 1000),
      },
      errors: this.#errorCounts(),
      process: this.#processData(),
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
    if (snapshot.stats.firstDrop !== undefined) this.#logDrop(snapshot.stats.firstDrop);
    this.#o.store.swap(snapshot);
    this.#o.status.recordCollectors(collected.outcomes(), this.#now());

    // 8. What /health, /debug and the status page report.
    this.#report(results, targets.length, listed, { startedMs, t0, scrapeSeconds });
  }

  /** The device list, into the API history; undefined when the cycle was aborted meanwhile. */
  async #listDevices(signal: AbortSignal, startedMs: number, started: number): Promise<ListOutcome | undefined> {
    let list: DeviceList | undefined;
    let error: string | undefined;
    try {
      list = await this.#o.api.listDevices(signal);
    } catch (err) {
      if (signal.aborted) return undefined;
      error = err instanceof Error ? err.message : String(err);
    }
    const durationSeconds = (performance.now() - started) / 1000;
    const news = this.#api.add(
      list === undefined ? { ok: false } : { ok: true, invalidDevices: list.invalidDevices },
      Math.floor(startedMs / 1000),
    );
    if (list !== undefined) this.#devices = list.devices;
    if (news === 'recovered') this.#o.log.info('Tailscale API reachable again');
    else if (news !== undefined) {
      if (this.#devices === undefined)
        this.#o.log[news](
          { err: error },
          'device list refresh failed; no device list yet, so no device data until the API answers',
        );
      else
        this.#o.log[news](
          { err: error, serving_devices_from: this.#api.lastSuccessSeconds ?? null },
          'device list refresh failed; serving the last good data',
        );
    }
    return { list, ...(error === undefined ? {} : { error }), durationSeconds };
  }

  /** Logs newly refused addresses and, when asked for, why each device is or is not scraped. */
  #noteSelections(selections: readonly Selection[]): void {
    for (const s of this.#refusals.add(selections))
      this.#o.log.warn(
        { device_id: s.device.id, device_name: s.device.name, addresses: s.device.addresses },
        'device address is outside SCRAPE_ALLOWED_CIDRS; not scraping it',
      );
    this.#o.status.selections = selections;
    if (!this.#o.log.isLevelEnabled('debug')) return;
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

  #listData(listed: ListOutcome, selections: readonly Selection[]): ListData {
    return {
      nowSeconds: Math.floor(this.#now() / 1000),
      version: this.#o.version,
      simulated: this.#o.simulated === true,
      devices: this.#devices,
      api: {
        up: this.#api.up,
        lastSuccessSeconds: this.#api.lastSuccessSeconds,
        listDurationSeconds: listed.durationSeconds,
        stats: this.#o.apiStats,
        error: listed.error,
      },
      selections,
      inventory: this.#o.inventory?.current() ?? EMPTY_INVENTORY,
    };
  }

  /** Adds the scrapes to the history, logs the devices that recovered or began failing, publishes the states. */
  #noteScrapes(results: readonly ScrapeResult[], nowSeconds: number): void {
    for (const change of this.#scrapes.add(results, nowSeconds)) {
      if (change.kind === 'recovered')
        this.#o.log.info(
          { device_id: change.target.deviceId, device_name: change.target.deviceName },
          'device scrape recovered',
        );
      else
        // Logged when the state changes, not on every cycle.
        this.#o.log.warn(
          {
            device_id: change.result.target.deviceId,
            device_name: change.result.target.deviceName,
            reason: change.result.reason,
            detail: change.result.message,
          },
          'device scrape failed',
        );
    }
    // Published at once: holding the previous map until the snapshot is built would keep the previous
    // cycle's device families (in each result) alive through the cycle's peak.
    this.#o.status.scrapes = this.#scrapes.states;
  }

  #errorCounts(): RefreshData['errors'] {
    return {
      deviceScrapeErrors: new Map(this.#scrapes.errors),
      apiRefreshFailures: this.#api.failures,
      cycleOverruns: this.#cycleOverruns,
      addressRefusals: this.#refusals.refusals,
      invalidApiDevices: this.#api.invalidDevices,
      renderDropped: this.#renderDropped,
      typeConflicts: this.#typeConflicts,
    };
  }

  #processData(): RefreshData['process'] {
    const mem = process.memoryUsage();
    return {
      startSeconds: Math.floor(this.#o.status.startedAtMs / 1000),
      rssBytes: mem.rss,
      heapBytes: mem.heapUsed,
    };
  }

  /** The cycle's record, its failing devices, and (at debug level) a line per scrape and one for the cycle. */
  #report(
    results: readonly ScrapeResult[],
    eligible: number,
    listed: ListOutcome,
    times: { readonly startedMs: number; readonly t0: number; readonly scrapeSeconds: number },
  ): void {
    const scraped = results.filter((r) => r.ok).length;
    if (this.#o.log.isLevelEnabled('debug')) {
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
          duration_ms: Math.round(performance.now() - times.t0),
          api_ok: listed.list !== undefined,
          devices: this.#devices?.length ?? 0,
          eligible,
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
        since: new Date(this.#scrapes.failingSinceMs(r.target.deviceId) ?? times.startedMs).toISOString(),
      }));
    this.#o.status.record(
      {
        startedAt: new Date(times.startedMs).toISOString(),
        durationSeconds: (performance.now() - times.t0) / 1000,
        scrapeDurationSeconds: times.scrapeSeconds,
        apiOk: listed.list !== undefined,
        ...(listed.error === undefined ? {} : { apiError: listed.error }),
        devicesDiscovered: this.#devices?.length ?? 0,
        devicesEligible: eligible,
        devicesScraped: scraped,
        scrapeFailures: results.length - scraped,
      },
      this.#now(),
    );
  }

  #logDrop(what: string): void {
    if (this.#dropLogged) return;
    this.#dropLogged = true;
    this.#o.log.warn(
      { first: what },
      'series left out of /metrics (invalid or repeated); counted in tsmetrics_exposition_dropped_series_total, logged once',
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
}

/** A target is the same only when device and address are: a device that moved is scraped at its new address. */
const targetKey = (t: ScrapeTarget): string => `${t.deviceId} ${t.url}`;
