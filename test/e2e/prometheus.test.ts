import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';
import { startExporter } from '../helpers/exporter.js';
import { sleep, startPrometheus, type PromResult } from '../helpers/prometheus.js';

// A real Prometheus server (Debian's package, installed by `npm test`) scrapes the demo exporter on
// loopback; every PromQL expression we ship is evaluated against what it stored.

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

test(
  'a real Prometheus scrapes the demo exporter; dashboards and alerts evaluate against it',
  { timeout: 110_000 },
  async (t) => {
    const dir0 = mkdtempSync(join(tmpdir(), 'tsmetrics-expected-'));
    t.after(() => rmSync(dir0, { recursive: true, force: true }));
    // The opt-in families too: a version policy and an expected inventory (strict, so unknown devices show).
    writeFileSync(
      join(dir0, 'expected.yaml'),
      'strict: true\nselectors:\n  - name: gateways\n    match: { name: "gateway-*" }\n    min: 3\n    severity: critical\n',
    );
    const ex = await startExporter(
      t,
      {
        SCRAPE_INTERVAL: '1s',
        RATE_LIMIT_RPS: '0',
        MIN_CLIENT_VERSION: '1.80.0',
        EXPECTED_DEVICES_FILE: join(dir0, 'expected.yaml'),
        DEVICE_LABELS_FROM_TAGS: 'team=tag:(server|exporter)',
        // The flow-log and audit collectors too, reading the simulator's history at once (no lag, an hour of audit log).
        COLLECTORS: 'all,service_hosts,flowlogs,audit',
        FLOW_LOGS_LAG: '0s',
        FLOW_LOGS_INTERVAL: '2s',
        FLOW_LOGS_PAIRS: '5',
        AUDIT_LOG_LAG: '0s',
        AUDIT_LOG_INTERVAL: '2s',
        AUDIT_LOG_LOOKBACK: '1h',
      },
      { demo: true },
    );
    ex.app.refresher.start();
    const target = new URL(ex.url).host;
    const { query, log } = await startPrometheus(t, [
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
    ]);
    const promLog = log();
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
    const eligible = ex.simulator!.devices.filter((d) => d.servesMetrics && d.connectedToControl).length;
    for (let i = 0; i < 20; i++) {
      const direct = await query(
        'sum(up{job="tailscale-devices"}) and count(tsmetrics_probe_success{job="tailscale-probe"} == 1) >= 0',
      );
      if (direct.data.result.length > 0 && Number(direct.data.result[0]!.value[1]) >= eligible) break;
      await sleep(1000);
    }
    const direct = await query('up{job="tailscale-devices"} == 1');
    assert.equal(
      direct.data.result.length,
      eligible,
      'Prometheus discovered every eligible device through /sd and scraped it',
    );
    const probed = await query('tsmetrics_probe_success{job="tailscale-probe"} == 1');
    assert.equal(probed.data.result.length, eligible, 'and scraped each through /probe');
    const viaProbe = await query('count by (device_name) (tailscaled_inbound_bytes_total{job="tailscale-probe"})');
    assert.equal(viaProbe.data.result.length, eligible);
    assert.ok(rate.data.result.length > 0 && rate.data.result.every((r) => r.metric.device_id && r.metric.device_name));
    assert.ok(
      rate.data.result.some((r) => Number(r.value[1]) > 0),
      'demo traffic grows',
    );

    // Every family of the README's reference is stored.
    const readme = readFileSync('README.md', 'utf8');
    const families = [...readme.matchAll(/^\| `((?:tailscale|tailscaled|tsmetrics)_[a-z_]+)` \|/gm)].map((m) => m[1]!);
    // Error counters appear with the first error; the peer families only in tsnet mode; the time of a log
    // stream's last error once tsmetrics has seen a new one between two inventory fetches (5 minutes apart).
    const conditional = new Set([
      'tsmetrics_api_errors_total',
      'tsmetrics_device_scrape_errors_total',
      'tailscaled_inbound_dropped_packets_total',
      'tailscaled_outbound_dropped_packets_total',
      'tsmetrics_tsnet_up',
      'tailscale_logstream_last_error_timestamp_seconds',
    ]);
    for (const name of families) {
      const r = await query(`count({__name__=~"${name}(_bucket)?"})`);
      if (!conditional.has(name) && !name.startsWith('tailscale_peer_'))
        assert.ok(r.data.result.length > 0, `${name} is not in Prometheus`);
    }

    // A real failure of each kind, so the error panels have data too: an API answer of 503 (retried) and a
    // device answering 500.
    const sim = ex.simulator!;
    const failing = sim.devices.find(
      (d) => d.servesMetrics && d.connectedToControl && d.clientMetrics.healthWarnings === 0,
    )!;
    sim.setApiFault({ kind: 'status', status: 503, times: 1 });
    sim.setDeviceFault(failing.nodeId, { kind: 'status', status: 500 });
    for (let i = 0; i < 20; i++) {
      const errors = await query('count(tsmetrics_api_errors_total) and count(tsmetrics_device_scrape_errors_total)');
      if (errors.data.result.length > 0) break;
      await sleep(1000);
    }
    await sleep(2500); // two more scrapes, so rate() over the new counters has its two samples

    // Every expression in the dashboards and alert rules parses and evaluates; panel queries return data.
    const exprs: Array<{ where: string; expr: string; mustReturn: boolean }> = [];
    for (const file of [
      'deploy/grafana/tsmetrics-overview.json',
      'deploy/grafana/tsmetrics-device-details.json',
      'deploy/grafana/tsmetrics-traffic.json',
    ]) {
      // Headscale's own panels have data in the Headscale test below.
      if (existsSync(file))
        exprs.push(...dashboardExprs(file).map((e) => ({ ...e, mustReturn: !/\bheadscale_/.test(e.expr) })));
    }
    if (existsSync('deploy/prometheus/alerts.yaml')) {
      const rules = parse(readFileSync('deploy/prometheus/alerts.yaml', 'utf8')) as {
        groups: Array<{ rules: Array<{ alert?: string; record?: string; expr: string }> }>;
      };
      for (const g of rules.groups)
        for (const r of g.rules)
          exprs.push({ where: `alert ${r.alert ?? r.record}`, expr: String(r.expr), mustReturn: false });
    }
    const failures: string[] = [];
    for (const e of exprs) {
      const r = await query(substitute(e.expr));
      if (r.status !== 'success') failures.push(`${e.where}: ${r.error} in ${e.expr}`);
      else if (e.mustReturn && r.data.result.length === 0) failures.push(`${e.where}: no data for ${e.expr}`);
    }
    assert.deepEqual(failures, []);
  },
);

test(
  'the Headscale demo feeds the same dashboards: device panel queries return data',
  { timeout: 110_000 },
  async (t) => {
    const ex = await startExporter(
      t,
      { BACKEND: 'headscale', SCRAPE_INTERVAL: '1s', RATE_LIMIT_RPS: '0' },
      { demo: true },
    );
    ex.app.refresher.start();
    const { query } = await startPrometheus(t, [
      '  - job_name: tsmetrics',
      `    static_configs: [{ targets: ['${new URL(ex.url).host}'] }]`,
    ]);
    for (let i = 0; i < 60; i++) {
      const r = await query('rate(tailscaled_inbound_bytes_total[1m]) > 0');
      if (r.status === 'success' && r.data.result.length > 0) break;
      await sleep(1000);
    }
    assert.ok(
      (await query('rate(tailscaled_inbound_bytes_total[1m]) > 0')).data.result.length > 0,
      'device traffic rates from Headscale nodes',
    );
    assert.equal((await query('headscale_up')).data.result[0]?.value[1], '1');
    // The device panels: every dashboard query on families Headscale fills must return data.
    const unsupported =
      /tailscale_device_(authorized|update_available|external|blocks_incoming|multiple_connections|tailnet_lock_error|latency_ms|endpoints_total|client_supports|posture|client_version)|tailscale_(user|key|tailnet|dns|service|policy)_|tsmetrics_(api_errors|device_scrape_errors|expected|client_version)|tailscale_device_unexpected|dropped|error|fail|health/i;
    const failures: string[] = [];
    let checked = 0;
    for (const file of ['deploy/grafana/tsmetrics-overview.json', 'deploy/grafana/tsmetrics-device-details.json']) {
      for (const e of dashboardExprs(file)) {
        if (!/tailscale_device_|tailscaled_/.test(e.expr) || unsupported.test(e.expr)) continue;
        checked++;
        const r = await query(substitute(e.expr));
        if (r.status !== 'success') failures.push(`${e.where}: ${r.error}`);
        else if (r.data.result.length === 0) failures.push(`${e.where}: no data for ${e.expr}`);
      }
    }
    assert.ok(checked >= 20, `only ${checked} device queries checked`);
    // Headscale's own panels (its database health) have data here.
    let headscalePanels = 0;
    for (const e of dashboardExprs('deploy/grafana/tsmetrics-overview.json').filter((x) =>
      /\bheadscale_/.test(x.expr),
    )) {
      headscalePanels++;
      const r = await query(substitute(e.expr));
      if (r.status !== 'success' || r.data.result.length === 0) failures.push(`${e.where}: no data for ${e.expr}`);
    }
    assert.ok(headscalePanels >= 1, 'a panel shows the Headscale database health');
    assert.deepEqual(failures, []);
  },
);
