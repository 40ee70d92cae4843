import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { startApp, type App } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/load.js';
import { startDemo } from '../../src/demo.js';
import type { SimTailnet } from '../../src/sim/tailscale/index.js';
import { CloseStack } from '../../src/util/close-stack.js';
import { memoryLogger } from './log.js';

const readText = (path: string): string => readFileSync(path, 'utf8');

export interface TestExporter {
  readonly app: App;
  /** The simulated tailnet the exporter runs on (TEST_DEVICES, --demo). */
  readonly simulator: SimTailnet | undefined;
  readonly url: string;
  readonly lines: string[];
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  /** Resolves once a refresh cycle has finished after this call. */
  nextCycle(): Promise<void>;
}

/** Starts the exporter in-process on 127.0.0.1:<ephemeral> against the simulator; stopped in t.after. */
export async function startExporter(
  t: TestContext,
  env: Record<string, string> = { TEST_DEVICES: 'gateway-1,gateway-2' },
  options: { demo?: boolean; override?: Partial<Config>; now?: () => number } = {},
): Promise<TestExporter> {
  const base = loadConfig(
    { SCRAPE_INTERVAL: '1h', LOG_LEVEL: 'debug', ...env },
    { demo: options.demo === true, readFile: readText },
  );
  const config: Config = { ...base, port: 0, listenHost: '127.0.0.1', ...options.override };
  const { log, lines } = memoryLogger();
  // As main.ts: the simulator first, its close at the bottom of the app's stack.
  const closes = new CloseStack(log);
  t.after(() => closes.close());
  const demo = await startDemo(config, log, closes);
  const app = await startApp(demo.config, log, '0.0.0-test', {
    closes,
    ...(options.now === undefined ? {} : { now: options.now }),
  });
  const exporter: TestExporter = {
    app,
    simulator: demo.tailnet,
    url: app.url,
    lines,
    get: (path, headers = {}) => fetch(`${app.url}${path}`, { headers, signal: AbortSignal.timeout(10_000) }),
    nextCycle: () => app.refresher.runOnce(),
  };
  // The first cycle starts with the app; wait for it.
  await exporter.nextCycle();
  return exporter;
}

/** Parses exposition text into `series line -> value` (enough for assertions; the parser has its own tests). */
export function seriesValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

/**
 * Starts the exporter in-process against an already running simulator (given as environment: API URL,
 * credentials, client-metrics port), runs the first cycle, and stops it in t.after.
 */
export async function startExporterWith(t: TestContext, env: Record<string, string>) {
  const config = loadConfig(
    { SCRAPE_ALLOWED_CIDRS: '127.0.0.0/8', SCRAPE_INTERVAL: '1h', RATE_LIMIT_RPS: '0', ...env },
    { readFile: readText },
  );
  const { log, lines } = memoryLogger();
  const app = await startApp({ ...config, port: 0, listenHost: '127.0.0.1' }, log, 'test');
  t.after(() => app.stop());
  await app.refresher.runOnce();
  const get = (path: string): Promise<Response> => fetch(`${app.url}${path}`, { signal: AbortSignal.timeout(10_000) });
  return { app, lines, get, metrics: async (): Promise<string> => (await get('/metrics')).text() };
}
