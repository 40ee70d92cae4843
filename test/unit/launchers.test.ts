import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingNodeFlags, NODE_FLAGS } from '../../src/heap.js';
import { readRepo } from '../helpers/repo.js';

// V8 takes NODE_FLAGS only when the process starts, so each way of starting the exporter must carry them
// itself; the benchmark's memory figures hold only for an exporter started this way.

/** The words of the node command that runs `script` in `text`, up to the script. */
function nodeFlagsBefore(text: string, script: RegExp): string[] | undefined {
  const m = new RegExp(`\\bnode"?((?:[ ,]+"?--[^ ",]+"?)*)[ ,]+"?[^ "]*${script.source}`).exec(text);
  return m === null ? undefined : [...m[1]!.matchAll(/--[^ ",]+/g)].map((f) => f[0]);
}

test('every launcher starts node with NODE_FLAGS', () => {
  const scripts = (JSON.parse(readRepo('package.json')) as { scripts: Record<string, string> }).scripts;
  const launchers: Array<[string, string, RegExp]> = [
    ['bin/tsmetrics.js shebang', readRepo('bin/tsmetrics.js').split('\n')[0]!.replace('#!/usr/bin/env -S ', ''), /$/],
    [
      'Dockerfile ENTRYPOINT',
      readRepo('Dockerfile')
        .split('\n')
        .find((l) => l.startsWith('ENTRYPOINT'))!,
      /bin\/tsmetrics\.js/,
    ],
    [
      'systemd ExecStart',
      readRepo('deploy/systemd/tsmetrics.service')
        .split('\n')
        .find((l) => l.startsWith('ExecStart='))!,
      /bin\/tsmetrics\.js/,
    ],
    ...(['start', 'demo', 'demo:headscale'] as const).map((s): [string, string, RegExp] => [
      `npm run ${s}`,
      scripts[s]!,
      /bin\/tsmetrics\.js/,
    ]),
    ...(['bench', 'soak'] as const).map((s): [string, string, RegExp] => [
      `npm run ${s}`,
      scripts[s]!,
      /dist\/bench\/\w+\.js/,
    ]),
  ];
  for (const [where, text, script] of launchers) {
    const flags = where.endsWith('shebang') ? text.split(' ').slice(1) : nodeFlagsBefore(text, script);
    assert.ok(flags !== undefined, `${where}: no node command found in ${JSON.stringify(text)}`);
    for (const flag of NODE_FLAGS) assert.ok(flags.includes(flag), `${where} lacks ${flag}: ${JSON.stringify(text)}`);
  }
  // The benchmark's separate exporter process (the memory figures) is started with them too.
  assert.match(
    readRepo('bench/run.ts'),
    /new Helper\(here\('exporter-proc\.js'\), args, \['--expose-gc', \.\.\.NODE_FLAGS\]\)/,
  );
});

test('missingNodeFlags: by option name, from the command line or NODE_OPTIONS; another value counts as chosen', () => {
  assert.deepEqual(missingNodeFlags([], ''), [...NODE_FLAGS]);
  assert.deepEqual(missingNodeFlags([...NODE_FLAGS], ''), []);
  assert.deepEqual(missingNodeFlags([], NODE_FLAGS.join(' ')), []);
  assert.deepEqual(missingNodeFlags(['--max_semi_space_size=16'], ''), []);
  assert.deepEqual(missingNodeFlags(['--max-old-space-size=100'], '--no-warnings'), [...NODE_FLAGS]);
  assert.deepEqual(NODE_FLAGS, ['--max-semi-space-size=4']);
});

test("missingNodeFlags reads the process's NODE_OPTIONS by default", (t) => {
  const saved = process.env['NODE_OPTIONS'];
  t.after(() => {
    if (saved === undefined) delete process.env['NODE_OPTIONS'];
    else process.env['NODE_OPTIONS'] = saved;
  });
  process.env['NODE_OPTIONS'] = `--no-warnings ${NODE_FLAGS.join(' ')}`;
  assert.deepEqual(missingNodeFlags([]), []);
  delete process.env['NODE_OPTIONS'];
  assert.deepEqual(missingNodeFlags([]), [...NODE_FLAGS]);
});
