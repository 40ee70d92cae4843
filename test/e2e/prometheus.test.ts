import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startExporter } from '../helpers/exporter.js';

// A real Prometheus server (Debian's package, installed by `npm test`) scrapes the demo exporter on
// loopback; every PromQL expression we ship is evaluated against what it stored.

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PromResult { status: string; data: { resultType: string; result: Array<{ metric: Record<string, string>; value: [number, string] }> }; error?: string }

/** Grafana and alert expressions with dashboard variables replaced by values that match everything. */
function substitute(expr: string): string {
  return expr
    .replace(/\$__rate_interval|\$\{__rate_interval\}/g, '1m')
    .replace(/\$__interval|\$\{__interval\}/g, '15s')
    .replace(/\$__range|\$\{__range\}/g, '5m')
    .replace(/"\$\{?[a-z_]+(?::[a-z]+)?\}?"/gi, '".*"')
    .replace(/\$\{?[a-z_]+(?::[a-z]+)?\}?/gi, '.*');
}

function dashboardExprs(file: string): Array<{ where: string; expr: string }> {
  const out: Array<{ where: string; expr: string }> = [];
  const walk = (node: unknown, where: string): void => {
    if (Array.isArray(node)) node.forEach((n, i) => walk(n, `${where}[${i}]`));
    else if (node !== null && typeof node === 'object') {
      const o = node as Record<string, unknown>;
      const title = typeof o.title === 'string' ? `${where} "${o.title}"` : where;
      if (typeof o.expr === 'string' && o.expr.trim() !== '') out.push({ where: title, expr: o.expr });
      for (const [k, v] of Object.entries(o)) if (k !== 'templating') walk(v, title);
    }
  };
  walk(JSON.parse(readFileSync(file, 'utf8')), file);
  return out;
}

test('a real Prometheus scrapes the demo exporter; dashboards and alerts evaluate against it', { timeout: 110_000 }, async (t) => {
  const dir0 = mkdtempSync(join(tmpdir(), 'tsmetrics-expected-'));
  t.after(() => rmSync(dir0, { recursive: true, force: true }));
  // The opt-in families too: a version policy and an expected inventory (strict, so unknown devices show).
  writeFileSync(join(dir0, 'expected.yaml'), 'strict: true\nselectors:\n  - name: gateways\n    match: { name: "gateway-*" }\n    min: 3\n    severity: critical\n');
  const ex = await startExporter(
    t,
    { SCRAPE_INTERVAL: '1s', RATE_LIMIT_RPS: '0', MIN_CLIENT_VERSION: '1.80.0', EXPECTED_DEVICES_FILE: join(dir0, 'expected.yaml'), DEVICE_LABELS_FROM_TAGS: 'team=tag:(server|exporter)' },
    { demo: true },
  );
  ex.app.refresher.start();
  const dir = mkdtempSync(join(tmpdir(), 'tsmetrics-prom-'));
  const port = await freePort();
  const target = new URL(ex.url).host;
  writeFileSync(
    join(dir, 'prometheus.yml'),
    [
      'global: { scrape_interval: 1s, evaluation_interval: 1s }',
      'scrape_configs:',
      '  - job_name: tsmetrics',
      `    static_configs: [{ targets: ['${target}'] }]`,
      // Prometheus discovers the devices through /sd and scrapes them directly ...
      '  - job_name: tailscale-devices',
      `    http_sd_configs: [{ url: 'http://${target}/sd', refresh_interval: 5s }]`,
      '    relabel_configs:',
      '      - { source_labels: [__meta_tailscale_device_name], target_label: device_name }',
      // ... or through /probe, the blackbox-exporter pattern.
      '  - job_name: tailscale-probe',
      '    metrics_path: /probe',
      `    http_sd_configs: [{ url: 'http://${target}/sd', refresh_interval: 5s }]`,
      '    relabel_configs:',
      '      - { source_labels: [__meta_tailscale_device_id], target_label: __param_target }',
      '      - { source_labels: [__meta_tailscale_device_name], target_label: device_name }',
      `      - { target_label: __address__, replacement: '${target}' }`,
      '',
    ].join('\n'),
  );
  const prom: ChildProcess = spawn('prometheus', [
    `--config.file=${join(dir, 'prometheus.yml')}`,
    `--storage.tsdb.path=${join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let promLog = '';
  prom.stderr!.on('data', (c: Buffer) => (promLog += c.toString()));
  t.after(async () => {
    prom.kill('SIGTERM');
    await new Promise((r) => { prom.once('exit', r); setTimeout(r, 5000); });
    rmSync(dir, { recursive: true, force: true });
  });
  const api = `http://127.0.0.1:${port}/api/v1`;
  const query = async (q: string): Promise<PromResult> => {
    const res = await fetch(`${api}/query?query=${encodeURIComponent(q)}`, { signal: AbortSignal.timeout(5000) });
    return (await res.json()) as PromResult;
  };

  // Bounded wait: the target is up and counters have two samples (rates need them).
  let rate: PromResult | undefined;
  for (let i = 0; i < 60; i++) {
    await sleep(1000);
    try {
      rate = await query('rate(tailscaled_inbound_bytes_total{job="tsmetrics"}[1m])');
      if (rate.status === 'success' && rate.data.result.some((r) => Number(r.value[1]) > 0)) break;
    } catch {
      // Prometheus still starting.
    }
  }
  assert.ok(rate, `Prometheus never answered: ${promLog}`);
  const up = await query('up{job="tsmetrics"}');
  assert.equal(up.data.result[0]?.value[1], '1', 'the exporter target is up');
  const eligible = ex.app.simulator!.devices.filter((d) => d.servesMetrics && d.connectedToControl).length;
  for (let i = 0; i < 20; i++) {
    const direct = await query('sum(up{job="tailscale-devices"}) and count(tsmetrics_probe_success{job="tailscale-probe"} == 1) >= 0');
    if (direct.data.result.length > 0 && Number(direct.data.result[0]!.value[1]) >= eligible) break;
    await sleep(1000);
  }
  const direct = await query('up{job="tailscale-devices"} == 1');
  assert.equal(direct.data.result.length, eligible, 'Prometheus discovered every eligible device through /sd and scraped it');
  const probed = await query('tsmetrics_probe_success{job="tailscale-probe"} == 1');
  assert.equal(probed.data.result.length, eligible, 'and scraped each through /probe');
  const viaProbe = await query('count by (device_name) (tailscaled_inbound_bytes_total{job="tailscale-probe"})');
  assert.equal(viaProbe.data.result.length, eligible);
  assert.ok(rate.data.result.length > 0 && rate.data.result.every((r) => r.metric.device_id && r.metric.device_name));
  assert.ok(rate.data.result.some((r) => Number(r.value[1]) > 0), 'demo traffic grows');

  // Every family of the README's reference is stored.
  const readme = readFileSync('README.md', 'utf8');
  const families = [...readme.matchAll(/^\| `((?:tailscale|tailscaled|tsmetrics)_[a-z_]+)` \|/gm)].map((m) => m[1]!);
  // Error counters appear with the first error; the peer families only in tsnet mode.
  const conditional = new Set(['tsmetrics_api_errors_total', 'tsmetrics_device_scrape_errors_total', 'tailscaled_inbound_dropped_packets_total', 'tailscaled_outbound_dropped_packets_total', 'tsmetrics_tsnet_up']);
  for (const name of families) {
    const r = await query(`count({__name__=~"${name}(_bucket)?"})`);
    if (!conditional.has(name) && !name.startsWith('tailscale_peer_')) assert.ok(r.data.result.length > 0, `${name} is not in Prometheus`);
  }

  // Every expression in the dashboards and alert rules parses and evaluates; panel queries return data.
  const exprs: Array<{ where: string; expr: string; mustReturn: boolean }> = [];
  for (const file of ['deploy/grafana/tsmetrics-overview.json', 'deploy/grafana/tsmetrics-device-details.json']) {
    if (existsSync(file)) exprs.push(...dashboardExprs(file).map((e) => ({ ...e, mustReturn: true })));
  }
  if (existsSync('deploy/prometheus/alerts.yaml')) {
    const rules = parse(readFileSync('deploy/prometheus/alerts.yaml', 'utf8')) as { groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }> };
    for (const g of rules.groups) for (const r of g.rules) exprs.push({ where: `alert ${r.alert ?? r.record}`, expr: String(r.expr), mustReturn: false });
  }
  const failures: string[] = [];
  for (const e of exprs) {
    const r = await query(substitute(e.expr));
    if (r.status !== 'success') failures.push(`${e.where}: ${r.error} in ${e.expr}`);
    else if (e.mustReturn && r.data.result.length === 0 && !/dropped|error|fail|health/i.test(e.expr)) failures.push(`${e.where}: no data for ${e.expr}`);
  }
  assert.deepEqual(failures, []);
});
