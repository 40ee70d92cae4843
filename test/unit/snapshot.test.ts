import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { counter, gauge, type MetricFamily } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { Snapshot, SnapshotBuilder, SnapshotStore, buildSnapshot } from '../../src/exposition/snapshot.js';

// Non-ASCII help text, so the byte length differs from the string length.
const families = (): MetricFamily[] => [
  gauge('z_gauge', 'größe in µs', [
    [{ a: '1' }, 1],
    [{ a: 'ü' }, 2],
  ]),
  counter('a_total', 'count', [
    [{ d: '1' }, 5],
    [{ d: '2' }, 6],
  ]),
  gauge('m_metric', 'm', [[{}, 3.5]]),
];

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

test('keepPlain=false: only the gzip body is built; plain() inflates it once, on demand', async () => {
  const builder = new SnapshotBuilder({ keepPlain: false });
  await builder.add(families());
  const snapshot = await builder.finish(1234);
  const expected = render(families()).text;
  assert.ok(expected.length > 0);
  assert.notEqual(Buffer.byteLength(expected), expected.length, 'the fixture must contain multi-byte characters');
  assert.equal(snapshot.createdAtMs, 1234);
  assert.equal(snapshot.plainBody, undefined);
  assert.equal(gunzipSync(snapshot.gzipBody).toString('utf8'), expected);
  assert.equal(snapshot.plainLength, Buffer.byteLength(expected, 'utf8'));
  assert.equal(snapshot.stats.series, 5);

  const first = snapshot.plain();
  const second = snapshot.plain();
  const [a, b] = await Promise.all([first, second]);
  assert.equal(a, b, 'concurrent callers share one inflated buffer');
  assert.ok(a.equals(Buffer.from(expected, 'utf8')));
  assert.ok(snapshot.plainBody !== undefined);
  assert.equal(snapshot.plainBody, a);
  assert.equal(await snapshot.plain(), a, 'later callers get the held buffer');
});

test('keepPlain=true: the plain body is held right after finish and matches the gzip body', async () => {
  const builder = new SnapshotBuilder({ keepPlain: true });
  await builder.add(families());
  const snapshot = await builder.finish(1);
  assert.ok(snapshot.plainBody !== undefined);
  const inflated = gunzipSync(snapshot.gzipBody);
  assert.ok(snapshot.plainBody.equals(inflated));
  assert.ok(snapshot.plainBody.equals(render(families()).body));
  assert.equal(snapshot.plainLength, snapshot.plainBody.length);
  assert.equal(await snapshot.plain(), snapshot.plainBody);
});

test('two batches: batch 1 sorted, then batch 2 sorted; a name already written is dropped and counted', async () => {
  const builder = new SnapshotBuilder({ keepPlain: false });
  await builder.add([
    gauge('m_b', 'mb', [[{}, 1]]),
    counter('m_a_total', 'ma', [[{}, 2]]),
    gauge('m_c', 'mc', [[{}, 3]]),
  ]);
  await builder.add([
    gauge('a_second', 'second batch', [[{}, 4]]),
    // same name and type as a batch-1 family: 2 samples dropped as duplicates
    gauge('m_b', 'mb again', [
      [{ x: '1' }, 5],
      [{ x: '2' }, 6],
    ]),
    // same name, other type: a conflict, its 3 samples dropped as invalid
    counter('m_c', 'mc as counter', [
      [{ y: '1' }, 7],
      [{ y: '2' }, 8],
      [{ y: '3' }, 9],
    ]),
  ]);
  const snapshot = await builder.finish(2);
  const text = gunzipSync(snapshot.gzipBody).toString('utf8');
  assert.equal(
    text,
    '# HELP m_a_total ma\n# TYPE m_a_total counter\nm_a_total 2\n' +
      '# HELP m_b mb\n# TYPE m_b gauge\nm_b 1\n' +
      '# HELP m_c mc\n# TYPE m_c gauge\nm_c 3\n' +
      '# HELP a_second second batch\n# TYPE a_second gauge\na_second 4\n',
  );
  assert.equal(lines(text).filter((l) => l === '# TYPE m_b gauge').length, 1);
  assert.equal(lines(text).filter((l) => l.startsWith('# TYPE m_b ')).length, 1);
  assert.equal(lines(text).filter((l) => l.startsWith('# TYPE m_c ')).length, 1);
  assert.equal(snapshot.stats.duplicates, 2);
  assert.equal(snapshot.stats.typeConflicts, 1);
  assert.equal(snapshot.stats.invalid, 3);
  assert.equal(snapshot.stats.series, 4);
  assert.deepEqual(builder.stats, snapshot.stats);
});

test('a histogram in batch 2 does not write h_count again when batch 1 wrote a gauge named h_count', async () => {
  const builder = new SnapshotBuilder({ keepPlain: true });
  await builder.add([gauge('h_count', 'a gauge that looks like a histogram count', [[{}, 42]])]);
  await builder.add([
    {
      name: 'h',
      type: 'histogram',
      help: 'h',
      samples: [
        { name: 'h_bucket', labels: { le: '1' }, value: 1 },
        { name: 'h_bucket', labels: { le: '+Inf' }, value: 2 },
        { name: 'h_sum', labels: {}, value: 1.5 },
        { name: 'h_count', labels: {}, value: 2 },
      ],
    },
  ]);
  const snapshot = await builder.finish(3);
  const text = gunzipSync(snapshot.gzipBody).toString('utf8');
  assert.deepEqual(
    lines(text).filter((l) => l.startsWith('h_count ')),
    ['h_count 42'],
  );
  assert.equal(lines(text).filter((l) => l.startsWith('h_bucket')).length, 2);
  assert.equal(lines(text).filter((l) => l.startsWith('h_sum ')).length, 1);
  assert.equal(snapshot.stats.duplicates, 1);
  assert.equal(snapshot.stats.series, 4);
  assert.ok(snapshot.plainBody?.equals(Buffer.from(text, 'utf8')));
});

test('discard() drops a half-built snapshot; a new builder still works', async () => {
  const dropped = new SnapshotBuilder({ keepPlain: false });
  await dropped.add(families());
  assert.doesNotThrow(() => dropped.discard());
  const builder = new SnapshotBuilder({ keepPlain: false });
  await builder.add(families());
  const snapshot = await builder.finish(4);
  assert.equal(gunzipSync(snapshot.gzipBody).toString('utf8'), render(families()).text);
});

test('buildSnapshot keeps the plain body by default, equal to render()', async () => {
  const snapshot = await buildSnapshot(families(), 5);
  assert.ok(snapshot.plainBody !== undefined);
  assert.ok(snapshot.plainBody.equals(render(families()).body));
  assert.equal(snapshot.createdAtMs, 5);
  const lean = await buildSnapshot(families(), 6, false);
  assert.equal(lean.plainBody, undefined);
  assert.ok((await lean.plain()).equals(render(families()).body));
});

test('plain bodies are kept for snapshots of up to 8 MiB, and for 15 minutes after the last plain request', async () => {
  const store = new SnapshotStore();
  const now = 1_000_000;
  assert.equal(store.plainWanted(now), false, 'no snapshot yet, nobody asked');
  const small = await buildSnapshot([gauge('g', 'h', [[{ v: 'x'.repeat(1000) }, 1]])], now, false);
  store.swap(small);
  assert.equal(store.plainWanted(now), true, `${small.plainLength} bytes`);
  const large = new Snapshot(Buffer.alloc(0), 8 * 1024 * 1024 + 1, undefined, now, small.stats);
  store.swap(large);
  assert.equal(store.plainWanted(now), false);
  store.notePlainRequest(now);
  assert.equal(store.plainWanted(now + 14 * 60_000), true);
  assert.equal(store.plainWanted(now + 15 * 60_000), true);
  assert.equal(store.plainWanted(now + 16 * 60_000), false);
});
