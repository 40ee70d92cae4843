// Churn: what a refresh of the exporter costs when some devices change between two refreshes (issue 18,
// incremental exposition). The fake API (bench/sim-host.ts) changes a fraction of its device-list entries before
// each answer (src/sim/tailscale/churn.ts: connections dropped and regained, DERP latencies moved); the exporter
// runs alone in a process of its own (bench/exporter-proc.ts) and the /metrics client in another (bench/client.ts),
// so neither the simulator's nor the client's CPU is counted. Part of `npm run bench` (bench/run.ts); alone:
//
//   node dist/bench/churn.js [devices=10000] [churn%...]
//
// Without percentages: 0 1 10 100 up to 10,000 devices, 1 above. Per case: 2 warm-up cycles, 5 cycles timed
// with nothing else in the exporter process (CPU, wall), then 5 (3 above 10,000 devices; more while 3 s have not
// passed) while a client asks for /metrics (gzip) open loop, one request due every 10 ms (every 10 ms per 10,000
// devices above that). See bench/README.md, section 8.
import { pathToFileURL } from 'node:url';
import { NODE_FLAGS } from '../src/heap.js';
import { fetchOnce, fmtBytes, fmtMs, freePort, Helper, median, type LatencySummary } from './lib.js';

/** Which collectors the exporter runs: the device list's families alone, or COLLECTORS' default. */
type Collectors = 'devices' | 'all';

interface ChurnCase {
  readonly devices: number;
  /** Percent of the devices whose entry changes before each device-list answer. */
  readonly churnPercent: number;
  readonly collectors: Collectors;
}

interface Cycle {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface ChurnResult extends ChurnCase {
  readonly scraped: number;
  /** The CPU-timed cycles (nothing else in the exporter process meanwhile). */
  readonly cycles: readonly Cycle[];
  readonly latency: LatencySummary;
  /** How late the client sent its requests (its own timer): the error bound of the latency figures. */
  readonly sendLag: LatencySummary;
  /** Requests that failed (connection reset, refused): not in the latency figures. */
  readonly errors: number;
  readonly series: number;
  readonly gzipBytes: number;
  readonly maxRssBytes: number;
  readonly warnings: readonly string[];
}

/** Above this many devices, a case runs 1 % churn only and fewer cycles under load (a cycle takes seconds). */
const LARGE = 10_000;
const WARMUP_CYCLES = 2;
const CPU_CYCLES = 5;
/**
 * Open loop: a /metrics request falls due every 10 ms, every 10 ms per 10,000 devices above that: at 50,000 devices
 * (12.75 MiB gzip answers) one every 10 ms would be 1.3 GB/s, more than 2 cores serve even from a bare buffer, and
 * would measure the client's load rather than the refresh.
 */
const PERIOD_MS = 10;
const periodMs = (devices: number): number => PERIOD_MS * Math.max(1, Math.ceil(devices / LARGE));
const latencyCycles = (devices: number): number => (devices > LARGE ? 3 : 5);
/** Cycles under load go on for at least this long, so a small tailnet's short cycles still give a few hundred requests. */
const LOADED_MIN_MS = 3000;
const defaultPercents = (devices: number): number[] => (devices > LARGE ? [1] : [0, 1, 10, 100]);
/** The default-configuration case, at each size up to LARGE. */
const DEFAULT_CONFIG_PERCENT = 1;

const here = (file: string): URL => new URL(`./${file}`, import.meta.url);

/**
 * The cases of BENCH_CHURN_SIZES: sizes separated by commas, each optionally with its own percentages after a colon
 * (`10000:0/1/10/100,50000:1`); a bare size runs 0, 1, 10 and 100 % up to 10,000 devices and 1 % above. Empty or
 * `none`: no case. With `defaultConfig`, each size up to 10,000 devices also runs 1 % with COLLECTORS' default.
 */
export function churnCases(spec: string, defaultConfig: boolean): ChurnCase[] {
  const text = spec.trim();
  if (text === '' || text === 'none') return [];
  const cases: ChurnCase[] = [];
  for (const item of text.split(',')) {
    const [size = '', percents] = item.trim().split(':');
    const devices = Number(size);
    if (!Number.isInteger(devices) || devices < 1 || devices > 100_000)
      throw new RangeError(`BENCH_CHURN_SIZES: "${size}" is not a device count from 1 to 100000`);
    const list =
      percents === undefined
        ? defaultPercents(devices)
        : percents.split('/').map((p) => (/^\d+(\.\d+)?$/.test(p.trim()) ? Number(p) : Number.NaN));
    for (const churnPercent of list) {
      if (!(churnPercent >= 0 && churnPercent <= 100))
        throw new RangeError(`BENCH_CHURN_SIZES: "${item}" has a churn outside 0..100 %`);
      cases.push({ devices, churnPercent, collectors: 'devices' });
    }
    if (defaultConfig && devices <= LARGE)
      cases.push({ devices, churnPercent: DEFAULT_CONFIG_PERCENT, collectors: 'all' });
  }
  return cases;
}

interface SimReady {
  apiUrl: string;
  apiKey: string;
  clientMetricsPort: number;
  servingDevices: number;
}

interface ExporterReady {
  url: string;
  devicesDiscovered: number;
  devicesScraped: number;
}

/** One case: a fresh simulator (its churn set) and a fresh exporter process. */
async function runChurnCase(c: ChurnCase, client: Helper, progress: (line: string) => void): Promise<ChurnResult> {
  const warnings: string[] = [];
  const api = new Helper(here('sim-host.js'), [String(c.devices), '0', 'api', String(c.churnPercent / 100)]);
  // The default configuration scrapes one device in four: their endpoints answer at once from a process of their own.
  const fleet = c.collectors === 'all' ? new Helper(here('sim-host.js'), [String(c.devices), '0', 'devices']) : null;
  let exporter: Helper | null = null;
  try {
    const sim = await api.ready<SimReady>();
    const devicesSim = await fleet?.ready<SimReady>();
    const env: Record<string, string> = {
      TAILSCALE_API_KEY: sim.apiKey,
      TAILSCALE_API_URL: sim.apiUrl,
      CLIENT_METRICS_PORT: String(devicesSim?.clientMetricsPort ?? sim.clientMetricsPort),
      SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8',
      PORT: String(await freePort()),
      SCRAPE_INTERVAL: '1h',
      MAX_CONCURRENT_SCRAPES: '10',
      RATE_LIMIT_RPS: '0',
      LOG_LEVEL: 'warn',
      // `devices`: the device list's families only; no device is dialled and no inventory is read.
      COLLECTORS: c.collectors,
    };
    exporter = new Helper(here('exporter-proc.js'), [JSON.stringify(env), String(WARMUP_CYCLES), 'gzip'], NODE_FLAGS);
    const ready = await exporter.ready<ExporterReady>();
    if (ready.devicesDiscovered !== c.devices)
      warnings.push(`the exporter saw ${ready.devicesDiscovered} of ${c.devices} devices`);
    const scrapes = ready.devicesScraped > 0;
    if (scrapes !== (c.collectors === 'all'))
      warnings.push(`the exporter scraped ${ready.devicesScraped} devices with COLLECTORS=${c.collectors}`);
    const timed = await exporter.call<{ cycles: Cycle[] }>({ type: 'cycles', count: CPU_CYCLES });
    const label = `churn ${c.devices} devices ${c.churnPercent} % COLLECTORS=${c.collectors}`;
    progress(
      `${label}: CPU per refresh ${fmtMs(median(timed.cycles.map((x) => x.cpuMs)))} ms, wall ${fmtMs(median(timed.cycles.map((x) => x.wallMs)))} ms`,
    );
    const pending = client.call<{
      latency: LatencySummary;
      sendLag: LatencySummary;
      bytes: number;
      gzipped: number;
      errors: number;
      errorCodes: Record<string, number>;
      maxInFlight: number;
      statuses: Record<string, number>;
    }>({ type: 'openloop', url: `${ready.url}/metrics`, periodMs: periodMs(c.devices), gzip: true, warmup: 10 });
    await client.call({ type: 'warmed' });
    await client.call({ type: 'record' });
    let loaded: { maxRssBytes: number };
    try {
      loaded = await exporter.call({ type: 'cycles', count: latencyCycles(c.devices), minMs: LOADED_MIN_MS });
    } finally {
      await client.call({ type: 'stop' });
    }
    const run = await pending;
    if (run.errors > 0)
      warnings.push(
        `/metrics: ${run.errors} requests failed ${JSON.stringify(run.errorCodes)}, at most ${run.maxInFlight} out at once`,
      );
    if ((run.statuses['200'] ?? 0) !== run.latency.count || run.gzipped !== run.latency.count)
      warnings.push(
        `/metrics: statuses ${JSON.stringify(run.statuses)}, ${run.gzipped} of ${run.latency.count} gzipped`,
      );
    const body = await fetchOnce(`${ready.url}/metrics`, true);
    const series = body.text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;
    progress(
      `${label}: /metrics gzip p50 ${fmtMs(run.latency.p50)} / p99 ${fmtMs(run.latency.p99)} / max ${fmtMs(run.latency.max)} ms, peak RSS ${fmtBytes(loaded.maxRssBytes)}`,
    );
    return {
      ...c,
      scraped: ready.devicesScraped,
      cycles: timed.cycles,
      latency: run.latency,
      sendLag: run.sendLag,
      errors: run.errors,
      series,
      gzipBytes: body.raw.length,
      maxRssBytes: loaded.maxRssBytes,
      warnings,
    };
  } finally {
    await Promise.all([exporter?.close(), api.close(), fleet?.close()]);
  }
}

export async function runChurn(
  cases: readonly ChurnCase[],
  client: Helper,
  progress: (line: string) => void,
): Promise<ChurnResult[]> {
  const results: ChurnResult[] = [];
  for (const c of cases) results.push(await runChurnCase(c, client, progress));
  return results;
}

/** The report's churn section, in Markdown lines. */
export function churnSection(results: readonly ChurnResult[]): string[] {
  const out: string[] = [];
  const l = (s = ''): number => out.push(s);
  const prose = `## 8. Churn: a refresh when devices change between refreshes

The fake API changes a fraction of its device-list entries before each answer (src/sim/tailscale/churn.ts, devices
taken in turn): a disconnected device connects again; a connected one reports new DERP latencies or, one change of its
own in five, drops its connection (lastSeen = now). Each case runs a fresh simulator and a fresh exporter process
(startApp, SCRAPE_INTERVAL=1h, cycles triggered by runOnce() back to back, ${NODE_FLAGS.join(' ')} and the heap tuning
of main.ts): ${WARMUP_CYCLES} warm-up cycles, then ${CPU_CYCLES} with nothing else in the process (CPU = process.cpuUsage() across
each cycle, user + system of every thread: median, min-max; wall: median), then ${latencyCycles(LARGE)} more (${latencyCycles(LARGE + 1)} above ${LARGE.toLocaleString('en')} devices, and
more until ${LOADED_MIN_MS / 1000} s have passed) while a client process requests /metrics (gzip) open loop: one request falls due every
${PERIOD_MS} ms (${PERIOD_MS} ms more per ${LARGE.toLocaleString('en')} devices above ${LARGE.toLocaleString('en')}: the answers grow) and is sent then, however many are
still out; its latency runs from when it fell due to its last body byte, so a stall counts for every request it held
up. Failed requests (connections reset, e.g. by the exporter's cap of 128 connections per client address) are not in
the latency figures. Client send lag = how late the client process itself sent a request: on a busy machine its own
delays are in the latency too. Peak RSS = VmHWM of the exporter process over the whole case.

**Device client metrics:** off in the \`devices\` rows (COLLECTORS=devices: the device list's families only; no device is
scraped and no inventory resource read), so they isolate the refresh of the API data. The \`all\` rows are the default
configuration (COLLECTORS=all): one device in four scraped (~30 series each, answering at once from a simulator
process of its own), MAX_CONCURRENT_SCRAPES=10, the inventory read at the first cycle.
`;
  for (const line of prose.split('\n')) l(line);
  l(
    '| devices | churn | entries changed per refresh | collectors | scraped | series (gzip bytes) | exporter CPU per refresh (min-max) | refresh wall | /metrics gzip p50 / p99 / max | request every | requests (failed) | client send lag max | peak RSS |',
  );
  l('|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    const cpu = r.cycles.map((x) => x.cpuMs);
    l(
      `| ${r.devices} | ${r.churnPercent} % | ${Math.round((r.devices * r.churnPercent) / 100)} | ${r.collectors} | ${r.scraped} | ${r.series} (${fmtBytes(r.gzipBytes)}) | ${fmtMs(median(cpu))} ms (${fmtMs(Math.min(...cpu))}-${fmtMs(Math.max(...cpu))}) | ${fmtMs(median(r.cycles.map((x) => x.wallMs)))} ms | ${fmtMs(r.latency.p50)} / ${fmtMs(r.latency.p99)} / ${fmtMs(r.latency.max)} ms | ${periodMs(r.devices)} ms | ${r.latency.count} (${r.errors}) | ${fmtMs(r.sendLag.max)} ms | ${fmtBytes(r.maxRssBytes)} |`,
    );
  }
  const warnings = results.flatMap((r) =>
    r.warnings.map((w) => `${r.devices} devices, ${r.churnPercent} %, COLLECTORS=${r.collectors}: ${w}`),
  );
  if (warnings.length > 0) {
    l();
    for (const w of warnings) l(`- warning: ${w}`);
  }
  l();
  return out;
}

async function main(): Promise<void> {
  const devices = process.argv[2] ?? '10000';
  const percents = process.argv.slice(3);
  const spec = percents.length === 0 ? devices : `${devices}:${percents.join('/')}`;
  const cases = churnCases(spec, process.env.BENCH_CHURN_DEFAULT_CONFIG !== '0');
  const client = new Helper(here('client.js'));
  await client.ready();
  try {
    const t0 = performance.now();
    const results = await runChurn(cases, client, (line) =>
      process.stderr.write(`[churn ${((performance.now() - t0) / 1000).toFixed(1)}s] ${line}\n`),
    );
    process.stdout.write(churnSection(results).join('\n') + '\n');
  } finally {
    await client.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(
      `churn benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  });
}
