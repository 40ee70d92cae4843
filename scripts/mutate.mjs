#!/usr/bin/env node
// npm run mutate [-- <path under src/> ...]: Stryker over src/ outside the simulator, or over the folders
// and files named (one part of the tree; see scripts/mutation-score.mjs for why and how parts are joined).
// Each part keeps its own incremental file, so a rerun tests only the mutants of changed code. After the
// run, the part's summary is written to mutation/<part>.json and the joined score is printed.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DETECTED, SUMMARY_DIR, UNDETECTED, sha256 } from './mutation-score.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
// Options (`--concurrency=1`) go to Stryker as they are.
const options = process.argv.slice(2).filter((a) => a.startsWith('--'));
const paths = process.argv
  .slice(2)
  .filter((a) => !options.includes(a))
  .map((p) => p.replace(/\/+$/, ''));
for (const p of paths)
  if (!p.startsWith('src/') || p.startsWith('src/sim')) {
    console.error(`mutate: ${p}: name a folder or .ts file under src/ outside src/sim`);
    process.exit(2);
  }
const joined = paths.map((p) => p.slice(4).replace(/\.ts$/, '').replace(/\//g, '-')).join('+');
// A part's name is its file name (and its incremental file's): a long list of paths is cut and keeps a hash
// of the whole list, so the same list still names the same part and `stryker-incremental-<part>.json` stays
// under NAME_MAX (255).
const part =
  paths.length === 0 ? 'all' : joined.length <= 200 ? joined : `${joined.slice(0, 100)}+${sha256(joined).slice(0, 12)}`;
const globs =
  paths.length === 0 ? ['src/**/*.ts', '!src/sim/**'] : paths.map((p) => (p.endsWith('.ts') ? p : `${p}/**/*.ts`));
const report = join(root, 'reports', `mutation-${part}.json`);

/** The .ts files under the named folders and files, relative to the root. */
function partFiles(names) {
  const out = [];
  for (const name of names) {
    if (statSync(join(root, name)).isFile()) out.push(name);
    else
      for (const entry of readdirSync(join(root, name), { recursive: true }))
        if (entry.endsWith('.ts')) out.push(`${name}/${entry.split('\\').join('/')}`);
  }
  return out;
}

const stryker = spawnSync(
  process.execPath,
  [
    join(root, 'node_modules', '@stryker-mutator', 'core', 'bin', 'stryker.js'),
    'run',
    '--mutate',
    globs.join(','),
    '--incrementalFile',
    `reports/stryker-incremental-${part}.json`,
    ...options,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TSMETRICS_SHARED_DIR: join(root, '..', 'shared'), TSMETRICS_MUTATION_REPORT: report },
  },
);
if (stryker.status !== 0) process.exit(stryker.status ?? 1);

const full = JSON.parse(readFileSync(report, 'utf8'));
const files = {};
for (const [file, result] of Object.entries(full.files)) {
  const counts = {};
  for (const m of result.mutants) counts[m.status] = (counts[m.status] ?? 0) + 1;
  files[file] = {
    sha256: sha256(result.source),
    counts,
    undetected: result.mutants
      .filter((m) => UNDETECTED.includes(m.status))
      .map((m) => ({
        line: m.location.start.line,
        column: m.location.start.column,
        status: m.status,
        mutator: m.mutatorName,
        ...(m.replacement === undefined ? {} : { replacement: m.replacement.replace(/\s+/g, ' ').slice(0, 120) }),
      })),
  };
}
// A file the part names but Stryker found no mutant in (types only) is measured too: it has nothing to kill.
for (const file of partFiles(paths.length === 0 ? ['src'] : paths)) {
  if (files[file] !== undefined || file.startsWith('src/sim/')) continue;
  files[file] = { sha256: sha256(readFileSync(join(root, file), 'utf8')), counts: {}, undetected: [] };
}
mkdirSync(join(root, SUMMARY_DIR), { recursive: true });
writeFileSync(
  join(root, SUMMARY_DIR, `${part}.json`),
  `${JSON.stringify({ part, finishedAt: new Date().toISOString(), statuses: { detected: DETECTED, undetected: UNDETECTED }, files }, null, 1)}\n`,
);
spawnSync(process.execPath, [join(root, 'scripts', 'mutation-score.mjs')], { cwd: root, stdio: 'inherit' });
