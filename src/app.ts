import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { redactedConfig } from './config/redact.js';
import { DeviceScraper } from './devices/scraper.js';
import { makeSelector } from './devices/targets.js';
import { SnapshotStore } from './exposition/snapshot.js';
import { BACKENDS } from './collectors/backends.js';
import { buildCollectors } from './collectors/index.js';
import { userRedactor } from './collectors/pii.js';
import { rereadExpectedDevicesFile } from './config/expected-devices.js';
import { Refresher } from './refresh/refresher.js';
import { Inventory } from './refresh/inventory.js';
import { makeLogPollers, type LogPollers } from './refresh/logs.js';
import { startTsnet, type Tsnet } from './tsnet/supervisor.js';
import { RefreshStatus } from './refresh/status.js';
import { probeRoute } from './server/probe-route.js';
import { sdRoute } from './server/sd-route.js';
import { startServer } from './server/server.js';
import { HttpStats } from './server/http-stats.js';
import { RequestStats } from './control/request-stats.js';
import { CloseStack } from './util/close-stack.js';

export interface App {
  readonly url: string;
  readonly config: Config;
  readonly refresher: Refresher;
  /** SIGHUP: re-read EXPECTED_DEVICES_FILE; a bad file keeps the last good one. */
  reloadExpectedDevices(): void;
  /** Closes every stage, last started first, then what the caller put on `closes`; each close bounded. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Aborts a start that waits (tsnet login). */
  readonly signal?: AbortSignal;
  /** The clock of the refresh loop, retention, health and the HTTP server; tests move it. */
  readonly now?: () => number;
  /**
   * The stack the stages' closes go on, above what the caller opened for the app (the simulator in demo mode),
   * which closes after them. A failed start closes it all.
   */
  readonly closes?: CloseStack;
}

/** tailscaled's time to stop on SIGTERM before it is killed. */
const TSNET_SIGTERM_MS = 3_000;

/** Composition root: builds every stage from the config and wires them; no logic of its own. */
export async function startApp(config: Config, log: Logger, version: string, options: StartOptions = {}): Promise<App> {
  const closes = options.closes ?? new CloseStack(log);
  try {
    return await wire(config, log, version, options, closes);
  } catch (err) {
    await closes.close();
    throw err;
  }
}

async function wire(
  config: Config,
  log: Logger,
  version: string,
  options: StartOptions,
  closes: CloseStack,
): Promise<App> {
  const now = options.now ?? Date.now;
  // Read and checked by loadConfig (so --check-config sees what start sees); SIGHUP replaces it.
  let expected = config.expectedDevices;
  const apiStats = new RequestStats();
  const backend = BACKENDS[config.backend];
  const { control: api, close: closeApi } = backend.connect(config, { stats: apiStats, log, now });
  closes.push('api', closeApi);
  // tsnet mode: our own userspace tailscaled; device scrapes leave through its SOCKS5 proxy.
  let tsnet: Tsnet | undefined;
  if (config.tsnet.enabled) {
    const timeout = config.clientMetrics.timeoutMs;
    tsnet = await startTsnet(
      {
        tailscaledPath: config.tsnet.tailscaledPath,
        tailscalePath: config.tsnet.tailscalePath,
        stateDir: config.tsnet.stateDir,
        hostname: config.tsnet.hostname,
        tags: [...config.tsnet.tags],
        authKey: config.tsnet.authKey,
        stateSecret: config.tsnet.stateSecret,
        requireExporterTag: config.requireExporterTag,
        proxyTimeouts: { connectMs: timeout, headersMs: timeout, bodyMs: timeout },
        timing: { statusIntervalMs: Math.min(config.scrapeIntervalMs, 10_000), stopTimeoutMs: TSNET_SIGTERM_MS },
        signal: options.signal,
      },
      log.child({ stage: 'tsnet' }),
    );
    const node = tsnet;
    // SIGTERM's wait, then up to 2 s for SIGKILL and 2 s for its process group to be gone.
    closes.push('tsnet', () => node.stop(), TSNET_SIGTERM_MS + 4_000);
  }
  const scraper = new DeviceScraper({
    timeoutMs: config.clientMetrics.timeoutMs,
    maxBytes: config.clientMetrics.maxBytes,
    maxSeries: config.clientMetrics.maxSeries,
    concurrency: config.maxConcurrentScrapes,
    dispatcher: tsnet?.dispatcher,
  });
  closes.push('device scraper', () => scraper.close());
  const select = makeSelector({
    scrapeTag: config.scrapeTag,
    requireExporterTag: config.requireExporterTag,
    targetDevices: config.targetDevices,
    excludeDevices: config.excludeDevices,
    deviceTags: config.deviceTags,
    allowedCidrs: config.scrapeAllowedCidrs,
    port: config.clientMetrics.port,
    shard: config.shard,
  });
  const userLabel = userRedactor(config.redactKey);
  // The inventory is tailnet-wide: with several replicas, shard 0 fetches it (and reads the logs).
  const tailnetWide = config.shard.index === 0 || config.shard.apiMetrics === 'all';
  const inventory = tailnetWide
    ? new Inventory({
        resources: api.resources,
        enabled: config.collectors,
        intervalMs: config.inventoryIntervalMs,
        log: log.child({ stage: 'inventory' }),
        backend: backend.info,
      })
    : undefined;
  const logPollers: LogPollers | undefined =
    api.logs === undefined || !tailnetWide
      ? undefined
      : makeLogPollers({
          source: api.logs,
          collectors: config.collectors,
          flow: config.logs.flow,
          audit: config.logs.audit,
          log: log.child({ stage: 'logs' }),
          flowLoggingOn: () => inventory?.current().settings.data?.booleans.networkFlowLoggingOn ?? undefined,
        });
  const httpStats = new HttpStats();
  const collectors = buildCollectors({
    labelsFromTags: config.labelsFromTags,
    userLabel,
    minClientVersion: config.minClientVersion,
    expectedDevices: () => expected,
    // With several replicas, API device metrics come from shard 0 only unless asked otherwise (no duplicates).
    apiDeviceMetrics: tailnetWide,
    enabled: new Set(config.collectors),
    tsnet: tsnet === undefined ? undefined : () => ({ up: tsnet.isUp(), status: tsnet.status() }),
    backend: config.backend,
    ...(logPollers === undefined ? {} : { logs: () => logPollers.views() }),
    http: httpStats,
  });
  const store = new SnapshotStore();
  const status = new RefreshStatus(now());
  const refresher = new Refresher({
    api,
    apiStats,
    select,
    scraper,
    store,
    status,
    log: log.child({ stage: 'refresh' }),
    intervalMs: config.scrapeIntervalMs,
    version,
    simulated: config.simulator !== undefined,
    collectors,
    inventory,
    scrapeDevices: config.collectors.includes('client_metrics'),
    now,
  });

  const shownConfig = redactedConfig(config);
  const server = await startServer({
    host: config.listenHost,
    port: config.port,
    store,
    status,
    version,
    intervalMs: config.scrapeIntervalMs,
    debugConfig: config.debugEndpoint ? shownConfig : undefined,
    about: {
      mode: config.simulator !== undefined ? 'simulator' : config.tsnet.enabled ? 'tsnet' : 'standalone',
      backend: config.backend,
      tailnet: backend.shown(config),
      scrapeTag: config.scrapeTag,
      requireExporterTag: config.requireExporterTag,
    },
    metricsToken: config.metricsToken,
    tsnetUp: tsnet === undefined ? undefined : () => tsnet.isUp(),
    extraRoutes: {
      '/sd': sdRoute(() => status.selections, config.clientMetrics.port, userLabel),
      '/probe': probeRoute({
        selections: () => status.selections,
        scrape: (t, signal) => scraper.scrape(t, signal),
        maxConcurrent: config.maxConcurrentScrapes,
        queueTimeoutMs: config.clientMetrics.timeoutMs,
      }),
    },
    rateLimit: config.rateLimit,
    webConfig: config.webConfig,
    limits: config.http,
    stats: httpStats,
    log: log.child({ stage: 'http' }),
    now,
  });
  // The HTTP server's own 2 s grace for open scrapes, then it cuts the connections.
  closes.push('http server', () => server.close());
  refresher.start();
  closes.push('refresh', () => refresher.stop());
  if (logPollers !== undefined) {
    logPollers.start();
    closes.push('log pollers', () => logPollers.stop());
  }
  log.info({ url: server.url, config: shownConfig }, 'tsmetrics listening');

  return {
    url: server.url,
    config,
    refresher,
    reloadExpectedDevices() {
      tsnet?.reload();
      const file = config.expectedDevicesFile;
      if (file === undefined) return;
      try {
        expected = rereadExpectedDevicesFile(file);
        log.info({ file, selectors: expected.selectors.length }, 'expected devices reloaded');
      } catch (err) {
        // Keep the last good file: a typo during an edit must not blank the inventory alerts.
        log.error({ file, err: (err as Error).message }, 'expected devices file is invalid; keeping the previous one');
      }
    },
    stop: () => closes.close(),
  };
}
