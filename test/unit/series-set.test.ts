import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { escapeLabelValue } from '../../src/exposition/escape.js';
import { gauge } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { SeriesSet, SeriesTable, labelTextHash, labelsHash } from '../../src/exposition/series-set.js';
import { collidingValues } from '../helpers/hash-search.js';

// The exposition check keys series by a 30-bit hash of their labels and settles a meeting of hashes by the
// label texts: a hash alone never decides that two series are the same.

const labelText = (labels: Record<string, string>): string =>
  Object.entries(labels)
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`)
    .join(',');

test('a label set has one hash, whether from its names and values or from its rendered text', () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/), fc.string({ unit: 'binary', maxLength: 12 })),
      (labels) => labelsHash(labels) === labelTextHash(labelText(labels)),
    ),
  );
  // Escapes are undone before hashing: `\\`, `\"` and a newline.
  const tricky = { a: 'x\\"y\nz', b: '' };
  assert.equal(labelTextHash(labelText(tricky)), labelsHash(tricky));
  assert.notEqual(labelsHash({ a: 'x' }), labelsHash({ a: 'y' }));
  assert.ok(labelsHash({ a: 'x' }) < 2 ** 30 && labelsHash({ a: 'x' }) >= 0);
});

test('the table finds every entry after growing, and is empty after reset', () => {
  const table = new SeriesTable(4);
  for (let i = 0; i < 5000; i++) assert.equal(table.insert(labelsHash({ i: String(i) }), i % 7, i), -1);
  for (let i = 0; i < 5000; i++) {
    const slot = table.insert(labelsHash({ i: String(i) }), 99, 99);
    assert.ok(slot >= 0, `entry ${i} lost`);
    assert.equal(table.partAt(slot), i % 7);
    assert.equal(table.posAt(slot), i);
  }
  table.reset();
  assert.equal(table.insert(labelsHash({ i: '1' }), 0, 0), -1);
});

test('a set settles equal hashes by text: other text is new, the same text is a repeat', () => {
  const set = new SeriesSet();
  assert.equal(set.add(7, 'a="1"'), true);
  assert.equal(set.add(7, 'a="1"'), false);
  assert.equal(set.add(7, 'a="2"'), true);
  assert.equal(set.add(7, 'a="2"'), false);
  assert.equal(set.add(8, 'a="1"'), true);
});

test('two different series whose hashes meet are both written; a repeat of either is dropped', () => {
  const [a, b] = collidingValues();
  assert.equal(labelsHash({ v: a }), labelsHash({ v: b }));
  const { text, stats } = render([
    gauge('collide', 'h', [
      [{ v: a }, 1],
      [{ v: b }, 2],
      [{ v: b }, 3],
      [{ v: a }, 4],
    ]),
  ]);
  assert.deepEqual(
    text.split('\n').filter((l) => l !== '' && !l.startsWith('#')),
    [`collide{v="${a}"} 1`, `collide{v="${b}"} 2`],
  );
  assert.equal(stats.duplicates, 2);
});

test("growing after a reset carries only the current family's entries, not the reset ones", () => {
  const table = new SeriesTable(8);
  for (let i = 0; i < 4; i++) table.insert(labelsHash({ old: String(i) }), 0, i);
  table.reset();
  // Enough new entries to grow the table twice.
  for (let i = 0; i < 12; i++) assert.equal(table.insert(labelsHash({ now: String(i) }), 1, i), -1);
  for (let i = 0; i < 4; i++) assert.equal(table.insert(labelsHash({ old: String(i) }), 2, i), -1, `old ${i}`);
});
