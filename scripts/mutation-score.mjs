#!/usr/bin/env node
// The mutation score of src/ outside the simulator, joined from the summaries of one or more Stryker runs.
//
// A whole-tree run takes about six hours on 2 cores, longer than one sitting, so `npm run mutate -- <dir>`
// can measure one part at a time; each run leaves a summary in mutation/<part>.json (committed: per file,
// the SHA-256 of the source measured, the count per status and the undetected mutants). A file's newest
// summary counts, and only while its hash is still the file's: a summary of code changed since is stale
// and left out. Prints the score per folder and in total, stale and unmeasured files, and with
// --survivors the undetected mutants.
//
// Score as Stryker defines it: (killed + timeout) / (killed + timeout + survived + no coverage).
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** Where the summaries are, relative to the project root. */
export const SUMMARY_DIR = 'mutation';

export const DETECTED = ['Killed', 'Timeout'];
export const UNDETECTED = ['Survived', 'NoCoverage'];

export const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** Every .ts file of src/ that mutation testing covers, relative to the root. */
function sourceFiles(root, dir = join(root, 'src')) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (relative(root, path) !== join('src', 'sim')) out.push(...sourceFiles(root, path));
    } else if (entry.name.endsWith('.ts')) out.push(relative(root, path).split('\\').join('/'));
  }
  return out.sort();
}

/** Each file's newest summary (by the run's finish time). */
function newestSummaries(root) {
  const dir = join(root, SUMMARY_DIR);
  const byFile = new Map();
  if (!existsSync(dir)) return byFile;
  for (const name of readdirSync(dir).filter((n) => n.endsWith('.json'))) {
    const summary = JSON.parse(readFileSync(join(dir, name), 'utf8'));
    for (const [file, result] of Object.entries(summary.files)) {
      const earlier = byFile.get(file);
      if (earlier === undefined || earlier.finishedAt < summary.finishedAt)
        byFile.set(file, { ...result, finishedAt: summary.finishedAt, part: name });
    }
  }
  return byFile;
}

const count = (counts, statuses) => statuses.reduce((sum, s) => sum + (counts[s] ?? 0), 0);

/** The joined score of the project at `root` (its src/ and mutation/). */
export function score(root = ROOT) {
  const summaries = newestSummaries(root);
  const folders = new Map();
  const total = { detected: 0, undetected: 0, files: 0 };
  const unmeasured = [];
  const stale = [];
  const survivors = [];
  let oldest;
  for (const file of sourceFiles(root)) {
    const summary = summaries.get(file);
    if (summary === undefined) {
      unmeasured.push(file);
      continue;
    }
    if (summary.sha256 !== sha256(readFileSync(join(root, file), 'utf8'))) {
      stale.push(file);
      continue;
    }
    if (oldest === undefined || summary.finishedAt < oldest) oldest = summary.finishedAt;
    const folder = file.split('/').slice(0, 2).join('/').replace(/\.ts$/, '');
    const counts = folders.get(folder) ?? { detected: 0, undetected: 0, files: 0 };
    folders.set(folder, counts);
    for (const c of [counts, total]) {
      c.files++;
      c.detected += count(summary.counts, DETECTED);
      c.undetected += count(summary.counts, UNDETECTED);
    }
    for (const m of summary.undetected) survivors.push({ file, ...m });
  }
  return { folders, total, unmeasured, stale, survivors, oldest };
}

const pct = (c) =>
  c.detected + c.undetected === 0 ? 'n/a' : `${((100 * c.detected) / (c.detected + c.undetected)).toFixed(1)}%`;

const row = (label, c) =>
  `${label.padEnd(26)} ${pct(c).padStart(6)}  ${c.detected} of ${c.detected + c.undetected} (${c.files} files)`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const s = score();
  for (const [folder, c] of [...s.folders].sort()) console.log(row(folder, c));
  console.log(row('total measured', s.total));
  if (s.oldest !== undefined) console.log(`oldest summary counted: ${s.oldest}`);
  if (s.stale.length > 0) console.log(`stale (changed since measured, ${s.stale.length}): ${s.stale.join(' ')}`);
  if (s.unmeasured.length > 0) console.log(`not measured yet (${s.unmeasured.length}): ${s.unmeasured.join(' ')}`);
  if (process.argv.includes('--survivors'))
    for (const m of s.survivors)
      console.log(`${m.status.padEnd(10)} ${m.file}:${m.line}:${m.column} ${m.mutator} ${m.replacement ?? ''}`);
}
