// Prometheus artefacts: the alert rules pass `promtool check rules`, their unit tests pass
// `promtool test rules`, and the example scrape config passes `promtool check config`. The structural
// checks (every alert documented and covered by a firing and a quiet case) need no promtool.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { parse } from 'yaml';

import { repoPath, readRepo } from '../helpers/repo.js';

const PROMTOOL_MISSING = spawnSync('promtool', ['--version'], { stdio: 'ignore' }).error !== undefined;
const SKIP_MESSAGE = 'promtool is not installed (npm test installs it with apt: Debian package "prometheus")';

const DIR = 'deploy/prometheus';

function promtool(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleTest {
  name?: string;
  input_series: { series: string; values: string }[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels?: Record<string, string> }[] }[];
}

const rules = (parse(readRepo(`${DIR}/alerts.yaml`)) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap(
  (g) => g.rules,
);
const alerts = rules.filter((r) => r.alert !== undefined);
const ruleTests = parse(readRepo(`${DIR}/alerts.test.yaml`)) as { rule_files: string[]; tests: RuleTest[] };

const REQUIRED_ALERTS = [
  'TailscaleDeviceOffline',
  'TailscaleDeviceKeyExpiringSoon',
  'TailscaleHighPacketLoss',
  'TailscaleHealthMessages',
  'TsmetricsApiDown',
  'TsmetricsDeviceScrapeFailing',
  'TsmetricsRefreshStale',
  'TailscaleKeyExpiringSoon',
  'TailscaleUsersAwaitingApproval',
  'TailscaleDeviceApprovalDisabled',
  'TsmetricsCollectorFailing',
  // Integration health and Headscale's own health check (issue 19).
  'TailscaleLogStreamFailing',
  'TailscalePostureSyncStale',
  'TailscalePostureSyncFailing',
  'TailscaleServiceWithoutReadyHost',
  'HeadscaleDatabaseUnhealthy',
];

/** The example scrape configs: one exporter, sharded replicas, Prometheus scraping the devices itself. */
const CONFIGS = ['prometheus.yaml', 'prometheus-sharded.yaml', 'prometheus-devices.yaml'];
/** Where the examples read the bearer token (METRICS_TOKEN) from. */
const TOKEN_FILE = '/etc/prometheus/tsmetrics-token';

interface Authorization {
  type?: string;
  credentials_file?: string;
}
interface ScrapeConfig {
  job_name: string;
  scrape_interval?: string;
  scrape_timeout?: string;
  metrics_path?: string;
  honor_labels?: boolean;
  authorization?: Authorization;
  static_configs?: { targets: string[] }[];
  dns_sd_configs?: { names: string[]; type?: string; port?: number }[];
  http_sd_configs?: { url: string; authorization?: Authorization }[];
  relabel_configs?: {
    source_labels?: string[];
    target_label?: string;
    replacement?: string;
    action?: string;
    regex?: string;
  }[];
}
interface PromConfig {
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
}
const configOf = (file: string): PromConfig => parse(readRepo(`${DIR}/${file}`)) as PromConfig;
const jobOf = (config: PromConfig, name: string): ScrapeConfig => {
  const job = config.scrape_configs.find((j) => j.job_name === name);
  assert.ok(job, `a scrape job named ${name}`);
  return job;
};
const bearer = (a: Authorization | undefined): boolean =>
  (a?.type ?? 'Bearer') === 'Bearer' && a?.credentials_file === TOKEN_FILE;

// ------------------------------------------------------------------------------------------- promtool

test('promtool check rules deploy/prometheus/alerts.yaml', (t: TestContext) => {
  if (PROMTOOL_MISSING) return t.skip(SKIP_MESSAGE);
  const r = promtool(['check', 'rules', 'alerts.yaml'], repoPath(DIR));
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, new RegExp(`SUCCESS: ${rules.length} rules found`));
});

test('promtool test rules deploy/prometheus/alerts.test.yaml', (t: TestContext) => {
  if (PROMTOOL_MISSING) return t.skip(SKIP_MESSAGE);
  const r = promtool(['test', 'rules', 'alerts.test.yaml'], repoPath(DIR));
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /SUCCESS/);
});

for (const file of CONFIGS) {
  test(`promtool check config on a copy of ${file}, with the token file and the rule files it references`, (t: TestContext) => {
    const config = configOf(file);
    const ruleFiles = config.rule_files ?? [];
    for (const f of ruleFiles)
      assert.ok(existsSync(repoPath(`${DIR}/${f}`)), `rule file ${f} referenced by ${file} exists`);
    const text = readRepo(`${DIR}/${file}`);
    assert.ok(text.includes(TOKEN_FILE), `${file} reads the bearer token from ${TOKEN_FILE}`);

    if (PROMTOOL_MISSING) return t.skip(SKIP_MESSAGE);
    // A temporary copy: relative rule_files resolve next to the config, nothing is written beside the repo's
    // files, and the token file (promtool checks that credentials files exist) is created there too.
    const tmp = mkdtempSync(join(tmpdir(), 'tsmetrics-prom-'));
    t.after(() => rmSync(tmp, { recursive: true, force: true }));
    const token = join(tmp, 'tsmetrics-token');
    writeFileSync(token, 'an-example-token-of-32-characters\n', { mode: 0o600 });
    writeFileSync(join(tmp, file), text.replaceAll(TOKEN_FILE, token));
    for (const f of ruleFiles) copyFileSync(repoPath(`${DIR}/${f}`), join(tmp, f));
    const r = promtool(['check', 'config', file], tmp);
    assert.equal(r.status, 0, r.output);
    assert.match(r.output, /is valid prometheus config file syntax/);
  });
}

test('prometheus.yaml: the tsmetrics job scrapes /metrics every 30s with the bearer token', () => {
  const job = jobOf(configOf('prometheus.yaml'), 'tsmetrics'); // TsmetricsDown matches up{job="tsmetrics"}
  assert.equal(job.scrape_interval, '30s');
  assert.equal(job.scrape_timeout, '10s');
  assert.equal(job.metrics_path ?? '/metrics', '/metrics');
  assert.deepEqual(
    job.authorization,
    { type: 'Bearer', credentials_file: TOKEN_FILE },
    'METRICS_TOKEN: authorization is active in the example',
  );
});

test('prometheus-sharded.yaml: every replica behind the headless Service of the sharded overlay, with the token', () => {
  const job = jobOf(configOf('prometheus-sharded.yaml'), 'tsmetrics');
  assert.ok(bearer(job.authorization), 'the replicas need the token too');
  const names = (job.dns_sd_configs ?? []).flatMap((c) => c.names);
  // The headless Service of deploy/kustomize/overlays/sharded, in the namespace of the overlay.
  const headless = parse(readRepo('deploy/kustomize/overlays/sharded/service-headless.yaml')) as {
    metadata: { name: string };
    spec: { ports: { name: string }[] };
  };
  const namespace = (parse(readRepo('deploy/kustomize/overlays/sharded/kustomization.yaml')) as { namespace: string })
    .namespace;
  const port = headless.spec.ports[0]!.name;
  assert.ok(
    names.some(
      (n) =>
        n === `_${port}._tcp.${headless.metadata.name}.${namespace}.svc.cluster.local` ||
        n === `${headless.metadata.name}.${namespace}.svc.cluster.local`,
    ),
    `dns_sd_configs names the headless Service ${headless.metadata.name}.${namespace}, got ${names.join(', ')}`,
  );
  assert.ok(
    job.relabel_configs?.some((r) => r.target_label === 'shard'),
    'a shard label tells the replicas apart',
  );
});

test('prometheus-devices.yaml: devices discovered through /sd, scraped directly and through /probe', () => {
  const config = configOf('prometheus-devices.yaml');
  assert.ok(bearer(jobOf(config, 'tsmetrics').authorization), 'the exporter itself, with the token');
  const direct = jobOf(config, 'tailscale-devices');
  const probe = jobOf(config, 'tailscale-probe');
  for (const job of [direct, probe]) {
    const sd = job.http_sd_configs ?? [];
    assert.ok(
      sd.length > 0 && sd.every((c) => /^http:\/\/tsmetrics:9100\/sd$/.test(c.url)),
      `${job.job_name}: http_sd_configs on http://tsmetrics:9100/sd`,
    );
    assert.ok(
      sd.every((c) => bearer(c.authorization)),
      `${job.job_name}: /sd is a data endpoint: it needs the token`,
    );
  }
  assert.ok(
    direct.relabel_configs?.some(
      (r) => r.source_labels?.includes('__meta_tailscale_device_id') && r.target_label === 'device_id',
    ),
  );
  assert.equal(probe.metrics_path, '/probe');
  assert.ok(bearer(probe.authorization), '/probe needs the token');
  assert.ok(
    probe.relabel_configs?.some(
      (r) => r.source_labels?.join() === '__meta_tailscale_device_id' && r.target_label === '__param_target',
    ),
    '__param_target from __meta_tailscale_device_id',
  );
  assert.ok(
    probe.relabel_configs?.some((r) => r.target_label === '__address__' && r.replacement === 'tsmetrics:9100'),
    'the probe goes to the exporter',
  );
  assert.equal(probe.honor_labels, true, "/probe's own device_id/device_name labels are kept, not renamed exported_*");
});

// ------------------------------------------------------------------------------ structure (no promtool)

test('alerts.yaml: the required alerts exist, each with for, severity, summary and description', () => {
  const names = alerts.map((a) => a.alert!);
  for (const name of REQUIRED_ALERTS) assert.ok(names.includes(name), `missing alert ${name}`);
  assert.equal(new Set(names).size, names.length, 'alert names are unique');
  for (const a of alerts) {
    assert.match(a.for ?? '', /^\d+[smh]$/, `${a.alert!}: for`);
    // An alert on a series that carries its own severity label (the expected-inventory selectors) takes it from there.
    const severity = a.labels?.severity ?? (/tsmetrics_expected_devices/.test(a.expr) ? 'warning' : '');
    assert.ok(['info', 'warning', 'critical'].includes(severity), `${a.alert!}: severity label`);
    assert.ok((a.annotations?.summary ?? '').length > 0, `${a.alert!}: summary`);
    assert.ok((a.annotations?.description ?? '').length > 0, `${a.alert!}: description`);
  }
});

test('alerts.yaml: the expressions implement the documented conditions', () => {
  const expr = (name: string): string => alerts.find((a) => a.alert === name)!.expr.replace(/\s+/g, ' ');
  assert.match(expr('TailscaleDeviceOffline'), /tailscale_device_online == 0/);
  assert.match(
    expr('TailscaleDeviceKeyExpiringSoon'),
    /\(tailscale_device_machine_key_expiry - time\(\)\) < (14 \* 86400|1209600)/,
  );
  assert.match(expr('TailscaleHighPacketLoss'), /rate\(tailscaled_inbound_dropped_packets_total\[/);
  assert.match(expr('TailscaleHighPacketLoss'), /rate\(tailscaled_outbound_dropped_packets_total\[/);
  assert.match(expr('TailscaleHealthMessages'), /tailscaled_health_messages > 0/);
  assert.match(expr('TsmetricsApiDown'), /tsmetrics_api_up == 0/);
  assert.match(expr('TsmetricsDeviceScrapeFailing'), /tsmetrics_device_scrape_up == 0/);
  assert.match(expr('TsmetricsRefreshStale'), /time\(\) - tsmetrics_last_successful_refresh_timestamp_seconds > \d+/);
  assert.match(
    expr('TailscaleKeyExpiringSoon'),
    /tailscale_key_expires_in_seconds\{key_type=~"auth\|api"\} < (14 \* 86400|1209600)/,
  );
  assert.match(expr('TailscaleUsersAwaitingApproval'), /tailscale_user_info\{status="needs-approval"\}/);
  assert.match(
    expr('TailscaleDeviceApprovalDisabled'),
    /tailscale_tailnet_setting_enabled\{setting="devices_approval"\} == 0/,
  );
  assert.match(expr('TsmetricsCollectorFailing'), /tsmetrics_collector_success == 0/);
  // Audit log: each on its own counter selection, the first event of a kind included (a series that appears).
  for (const [name, selector] of [
    ['TailscalePolicyFileChanged', 'target_type="TAILNET",target_property="ACL"'],
    ['TailscaleTailnetLockOrKeyExpiryChanged', 'target_property=~"TKA|KEY_EXPIRY|KEY_EXPIRY_TIME|MAX_KEY_DURATION"'],
    ['TailscaleUserRoleChanged', 'target_type="USER",target_property="USER_ROLE"'],
    ['TailscaleKeyCreated', 'target_type="API_KEY",action="CREATE"'],
  ] as const) {
    assert.ok(
      expr(name).includes(`increase(tailscale_audit_events_total{${selector}}[15m])`),
      `${name}: increase of its events`,
    );
    assert.ok(
      expr(name).includes(`unless tailscale_audit_events_total{${selector}} offset 15m`),
      `${name}: and the first event of its kind`,
    );
  }
  const collectorFailing = alerts.find((a) => a.alert === 'TsmetricsCollectorFailing')!;
  assert.equal(collectorFailing.for, '15m');
  const tailnet = (parse(readRepo(`${DIR}/alerts.yaml`)) as { groups: { name: string; rules: Rule[] }[] }).groups.find(
    (g) => g.name === 'tailscale-tailnet',
  );
  assert.deepEqual(
    tailnet?.rules.map((r) => r.alert),
    [
      'TailscaleKeyExpiringSoon',
      'TailscaleUsersAwaitingApproval',
      'TailscaleDeviceApprovalDisabled',
      'TsmetricsCollectorFailing',
    ],
    'the tailscale-tailnet group',
  );
});

test('alerts.yaml: the integration-health alerts watch the new health signals', () => {
  const expr = (name: string): string => alerts.find((a) => a.alert === name)!.expr.replace(/\s+/g, ' ');
  assert.match(expr('TailscaleLogStreamFailing'), /increase\(tailscale_logstream_failed_requests_total\[30m\]\) > 0/);
  assert.match(expr('TailscaleLogStreamFailing'), /increase\(tailscale_logstream_entries_sent_total\[30m\]\) == 0/);
  assert.match(expr('TailscaleLogStreamFailing'), /tailscale_logstream_error == 1/);
  assert.match(
    expr('TailscalePostureSyncStale'),
    /time\(\) - tailscale_posture_integration_last_sync_timestamp_seconds > /,
  );
  assert.match(expr('TailscalePostureSyncFailing'), /tailscale_posture_integration_error == 1/);
  assert.match(expr('TailscaleServiceWithoutReadyHost'), /tailscale_service_approved_ready_hosts == 0/);
  assert.match(expr('HeadscaleDatabaseUnhealthy'), /headscale_database_connectivity == 0/);
  const group = (parse(readRepo(`${DIR}/alerts.yaml`)) as { groups: { name: string; rules: Rule[] }[] }).groups.find(
    (g) => g.name === 'tailscale-integrations',
  );
  assert.deepEqual(
    group?.rules.map((r) => r.alert),
    [
      'TailscaleLogStreamFailing',
      'TailscalePostureSyncStale',
      'TailscalePostureSyncFailing',
      'TailscaleServiceWithoutReadyHost',
      'HeadscaleDatabaseUnhealthy',
    ],
  );
});

test('alerts.test.yaml: every alert has a case where it fires and one where it must not', () => {
  assert.deepEqual(ruleTests.rule_files, ['alerts.yaml']);
  const checks = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = checks.filter((c) => c.alertname === a.alert);
    assert.ok(
      mine.some((c) => c.exp_alerts.length > 0),
      `${a.alert!}: no test where it fires`,
    );
    assert.ok(
      mine.some((c) => c.exp_alerts.length === 0),
      `${a.alert!}: no test where it must stay quiet`,
    );
  }
});

test('alerts.test.yaml: a device with key expiry disabled (no expiry series) is tested not to alert', () => {
  const idOf = (series: string): string | undefined => /device_id="([^"]+)"/.exec(series)?.[1];
  const covered = ruleTests.tests.some((t) => {
    const disabled = t.input_series
      .filter((s) => s.series.startsWith('tailscale_device_key_expiry_disabled{'))
      .map((s) => idOf(s.series));
    const withExpiry = new Set(
      t.input_series
        .filter((s) => s.series.startsWith('tailscale_device_machine_key_expiry{'))
        .map((s) => idOf(s.series)),
    );
    const alerted = (t.alert_rule_test ?? [])
      .filter((c) => c.alertname === 'TailscaleDeviceKeyExpiringSoon')
      .flatMap((c) => c.exp_alerts.map((e) => e.exp_labels?.device_id));
    const checked = (t.alert_rule_test ?? []).some((c) => c.alertname === 'TailscaleDeviceKeyExpiringSoon');
    return checked && disabled.some((id) => id !== undefined && !withExpiry.has(id) && !alerted.includes(id));
  });
  assert.ok(covered);
});

test('alerts.test.yaml: a key that never expires (no expiry series) and an expiring OAuth client are tested not to alert', () => {
  const keyOf = (series: string): string | undefined => /key_id="([^"]+)"/.exec(series)?.[1];
  const typeOf = (series: string): string | undefined => /key_type="([^"]+)"/.exec(series)?.[1];
  let never = false;
  let client = false;
  for (const t of ruleTests.tests) {
    const checks = (t.alert_rule_test ?? []).filter((c) => c.alertname === 'TailscaleKeyExpiringSoon');
    if (checks.length === 0) continue;
    const alerted = new Set(checks.flatMap((c) => c.exp_alerts.map((e) => e.exp_labels?.key_id)));
    const expiring = t.input_series.filter((s) => s.series.startsWith('tailscale_key_expires_in_seconds{'));
    const withExpiry = new Set(expiring.map((s) => keyOf(s.series)));
    const listed = t.input_series
      .filter((s) => /^tailscale_key_(info|created_timestamp_seconds)\{/.test(s.series))
      .map((s) => keyOf(s.series));
    never ||= listed.some((id) => id !== undefined && !withExpiry.has(id) && !alerted.has(id));
    // an OAuth client whose expiry is within 14 days (values in seconds, first sample)
    client ||= expiring.some(
      (s) =>
        typeOf(s.series) === 'client' &&
        Number(s.values.split(/[ x]/)[0]) < 14 * 86400 &&
        !alerted.has(keyOf(s.series)),
    );
    assert.ok(
      checks.some(
        (c) => c.exp_alerts.length > 0 && c.exp_alerts.every((e) => /^(auth|api)$/.test(e.exp_labels?.key_type ?? '')),
      ),
      'only auth keys and API tokens alert',
    );
  }
  assert.ok(never, 'a listed key without a tailscale_key_expires_in_seconds series must not alert');
  assert.ok(client, 'an OAuth client (key_type client) expiring within 14 days must not alert');
});
