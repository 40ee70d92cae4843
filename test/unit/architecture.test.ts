import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { test } from 'node:test';

// The data flows one way: config -> tailscale (control plane) -> tsnet (transport) -> devices -> collectors -> exposition -> refresh -> server.
// A stage may import upstream stages, never downstream ones; the simulator imports nothing from src/.

const SRC = join(process.cwd(), 'src');
const ORDER = ['config', 'tailscale', 'tsnet', 'devices', 'collectors', 'exposition', 'refresh', 'server'];
// exposition/family.ts is the shared vocabulary every stage may use; slicer.ts the shared event-loop budget.
const SHARED = ['exposition/family.ts', 'errors.ts', 'log.ts', 'version.ts', 'slicer.ts'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)[^'"]*from '(\.[^']+)'/gm)].map((m) => relative(SRC, resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))));
}

test('stages import only upstream stages', () => {
  const violations: string[] = [];
  for (const file of files(SRC)) {
    const from = relative(SRC, file);
    const stage = from.split('/')[0]!;
    for (const target of imports(file)) {
      if (SHARED.includes(target)) continue;
      const targetStage = target.split('/')[0]!;
      if (stage === 'sim') {
        if (targetStage !== 'sim') violations.push(`${from} -> ${target} (the simulator stands in for the outside world)`);
        continue;
      }
      const a = ORDER.indexOf(stage);
      const b = ORDER.indexOf(targetStage);
      if (a >= 0 && b > a) violations.push(`${from} -> ${target}`);
    }
  }
  assert.deepEqual(violations, []);
});
