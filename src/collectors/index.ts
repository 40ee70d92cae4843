import { COLLECTOR_NAMES } from '../config/schema.js';
import type { MetricFamily } from '../exposition/family.js';
import { clientMetricsCollector } from './client-metrics.js';
import type { Collector, CollectorOf, ListCollector, ListData, RefreshData } from './collector.js';
import { deviceConnectivityCollector } from './device-connectivity.js';
import { makeDeviceInfoCollector, type DeviceInfoOptions } from './device-info.js';
import { makeDeviceVersionsCollector } from './device-versions.js';
import { coverageCollector } from './coverage.js';
import { makeExpectedCollector } from './expected.js';
import type { ExpectedDevices } from '../config/expected-devices.js';
import { deviceRoutesCollector } from './device-routes.js';
import { deviceTimesCollector } from './device-times.js';
import { exporterCollector } from './exporter.js';
import { makeHttpCollector, type HttpStatsView } from './http.js';
import { BACKENDS } from './backends.js';
import type { BackendName } from '../config/backends.js';
import { makePeersCollector, type TsnetView } from './peers.js';
import { gauge } from '../exposition/family.js';
import { background, type Slicer } from '../slicer.js';
import { makeFlowLogsCollector } from './flow-logs.js';
import { makeAuditCollector } from './audit.js';
import { makeLogPollersCollector } from './log-pollers.js';
import type { FlowView } from '../control/flow-logs.js';
import type { AuditView } from '../control/audit-log.js';
import type { LogPollView } from '../control/log-window.js';

/** The opt-in log collectors' running totals and their pollers (absent when not turned on). */
export interface LogViews {
  readonly flow?: { readonly flows: FlowView; readonly poll: LogPollView };
  readonly audit?: { readonly audit: AuditView; readonly poll: LogPollView };
}

export interface CollectorOptions extends DeviceInfoOptions {
  readonly minClientVersion: string | undefined;
  readonly expectedDevices: () => ExpectedDevices | undefined;
  /** False on replicas other than shard 0: the API device families come from one replica only. */
  readonly apiDeviceMetrics: boolean;
  /** COLLECTORS: the public collector names turned on. */
  readonly enabled: ReadonlySet<string>;
  /** tsnet mode: the exporter's own node; undefined outside tsnet mode (no peer families then). */
  readonly tsnet?: () => TsnetView | undefined;
  /** The control plane (default tailscale): its own collectors, and device families it cannot fill left out. */
  readonly backend?: BackendName;
  /** Flow logs and audit log: their totals, read when a snapshot is built. */
  readonly logs?: () => LogViews;
  /** The HTTP server's counters; undefined where no server runs (benchmarks, unit tests). */
  readonly http?: HttpStatsView;
}

/** Every collector, in a fixed order (no import side effects decide what runs). */
export function buildCollectors(o: CollectorOptions): Collector[] {
  const backend = BACKENDS[o.backend ?? 'tailscale'];
  const own = backend.collectors(o.userLabel);
  const deviceCollectors = [
    makeDeviceInfoCollector(o),
    deviceTimesCollector,
    deviceRoutesCollector,
    deviceConnectivityCollector,
    makeDeviceVersionsCollector(o.minClientVersion),
    makeExpectedCollector(o.expectedDevices),
  ];
  const inventory = [...own.inventory];
  // Only a backend with logs has pollers, hence views.
  const logs = o.logs;
  if (logs !== undefined)
    inventory.push(
      makeFlowLogsCollector(() => logs().flow),
      makeAuditCollector(() => logs().audit),
    );
  const unsupported = backend.unsupportedFamilies;
  const all: Collector[] = [
    ...(o.apiDeviceMetrics
      ? [
          ...(unsupported.size === 0 ? deviceCollectors : deviceCollectors.map((c) => without(unsupported, c))),
          ...own.devices,
        ]
      : []),
    clientMetricsCollector,
    coverageCollector,
    ...(o.apiDeviceMetrics ? inventory : []),
  ];
  // Exporter self-metrics always run.
  const logPollers =
    logs === undefined
      ? []
      : [
          makeLogPollersCollector(() => {
            const v = logs();
            return [
              ...(v.flow === undefined ? [] : [['flowlogs', v.flow.poll] as const]),
              ...(v.audit === undefined ? [] : [['audit', v.audit.poll] as const]),
            ];
          }),
        ];
  return [
    ...all.filter((c) => o.enabled.has(c.name)),
    ...(o.tsnet === undefined ? [] : [makePeersCollector(o.tsnet)]),
    ...logPollers,
    exporterCollector,
    ...(o.http === undefined ? [] : [makeHttpCollector(o.http)]),
  ];
}

/** A family the backend cannot fill is absent, never a made-up 0. */
function without(unsupported: ReadonlySet<string>, c: ListCollector): ListCollector {
  const supported = (families: MetricFamily[]): MetricFamily[] => families.filter((f) => !unsupported.has(f.name));
  const steps = c.steps?.bind(c);
  return {
    ...c,
    collect: (data) => supported(c.collect(data)),
    ...(steps === undefined
      ? {}
      : {
          *steps(data: ListData) {
            return supported(yield* steps(data));
          },
        }),
  };
}

const ALL_COLLECTORS: ReadonlySet<string> = new Set(COLLECTOR_NAMES);

export const COLLECTORS: readonly Collector[] = buildCollectors({
  labelsFromTags: [],
  userLabel: (u) => u,
  minClientVersion: undefined,
  expectedDevices: () => undefined,
  apiDeviceMetrics: true,
  enabled: ALL_COLLECTORS,
});

type OnError = (name: string, err: unknown) => void;

/** One public collector's outcome in a cycle, for the status page. */
export interface CollectorOutcome {
  readonly collector: string;
  readonly ok: boolean;
  readonly durationSeconds: number;
  /** Why it was unsuccessful: the first error it threw, or the error of the fetch its data came from. */
  readonly error?: string;
}

/**
 * Per public collector name, over both stages: success (every part collected, and the data it renders was
 * fetched) and duration (fetch plus building its families).
 */
export class CollectorResults {
  readonly #results = new Map<string, { ok: boolean; seconds: number; sourced: boolean; error?: string }>();

  /** Runs one collector; one that throws loses only its own families. */
  run<D extends ListData>(c: CollectorOf<D>, data: D, onError: OnError): MetricFamily[] {
    const started = performance.now();
    let families: MetricFamily[] = [];
    let error: string | undefined;
    try {
      families = c.collect(data);
    } catch (err) {
      onError(c.name, err);
      error = errorText(err);
    }
    return this.#record(c, data, error, (performance.now() - started) / 1000, families);
  }

  /**
   * Like run, but a stepwise collector's pieces each take a turn of `slicer` (with device answers and
   * /metrics responses in between); its duration is the time spent in its pieces, not the waits.
   */
  async runInSteps<D extends ListData>(
    c: CollectorOf<D>,
    data: D,
    onError: OnError,
    slicer: Slicer = background,
  ): Promise<MetricFamily[]> {
    if (c.steps === undefined) return slicer.run(() => this.run(c, data, onError));
    let seconds = 0;
    let families: MetricFamily[] = [];
    let error: string | undefined;
    try {
      const pieces = c.steps(data);
      const step = (): IteratorResult<void, MetricFamily[]> => {
        const started = performance.now();
        try {
          return pieces.next();
        } finally {
          seconds += (performance.now() - started) / 1000;
        }
      };
      for (;;) {
        const r = await slicer.run(step);
        if (r.done === true) {
          families = r.value;
          break;
        }
      }
    } catch (err) {
      onError(c.name, err);
      error = errorText(err);
    }
    return this.#record(c, data, error, seconds, families);
  }

  #record<D extends ListData>(
    c: CollectorOf<D>,
    data: D,
    error: string | undefined,
    seconds: number,
    families: MetricFamily[],
  ): MetricFamily[] {
    const r = this.#results.get(c.name) ?? { ok: true, seconds: 0, sourced: false };
    r.ok &&= error === undefined;
    r.error ??= error;
    r.seconds += seconds;
    const source = c.source?.(data);
    if (source !== undefined && !r.sourced) {
      // Several collectors may share one source (devices): count its fetch once.
      r.sourced = true;
      r.ok &&= source.ok !== false;
      if (source.ok === false) r.error ??= source.error ?? 'its data could not be fetched';
      r.seconds += source.durationSeconds;
    }
    this.#results.set(c.name, r);
    return families;
  }

  outcomes(): CollectorOutcome[] {
    return [...this.#results.entries()].map(([collector, r]) => ({
      collector,
      ok: r.ok,
      durationSeconds: r.seconds,
      ...(r.error === undefined ? {} : { error: r.error }),
    }));
  }

  families(): MetricFamily[] {
    const entries = [...this.#results.entries()];
    return [
      gauge(
        'tsmetrics_collector_success',
        '1 if the collector fetched and rendered its data in the last refresh (collector: devices, client_metrics, users, keys, settings, dns, services, policy, logstream, posture_integrations, service_hosts, webhooks, flowlogs, audit, exporter).',
        entries.map(([collector, r]) => [{ collector }, r.ok ? 1 : 0] as const),
      ),
      gauge(
        'tsmetrics_collector_duration_seconds',
        'Time the collector spent fetching (API calls, for the inventory collectors on their last fetch) and rendering.',
        entries.map(([collector, r]) => [{ collector }, r.seconds] as const),
      ),
    ];
  }
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).split('\n')[0]!;

/** Every collector of both stages on one cycle's data, and the collector self-metrics: all families at once. */
export function runCollectors(
  data: RefreshData,
  collectors: readonly Collector[] = COLLECTORS,
  onError: OnError = () => {},
): MetricFamily[] {
  const results = new CollectorResults();
  const families = collectors.flatMap((c) => results.run<RefreshData>(c, data, onError));
  return [...families, ...results.families()];
}

/**
 * Runs one stage's collectors one at a time and hands each one's families to `emit` (the renderer) before
 * the next runs, so only one collector's samples are alive at once (at 10,000 devices they are 300,000).
 */
export async function runStage<D extends ListData>(
  collectors: readonly CollectorOf<D>[],
  data: D,
  results: CollectorResults,
  emit: (families: MetricFamily[]) => Promise<void>,
  onError: OnError,
): Promise<void> {
  for (const c of collectors) {
    await emit(await results.runInSteps(c, data, onError));
  }
}
