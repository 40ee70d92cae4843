// End-to-end performance benchmark of tsmetrics: serving, rendering, refreshing, memory and
// responsiveness on a simulated tailnet of 1,000 and 10,000 devices. See bench/README.md.
//
//   npm run build && node dist/bench/run.js
//
// Environment (all optional): BENCH_SIZES=1000,10000  BENCH_REQUESTS=400  BENCH_TIMEOUT_S=1200  BENCH_RESULTS=<file>
// BENCH_CHURN_SIZES=10000,50000 (the churn section, bench/churn.ts; empty or `none` skips it)  BENCH_CHURN_DEFAULT_CONFIG=1
// Prints a Markdown report and writes it to dist/bench/results.md, or to BENCH_RESULTS (the committed
// bench/results.md is replaced only when asked: BENCH_RESULTS=bench/results.md).
import { createServer, type Server } from 'node:http';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Agent, request as undiciRequest } from 'undici';
import { startApp, type App } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { parseExposition } from '../src/devices/parse/index.js';
import type { MetricFamily } from '../src/exposition/family.js';
import { render } from '../src/exposition/render.js';
import { buildSnapshot } from '../src/exposition/snapshot.js';
import { createLogger } from '../src/log.js';
import { VERSION } from '../src/version.js';
import { NODE_FLAGS, tuneHeapGrowth } from '../src/heap.js';
import {
  resultsPath,
  fetchOnce,
  fmtBytes,
  fmtMs,
  fmtRatio,
  freePort,
  Helper,
  median,
  sampleValue,
  summarize,
  type LatencySummary,
} from './lib.js';
import { churnCases, churnSection, runChurn, type ChurnResult } from './churn.js';

const SIZES = (process.env.BENCH_SIZES ?? '1000,10000').split(',').map(Number);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 400);
const SCRAPERS = 4;
const DEVICE_DELAY_MS = 20;
const CONCURRENCIES = [10, 100] as const;
/** Refresh cycles timed per concurrency after the first (cold) one. */
const WARM_CYCLES = 2;
const RESPONSIVENESS_SIZE = 1000;
const POST_REFRESH_REQUESTS = 100;
/** Cycles per encoding during which the client scrapes non-stop (section 6). */
const DURING_CYCLES = 4;
/** Cycles of the memory process: enough for the heap to settle (it grows over the first three or four). */
const MEMORY_CYCLES = 5;
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 1200);
/** Section 8 (bench/churn.ts): 0, 1, 10 and 100 % churn at 10,000 devices, 1 % at 50,000, and 1 % in the default configuration at 10,000. */
const CHURN_CASES = churnCases(
  process.env.BENCH_CHURN_SIZES ?? '10000,50000',
  process.env.BENCH_CHURN_DEFAULT_CONFIG !== '0',
);

const here = (file: string): URL => new URL(`./${file}`, import.meta.url);
const RESULTS_MD = resultsPath(process.env, fileURLToPath(new URL('../../', import.meta.url)));
const log = createLogger({ level: 'warn', format: 'text' });

interface SimInfo {
  apiUrl: string;
  apiKey: string;
  clientMetricsPort: number;
  devices: number;
  servingDevices: number;
  startMs: number;
}
interface SimStats {
  deviceListRequests: number;
  tokenRequests: number;
  routeRequests: number;
  scrapes: number;
}
interface ClientRun {
  latency: LatencySummary;
  bytes: number;
  gzipped: number;
  statuses: Record<string, number>;
  wallMs: number;
  requestsPerSecond: number;
}
interface CycleTiming {
  wallMs: number;
  /** CPU time of the benchmark process (= the exporter; nothing else runs in it meanwhile). */
  cpuMs: number;
  apiRequestMs: number;
  /** From the cycle's start until its last device answered (the API call and the API families' rendering overlap it). */
  scrapeMs: number;
  /** From the last device answer to the new snapshot: client metrics, self-metrics, the rest of the gzip. */
  tailMs: number;
}
interface RefreshResult {
  concurrency: number;
  scraped: number;
  floorMs: number;
  coldMs: number;
  warm: CycleTiming[];
  medianMs: number;
  ratio: number;
  /** The same targets fetched by a bare undici loop at the same concurrency (no exporter): this machine's practical floor. */
  bareLoopMs: number;
}
interface ServeResult {
  encoding: 'plain' | 'gzip';
  bytes: number;
  exporter: ClientRun;
  bare: ClientRun;
  /** CPU time of the serving process per request (both servers live in it; nothing else runs meanwhile). */
  exporterCpuPerRequestMs: number;
  bareCpuPerRequestMs: number;
}
interface PostRefresh {
  /** The first requests after a cycle ended (plain), before any other /metrics traffic. */
  run: ClientRun;
}
interface DuringResult {
  concurrency: number;
  cycles: number;
  plain: ClientRun;
  gzip: ClientRun;
  loopDelayP99Ms: number;
  loopDelayMaxMs: number;
  apiCalls: number;
}
interface RenderResult {
  series: number;
  ourRenderMs: number;
  ourSnapshotMs: number;
  promBuildMs: number;
  promMetricsMs: number;
  promBytes: number;
  promSeries: number;
}
interface MemoryResult {
  afterRss: number;
  afterHeap: number;
  liveHeap: number;
  liveExternal: number;
  peakRssSampled: number;
  peakHeap: number;
  maxRss: number;
  baselineRss: number;
  cycleMs: number[];
  /** One plain-text /metrics request after the first cycle: later snapshots then carry the plain body too. */
  plainClient: boolean;
}
interface StatusPageResult {
  /** The first request after a cycle: it sorts and groups every device once (then kept until the next cycle). */
  coldMs: number;
  variants: Array<{ label: string; path: string; bytes: number; latency: LatencySummary }>;
  /** /metrics (gzip) alone, then while the status page is requested without pause on as many connections. */
  metricsAlone: LatencySummary;
  metricsWithPage: LatencySummary;
  pageDuringMetrics: LatencySummary;
  /** Longest event-loop stall inside the exporter while both were requested. */
  loopDelayMaxMs: number;
}
interface SizeResult {
  devices: number;
  scraped: number;
  simStartMs: number;
  serve: ServeResult[];
  postRefresh: PostRefresh;
  loadAvg: number[];
  apiCheck: { metricsRequests: number; apiCallsDuringServe: number; cycles: number; apiCallsTotal: number };
  render: RenderResult;
  refresh: RefreshResult[];
  during: DuringResult[];
  memory: MemoryResult;
  memoryPlain: MemoryResult;
  statusPage: StatusPageResult;
  warnings: string[];
}

function exporterEnv(sim: SimInfo, port: number, concurrency: number): Record<string, string> {
  return {
    TAILSCALE_API_KEY: sim.apiKey,
    TAILSCALE_API_URL: sim.apiUrl,
    CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
    SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8',
    PORT: String(port),
    // Only the cycles the benchmark triggers run (startApp's first one included).
    SCRAPE_INTERVAL: '1h',
    MAX_CONCURRENT_SCRAPES: String(concurrency),
    // Four scrapers from one loopback address would otherwise be throttled by the per-client limit.
    RATE_LIMIT_RPS: '0',
    LOG_LEVEL: 'warn',
  };
}

async function startExporter(sim: SimInfo, concurrency: number): Promise<{ app: App; coldMs: number }> {
  const t0 = performance.now();
  tuneHeapGrowth(); // as main.ts does before the app starts
  const app = await startApp(loadConfig(exporterEnv(sim, await freePort(), concurrency)), log, VERSION);
  await app.refresher.runOnce(); // joins the first cycle, which startApp began
  return { app, coldMs: performance.now() - t0 };
}

async function health(app: App): Promise<{ devices_discovered: number; devices_scraped: number }> {
  return JSON.parse((await fetchOnce(`${app.url}/health`, false)).text) as {
    devices_discovered: number;
    devices_scraped: number;
  };
}

/** The exporter's own view of its last cycle, read from its /metrics. */
async function selfTimings(app: App): Promise<{ refresh: number; scrape: number; apiSum: number }> {
  const text = (await fetchOnce(`${app.url}/metrics`, true)).text;
  return {
    refresh: sampleValue(text, 'tsmetrics_refresh_duration_seconds') * 1000,
    scrape: sampleValue(text, 'tsmetrics_scrape_cycle_duration_seconds') * 1000,
    apiSum: sampleValue(text, 'tsmetrics_api_request_duration_seconds_sum{endpoint="devices"}') * 1000,
  };
}

async function timeRefresh(
  sim: SimInfo,
  concurrency: number,
  warnings: string[],
): Promise<{ app: App; result: RefreshResult }> {
  const { app, coldMs } = await startExporter(sim, concurrency);
  const scraped = sim.servingDevices;
  const warm: CycleTiming[] = [];
  let before = await selfTimings(app);
  for (let i = 0; i < WARM_CYCLES; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await app.refresher.runOnce();
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const after = await selfTimings(app);
    warm.push({
      wallMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      apiRequestMs: after.apiSum - before.apiSum,
      scrapeMs: after.scrape,
      tailMs: wallMs - after.scrape,
    });
    before = after;
  }
  const h = await health(app);
  if (h.devices_discovered !== sim.devices || h.devices_scraped !== scraped) {
    warnings.push(
      `c=${concurrency}: the exporter saw ${h.devices_discovered}/${sim.devices} devices and scraped ${h.devices_scraped}/${scraped}`,
    );
  }
  const floorMs = Math.ceil(scraped / concurrency) * DEVICE_DELAY_MS;
  const medianMs = median(warm.map((w) => w.wallMs));
  const bareLoopMs = await bareLoop(app, concurrency);
  return {
    app,
    result: { concurrency, scraped, floorMs, coldMs, warm, medianMs, ratio: medianMs / floorMs, bareLoopMs },
  };
}

/**
 * The exporter's scrape targets (from its /sd) fetched by a plain undici loop with the scraper's pool settings,
 * bodies read and dropped: what the simulated devices and this machine allow before any exporter work. Median of
 * two runs after one that opens the connections.
 */
async function bareLoop(app: App, concurrency: number): Promise<number> {
  const groups = JSON.parse((await fetchOnce(`${app.url}/sd`, false)).text) as { targets: string[] }[];
  const urls = groups.flatMap((g) => g.targets.map((t) => `http://${t}/metrics`));
  const agent = new Agent({ connections: 1, keepAliveTimeout: 120_000 });
  const run = async (): Promise<number> => {
    const t0 = performance.now();
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < urls.length) {
        const res = await undiciRequest(urls[next++]!, { dispatcher: agent });
        await res.body.text();
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, urls.length) }, worker));
    return performance.now() - t0;
  };
  try {
    await run();
    return median([await run(), await run()]);
  } finally {
    await agent.close();
  }
}

function startBare(plain: Buffer, gzip: Buffer): Promise<{ server: Server; url: string }> {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const body = gz ? gzip : plain;
    res.writeHead(200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
      'content-length': body.length,
      vary: 'Accept-Encoding',
      ...(gz ? { 'content-encoding': 'gzip' } : {}),
    });
    res.end(body);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof addr === 'object' && addr !== null ? addr.port : 0}/metrics` });
    }),
  );
}

function checkRun(label: string, run: ClientRun, gzip: boolean, warnings: string[]): ClientRun {
  const ok = run.statuses['200'] ?? 0;
  if (ok !== run.latency.count) warnings.push(`${label}: statuses ${JSON.stringify(run.statuses)}`);
  if (gzip !== (run.gzipped === run.latency.count))
    warnings.push(`${label}: ${run.gzipped}/${run.latency.count} responses gzipped`);
  return run;
}

async function clientRun(
  client: Helper,
  url: string,
  gzip: boolean,
  label: string,
  warnings: string[],
  requests = REQUESTS,
  raw = false,
  concurrency = SCRAPERS,
): Promise<ClientRun & { latencies?: number[] }> {
  const run = await client.call<ClientRun & { latencies?: number[] }>({
    type: 'run',
    url,
    requests,
    concurrency,
    gzip,
    warmup: concurrency * 2,
    raw,
  });
  return checkRun(label, run, gzip, warnings);
}

/**
 * Exporter and bare server alternately, A B B A, REQUESTS/2 each block, so drift in background load (a
 * shared machine) and the exporter's own after-refresh garbage collection fall on both sides alike.
 */
async function interleaved(
  client: Helper,
  exporterUrl: string,
  bareUrl: string,
  gzip: boolean,
  warnings: string[],
): Promise<{ exporter: ClientRun; bare: ClientRun; cpuPerRequestMs: { exporter: number; bare: number } }> {
  const half = Math.ceil(REQUESTS / 2);
  const lat = { exporter: [] as number[], bare: [] as number[] };
  const wall = { exporter: 0, bare: 0 };
  const cpu = { exporter: 0, bare: 0 };
  const requests = { exporter: 0, bare: 0 };
  let bytes = { exporter: 0, bare: 0 };
  for (const side of ['exporter', 'bare', 'bare', 'exporter'] as const) {
    const c0 = process.cpuUsage();
    const r = await clientRun(
      client,
      side === 'exporter' ? exporterUrl : bareUrl,
      gzip,
      `${side} ${gzip ? 'gzip' : 'plain'}`,
      warnings,
      half,
      true,
    );
    const c = process.cpuUsage(c0);
    cpu[side] += (c.user + c.system) / 1000;
    requests[side] += half + SCRAPERS * 2; // warm-up requests cost CPU too
    lat[side].push(...(r.latencies ?? []));
    wall[side] += r.wallMs;
    bytes = { ...bytes, [side]: r.bytes };
  }
  const merge = (side: 'exporter' | 'bare'): ClientRun => ({
    latency: summarize(lat[side]),
    bytes: bytes[side],
    gzipped: gzip ? lat[side].length : 0,
    statuses: { 200: lat[side].length },
    wallMs: wall[side],
    requestsPerSecond: (lat[side].length * 1000) / wall[side],
  });
  return {
    exporter: merge('exporter'),
    bare: merge('bare'),
    cpuPerRequestMs: { exporter: cpu.exporter / requests.exporter, bare: cpu.bare / requests.bare },
  };
}

/**
 * /metrics latency from the client while refresh cycles run back to back in the exporter: the client
 * scrapes without pause, plain during DURING_CYCLES cycles, then gzip during as many more.
 */
async function duringRefresh(
  app: App,
  concurrency: number,
  client: Helper,
  sim: SimPair,
  warnings: string[],
): Promise<DuringResult> {
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  const before = await sim.call<SimStats>({ type: 'stats' });
  const url = `${app.url}/metrics`;
  let cycles = 0;
  const measure = async (gzip: boolean): Promise<ClientRun> => {
    // Two requests per connection before the cycles start: what is measured is serving during a cycle,
    // not opening connections (the other sections warm up the same way).
    const pending = client.call<ClientRun>({
      type: 'run',
      url,
      requests: 1_000_000,
      concurrency: SCRAPERS,
      gzip,
      warmup: SCRAPERS * 2,
      untilStopped: true,
    });
    await client.call({ type: 'warmed' });
    for (let i = 0; i < DURING_CYCLES; i++) {
      await app.refresher.runOnce();
      cycles++;
    }
    await client.call({ type: 'stop' });
    return checkRun(`during refresh c=${concurrency} ${gzip ? 'gzip' : 'plain'}`, await pending, gzip, warnings);
  };
  loopDelay.enable();
  const plain = await measure(false);
  const gzip = await measure(true);
  loopDelay.disable();
  const after = await sim.call<SimStats>({ type: 'stats' });
  return {
    concurrency,
    cycles,
    plain,
    gzip,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    loopDelayMaxMs: loopDelay.max / 1e6,
    apiCalls: after.deviceListRequests - before.deviceListRequests,
  };
}

/** Status page requests per variant, and the concurrent /metrics runs of section 7. */
const PAGE_REQUESTS = 50;
const PAGE_CONCURRENT_REQUESTS = 200;

/**
 * The status page at this size (section 7): the first request after a cycle (which sorts the devices), then
 * warm requests per view on one connection, then /metrics alone and while the page is requested non-stop.
 */
async function statusPageBench(
  app: App,
  devices: number,
  client: Helper,
  warnings: string[],
): Promise<StatusPageResult> {
  const t0 = performance.now();
  const cold = await fetchOnce(`${app.url}/`, false);
  const coldMs = performance.now() - t0;
  if (cold.status !== 200 || !cold.text.includes('id="device-table"'))
    warnings.push(`status page: HTTP ${cold.status}`);
  const search = `node-${String(42).padStart(String(devices).length, '0')}`;
  const views = [
    ['first page, all devices', '/'],
    ['scraped, page 3', '/?state=scraped&page=3'],
    ['untagged, last page', `/?state=untagged&page=${Math.ceil((devices * 3) / 4 / 100)}`],
    [`search "${search}"`, `/?q=${search}`],
  ] as const;
  const variants: StatusPageResult['variants'] = [];
  for (const [label, path] of views) {
    const run = await clientRun(
      client,
      `${app.url}${path}`,
      false,
      `status page ${label}`,
      warnings,
      PAGE_REQUESTS,
      false,
      1,
    );
    variants.push({ label, path, bytes: run.bytes, latency: run.latency });
  }
  const metrics = `${app.url}/metrics`;
  const metricsAlone = await clientRun(
    client,
    metrics,
    true,
    '/metrics alone',
    warnings,
    PAGE_CONCURRENT_REQUESTS,
    false,
    2,
  );
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  loopDelay.enable();
  const [metricsWithPage, pageDuringMetrics] = await Promise.all([
    clientRun(client, metrics, true, '/metrics with the status page', warnings, PAGE_CONCURRENT_REQUESTS, false, 2),
    clientRun(
      client,
      `${app.url}/?state=scraped&page=3`,
      false,
      'status page with /metrics',
      warnings,
      PAGE_CONCURRENT_REQUESTS,
      false,
      2,
    ),
  ]);
  loopDelay.disable();
  return {
    coldMs,
    variants,
    metricsAlone: metricsAlone.latency,
    metricsWithPage: metricsWithPage.latency,
    pageDuringMetrics: pageDuringMetrics.latency,
    loopDelayMaxMs: loopDelay.max / 1e6,
  };
}

/** The exporter's series, rendered by our renderer and by prom-client 15 holding the same label sets. */
async function compareRender(text: string, runs: number): Promise<RenderResult> {
  const parsed = parseExposition(text, { maxSeries: 50_000_000, maxLineLength: 1 << 20 });
  if (!parsed.ok)
    throw new Error(`cannot parse the exporter's own output: line ${parsed.error.line}: ${parsed.error.message}`);
  const families = parsed.families;
  const series = families.reduce((n, f) => n + f.samples.length, 0);

  const ours: number[] = [];
  const snaps: number[] = [];
  for (let i = 0; i < runs + 1; i++) {
    let t0 = performance.now();
    render(families);
    const r = performance.now() - t0;
    t0 = performance.now();
    await buildSnapshot(families, Date.now());
    const s = performance.now() - t0;
    if (i > 0) {
      ours.push(r);
      snaps.push(s);
    }
  }

  const t0 = performance.now();
  const registry = promRegistry(families);
  const promBuildMs = performance.now() - t0;
  const prom: number[] = [];
  let out = '';
  for (let i = 0; i < runs + 1; i++) {
    const t1 = performance.now();
    out = await registry.metrics();
    if (i > 0) prom.push(performance.now() - t1);
  }
  registry.clear();
  let promSeries = 0;
  for (let at = 0; at < out.length;) {
    const nl = out.indexOf('\n', at);
    if (out.charCodeAt(at) !== 35 /* # */ && nl !== at) promSeries++;
    at = nl < 0 ? out.length : nl + 1;
  }
  return {
    series,
    ourRenderMs: median(ours),
    ourSnapshotMs: median(snaps),
    promBuildMs,
    promMetricsMs: median(prom),
    promBytes: Buffer.byteLength(out),
    promSeries,
  };
}

function promRegistry(families: readonly MetricFamily[]): Registry {
  const registry = new Registry();
  for (const fam of families) {
    const labelNames = new Set<string>();
    for (const s of fam.samples) for (const k of Object.keys(s.labels)) labelNames.add(k);
    if (fam.type === 'histogram') {
      labelNames.delete('le');
      const buckets = new Set<number>();
      const groups = new Map<string, { labels: Record<string, string>; sum: number; count: number }>();
      for (const s of fam.samples) {
        const { le, ...rest } = s.labels;
        if (le !== undefined && le !== '+Inf') buckets.add(Number(le));
        const key = JSON.stringify(rest);
        const g = groups.get(key) ?? { labels: rest, sum: 0, count: 0 };
        if (s.name.endsWith('_sum')) g.sum = s.value;
        if (s.name.endsWith('_count')) g.count = s.value;
        groups.set(key, g);
      }
      const h = new Histogram({
        name: fam.name,
        help: fam.help,
        labelNames: [...labelNames],
        buckets: [...buckets].sort((a, b) => a - b),
        registers: [registry],
      });
      for (const g of groups.values()) {
        h.zero(g.labels);
        for (let i = 0; i < g.count; i++) h.observe(g.labels, g.sum / g.count);
      }
    } else if (fam.type === 'counter') {
      const c = new Counter({ name: fam.name, help: fam.help, labelNames: [...labelNames], registers: [registry] });
      for (const s of fam.samples) c.inc(s.labels, s.value);
    } else {
      // gauge and untyped (prom-client has no untyped; the rendering work is the same)
      const g = new Gauge({ name: fam.name, help: fam.help, labelNames: [...labelNames], registers: [registry] });
      for (const s of fam.samples) g.set(s.labels, s.value);
    }
  }
  return registry;
}

/** The simulated tailnet in two processes: the fake API, and the devices (same scenario, same ids). */
class SimPair {
  readonly #api: Helper;
  readonly #devices: Helper;
  constructor(count: number) {
    this.#api = new Helper(here('sim-host.js'), [String(count), String(DEVICE_DELAY_MS), 'api']);
    this.#devices = new Helper(here('sim-host.js'), [String(count), String(DEVICE_DELAY_MS), 'devices']);
  }
  async ready(): Promise<SimInfo> {
    const [api, devices] = await Promise.all([this.#api.ready<SimInfo>(), this.#devices.ready<SimInfo>()]);
    return {
      ...api,
      clientMetricsPort: devices.clientMetricsPort,
      servingDevices: devices.servingDevices,
      startMs: Math.max(api.startMs, devices.startMs),
    };
  }
  /** API counters from the API process, scrapes from the devices process. */
  async call<T extends SimStats>(message: { type: 'stats' }): Promise<T> {
    const [api, devices] = await Promise.all([
      this.#api.call<SimStats>(message),
      this.#devices.call<SimStats>(message),
    ]);
    return { ...api, scrapes: devices.scrapes } as T;
  }
  async close(): Promise<void> {
    await Promise.all([this.#api.close(), this.#devices.close()]);
  }
}

async function benchSize(devices: number, client: Helper): Promise<SizeResult> {
  const warnings: string[] = [];
  const loadAvg = loadavg();
  const simHelper = new SimPair(devices);
  const sim = await simHelper.ready();
  progress(`${devices} devices: simulator up in ${fmtMs(sim.startMs)} ms (${sim.servingDevices} device endpoints)`);
  let cycles = 0;
  try {
    // 1-2: serving, at MAX_CONCURRENT_SCRAPES=10 (the default).
    const a = await timeRefresh(sim, 10, warnings);
    cycles += 1 + WARM_CYCLES;
    const refresh: RefreshResult[] = [a.result];
    progress(`${devices} devices: refresh c=10 ${fmtMs(a.result.medianMs)} ms (floor ${a.result.floorMs} ms)`);
    const url = `${a.app.url}/metrics`;
    const s0 = await simHelper.call<SimStats>({ type: 'stats' });
    // Straight after the last timed cycle: what a scrape landing just after a refresh sees.
    const postRefresh = {
      run: await clientRun(client, url, false, 'post-refresh plain', warnings, POST_REFRESH_REQUESTS),
    };
    progress(
      `${devices} devices: first ${POST_REFRESH_REQUESTS} plain requests after a cycle: p50 ${fmtMs(postRefresh.run.latency.p50)} ms`,
    );
    const plainBody = await fetchOnce(url, false);
    const gzipBody = await fetchOnce(url, true);
    const bare = await startBare(plainBody.raw, gzipBody.raw);
    const serve: ServeResult[] = [];
    try {
      for (const gzip of [false, true]) {
        const encoding = gzip ? 'gzip' : 'plain';
        const { exporter, bare: bareRun, cpuPerRequestMs } = await interleaved(client, url, bare.url, gzip, warnings);
        serve.push({
          encoding,
          bytes: (gzip ? gzipBody : plainBody).raw.length,
          exporter,
          bare: bareRun,
          exporterCpuPerRequestMs: cpuPerRequestMs.exporter,
          bareCpuPerRequestMs: cpuPerRequestMs.bare,
        });
        progress(
          `${devices} devices: /metrics ${encoding} p50 ${fmtMs(exporter.latency.p50)} ms, bare ${fmtMs(bareRun.latency.p50)} ms`,
        );
      }
    } finally {
      await new Promise<void>((resolve) => {
        bare.server.close(() => resolve());
        bare.server.closeAllConnections();
      });
    }
    const s1 = await simHelper.call<SimStats>({ type: 'stats' });
    const metricsRequests = POST_REFRESH_REQUESTS + SCRAPERS * 2 + 2 * 2 * (Math.ceil(REQUESTS / 2) + SCRAPERS * 2) + 2;

    // 7: the status page (after the API check above: it makes no API call either).
    const statusPage = await statusPageBench(a.app, devices, client, warnings);
    progress(
      `${devices} devices: status page first request ${fmtMs(statusPage.coldMs)} ms, warm p50 ${statusPage.variants.map((v) => fmtMs(v.latency.p50)).join(' / ')} ms`,
    );

    // 6: responsiveness while cycles run.
    const during: DuringResult[] = [];
    if (devices === RESPONSIVENESS_SIZE) {
      const d = await duringRefresh(a.app, 10, client, simHelper, warnings);
      cycles += d.cycles;
      during.push(d);
      progress(
        `${devices} devices: during refresh (c=10, ${d.cycles} cycles) plain p99 ${fmtMs(d.plain.latency.p99)} ms`,
      );
    }

    // 3: render comparison, on the bytes the exporter served.
    const renderResult = await compareRender(plainBody.text, devices >= 10_000 ? 3 : 5);
    progress(
      `${devices} devices: prom-client metrics() ${fmtMs(renderResult.promMetricsMs)} ms, our render ${fmtMs(renderResult.ourRenderMs)} ms`,
    );
    await a.app.stop();

    // 4 at MAX_CONCURRENT_SCRAPES=100.
    for (const c of CONCURRENCIES.filter((x) => x !== 10)) {
      const b = await timeRefresh(sim, c, warnings);
      cycles += 1 + WARM_CYCLES;
      refresh.push(b.result);
      progress(`${devices} devices: refresh c=${c} ${fmtMs(b.result.medianMs)} ms (floor ${b.result.floorMs} ms)`);
      if (devices === RESPONSIVENESS_SIZE) {
        const d = await duringRefresh(b.app, c, client, simHelper, warnings);
        cycles += d.cycles;
        during.push(d);
        progress(
          `${devices} devices: during refresh (c=${c}, ${d.cycles} cycles) plain p99 ${fmtMs(d.plain.latency.p99)} ms`,
        );
      }
      await b.app.stop();
    }

    // 5: memory, in a process of its own that runs only the exporter (default concurrency): scraped by
    // Prometheus only (gzip), then again with one plain-text request after the first cycle.
    const memoryRun = async (plainClient: boolean): Promise<MemoryResult> => {
      const args = [
        JSON.stringify(exporterEnv(sim, await freePort(), 10)),
        String(MEMORY_CYCLES),
        plainClient ? 'plain' : 'gzip',
      ];
      const memHelper = new Helper(here('exporter-proc.js'), args, ['--expose-gc', ...NODE_FLAGS]);
      let m: any;
      try {
        m = await memHelper.ready<any>();
      } finally {
        await memHelper.close();
      }
      cycles += MEMORY_CYCLES;
      if (m.devicesScraped !== sim.servingDevices)
        warnings.push(`memory run scraped ${m.devicesScraped}/${sim.servingDevices}`);
      return {
        afterRss: m.after.rss,
        afterHeap: m.after.heapUsed,
        liveHeap: m.live?.heapUsed ?? Number.NaN,
        liveExternal: m.live?.external ?? Number.NaN,
        peakRssSampled: m.peak.rss,
        peakHeap: m.peak.heapUsed,
        maxRss: m.maxRssBytes,
        baselineRss: m.baseline.rss,
        cycleMs: m.cycleMs,
        plainClient,
      };
    };
    const memory = await memoryRun(false);
    const memoryPlain = await memoryRun(true);
    progress(
      `${devices} devices: peak RSS ${fmtBytes(memory.maxRss)}, with a plain client ${fmtBytes(memoryPlain.maxRss)}`,
    );
    const s2 = await simHelper.call<SimStats>({ type: 'stats' });
    return {
      devices,
      scraped: sim.servingDevices,
      simStartMs: sim.startMs,
      serve,
      postRefresh,
      loadAvg,
      apiCheck: {
        metricsRequests,
        apiCallsDuringServe: s1.deviceListRequests - s0.deviceListRequests,
        cycles,
        apiCallsTotal: s2.deviceListRequests,
      },
      render: renderResult,
      refresh,
      during,
      memory,
      memoryPlain,
      statusPage,
      warnings,
    };
  } finally {
    await simHelper.close();
  }
}

/** Commit and uncommitted source files: the tree is shared and changes between runs. */
function codeState(): string {
  const git = (...args: string[]): string =>
    execFileSync('git', args, {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
  try {
    const head = git('log', '-1', '--format=%h %s').trim();
    // Porcelain lines are "XY path": the path starts at column 3.
    const dirty = git('status', '--porcelain', '--', 'src')
      .split('\n')
      .filter((x) => x.length > 3)
      .map((x) => x.slice(3));
    return `git ${head}${dirty.length === 0 ? '' : `, plus uncommitted changes in ${dirty.join(', ')}`}`;
  } catch {
    return 'unknown (no git)';
  }
}

function progress(line: string): void {
  process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${line}\n`);
}

const T0 = performance.now();

function report(
  results: SizeResult[],
  churn: readonly ChurnResult[],
  meta: {
    cpu: string;
    cores: number;
    code: string;
    loadBefore: number[];
    loadAfter: number[];
    totalS: number;
    churnS: number;
  },
): string {
  const out: string[] = [];
  const l = (s = ''): void => {
    out.push(s);
  };
  const la = (x: readonly number[]): string => x.map((v) => v.toFixed(2)).join(' / ');
  const plainOf = (r: SizeResult): ServeResult => r.serve.find((s) => s.encoding === 'plain')!;
  const gzipOf = (r: SizeResult): ServeResult => r.serve.find((s) => s.encoding === 'gzip')!;
  l('# tsmetrics benchmark results');
  l();
  l(`- Date: ${new Date().toISOString()}`);
  l(`- CPU: ${meta.cpu}, ${meta.cores} cores`);
  l(`- Node: ${process.version} (${process.platform}/${process.arch}), tsmetrics ${VERSION}`);
  l(`- Code (at the start of the run): ${meta.code}`);
  l(
    `- Load average (1/5/15 min) at start: ${la(meta.loadBefore)}; at the start of each size: ${results.map((r) => `${r.devices}: ${la(r.loadAvg)}`).join('; ')}; at the end: ${la(meta.loadAfter)}.`,
  );
  l("  The machine is shared and was busy with other engineers' test runs, so absolute times are noisy (a load");
  l('  average above the 2 cores means processes were waiting for a CPU); figures measured side by side');
  l('  (exporter vs bare buffer, interleaved) and CPU times are the more robust ones.');
  l(`- Setup: simulated tailnet in its own process (every device with API metadata, one in four scraped, ~30 client`);
  l(
    `  series each, device answers delayed ${DEVICE_DELAY_MS} ms); exporter in the benchmark process (startApp, SCRAPE_INTERVAL=1h so only`,
  );
  l(
    `  the cycles the benchmark triggers run, RATE_LIMIT_RPS=0); ${SCRAPERS} keep-alive scrapers in a separate client process.`,
  );
  const benchFlags = NODE_FLAGS.filter((f) => process.execArgv.includes(f)).join(' ');
  l(
    `- Node flags, as every launcher starts the exporter: ${NODE_FLAGS.join(' ')} for the memory process; ${benchFlags === '' ? 'none for the benchmark process (run it with npm run bench)' : `${benchFlags} for the benchmark process too`}.`,
  );
  l(
    `- Total run time: ${meta.totalS.toFixed(0)} s${churn.length > 0 ? `, of which the churn section (8) ${meta.churnS.toFixed(0)} s` : ''}`,
  );
  l();

  l('## 1-2. /metrics latency: exporter vs the same bytes from a bare node:http server');
  l();
  l(
    `${REQUESTS} requests per side and encoding, ${SCRAPERS} concurrent keep-alive scrapers, blocks interleaved exporter / bare / bare / exporter`,
  );
  l('(each block after its own warm-up requests). Latency = request written to last body byte, in the client process.');
  l('Server CPU/request = CPU time of the serving process (exporter and bare server live in it) per request: unlike');
  l("latency, it hardly moves with the machine's background load.");
  l();
  l(
    '| devices | series | encoding | bytes | exporter p50 | exporter p99 | bare p50 | bare p99 | p50 ratio | exporter req/s | bare req/s | server CPU/request, exporter / bare |',
  );
  l('|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const s of r.serve) {
      l(
        `| ${r.devices} | ${r.render.series} | ${s.encoding} | ${fmtBytes(s.bytes)} | ${fmtMs(s.exporter.latency.p50)} ms | ${fmtMs(s.exporter.latency.p99)} ms | ${fmtMs(s.bare.latency.p50)} ms | ${fmtMs(s.bare.latency.p99)} ms | ${fmtRatio(s.exporter.latency.p50 / s.bare.latency.p50)} | ${s.exporter.requestsPerSecond.toFixed(0)} | ${s.bare.requestsPerSecond.toFixed(0)} | ${fmtMs(s.exporterCpuPerRequestMs)} / ${fmtMs(s.bareCpuPerRequestMs)} ms |`,
      );
    }
  }
  l();
  l(
    `Right after a refresh cycle (the first ${POST_REFRESH_REQUESTS} plain requests, before the interleaved runs above): ${results
      .map(
        (r) =>
          `${r.devices} devices p50 ${fmtMs(r.postRefresh.run.latency.p50)} ms / p99 ${fmtMs(r.postRefresh.run.latency.p99)} ms (${fmtRatio(r.postRefresh.run.latency.p50 / plainOf(r).bare.latency.p50)} the bare p50)`,
      )
      .join('; ')}.`,
  );
  l();

  l('## 3. Rendering: prom-client 15 vs tsmetrics');
  l();
  l('prom-client renders on every scrape (`await registry.metrics()`, a Registry holding exactly the label sets the');
  l('exporter served, median of several runs); tsmetrics renders and gzips once per refresh and then serves a buffer,');
  l('so its per-scrape cost is the /metrics p50 above. "bare" is the most any server can gain: the bare buffer p50.');
  l();
  l(
    '| devices | series | prom-client metrics() | our /metrics p50 plain / gzip | prom-client ÷ our p50, plain / gzip | prom-client ÷ bare p50, plain | our render() | our render()+gzip (buildSnapshot) | our render() ÷ prom-client |',
  );
  l('|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const p = plainOf(r).exporter.latency.p50;
    const g = gzipOf(r).exporter.latency.p50;
    const x = r.render;
    l(
      `| ${r.devices} | ${x.series} | ${fmtMs(x.promMetricsMs)} ms | ${fmtMs(p)} / ${fmtMs(g)} ms | ${fmtRatio(x.promMetricsMs / p)} / ${fmtRatio(x.promMetricsMs / g)} | ${fmtRatio(x.promMetricsMs / plainOf(r).bare.latency.p50)} | ${fmtMs(x.ourRenderMs)} ms | ${fmtMs(x.ourSnapshotMs)} ms | ${fmtRatio(x.ourRenderMs / x.promMetricsMs)} |`,
    );
  }
  l();
  l(
    `prom-client output check: ${results.map((r) => `${r.devices} devices: ${r.render.promSeries} series, ${fmtBytes(r.render.promBytes)} (registry built in ${fmtMs(r.render.promBuildMs)} ms)`).join('; ')}.`,
  );
  l();

  l(`## 4. Refresh cycle (device answers after ${DEVICE_DELAY_MS} ms)`);
  l();
  l(
    `Floor = ceil(scraped / MAX_CONCURRENT_SCRAPES) × ${DEVICE_DELAY_MS} ms. Median of ${WARM_CYCLES} warm cycles (runOnce(), connections and JIT warm); the first`,
  );
  l(
    "cycle (from startApp: new connections, cold JIT) apart. CPU = the exporter process's CPU time during the cycle. A cycle",
  );
  l(
    'scrapes the devices it scraped last time at once, while it fetches the device list; the API families are rendered and',
  );
  l("gzipped while the devices answer. Stages come from the exporter's own self-metrics of that cycle:");
  l(
    '"API request" is tsmetrics_api_request_duration_seconds_sum{endpoint="devices"} (request and body, not the conversion);',
  );
  l(
    '"start to last device answer" is tsmetrics_scrape_cycle_duration_seconds; "last answer to new snapshot" is the rest of the wall',
  );
  l(
    'time (client metrics, self-metrics, the end of the gzip stream). "Bare undici loop" fetches the same targets at the same',
  );
  l(
    'concurrency with nothing else (bodies read and dropped): what the simulated devices and this machine allow before any',
  );
  l(
    "exporter work (each simulated answer costs the devices' process CPU, and 10 or 100 answers fall due at the same instant).",
  );
  l();
  l(
    '| devices | scraped | concurrency | floor | first cycle | median cycle | ratio to floor | bare undici loop (÷ floor) | cycle ÷ bare loop | exporter CPU | API request | start to last device answer (÷ floor) | last answer to new snapshot |',
  );
  l('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const f of r.refresh) {
      const mid = f.warm.reduce(
        (best, w) => (Math.abs(w.wallMs - f.medianMs) < Math.abs(best.wallMs - f.medianMs) ? w : best),
        f.warm[0]!,
      );
      l(
        `| ${r.devices} | ${f.scraped} | ${f.concurrency} | ${f.floorMs} ms | ${fmtMs(f.coldMs)} ms | ${fmtMs(f.medianMs)} ms | ${fmtRatio(f.ratio)} | ${fmtMs(f.bareLoopMs)} ms (${fmtRatio(f.bareLoopMs / f.floorMs)}) | ${fmtRatio(f.medianMs / f.bareLoopMs)} | ${fmtMs(mid.cpuMs)} ms | ${fmtMs(mid.apiRequestMs)} ms | ${fmtMs(mid.scrapeMs)} ms (${fmtRatio(mid.scrapeMs / f.floorMs)}) | ${fmtMs(mid.tailMs)} ms |`,
      );
    }
  }
  l();

  l(`## 5. Memory (the exporter alone in a fresh process, MAX_CONCURRENT_SCRAPES=10, ${MEMORY_CYCLES} cycles)`);
  l();
  l(
    "Peak RSS is the kernel's high-water mark of the exporter process (VmHWM in /proc/self/status: getrusage's maxRSS would start from",
  );
  l('the RSS of the benchmark process that forked it); heap figures from process.memoryUsage()');
  l(
    '(sampled every 5 ms, and after the last cycle). "Live" is after one full GC at the very end (the process runs with',
  );
  l('--expose-gc for that call only): what the exporter really retains between cycles.');
  l();
  l(
    '| devices | clients | peak RSS | peak heap used | RSS after refresh | heap used after refresh | live heap / external after full GC | RSS before startApp |',
  );
  l('|---:|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    for (const m of [r.memory, r.memoryPlain]) {
      const clients = m.plainClient ? 'gzip, and one plain request after cycle 1' : 'gzip only (Prometheus)';
      l(
        `| ${r.devices} | ${clients} | ${fmtBytes(m.maxRss)} | ${fmtBytes(m.peakHeap)} | ${fmtBytes(m.afterRss)} | ${fmtBytes(m.afterHeap)} | ${fmtBytes(m.liveHeap)} / ${fmtBytes(m.liveExternal)} | ${fmtBytes(m.baselineRss)} |`,
      );
    }
  }
  l();

  const duringAll = results.flatMap((r) => r.during.map((d) => ({ devices: r.devices, d })));
  if (duringAll.length > 0) {
    l('## 6. /metrics while refresh cycles run back to back');
    l();
    l(
      `The client scrapes without pause (${SCRAPERS} connections) while the exporter runs ${DURING_CYCLES} cycles back to back with plain requests, then`,
    );
    l(
      `${DURING_CYCLES} more with gzip ones; each connection's first two requests come before the cycles (connections open, client warm), every request after`,
    );
    l('them counts. The event-loop delay is measured inside the exporter');
    l('process (perf_hooks.monitorEventLoopDelay) over the same period; its max is the longest stall.');
    l();
    l(
      '| devices | concurrency | cycles | requests plain / gzip | plain p50 / p99 / max | gzip p50 / p99 / max | event-loop delay p99 / max |',
    );
    l('|---:|---:|---:|---:|---:|---:|---:|');
    for (const { devices, d } of duringAll) {
      const s = (x: LatencySummary): string => `${fmtMs(x.p50)} / ${fmtMs(x.p99)} / ${fmtMs(x.max)} ms`;
      l(
        `| ${devices} | ${d.concurrency} | ${d.cycles} | ${d.plain.latency.count} / ${d.gzip.latency.count} | ${s(d.plain.latency)} | ${s(d.gzip.latency)} | ${fmtMs(d.loopDelayP99Ms)} / ${fmtMs(d.loopDelayMaxMs)} ms |`,
      );
    }
    l();
  }

  l('## 7. Status page (`/`)');
  l();
  l('The first request after a refresh cycle sorts and groups every device once (kept until the next cycle); then');
  l(
    `${PAGE_REQUESTS} requests per view on one keep-alive connection (after 2 warm-up requests), 100 devices per page. Last: /metrics (gzip) on 2`,
  );
  l(
    `connections, ${PAGE_CONCURRENT_REQUESTS} requests alone, then ${PAGE_CONCURRENT_REQUESTS} more while 2 other connections request the status page without pause; the`,
  );
  l('event-loop stall is the longest inside the exporter meanwhile.');
  l();
  l('| devices | first request after a cycle | view | bytes | p50 | p99 | max |');
  l('|---:|---:|---|---:|---:|---:|---:|');
  for (const r of results) {
    for (const v of r.statusPage.variants) {
      l(
        `| ${r.devices} | ${fmtMs(r.statusPage.coldMs)} ms | ${v.label} (\`${v.path}\`) | ${fmtBytes(v.bytes)} | ${fmtMs(v.latency.p50)} ms | ${fmtMs(v.latency.p99)} ms | ${fmtMs(v.latency.max)} ms |`,
      );
    }
  }
  l();
  l(
    '| devices | /metrics gzip alone p50 / p99 | /metrics gzip with the status page p50 / p99 | status page meanwhile p50 / p99 | longest event-loop stall |',
  );
  l('|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const p = r.statusPage;
    l(
      `| ${r.devices} | ${fmtMs(p.metricsAlone.p50)} / ${fmtMs(p.metricsAlone.p99)} ms | ${fmtMs(p.metricsWithPage.p50)} / ${fmtMs(p.metricsWithPage.p99)} ms | ${fmtMs(p.pageDuringMetrics.p50)} / ${fmtMs(p.pageDuringMetrics.p99)} ms | ${fmtMs(p.loopDelayMaxMs)} ms |`,
    );
  }
  l();

  if (churn.length > 0) for (const line of churnSection(churn)) l(line);

  l('## API calls vs /metrics requests (the simulator counts device-list calls)');
  l();
  l(
    '| devices | /metrics requests with no cycle running | device-list calls meanwhile | cycles run in all | device-list calls in all |',
  );
  l('|---:|---:|---:|---:|---:|');
  for (const r of results) {
    l(
      `| ${r.devices} | ${r.apiCheck.metricsRequests} | ${r.apiCheck.apiCallsDuringServe} | ${r.apiCheck.cycles} | ${r.apiCheck.apiCallsTotal} |`,
    );
  }
  l();

  l('## Targets');
  l();
  l('| target | measured | met |');
  l('|---|---|---|');
  const yes = (b: boolean): string => (b ? 'yes' : '**NO**');
  const big = results.reduce((a, b) => (b.devices > a.devices ? b : a), results[0]!);
  for (const s of big.serve) {
    const r = s.exporter.latency.p50 / s.bare.latency.p50;
    l(
      `| /metrics p50 at ${big.devices} devices ≤ 1.5× the bare buffer (${s.encoding}) | ${fmtMs(s.exporter.latency.p50)} vs ${fmtMs(s.bare.latency.p50)} ms = ${fmtRatio(r)} (server CPU/request ${fmtRatio(s.exporterCpuPerRequestMs / s.bareCpuPerRequestMs)}) | ${yes(r <= 1.5)} |`,
    );
  }
  for (const r of results) {
    for (const s of [gzipOf(r), plainOf(r)]) {
      const ratio = r.render.promMetricsMs / s.exporter.latency.p50;
      const bound =
        s.encoding === 'plain' ? ` (bare-buffer bound ${fmtRatio(r.render.promMetricsMs / s.bare.latency.p50)})` : '';
      l(
        `| ≥ 20× faster than prom-client at ${r.devices} devices: prom-client metrics() ÷ our /metrics p50, ${s.encoding} | ${fmtMs(r.render.promMetricsMs)} ÷ ${fmtMs(s.exporter.latency.p50)} ms = ${fmtRatio(ratio)}${bound} | ${yes(ratio >= 20)} |`,
      );
    }
  }
  for (const r of results) {
    for (const f of r.refresh) {
      l(
        `| refresh ≤ 1.2× its floor at ${r.devices} devices, concurrency ${f.concurrency} | ${fmtMs(f.medianMs)} vs ${f.floorMs} ms = ${fmtRatio(f.ratio)} (a bare undici loop over the same devices: ${fmtRatio(f.bareLoopMs / f.floorMs)}; the cycle is ${fmtRatio(f.medianMs / f.bareLoopMs)} of it) | ${yes(f.ratio <= 1.2)} |`,
      );
    }
  }
  for (const { devices, d } of duringAll) {
    const worst = Math.max(d.plain.latency.p99, d.gzip.latency.p99);
    l(
      `| /metrics p99 < 50 ms at ${devices} devices during cycles (concurrency ${d.concurrency}; worse of plain/gzip) | ${fmtMs(worst)} ms | ${yes(worst < 50)} |`,
    );
  }
  for (const r of results.filter((x) => x.devices >= 10_000)) {
    l(
      `| peak RSS < 250 MB at ${r.devices} devices (Prometheus scraping, gzip) | ${(r.memory.maxRss / 1e6).toFixed(0)} MB (${(r.memoryPlain.maxRss / 1e6).toFixed(0)} MB once a plain-text client has asked) | ${yes(r.memory.maxRss < 250e6)} |`,
    );
  }
  for (const r of results) {
    const ok = r.apiCheck.apiCallsDuringServe === 0 && r.apiCheck.apiCallsTotal === r.apiCheck.cycles;
    l(
      `| API called once per cycle, however many scrapes (${r.devices} devices) | ${r.apiCheck.apiCallsDuringServe} calls during ${r.apiCheck.metricsRequests} /metrics requests; ${r.apiCheck.apiCallsTotal} calls in ${r.apiCheck.cycles} cycles | ${yes(ok)} |`,
    );
  }
  for (const r of results.filter((x) => x.devices >= 10_000)) {
    const worst = Math.max(r.statusPage.coldMs, ...r.statusPage.variants.map((v) => v.latency.p99));
    l(
      `| status page answers within 200 ms at ${r.devices} devices (worst of the first request after a cycle and every view's p99) | ${fmtMs(worst)} ms | ${yes(worst < 200)} |`,
    );
  }
  const warnings = results.flatMap((r) => r.warnings.map((w) => `${r.devices} devices: ${w}`));
  if (warnings.length > 0) {
    l();
    l('## Warnings');
    l();
    for (const w of warnings) l(`- ${w}`);
  }
  return out.join('\n') + '\n';
}

async function main(): Promise<void> {
  const watchdog = setTimeout(() => {
    process.stderr.write(`benchmark exceeded ${TIMEOUT_S} s; aborting\n`);
    process.exit(3);
  }, TIMEOUT_S * 1000);
  watchdog.unref();
  const loadBefore = loadavg();
  const code = codeState();
  const client = new Helper(here('client.js'));
  await client.ready();
  const results: SizeResult[] = [];
  let churn: ChurnResult[];
  let churnS: number;
  try {
    for (const n of SIZES) results.push(await benchSize(n, client));
    const c0 = performance.now();
    churn = await runChurn(CHURN_CASES, client, progress);
    churnS = (performance.now() - c0) / 1000;
  } finally {
    await client.close();
  }
  const text = report(results, churn, {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    code,
    loadBefore,
    loadAfter: loadavg(),
    totalS: (performance.now() - T0) / 1000,
    churnS,
  });
  process.stdout.write(text);
  writeFileSync(RESULTS_MD, text);
  process.stderr.write(`written to ${RESULTS_MD}\n`);
  clearTimeout(watchdog);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
