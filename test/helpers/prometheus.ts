import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface PromResult {
  status: string;
  error?: string;
  data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** One entry of /api/v1/targets: its health and, when down, why. */
export interface PromTarget {
  scrapePool: string;
  health: 'up' | 'down' | 'unknown';
  lastError: string;
  labels: Record<string, string>;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * A real Prometheus server (Debian's package, installed by `npm test`) on 127.0.0.1 with the given
 * scrape configuration, a temporary data directory, and `query()` over its HTTP API; stopped in t.after.
 */
export async function startPrometheus(
  t: TestContext,
  scrapeConfigs: string[],
): Promise<{ query: (q: string) => Promise<PromResult>; log: () => string; targets: () => Promise<PromTarget[]> }> {
  const dir = mkdtempSync(join(tmpdir(), 'tsmetrics-prom-'));
  const port = await freePort();
  writeFileSync(
    join(dir, 'prometheus.yml'),
    ['global: { scrape_interval: 1s, evaluation_interval: 1s }', 'scrape_configs:', ...scrapeConfigs, ''].join('\n'),
  );
  const prom = spawn(
    'prometheus',
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let log = '';
  prom.stderr.on('data', (c: Buffer) => (log += c.toString()));
  prom.on('error', (err) => (log += String(err)));
  t.after(async () => {
    prom.kill('SIGTERM');
    await new Promise((r) => {
      prom.once('exit', r);
      setTimeout(r, 5000);
    });
    rmSync(dir, { recursive: true, force: true });
  });
  const query = async (q: string): Promise<PromResult> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`, {
      signal: AbortSignal.timeout(5000),
    });
    return (await res.json()) as PromResult;
  };
  // Bounded wait until it answers.
  for (let i = 0; i < 60; i++) {
    try {
      if ((await query('1')).status === 'success') break;
    } catch {
      // still starting
    }
    await sleep(500);
  }
  assert.equal((await query('1')).status, 'success', `Prometheus did not start: ${log}`);
  const targets = async (): Promise<PromTarget[]> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/targets?state=active`, {
      signal: AbortSignal.timeout(5000),
    });
    return ((await res.json()) as { data: { activeTargets: PromTarget[] } }).data.activeTargets;
  };
  return { query, log: () => log, targets };
}
