// `npm run soak`: the exporter against the simulated tailnet while random API and device faults are
// injected and four clients scrape /metrics without pause. Bounded: SOAK_SECONDS (default 120).
// Prints requests served, non-200 answers, faults by kind, latency, RSS at start and end, and whether
// every scrape parsed; exits 1 if any scrape failed to parse or /metrics answered anything but 200.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startApp } from '../src/app.js';
import { loadConfig } from '../src/config/load.js';
import { tuneHeapGrowth } from '../src/heap.js';
import { createLogger } from '../src/log.js';
import { startTailnet, type ApiFault, type DeviceFault } from '../src/sim/tailscale/index.js';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const FAULT_EVERY_MS = Number(process.env.SOAK_FAULT_EVERY_MS ?? 500);
const CLIENTS = 4;

const sim = await startTailnet({ scenario: { count: 200, scrapedEvery: 2 } });
const config = loadConfig({
  TAILSCALE_API_KEY: sim.apiKey,
  TAILSCALE_API_URL: sim.apiUrl,
  CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
  SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8',
  SCRAPE_INTERVAL: '1s',
  API_TIMEOUT: '1s',
  CLIENT_METRICS_TIMEOUT: '500ms',
  MAX_CONCURRENT_SCRAPES: '20',
  RATE_LIMIT_RPS: '0',
  LOG_LEVEL: 'error',
  LOG_FORMAT: 'json',
});
tuneHeapGrowth(); // as main.ts does before the app starts
const app = await startApp(
  { ...config, port: 0 },
  createLogger({ level: 'error', format: 'json', destination: process.stderr }),
  'soak',
);
await app.refresher.runOnce();

const API_FAULTS: ApiFault[] = [
  { kind: 'status', status: 500, times: 2 },
  { kind: 'status', status: 502, times: 1 },
  { kind: 'status', status: 503, times: 3 },
  { kind: 'status', status: 429, retryAfterSeconds: 1, times: 1 },
  { kind: 'status', status: 429, times: 2 },
  { kind: 'reset', times: 2 },
  { kind: 'hang', times: 1 },
  { kind: 'malformed-json', times: 1 },
  { kind: 'wrong-types', times: 1 },
  { kind: 'expire-tokens', times: 1 },
  { kind: 'empty', times: 1 },
];
const DEVICE_FAULTS: DeviceFault[] = [
  { kind: 'hang' },
  { kind: 'slow', delayMs: 800 },
  { kind: 'reset' },
  { kind: 'status', status: 500 },
  { kind: 'huge', bytes: 12 * 1024 * 1024 },
  { kind: 'malformed' },
  { kind: 'label-injection' },
  { kind: 'many-series', series: 20_000 },
  { kind: 'flip' },
  { kind: 'openmetrics' },
];
const injected = new Map<string, number>();
const serving = sim.devices.filter((d) => d.servesMetrics);
// A deterministic generator, so two soak runs inject the same sequence.
let seed = 42;
const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
const faultTimer = setInterval(() => {
  if (random() < 0.4) {
    const f = pick(API_FAULTS);
    sim.setApiFault(f);
    const key = `api:${f.kind}${'status' in f ? `:${f.status}` : ''}`;
    injected.set(key, (injected.get(key) ?? 0) + 1);
  } else {
    const device = pick(serving);
    const f = pick(DEVICE_FAULTS);
    sim.setDeviceFault(device.nodeId, f);
    injected.set(`device:${f.kind}`, (injected.get(`device:${f.kind}`) ?? 0) + 1);
    setTimeout(() => sim.setDeviceFault(device.nodeId, null), 3000).unref();
  }
}, FAULT_EVERY_MS);

const rssStart = process.memoryUsage().rss;
let rssMax = rssStart;
// After a quarter of the run the heap has reached its working size: growth after that would be a leak.
let rssWarm = rssStart;
const started = performance.now();
const rssTimer = setInterval(() => {
  const rss = process.memoryUsage().rss;
  rssMax = Math.max(rssMax, rss);
  if (performance.now() - started < (SECONDS * 1000) / 4) rssWarm = rss;
}, 1000);

const client = spawn(
  process.execPath,
  [fileURLToPath(new URL('./soak-client.js', import.meta.url)), `${app.url}/metrics`, String(SECONDS), String(CLIENTS)],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
let out = '';
client.stdout.on('data', (c: Buffer) => (out += c.toString()));
await new Promise((resolve) => client.on('exit', resolve));
clearInterval(faultTimer);
clearInterval(rssTimer);
sim.setApiFault(null);
const rssEnd = process.memoryUsage().rss;
const stats = JSON.parse(out) as {
  requests: number;
  statuses: Record<string, number>;
  errors: number;
  unparsed: number;
  bytes: number;
  p50: number;
  p99: number;
  max: number;
};
const non200 =
  Object.entries(stats.statuses)
    .filter(([s]) => s !== '200')
    .reduce((n, [, c]) => n + c, 0) + stats.errors;
const mb = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MB`;
const faults = [...injected.entries()]
  .sort()
  .map(([k, n]) => `${k}=${n}`)
  .join(', ');
const lines = [
  `soak: ${SECONDS} s, ${sim.devices.length} devices (${serving.length} scraped), ${CLIENTS} clients, a fault every ${FAULT_EVERY_MS} ms`,
  `requests served:        ${stats.requests} (${(stats.requests / SECONDS).toFixed(0)}/s, ${mb(stats.bytes)})`,
  `non-200 answers:        ${non200}`,
  `every scrape parsed:    ${stats.unparsed === 0 ? 'yes' : `no (${stats.unparsed} did not)`}`,
  `latency p50 / p99 / max: ${stats.p50.toFixed(1)} / ${stats.p99.toFixed(1)} / ${stats.max.toFixed(1)} ms`,
  `RSS start / warm / max / end: ${mb(rssStart)} / ${mb(rssWarm)} (after ${SECONDS / 4} s) / ${mb(rssMax)} / ${mb(rssEnd)}`,
  `faults injected (${[...injected.values()].reduce((a, b) => a + b, 0)}): ${faults}`,
];
process.stdout.write(`${lines.join('\n')}\n`);
await app.stop();
await sim.close();
process.exit(stats.unparsed === 0 && non200 === 0 ? 0 : 1);
