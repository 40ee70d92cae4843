import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BACKEND_INFO } from '../../src/config/backends.js';
import { VARIABLES } from '../../src/config/schema.js';
import { startExporter } from '../helpers/exporter.js';

// The README is the user's manual: its configuration and metric tables must say what the code does.

const root = process.cwd();
const readme = readFileSync(join(root, 'README.md'), 'utf8');

function tableRows(firstHeader: string): string[][] {
  const rows: string[][] = [];
  const lines = readme.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith(`| ${firstHeader} |`)) continue;
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith('|'); j++) {
      rows.push(
        lines[j]!.split(/(?<!\\)\|/)
          .slice(1, -1)
          .map((c) => c.trim()),
      );
    }
  }
  return rows;
}

const unquote = (cell: string): string => cell.replace(/^`|`$/g, '');

test('the configuration table lists every variable with its default, and nothing else', () => {
  const rows = tableRows('Variable');
  const documented = new Map(rows.map((r) => [unquote(r[0]!), r[1]!]));
  assert.deepEqual([...documented.keys()].sort(), VARIABLES.map((v) => v.name).sort());
  for (const v of VARIABLES) {
    assert.equal(documented.get(v.name), v.default === undefined ? '-' : `\`${v.default}\``, v.name);
  }
});

test('the collectors and scopes table lists the Tailscale collectors of the backend table, each with its scopes', () => {
  const rows = tableRows('Collector');
  const needs: Readonly<Record<string, string>> = BACKEND_INFO.tailscale.collectors;
  assert.deepEqual(
    rows.map((r) => unquote(r[0]!.replace(/ \(opt-in\)$/, ''))),
    Object.keys(needs),
  );
  for (const row of rows) {
    const collector = unquote(row[0]!.replace(/ \(opt-in\)$/, ''));
    // Every OAuth scope the table names for the collector is in its README row, and no other.
    const scopes = (text: string): string[] => [...text.matchAll(/[a-z_]+:[a-z_:]*read/g)].map((m) => m[0]).sort();
    assert.deepEqual(scopes(row[2]!.split('(some settings')[0]!), scopes(needs[collector]!), collector);
  }
});

test('.env.example mentions every variable', () => {
  const example = readFileSync(join(root, '.env.example'), 'utf8');
  for (const v of VARIABLES) assert.match(example, new RegExp(`^#? ?${v.name}=`, 'm'), v.name);
});

test('the metric tables match the families the exporter really serves (name, type, labels)', async (t) => {
  const rows = tableRows('Metric');
  const documented = new Map(
    rows.map((r) => [
      unquote(r[0]!),
      { type: r[1]!, labels: r[2] === '-' ? [] : r[2]!.split(',').map((s) => s.trim()) },
    ]),
  );
  const ex = await startExporter(t, {}, { demo: true });
  // One failing API cycle so the error families exist too.
  ex.simulator!.setApiFault({ kind: 'status', status: 500, times: 3 });
  await ex.nextCycle();
  const hs = await startExporter(t, { BACKEND: 'headscale' }, { demo: true });
  const text = (await (await ex.get('/metrics')).text()) + (await (await hs.get('/metrics')).text());
  const served = new Map<string, { type: string; labels: Set<string> }>();
  let current = '';
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      current = type[1]!;
      served.set(current, { type: type[2]!, labels: new Set() });
    } else if (line !== '' && !line.startsWith('#')) {
      for (const m of line.matchAll(/[{,]([a-zA-Z_][a-zA-Z0-9_]*)="/g))
        if (m[1] !== 'le') served.get(current)!.labels.add(m[1]!);
    }
  }
  for (const [name, fam] of served) {
    const doc = documented.get(name);
    assert.ok(doc, `${name} is served but not in the README`);
    assert.equal(doc.type, fam.type, `${name} type`);
    assert.deepEqual([...doc.labels].sort(), [...fam.labels].sort(), `${name} labels`);
  }
  // Families that need a fault to appear must still exist in the code.
  const source = readdirSync(join(root, 'src/collectors'))
    .map((f) => readFileSync(join(root, 'src/collectors', f), 'utf8'))
    .join('\n');
  for (const name of documented.keys()) {
    if (served.has(name)) continue;
    assert.ok(source.includes(`'${name}'`), `${name} is in the README but nowhere in the collectors`);
  }
});

test('every family a collector can emit is documented', () => {
  const source = readdirSync(join(root, 'src/collectors'))
    .map((f) => readFileSync(join(root, 'src/collectors', f), 'utf8'))
    .join('\n');
  const emitted = new Set([...source.matchAll(/'((?:tailscale|tsmetrics|headscale)_[a-z0-9_]+)'/g)].map((m) => m[1]!));
  const documented = new Set(tableRows('Metric').map((r) => unquote(r[0]!)));
  const missing = [...emitted].filter((n) => !documented.has(n) && !/_(bucket|sum|count)$/.test(n));
  assert.deepEqual(missing, []);
});

test('the README states the two commands, and CI runs exactly the test command', () => {
  assert.match(readme, /npm install && npm run demo/);
  assert.match(readme, /^npm test\b/m);
  const ci = readFileSync(join(root, '.ci/run'), 'utf8');
  assert.match(ci, /^npm test$/m);
});

test('the Headscale mapping table says what the code does: absent families and mapped families', async (t) => {
  const { HEADSCALE_UNSUPPORTED_FAMILIES } = await import('../../src/control/headscale.js');
  const rows = tableRows('Device family');
  const absentRow = rows.find((r) => r[1]!.startsWith('absent'));
  assert.ok(absentRow, 'the table has an "absent" row');
  // `tailscale_device_authorized`, `_update_available`, ... : expand the short forms.
  const absent = [...absentRow[0]!.matchAll(/`(_?[a-z_]+)`/g)].map((m) =>
    m[1]!.startsWith('_') ? `tailscale_device${m[1]}` : m[1]!,
  );
  assert.deepEqual(absent.sort(), [...HEADSCALE_UNSUPPORTED_FAMILIES].sort());
  const hs = await startExporter(t, { BACKEND: 'headscale' }, { demo: true });
  const text = await (await hs.get('/metrics')).text();
  for (const f of absent) assert.ok(!text.includes(`# TYPE ${f} `), `${f} must be absent`);
  const mapped = rows
    .filter((r) => r !== absentRow)
    .flatMap((r) => [...r[0]!.matchAll(/`(tailscale_device_[a-z_]+)`/g)].map((m) => m[1]!));
  assert.ok(mapped.length >= 10);
  for (const f of mapped) assert.match(text, new RegExp(`^# TYPE ${f} `, 'm'), `${f} is mapped, so it must be served`);
});
