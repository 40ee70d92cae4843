import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

// scripts/mutation-score.mjs joins the summaries of several Stryker runs (parts of src/) into the score the
// README states: the newest summary of a file counts, and only while the file is the source it measured.

interface Counts {
  detected: number;
  undetected: number;
  files: number;
}
interface Score {
  folders: Map<string, Counts>;
  total: Counts;
  unmeasured: string[];
  stale: string[];
  survivors: Array<{ file: string; line: number; status: string }>;
}
// A plain .mjs script with no types; `as` gives its result the shape this test reads.
const { score } = (await import(new URL('../../../scripts/mutation-score.mjs', import.meta.url).href)) as {
  score: (root: string) => Score;
};

const sha = (text: string): string => createHash('sha256').update(text).digest('hex');

test('the joined score counts fresh summaries only, the newest per file, and lists what is missing', () => {
  const root = mkdtempSync(join(tmpdir(), 'mutation-score-'));
  try {
    const write = (path: string, text: string): void => {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), text);
    };
    write('src/a/one.ts', 'one');
    write('src/a/two.ts', 'two, changed since');
    write('src/b.ts', 'b');
    write('src/unmeasured.ts', 'u');
    write('src/sim/ignored.ts', 'sim is not mutated');
    const summary = (finishedAt: string, files: Record<string, unknown>): string =>
      JSON.stringify({ part: 'x', finishedAt, files });
    write(
      'mutation/old.json',
      summary('2026-12-01T00:00:00Z', {
        'src/a/one.ts': { sha256: sha('one'), counts: { Killed: 1, Survived: 9 }, undetected: [] },
      }),
    );
    write(
      'mutation/new.json',
      summary('2026-12-02T00:00:00Z', {
        'src/a/one.ts': {
          sha256: sha('one'),
          counts: { Killed: 6, Timeout: 1, Survived: 2, NoCoverage: 1, Ignored: 5, CompileError: 3 },
          undetected: [{ line: 3, column: 1, status: 'Survived', mutator: 'X' }],
        },
        'src/a/two.ts': { sha256: sha('two'), counts: { Killed: 1 }, undetected: [] },
        'src/b.ts': { sha256: sha('b'), counts: { Killed: 1, Survived: 1 }, undetected: [] },
      }),
    );
    const s = score(root);
    // one.ts from new.json (7 detected of 10; Ignored and CompileError do not count), b.ts 1 of 2.
    assert.deepEqual(s.folders.get('src/a'), { detected: 7, undetected: 3, files: 1 });
    assert.deepEqual(s.folders.get('src/b'), { detected: 1, undetected: 1, files: 1 });
    assert.deepEqual(s.total, { detected: 8, undetected: 4, files: 2 });
    assert.deepEqual(s.stale, ['src/a/two.ts']);
    assert.deepEqual(s.unmeasured, ['src/unmeasured.ts']);
    assert.deepEqual(
      s.survivors.map((m) => [m.file, m.line, m.status]),
      [['src/a/one.ts', 3, 'Survived']],
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
