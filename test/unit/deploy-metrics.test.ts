// Metric names are a contract (the Go original's README): dashboards and alerts may only use the
// metrics tsmetrics exports, rate()/increase() only counters, and the tailscale_*/tsmetrics_* names they
// use must be emitted somewhere in src/ (names are literal strings in the collector that emits them).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

import { repoPath, readRepo } from '../helpers/repo.js';

// The README's metric tables are the list of what tsmetrics exports (test/e2e/docs.test.ts checks them
// against the running exporter), so the names and types come from there.
const TYPES = new Map(
  [
    ...readRepo('README.md').matchAll(
      /^\| `((?:tailscale|tailscaled|tsmetrics)_[a-z0-9_]+)` \| (counter|gauge|untyped|histogram|summary) \|/gm,
    ),
  ].map((m) => [m[1]!, m[2]!] as const),
);
const namesOf = (type: string): string[] => [...TYPES].filter(([, t]) => t === type).map(([n]) => n);
const COUNTERS = new Set(namesOf('counter'));
const HISTOGRAMS = new Set(namesOf('histogram'));
const GAUGES = new Set([...namesOf('gauge'), ...namesOf('untyped')]);

/** Every series name a query may use: gauges, counters, and the _bucket/_sum/_count of histograms. */
const ALLOWED = new Set([
  ...GAUGES,
  ...COUNTERS,
  ...[...HISTOGRAMS].flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`]),
]);
const RATE_ABLE = new Set([...COUNTERS, ...[...HISTOGRAMS].flatMap((h) => [`${h}_bucket`, `${h}_sum`, `${h}_count`])]);

const METRIC = /\b(?:tailscale_|tailscaled_|tsmetrics_)[a-z0-9_]+/g;

/** Every PromQL expression in deploy/, with where it comes from. */
function expressions(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const file of [
    'deploy/grafana/tsmetrics-overview.json',
    'deploy/grafana/tsmetrics-device-details.json',
    'deploy/grafana/tsmetrics-traffic.json',
  ]) {
    const d = JSON.parse(readRepo(file)) as {
      panels: {
        title: string;
        targets?: { expr: string }[];
        panels?: { title: string; targets?: { expr: string }[] }[];
      }[];
      templating: { list: { name: string; query: unknown; definition?: string }[] };
    };
    for (const p of d.panels.flatMap((x) => [x, ...(x.panels ?? [])])) {
      for (const t of p.targets ?? []) out.push({ where: `${file} "${p.title}"`, expr: t.expr });
    }
    for (const v of d.templating.list) {
      const q = typeof v.query === 'string' ? v.query : (v.query as { query?: string } | undefined)?.query;
      if (q) out.push({ where: `${file} variable ${v.name}`, expr: q });
      if (v.definition) out.push({ where: `${file} variable ${v.name}`, expr: v.definition });
    }
  }
  const alerts = parse(readRepo('deploy/prometheus/alerts.yaml')) as {
    groups: { rules: { alert?: string; record?: string; expr: string }[] }[];
  };
  for (const r of alerts.groups.flatMap((g) => g.rules))
    out.push({ where: `alerts.yaml ${r.alert ?? r.record ?? ''}`, expr: r.expr });
  const tests = parse(readRepo('deploy/prometheus/alerts.test.yaml')) as {
    tests: { input_series: { series: string }[] }[];
  };
  for (const s of tests.tests.flatMap((t) => t.input_series))
    out.push({ where: 'alerts.test.yaml input_series', expr: s.series });
  return out;
}

test('deploy/: dashboards and alerts use only metric names tsmetrics exports', () => {
  const unknown: string[] = [];
  const all = expressions();
  assert.ok(all.length > 50, `only ${all.length} expressions found`);
  for (const { where, expr } of all) {
    for (const [name] of expr.matchAll(METRIC)) if (!ALLOWED.has(name)) unknown.push(`${where}: ${name}`);
  }
  assert.deepEqual(unknown, []);
});

test('deploy/: rate(), irate() and increase() are applied to counters only', () => {
  const wrong: string[] = [];
  for (const { where, expr } of expressions()) {
    for (const m of expr.matchAll(/\b(?:rate|irate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)/g)) {
      if (!RATE_ABLE.has(m[1]!)) wrong.push(`${where}: ${m[0]}`);
    }
  }
  assert.deepEqual(wrong, []);
});

test('deploy/: the tailscale_* and tsmetrics_* names used are emitted in src/', () => {
  const srcDir = repoPath('src');
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const p = join(dir, e.name);
      if (e.isDirectory()) return e.name === 'sim' ? [] : walk(p); // the simulator is not the exporter
      return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : [];
    });
  const source = walk(srcDir)
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const used = new Set(expressions().flatMap(({ expr }) => [...expr.matchAll(METRIC)].map(([n]) => n)));
  const base = (n: string): string =>
    n.replace(/_(bucket|sum|count)$/, (s) => (HISTOGRAMS.has(n.slice(0, -s.length)) ? '' : s));
  // tailscaled_* families are re-exported from the devices, so their names need not appear in src/.
  const missing = [...used]
    .map(base)
    .filter((n) => !n.startsWith('tailscaled_'))
    .filter((n) => !new RegExp(`['"\`]${n}['"\`]`).test(source));
  assert.deepEqual([...new Set(missing)], []);
});
