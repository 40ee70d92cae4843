// Child process of bench/run.ts: the exporter alone in a fresh process, for the memory figures. Nothing
// else lives in this process (no client, no simulator, no baseline server, no prom-client registry), so
// its RSS is what a deployed exporter would use.
//
//   node dist/bench/exporter-proc.js '<env as JSON>' <cycles> [gzip|plain] [holdMs]
//
// Starts the exporter (startApp, whose first cycle starts at once), runs `cycles` refresh cycles in all,
// samples process.memoryUsage() every 5 ms throughout, and reports {after, peak, maxRssBytes, baseline},
// With `plain`, one uncompressed /metrics request follows the first cycle: the exporter then builds the
// plain body with every later snapshot (as it does once any client asks for it).
// plus `live` (after a full GC, only when started with --expose-gc; nothing calls gc() before that).
// Then {type:'cycles', count, minMs} runs `count` more cycles back to back (more while minMs has not passed) and
// answers each one's wall time and CPU time (process.cpuUsage(): every thread of this process) with the peak RSS
// so far (the churn benchmark, churn.ts).
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { tuneHeapGrowth } from '../src/heap.js';
import { createLogger } from '../src/log.js';
import { VERSION } from '../src/version.js';
import { readFileSync } from 'node:fs';
import { serveHelper } from './lib.js';

/**
 * The kernel's high-water mark of this process's resident memory. On Linux it is VmHWM of /proc/self/status:
 * getrusage's maxRSS (process.resourceUsage()) starts from the RSS of the process that forked this one
 * (Linux keeps the pre-exec image's high-water mark), so it would report the benchmark process's 270 MB
 * instead of this exporter's peak. Elsewhere, maxRSS is all there is.
 */
function peakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm !== null) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS * 1024;
}

async function main(): Promise<void> {
  const env = JSON.parse(process.argv[2] ?? '{}') as Record<string, string>;
  const cycles = Number(process.argv[3] ?? 3);
  const plainClient = process.argv[4] === 'plain';
  // Keep refreshing (and sampling) for at least this long: the log pollers run on timers of their own.
  const holdMs = Number(process.argv[5] ?? 0);
  const baseline = process.memoryUsage();
  const peak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  // The whole sample at the highest RSS seen: what the peak was made of.
  let atPeakRss: NodeJS.MemoryUsage | undefined;
  // Every 5 ms the RSS alone (memoryUsage.rss() reads one figure): the full memoryUsage() walks the heap's
  // spaces, about 60 µs a call, which sampled every 5 ms was ~1.5% of a refresh's CPU in this process.
  // The whole sample is taken at a new RSS high and every 100 ms.
  let ticks = 0;
  const sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss <= peak.rss && ++ticks % 20 !== 0) return;
    const m = process.memoryUsage();
    if (m.rss > peak.rss) atPeakRss = m;
    peak.rss = Math.max(peak.rss, m.rss);
    peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
    peak.heapTotal = Math.max(peak.heapTotal, m.heapTotal);
    peak.external = Math.max(peak.external, m.external);
    peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
  };
  const timer = setInterval(sample, 5);
  const log = createLogger({ level: 'warn', format: 'text' });
  tuneHeapGrowth(); // as main.ts does before the app starts
  const app = await startApp(loadConfig(env), log, VERSION);
  const cycleMs: number[] = [];
  const begun = performance.now();
  for (let i = 0; i < cycles || performance.now() - begun < holdMs; i++) {
    // While holding, cycles start every 30 s (the default SCRAPE_INTERVAL), as deployed.
    if (i >= cycles) await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (cycleMs.at(-1) ?? 0))));
    const t0 = performance.now();
    await app.refresher.runOnce(); // the first call joins the cycle startApp began
    cycleMs.push(performance.now() - t0);
    sample();
    if (plainClient && i === 0)
      await (await fetch(`${app.url}/metrics`, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer();
  }
  clearInterval(timer);
  // The peak is read before anything below (a full GC, the figures' /metrics request) can add to it.
  const maxRssBytes = peakRssBytes();
  const after = process.memoryUsage();
  // With --expose-gc (run.ts passes it), the live set: what a full collection cannot free.
  const gc = (globalThis as { gc?: () => void }).gc;
  let live: NodeJS.MemoryUsage | undefined;
  if (gc !== undefined) {
    gc();
    live = process.memoryUsage();
  }
  const health = (await (await fetch(`${app.url}/health`)).json()) as {
    devices_discovered: number;
    devices_scraped: number;
  };
  // The log pollers' figures, for the flow-log benchmark (bench/flowlogs.ts), only when it runs them: the plain
  // body is tens of megabytes, and reading it is no part of a gzip-only exporter's memory.
  const logFigures = /\b(flowlogs|audit)\b/.test(env.COLLECTORS ?? '');
  const metrics = logFigures
    ? await (await fetch(`${app.url}/metrics`, { headers: { 'accept-encoding': 'identity' } })).text()
    : '';
  const logLines = metrics
    .split('\n')
    .filter((l) =>
      /^tsmetrics_log_(records|duplicate_records|polls|dedup_keys)|^tsmetrics_collector_success\{collector="(flowlogs|audit)"/.test(
        l,
      ),
    );
  const flowSeries = metrics.split('\n').filter((l) => /^tailscale_flow_/.test(l)).length;
  serveHelper(
    async (msg) => {
      if (msg?.type !== 'cycles') return {};
      const cycles: Array<{ wallMs: number; cpuMs: number }> = [];
      const from = performance.now();
      for (let i = 0; i < Number(msg.count) || performance.now() - from < Number(msg.minMs ?? 0); i++) {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await app.refresher.runOnce();
        const wallMs = performance.now() - t0;
        const cpu = process.cpuUsage(c0);
        cycles.push({ wallMs, cpuMs: (cpu.user + cpu.system) / 1000 });
      }
      return { cycles, maxRssBytes: peakRssBytes() };
    },
    () => app.stop(),
  );
  process.send?.({
    type: 'ready',
    url: app.url,
    baseline,
    after,
    live,
    peak,
    atPeakRss,
    maxRssBytes,
    cycleMs,
    devicesDiscovered: health.devices_discovered,
    devicesScraped: health.devices_scraped,
    logLines,
    flowSeries,
  });
}

main().catch((err: unknown) => {
  process.send?.({ type: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  process.exit(1);
});
