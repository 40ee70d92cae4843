// Prometheus artefacts: the alert rules pass `promtool check rules`, their unit tests pass
// `promtool test rules`, and the example scrape config passes `promtool check config`. The structural
// checks (every alert documented and covered by a firing and a quiet case) need no promtool.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`project root not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}
const ROOT = findRoot();
const repoPath = (relative: string): string => join(ROOT, relative);
const readRepo = (relative: string): string => readFileSync(repoPath(relative), 'utf8');

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

const rules = (parse(readRepo(`${DIR}/alerts.yaml`)) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
const alerts = rules.filter((r) => r.alert !== undefined);
const ruleTests = parse(readRepo(`${DIR}/alerts.test.yaml`)) as { rule_files: string[]; tests: RuleTest[] };

const REQUIRED_ALERTS = [
  'TailscaleDeviceOffline', 'TailscaleDeviceKeyExpiringSoon', 'TailscaleHighPacketLoss', 'TailscaleHealthMessages',
  'TsmetricsApiDown', 'TsmetricsDeviceScrapeFailing', 'TsmetricsRefreshStale',
];

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

test('promtool check config on a copy of prometheus.yaml with the rule files it references', (t: TestContext) => {
  const config = parse(readRepo(`${DIR}/prometheus.yaml`)) as {
    rule_files?: string[];
    scrape_configs: { job_name: string; scrape_interval?: string; scrape_timeout?: string; metrics_path?: string }[];
  };
  const job = config.scrape_configs.find((j) => j.job_name === 'tsmetrics');
  assert.ok(job, 'a scrape job named tsmetrics (TsmetricsDown matches up{job="tsmetrics"})');
  assert.equal(job.scrape_interval, '30s');
  assert.equal(job.scrape_timeout, '10s');
  assert.equal(job.metrics_path ?? '/metrics', '/metrics');
  const ruleFiles = config.rule_files ?? [];
  for (const f of ruleFiles) assert.ok(existsSync(repoPath(`${DIR}/${f}`)), `rule file ${f} referenced by prometheus.yaml exists`);

  if (PROMTOOL_MISSING) return t.skip(SKIP_MESSAGE);
  // A temporary copy: relative rule_files resolve next to the config, and nothing is written beside the repo's files.
  const tmp = mkdtempSync(join(tmpdir(), 'tsmetrics-prom-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  copyFileSync(repoPath(`${DIR}/prometheus.yaml`), join(tmp, 'prometheus.yaml'));
  for (const f of ruleFiles) copyFileSync(repoPath(`${DIR}/${f}`), join(tmp, f));
  const r = promtool(['check', 'config', 'prometheus.yaml'], tmp);
  assert.equal(r.status, 0, r.output);
  assert.match(r.output, /is valid prometheus config file syntax/);
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
  assert.match(expr('TailscaleDeviceKeyExpiringSoon'), /\(tailscale_device_machine_key_expiry - time\(\)\) < (14 \* 86400|1209600)/);
  assert.match(expr('TailscaleHighPacketLoss'), /rate\(tailscaled_inbound_dropped_packets_total\[/);
  assert.match(expr('TailscaleHighPacketLoss'), /rate\(tailscaled_outbound_dropped_packets_total\[/);
  assert.match(expr('TailscaleHealthMessages'), /tailscaled_health_messages > 0/);
  assert.match(expr('TsmetricsApiDown'), /tsmetrics_api_up == 0/);
  assert.match(expr('TsmetricsDeviceScrapeFailing'), /tsmetrics_device_scrape_up == 0/);
  assert.match(expr('TsmetricsRefreshStale'), /time\(\) - tsmetrics_last_successful_refresh_timestamp_seconds > \d+/);
});

test('alerts.test.yaml: every alert has a case where it fires and one where it must not', () => {
  assert.deepEqual(ruleTests.rule_files, ['alerts.yaml']);
  const checks = ruleTests.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = checks.filter((c) => c.alertname === a.alert);
    assert.ok(mine.some((c) => c.exp_alerts.length > 0), `${a.alert!}: no test where it fires`);
    assert.ok(mine.some((c) => c.exp_alerts.length === 0), `${a.alert!}: no test where it must stay quiet`);
  }
});

test('alerts.test.yaml: a device with key expiry disabled (no expiry series) is tested not to alert', () => {
  const idOf = (series: string): string | undefined => /device_id="([^"]+)"/.exec(series)?.[1];
  const covered = ruleTests.tests.some((t) => {
    const disabled = t.input_series.filter((s) => s.series.startsWith('tailscale_device_key_expiry_disabled{')).map((s) => idOf(s.series));
    const withExpiry = new Set(t.input_series.filter((s) => s.series.startsWith('tailscale_device_machine_key_expiry{')).map((s) => idOf(s.series)));
    const alerted = (t.alert_rule_test ?? [])
      .filter((c) => c.alertname === 'TailscaleDeviceKeyExpiringSoon')
      .flatMap((c) => c.exp_alerts.map((e) => e.exp_labels?.device_id));
    const checked = (t.alert_rule_test ?? []).some((c) => c.alertname === 'TailscaleDeviceKeyExpiringSoon');
    return checked && disabled.some((id) => id !== undefined && !withExpiry.has(id) && !alerted.includes(id));
  });
  assert.ok(covered);
});
