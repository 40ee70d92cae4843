// Grafana dashboards: structure (uids, variables, refresh, cross-links, layout), the topics each
// dashboard must cover, and every query is valid PromQL (checked by promtool as recording rules).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { stringify } from 'yaml';

import { repoPath } from '../helpers/repo.js';

const PROMTOOL_MISSING = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;

interface Target {
  expr: string;
  refId: string;
  datasource?: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Variable {
  name: string;
  type: string;
  query: unknown;
  definition?: string;
  datasource?: { uid: string };
}
interface Dashboard {
  uid: string;
  title: string;
  refresh: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Variable[] };
  links: { url?: string; type: string }[];
}

const DASHBOARDS = {
  overview: 'deploy/grafana/tsmetrics-overview.json',
  details: 'deploy/grafana/tsmetrics-device-details.json',
  traffic: 'deploy/grafana/tsmetrics-traffic.json',
} as const;

const load = (file: string): Dashboard => JSON.parse(readFileSync(repoPath(file), 'utf8')) as Dashboard;
const overview = load(DASHBOARDS.overview);
const details = load(DASHBOARDS.details);
const traffic = load(DASHBOARDS.traffic);

function allPanels(d: Dashboard): Panel[] {
  return d.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
}
const exprs = (d: Dashboard): string[] => allPanels(d).flatMap((p) => (p.targets ?? []).map((t) => t.expr));

test('dashboards: uids, titles, refresh 30s', () => {
  assert.equal(overview.uid, 'tsmetrics-overview');
  assert.equal(details.uid, 'tsmetrics-device-details');
  assert.equal(traffic.uid, 'tsmetrics-traffic');
  assert.equal(traffic.title, 'Tailscale / Traffic (flow logs)');
  for (const d of [overview, details, traffic]) {
    assert.equal(d.refresh, '30s', `${d.uid}: refresh`);
    assert.ok(d.title.length > 0);
    assert.ok(Number.isInteger(d.schemaVersion) && d.schemaVersion >= 30, `${d.uid}: schemaVersion`);
  }
});

test('dashboards: $datasource and device variables; every query uses $datasource', () => {
  for (const d of [overview, details, traffic]) {
    const ds = d.templating.list.find((v) => v.name === 'datasource');
    assert.equal(ds?.type, 'datasource', `${d.uid}: $datasource is a datasource variable`);
    assert.equal(ds.query, 'prometheus');
    const device = d.templating.list.find((v) => v.name === 'device');
    assert.ok(device, `${d.uid}: a device variable`);
    const q = typeof device.query === 'string' ? device.query : (device.query as { query: string }).query;
    assert.equal(q.replace(/\s+/g, ''), 'label_values(tailscale_device_info,device_name)');
    assert.equal(device.datasource?.uid, '${datasource}');

    for (const p of allPanels(d).filter((x) => x.type !== 'row')) {
      assert.equal(p.datasource?.uid, '${datasource}', `${d.uid} panel "${p.title}": datasource`);
      assert.ok((p.targets ?? []).length > 0, `${d.uid} panel "${p.title}": has queries`);
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource?.uid ?? '${datasource}', '${datasource}', `${d.uid} panel "${p.title}" ${t.refId}`);
        assert.match(t.expr, /\S/, `${d.uid} panel "${p.title}" ${t.refId}: empty query`);
      }
    }
  }
});

test('dashboards: link to each other', () => {
  assert.ok(
    overview.links.some((l) => l.url?.includes('/d/tsmetrics-device-details')),
    'overview -> device details',
  );
  assert.ok(
    details.links.some((l) => l.url?.includes('/d/tsmetrics-overview')),
    'device details -> overview',
  );
});

test('dashboards: unique panel ids and a layout without overlaps', () => {
  for (const d of [overview, details, traffic]) {
    const panels = allPanels(d);
    const ids = panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, `${d.uid}: duplicate panel ids`);
    for (const p of panels)
      assert.ok(
        p.gridPos.x >= 0 && p.gridPos.x + p.gridPos.w <= 24,
        `${d.uid} "${p.title}": outside the 24-column grid`,
      );
    for (let i = 0; i < panels.length; i++) {
      for (let j = i + 1; j < panels.length; j++) {
        const a = panels[i]!.gridPos;
        const b = panels[j]!.gridPos;
        const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
        assert.ok(!overlap, `${d.uid}: "${panels[i]!.title}" overlaps "${panels[j]!.title}"`);
      }
    }
  }
});

test('overview: inventory, traffic by path, drops, health, routing, keys, updates, DERP, exporter health', () => {
  const all = exprs(overview).join('\n');
  const topics: [string, RegExp][] = [
    ['inventory / online status', /tailscale_device_(info|online)\b/],
    ['traffic rate by path', /sum by \(path\) \(rate\(tailscaled_(in|out)bound_bytes_total\{/],
    ['direct vs DERP', /tailscaled_\w+_bytes_total\{[^}]*path="derp"/],
    ['drops', /rate\(tailscaled_(in|out)bound_dropped_packets_total\{/],
    ['health messages', /tailscaled_health_messages\b/],
    ['routes', /tailscale_device_routes_(advertised|enabled)\b/],
    ['exit nodes', /tailscale_device_exit_node\b/],
    ['subnet routers', /tailscale_device_subnet_router\b/],
    ['key expiry in days', /\(tailscale_device_machine_key_expiry\{[^}]*\} - time\(\)\) \/ 86400/],
    ['update available', /tailscale_device_update_available\b/],
    ['DERP latency', /tailscale_device_latency_ms\b/],
    ['API up', /tsmetrics_api_up\b/],
    ['API errors', /tsmetrics_api_errors_total\b/],
    ['device scrape errors', /tsmetrics_device_scrape_errors_total\b/],
  ];
  for (const [topic, re] of topics) assert.match(all, re, `overview lacks ${topic}`);
});

/** The panels of the row titled `title`: those below it, up to the next row (rows are not collapsed). */
function rowPanels(d: Dashboard, title: string): Panel[] {
  const rows = d.panels.filter((p) => p.type === 'row').sort((a, b) => a.gridPos.y - b.gridPos.y);
  const i = rows.findIndex((r) => r.title === title);
  assert.ok(i >= 0, `${d.uid}: no row "${title}"`);
  const from = rows[i]!.gridPos.y;
  const to = rows[i + 1]?.gridPos.y ?? Infinity;
  return d.panels.filter((p) => p.type !== 'row' && p.gridPos.y > from && p.gridPos.y < to);
}

test('overview: a Tailnet row covers users, keys, settings, DNS, services, policy and the collectors', () => {
  const panels = rowPanels(overview, 'Tailnet');
  const find = (what: string, type: string | RegExp, re: RegExp): Panel => {
    const found = panels.find(
      (p) =>
        (typeof type === 'string' ? p.type === type : type.test(p.type)) &&
        (p.targets ?? []).some((t) => re.test(t.expr)),
    );
    assert.ok(found, `the Tailnet row lacks ${what} (a ${String(type)} panel with a query matching ${re})`);
    return found;
  };
  find(
    'users by status',
    /^(piechart|bargauge|table)$/,
    /count by \((status|status, role|role, status)\) \(tailscale_user_info\)/,
  );
  find(
    'users by role',
    /^(piechart|bargauge|table)$/,
    /count by \((role|status, role|role, status)\) \(tailscale_user_info\)/,
  );
  find('users awaiting approval', /^(stat|table)$/, /tailscale_user_info\{status="needs-approval"\}/);
  const expiring = find(
    'keys expiring within 14 days, in days',
    'table',
    /tailscale_key_expires_in_seconds\b.*< 14 \* 86400\) \/ 86400/,
  );
  assert.ok(JSON.stringify(expiring).includes('Days left'), 'the expiring keys table has a "Days left" column');
  find('invalid or revoked keys', /^(stat|table)$/, /tailscale_key_invalid\b/);
  find('tailnet settings', 'table', /tailscale_tailnet_setting_enabled\b/);
  find('MagicDNS', 'stat', /tailscale_dns_magic_dns\b/);
  find('nameservers', /^(table|stat)$/, /tailscale_dns_nameserver_info\b/);
  find('Tailscale Services', 'table', /tailscale_service_info\b/);
  find('policy entries', /^(bargauge|table|barchart)$/, /tailscale_policy_entries\b/);
  find('policy last change', 'stat', /tailscale_policy_last_change_timestamp_seconds\b/);
  find('collector success', 'table', /tsmetrics_collector_success\b/);
});

test('overview: an Integrations row covers log streaming, posture integrations, service hosts, webhooks and Headscale', () => {
  const panels = rowPanels(overview, 'Integrations');
  const has = (what: string, type: RegExp, re: RegExp): void => {
    assert.ok(
      panels.some((p) => type.test(p.type) && (p.targets ?? []).some((t) => re.test(t.expr))),
      `the Integrations row lacks ${what}`,
    );
  };
  has('log streams with an error', /^stat$/, /tailscale_logstream_error == 1/);
  has('log streaming status per log type', /^table$/, /by \(log_type\) \(tailscale_logstream_status_available\)/);
  has('log streaming rates', /^timeseries$/, /rate\(tailscale_logstream_failed_requests_total\[/);
  has('posture sync age', /^table$/, /time\(\) - tailscale_posture_integration_last_sync_timestamp_seconds/);
  has('failing posture integrations', /^stat$/, /tailscale_posture_integration_error == 1/);
  has('services without a ready host', /^stat$/, /tailscale_service_approved_ready_hosts == 0/);
  has('service hosts', /^table$/, /tailscale_service_hosts\b/);
  has('webhook endpoints', /^table$/, /tailscale_webhook_info\b/);
  has('Headscale database health', /^stat$/, /headscale_database_connectivity\b/);
  const collectors = allPanels(overview).find((p) => p.title === 'Inventory collectors')!;
  assert.match(collectors.targets![0]!.expr, /logstream\|posture_integrations\|service_hosts\|webhooks/);
});

test('overview: client versions as a bar chart and a tags panel', () => {
  const all = allPanels(overview);
  const versions = all.find(
    (p) =>
      p.type === 'barchart' &&
      (p.targets ?? []).some((t) => /count by \(major_minor\) \(tailscale_device_client_version_info\b/.test(t.expr)),
  );
  assert.ok(versions, 'a bar chart of devices per client version (tailscale_device_client_version_info)');
  assert.ok(
    all.some(
      (p) =>
        p.type !== 'row' && (p.targets ?? []).some((t) => /count by \(tag\) \(tailscale_device_tags\b/.test(t.expr)),
    ),
    'a panel of devices per tag',
  );
});

test('traffic: top talkers, traffic by kind, relayed share, flow logs against client metrics, pairs, audit overview', () => {
  const panels = allPanels(traffic).filter((p) => p.type !== 'row');
  const has = (title: RegExp, expr: RegExp): void => {
    assert.ok(
      panels.some((p) => title.test(p.title) && (p.targets ?? []).some((t) => expr.test(t.expr))),
      `a panel ${title} with ${expr}`,
    );
  };
  has(/^Top talkers/, /topk\(10, sum by \(device_name\) \((increase|rate)\(tailscale_flow_bytes_total\{/);
  has(/^Traffic by kind$/, /sum by \(kind, direction\) \(rate\(tailscale_flow_bytes_total/);
  has(
    /^Relayed share per device$/,
    /kind="physical_relayed".*\/ sum by \(device_name\) \(rate\(tailscale_flow_bytes_total\{[^}]*kind=~"physical_\.\*"/,
  );
  const compare = panels.find((p) => /client metrics/.test(p.title))!;
  assert.ok(
    compare.targets!.some((t) => /tailscale_flow_bytes_total/.test(t.expr)) &&
      compare.targets!.some((t) => /rate\(tailscaled_outbound_bytes_total/.test(t.expr)),
    'flow-log bytes beside client-metric bytes',
  );
  assert.ok(
    compare.targets!.every((t) => /\band on \(device_name\)/.test(t.expr)),
    'only devices with both',
  );
  has(/^Who talks to whom$/, /tailscale_flow_pair_bytes_total/);
  has(/^Flow log state$/, /tsmetrics_log_poll_state\{collector="flowlogs"\}/);
  has(/^Changes by target$/, /tailscale_audit_events_total/);
  has(
    /^Last policy change$/,
    /tailscale_audit_last_event_timestamp_seconds\{target_type="TAILNET",target_property="ACL"\}/,
  );
  assert.ok(traffic.links.some((l) => l.url?.includes('/d/tsmetrics-overview')));
});

test('device details: every query is filtered by the device variable', () => {
  for (const e of exprs(details)) {
    // each metric selector carries device_name=~"$device" (time() and numbers aside)
    for (const m of e.matchAll(/\b((?:tailscale|tailscaled|tsmetrics)_[a-z0-9_]+)(\{[^}]*\})?/g)) {
      assert.match(m[2] ?? '', /device_name=~?"\$device"/, `${m[1]!} in ${e}`);
    }
  }
});

test('dashboards: every query is valid PromQL (promtool check rules)', (t: TestContext) => {
  if (PROMTOOL_MISSING)
    return t.skip('promtool is not installed (npm test installs it with apt: Debian package "prometheus")');
  // Grafana's variables replaced by literal values Prometheus accepts.
  const substitute = (e: string): string =>
    e
      .replace(/\$__rate_interval|\$__interval/g, '5m')
      .replace(/\$__range/g, '1h')
      .replace(/\$\{?device(:\w+)?\}?/g, '.*');
  const rules = [overview, details, traffic].flatMap((d) =>
    allPanels(d).flatMap((p) =>
      (p.targets ?? []).map((tg) => ({
        record: `dashboard:${d.uid.replace(/-/g, '_')}:panel${p.id}_${tg.refId}`,
        expr: substitute(tg.expr),
      })),
    ),
  );
  const tmp = mkdtempSync(join(tmpdir(), 'tsmetrics-dash-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  writeFileSync(join(tmp, 'dashboards.rules.yaml'), stringify({ groups: [{ name: 'dashboards', rules }] }));
  const r = spawnSync('promtool', ['check', 'rules', 'dashboards.rules.yaml'], {
    cwd: tmp,
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`SUCCESS: ${rules.length} rules found`));
});
