import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { test } from 'node:test';

// The data flows one way: config -> control (the control plane: Tailscale API or Headscale) -> tsnet (transport) -> devices -> collectors ->
// exposition -> refresh -> server -> the composition root (app.ts, main.ts, demo.ts). A stage may import upstream
// stages, never downstream ones; the simulator imports nothing from src/, and only demo.ts (simulator mode, in the
// composition root) reaches the simulator, by a dynamic import (a real deployment never loads it). Every import form counts: static, re-export,
// side-effect, dynamic `import()`, `require()` and `createRequire(...)(...)`.

const SRC = join(process.cwd(), 'src');
const ORDER = ['config', 'control', 'tsnet', 'devices', 'collectors', 'exposition', 'refresh', 'server', 'root'];
// exposition/family.ts is the shared vocabulary every stage may use; slicer.ts the shared event-loop budget; util/
// holds leaf helpers (sleep, back-off, hashing, host:port) that import nothing from src/.
const SHARED = ['exposition/family.ts', 'errors.ts', 'log.ts', 'version.ts', 'slicer.ts'];
const SHARED_DIRS = ['util/'];
// Files at the top of src/ that are not shared belong to the composition root; a new one must be placed here.
const ROOT_FILES = ['app.ts', 'main.ts', 'heap.ts', 'demo.ts'];

export interface ImportSite {
  readonly specifier: string;
  readonly kind: 'static' | 'type' | 'side-effect' | 'dynamic' | 'require';
}

/** Every module a TypeScript file names, in any import form. Comments count too: a false alarm is cheap. */
export function importSites(text: string): ImportSite[] {
  const sites: ImportSite[] = [];
  for (const m of text.matchAll(/(?:^|[;}\n])\s*(import|export)(\s+type)?\s+(?:[^;'"]*?\s)?from\s*['"]([^'"]+)['"]/g)) {
    sites.push({ specifier: m[3]!, kind: m[1] === 'import' && m[2] !== undefined ? 'type' : 'static' });
  }
  for (const m of text.matchAll(/(?:^|[;}\n])\s*import\s*['"]([^'"]+)['"]/g))
    sites.push({ specifier: m[1]!, kind: 'side-effect' });
  // `typeof import('x')` is a type, not a load.
  for (const m of text.matchAll(/(typeof\s+)?\bimport\(\s*['"]([^'"]+)['"]\s*\)/g))
    sites.push({ specifier: m[2]!, kind: m[1] === undefined ? 'dynamic' : 'type' });
  for (const m of text.matchAll(
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)|\bcreateRequire\([^)]*\)\(\s*['"]([^'"]+)['"]\s*\)/g,
  ))
    sites.push({ specifier: (m[1] ?? m[2])!, kind: 'require' });
  // A computed specifier cannot be checked: it is reported as such.
  for (const m of text.matchAll(/\bimport\(\s*(?!['"])([^)]*)\)|\brequire\(\s*(?!['"])([^)]*)\)/g))
    sites.push({ specifier: `<computed: ${(m[1] ?? m[2])!.trim()}>`, kind: 'dynamic' });
  return sites;
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

function stageOf(path: string): string {
  if (SHARED.includes(path) || SHARED_DIRS.some((dir) => path.startsWith(dir))) return 'shared';
  if (path.includes('/')) return path.split('/')[0]!;
  return ROOT_FILES.includes(path) ? 'root' : 'unplaced';
}

test('the import extractor sees every import form', () => {
  const text = [
    "import { a } from './a.js';",
    "import type { B } from './b.js';",
    'import {\n  c,\n  d,\n} from "./c.js";',
    "export { e } from './e.js';",
    "export * from './f.js';",
    "import './g.js';",
    "const h = await import('./h.js');",
    "let y: typeof import('yaml');",
    "const i = createRequire(import.meta.url)('./i.js');",
    "const j = require('./j.js');",
    'const k = await import(name);',
  ].join('\n');
  const got = importSites(text)
    .map((s) => `${s.kind} ${s.specifier}`)
    .sort();
  assert.deepEqual(
    got,
    [
      'dynamic ./h.js',
      'dynamic <computed: name>',
      'require ./i.js',
      'require ./j.js',
      'side-effect ./g.js',
      'static ./a.js',
      'static ./c.js',
      'static ./e.js',
      'static ./f.js',
      'type ./b.js',
      'type yaml',
    ].sort(),
  );
});

test('stages import only upstream stages, in every import form; root files are placed', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const from = relative(SRC, file);
    const stage = stageOf(from);
    if (stage === 'unplaced')
      violations.push(`${from}: a file at the top of src/ must be listed as SHARED or ROOT_FILES`);
    for (const site of importSites(readFileSync(file, 'utf8'))) {
      if (site.specifier.startsWith('<computed')) {
        violations.push(`${from}: ${site.specifier} cannot be checked`);
        continue;
      }
      if (!site.specifier.startsWith('.')) continue;
      const target = relative(SRC, resolve(dirname(file), site.specifier.replace(/\.js$/, '.ts')));
      const targetStage = stageOf(target);
      if (stage === 'shared' && targetStage !== 'shared' && site.kind !== 'type')
        violations.push(`${from} -> ${target}: a shared file imports only shared files`);
      if (site.kind === 'type' || targetStage === 'shared') continue;
      if (stage === 'sim') {
        if (targetStage !== 'sim')
          violations.push(`${from} -> ${target} (the simulator stands in for the outside world)`);
        continue;
      }
      if (targetStage === 'sim') {
        if (!(from === 'demo.ts' && site.kind === 'dynamic'))
          violations.push(`${from} -> ${target} (${site.kind}): only demo.ts loads the simulator, dynamically`);
        continue;
      }
      const a = ORDER.indexOf(stage);
      const b = ORDER.indexOf(targetStage);
      if (a >= 0 && b > a) violations.push(`${from} -> ${target} (${site.kind})`);
    }
  }
  assert.deepEqual(violations, []);
});

test('main.ts is the entry point: nothing imports it, and only main.ts imports app.ts', () => {
  const importers = (wanted: string): string[] =>
    files(SRC)
      .filter((file) =>
        importSites(readFileSync(file, 'utf8')).some(
          (s) =>
            s.specifier.startsWith('.') &&
            relative(SRC, resolve(dirname(file), s.specifier.replace(/\.js$/, '.ts'))) === wanted,
        ),
      )
      .map((f) => relative(SRC, f));
  assert.deepEqual(importers('main.ts'), []);
  assert.deepEqual(importers('app.ts'), ['main.ts']);
});

test('the two simulators share only sim/shared/: tailscale/ and headscale/ never import each other', () => {
  const SIM = join(SRC, 'sim');
  // The top of sim/ holds the standalone entry point, which may start either simulator; nothing imports it.
  const partOf = (path: string): string => (path.includes('/') ? path.split('/')[0]! : 'main');
  const allowed: Readonly<Record<string, readonly string[]>> = {
    shared: ['shared'],
    tailscale: ['tailscale', 'shared'],
    headscale: ['headscale', 'shared'],
    main: ['main', 'tailscale', 'headscale', 'shared'],
  };
  const violations: string[] = [];
  for (const file of files(SIM)) {
    const from = relative(SIM, file);
    const part = partOf(from);
    for (const site of importSites(readFileSync(file, 'utf8'))) {
      if (!site.specifier.startsWith('.')) continue;
      const target = relative(SIM, resolve(dirname(file), site.specifier.replace(/\.js$/, '.ts')));
      if (target.startsWith('..')) continue; // outside sim/: the stage rule above applies
      const targetPart = partOf(target);
      if (!(allowed[part] ?? []).includes(targetPart) || (targetPart === 'main' && part !== 'main'))
        violations.push(`sim/${from} -> sim/${target} (${site.kind})`);
    }
  }
  assert.deepEqual(violations, []);
});
