import type { Logger } from 'pino';
import type { Config } from './config/load.js';
import { redactedConfig, redactUrl } from './config/redact.js';
import { DeviceScraper } from './devices/scraper.js';
import { makeSelector } from './devices/targets.js';
import { SnapshotStore } from './exposition/snapshot.js';
import { buildCollectors } from './collectors/index.js';
import { userRedactor } from './collectors/pii.js';
import { readExpectedDevicesFile } from './config/expected-devices.js';
import { tuneHeapGrowth } from './heap.js';
import { readFileSync } from 'node:fs';
import { Refresher } from './refresh/refresher.js';
import { Inventory } from './refresh/inventory.js';
import { makeLogPollers, type LogPollers } from './refresh/logs.js';
import { startTsnet, type Tsnet } from './tsnet/supervisor.js';
import { RefreshStatus } from './refresh/status.js';
import { probeRoute } from './server/probe-route.js';
import { sdRoute } from './server/sd-route.js';
import { startServer, type RunningServer } from './server/server.js';
import { HttpStats } from './server/http-stats.js';
import { HttpTailscaleApi, type TailscaleApi } from './tailscale/api.js';
import { HeadscaleApi } from './tailscale/headscale.js';
import type { SimHeadscale } from './sim/headscale.js';
import { OAuthTokenSource, StaticToken, type TokenSource } from './tailscale/auth.js';
import { RequestStats } from './tailscale/request-stats.js';
import type { SimTailnet } from './sim/tailnet.js';

export interface App {
  readonly url: string;
  readonly config: Config;
  readonly refresher: Refresher;
  readonly simulator: SimTailnet | undefined;
  /** BACKEND=headscale in simulator mode: the simulated Headscale. */
  readonly headscaleSimulator: SimHeadscale | undefined;
  /** SIGHUP: re-read EXPECTED_DEVICES_FILE; a bad file keeps the last good one. */
  reloadExpectedDevices(): void;
  stop(): Promise<void>;
}

/** Composition root: builds every stage from the config and wires them; no logic of its own. */
export interface StartOptions {
  /** Aborts a start that waits (tsnet login). */
  readonly signal?: AbortSignal;
  /** The clock of the refresh loop, retention, health and the HTTP server; tests move it. */
  readonly now?: () => number;
}

export async function startApp(
  baseConfig: Config,
  log: Logger,
  version: string,
  options: StartOptions = {},
): Promise<App> {
  let config = baseConfig;
  const now = options.now ?? Date.now;
  tuneHeapGrowth();
  // Read and checked by loadConfig (so --check-config sees what start sees); SIGHUP replaces it.
  let expected = config.expectedDevices;
  let simulator: SimTailnet | undefined;
  let headscaleSimulator: SimHeadscale | undefined;
  if (config.simulator !== undefined && config.backend === 'headscale') {
    // Loaded only in simulator mode: a real deployment does not carry the simulator in memory.
    const { startHeadscale } = await import('./sim/headscale.js');
    headscaleSimulator = await startHeadscale({
      scenario: 'scenario' in config.simulator ? config.simulator.scenario : { names: [...config.simulator.names] },
    });
    config = {
      ...config,
      headscale: { url: headscaleSimulator.url, apiKey: headscaleSimulator.apiKey, ca: undefined },
      scrapeAllowedCidrs: ['127.0.0.0/8'],
      clientMetrics: { ...config.clientMetrics, port: headscaleSimulator.clientMetricsPort },
    };
    log.info(
      { headscale_url: headscaleSimulator.url, nodes: headscaleSimulator.nodes.length },
      'running on the built-in simulated Headscale',
    );
  } else if (config.simulator !== undefined) {
    const { startTailnet } = await import('./sim/tailnet.js');
    simulator = await startTailnet({
      scenario: 'scenario' in config.simulator ? config.simulator.scenario : { names: [...config.simulator.names] },
    });
    // The simulated devices live on 127.0.0.N, one port for all, exactly as a tailnet's devices on :5252.
    config = {
      ...config,
      apiUrl: simulator.apiUrl,
      tailnet: simulator.tailnet,
      auth: { kind: 'oauth', clientId: simulator.clientId, clientSecret: simulator.clientSecret },
      scrapeAllowedCidrs: ['127.0.0.0/8'],
      clientMetrics: { ...config.clientMetrics, port: simulator.clientMetricsPort },
    };
    log.info(
      { api_url: simulator.apiUrl, devices: simulator.devices.length },
      'running on the built-in simulated tailnet',
    );
  }
  const apiStats = new RequestStats();
  let tokens: TokenSource & { close?: () => Promise<void> };
  let api: TailscaleApi;
  let httpApi: HttpTailscaleApi | undefined;
  const hs = config.headscale;
  if (config.backend === 'headscale') {
    if (hs === undefined) throw new Error('no Headscale settings');
    tokens = new StaticToken(hs.apiKey);
    api = new HeadscaleApi(
      new HttpTailscaleApi({
        baseUrl: hs.url,
        tailnet: '-',
        timeoutMs: config.apiTimeoutMs,
        tokens,
        stats: apiStats,
        log: log.child({ stage: 'headscale' }),
        ca: hs.ca,
      }),
    );
  } else {
    const auth = config.auth;
    if (auth === undefined) throw new Error('no API credentials');
    const common = { baseUrl: config.apiUrl, timeoutMs: config.apiTimeoutMs, stats: apiStats };
    tokens =
      auth.kind === 'api-key'
        ? new StaticToken(auth.apiKey)
        : auth.kind === 'federated'
          ? new OAuthTokenSource({ ...common, clientId: auth.clientId, idTokenFile: auth.idTokenFile })
          : new OAuthTokenSource({ ...common, clientId: auth.clientId, clientSecret: auth.clientSecret });
    api = httpApi = new HttpTailscaleApi({
      baseUrl: config.apiUrl,
      tailnet: config.tailnet,
      timeoutMs: config.apiTimeoutMs,
      tokens,
      stats: apiStats,
      log: log.child({ stage: 'api' }),
      now,
    });
  }
  // tsnet mode: our own userspace tailscaled; device scrapes leave through its SOCKS5 proxy.
  let tsnet: Tsnet | undefined;
  if (config.tsnet.enabled) {
    const timeout = config.clientMetrics.timeoutMs;
    try {
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
          timing: { statusIntervalMs: Math.min(config.scrapeIntervalMs, 10_000), stopTimeoutMs: 3_000 },
          signal: options.signal,
        },
        log.child({ stage: 'tsnet' }),
      );
    } catch (err) {
      await Promise.allSettled([api.close(), tokens.close?.()]);
      throw err;
    }
  }
  const scraper = new DeviceScraper({
    timeoutMs: config.clientMetrics.timeoutMs,
    maxBytes: config.clientMetrics.maxBytes,
    maxSeries: config.clientMetrics.maxSeries,
    concurrency: config.maxConcurrentScrapes,
    dispatcher: tsnet?.dispatcher,
  });
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
        api,
        enabled: config.collectors,
        intervalMs: config.inventoryIntervalMs,
        log: log.child({ stage: 'inventory' }),
        backend: config.backend,
      })
    : undefined;
  const logPollers: LogPollers | undefined =
    httpApi === undefined || !tailnetWide
      ? undefined
      : makeLogPollers({
          source: httpApi,
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
  let server: RunningServer;
  try {
    server = await startServer({
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
        tailnet: config.backend === 'headscale' ? redactUrl(config.headscale?.url ?? '') : config.tailnet,
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
  } catch (err) {
    await Promise.allSettled([
      api.close(),
      scraper.close(),
      tokens.close?.(),
      simulator?.close(),
      headscaleSimulator?.close(),
      tsnet?.stop(),
    ]);
    throw err;
  }
  refresher.start();
  logPollers?.start();
  log.info({ url: server.url, config: shownConfig }, 'tsmetrics listening');

  return {
    url: server.url,
    config,
    refresher,
    simulator,
    headscaleSimulator,
    reloadExpectedDevices() {
      const file = config.expectedDevicesFile;
      if (file === undefined) return;
      try {
        expected = readExpectedDevicesFile(file, (p) => readFileSync(p, 'utf8'));
        log.info({ file, selectors: expected.selectors.length }, 'expected devices reloaded');
      } catch (err) {
        // Keep the last good file: a typo during an edit must not blank the inventory alerts.
        log.error({ file, err: (err as Error).message }, 'expected devices file is invalid; keeping the previous one');
      }
    },
    async stop() {
      await Promise.all([refresher.stop(), logPollers?.stop()]);
      await server.close();
      await Promise.allSettled([
        api.close(),
        scraper.close(),
        tokens.close?.(),
        simulator?.close(),
        headscaleSimulator?.close(),
      ]);
      await tsnet?.stop();
    },
  };
}
