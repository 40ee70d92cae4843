// Peak memory of the exporter reading the network flow logs (and the audit log) of a 10,000-device
// tailnet from the simulator, beside the device list (and, with `full`, the client metrics of every
// scraped device). The fake API runs in a process of its own (bench/sim-host.ts), the exporter in another
// (bench/exporter-proc.ts), so the exporter's peak RSS is its own.
//
//   node dist/bench/flowlogs.js [devices=10000] [holdSeconds=150] [lists|full|baseline|nologs]
//
// `lists`: devices, flowlogs and audit; `full`: every collector too; `baseline`: devices alone, and
// `nologs`: every collector but the logs (the `full` exporter without them), to compare.
//
// Each simulated device logs one record a minute: a window of FLOW_LOGS_LOOKBACK=5m holds ~5 records per
// device (50,000 at 10,000 devices, ~60 MB of JSON per answer), polled every 20 s here (1m by default).
import { NODE_FLAGS } from '../src/heap.js';
import { fmtBytes, freePort, Helper } from './lib.js';

const here = (file: string): URL => new URL(file, import.meta.url);

async function main(): Promise<void> {
  const devices = Number(process.argv[2] ?? 10_000);
  const holdMs = Number(process.argv[3] ?? 150) * 1000;
  const mode = process.argv[4] ?? 'lists';
  const full = mode === 'full' || mode === 'nologs';
  const api = new Helper(here('sim-host.js'), [String(devices), '0', 'api']);
  const fleet = full ? new Helper(here('sim-host.js'), [String(devices), '0', 'devices']) : undefined;
  try {
    const sim = await api.ready<{ apiUrl: string; apiKey: string; clientMetricsPort: number }>();
    const deviceSim = await fleet?.ready<{ clientMetricsPort: number }>();
    const env: Record<string, string> = {
      TAILSCALE_API_KEY: sim.apiKey,
      TAILSCALE_API_URL: sim.apiUrl,
      CLIENT_METRICS_PORT: String(deviceSim?.clientMetricsPort ?? sim.clientMetricsPort),
      SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8',
      PORT: String(await freePort()),
      SCRAPE_INTERVAL: '1h',
      RATE_LIMIT_RPS: '0',
      LOG_LEVEL: 'warn',
      COLLECTORS: { full: 'all,flowlogs,audit', baseline: 'devices', nologs: 'all' }[mode] ?? 'devices,flowlogs,audit',
      FLOW_LOGS_INTERVAL: '20s',
      FLOW_LOGS_LAG: '0s',
      FLOW_LOGS_PAIRS: '20',
      AUDIT_LOG_INTERVAL: '20s',
    };
    const proc = new Helper(
      here('exporter-proc.js'),
      [JSON.stringify(env), '3', 'gzip', String(holdMs)],
      ['--expose-gc', ...NODE_FLAGS],
    );
    const m = await proc.ready<{
      maxRssBytes: number;
      peak: { heapUsed: number };
      live?: { heapUsed: number };
      atPeakRss?: NodeJS.MemoryUsage;
      cycleMs: number[];
      logLines: string[];
      flowSeries: number;
      devicesScraped: number;
    }>();
    await proc.close();
    console.log(
      `${devices} devices (COLLECTORS=${env.COLLECTORS}), ${Math.round(holdMs / 1000)} s, ${m.cycleMs.length} refresh cycles, ${m.devicesScraped} devices scraped`,
    );
    console.log(
      `peak RSS ${fmtBytes(m.maxRssBytes)} (${(m.maxRssBytes / 1e6).toFixed(0)} MB), peak heap used ${fmtBytes(m.peak.heapUsed)}, live heap after full GC ${m.live === undefined ? '-' : fmtBytes(m.live.heapUsed)}`,
    );
    const at = m.atPeakRss;
    if (at !== undefined)
      console.log(
        `at the RSS peak sampled: rss ${fmtBytes(at.rss)}, heap total ${fmtBytes(at.heapTotal)}, heap used ${fmtBytes(at.heapUsed)}, external ${fmtBytes(at.external)}, array buffers ${fmtBytes(at.arrayBuffers)}`,
      );
    console.log(`flow-log series served: ${m.flowSeries}`);
    for (const l of m.logLines) console.log(`  ${l}`);
  } finally {
    await Promise.all([api.close(), fleet?.close()]);
  }
}

void main();
