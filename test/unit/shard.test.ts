import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inShard } from '../../src/devices/shard.js';

// Which replica scrapes which device is a contract between versions: during a rolling upgrade old and new
// replicas run side by side, and a changed hash would make some devices scraped twice and others not at
// all. The table was computed outside this code (FNV-1a 32 over the id's bytes, then modulo the count).

const COUNTS = [2, 3, 4, 5, 7, 10] as const;
const PINNED: ReadonlyArray<readonly [id: string, shards: readonly number[]]> = [
  ['1', [0, 1, 0, 4, 2, 4]],
  ['42', [1, 2, 3, 1, 6, 1]],
  ['1001', [1, 0, 3, 2, 1, 7]],
  ['7654321098765432', [1, 1, 1, 1, 5, 1]],
  ['11223344556677889', [0, 2, 0, 3, 6, 8]],
  ['nGW1CNTRL', [1, 0, 3, 0, 0, 5]],
  ['n5SUKe8CNTRL', [1, 0, 1, 1, 1, 1]],
  ['dev-0', [1, 2, 1, 1, 1, 1]],
  ['dev-23', [0, 0, 0, 3, 4, 8]],
];

/** The replicas (shard indexes) of `count` that take the device. */
const replicasOf = (id: string, count: number): number[] =>
  Array.from({ length: count }, (_, index) => index).filter((index) => inShard(id, { index, count }));

test('the shard of a device id is pinned: the same device lands on the same replica across versions', () => {
  for (const [id, shards] of PINNED) {
    assert.deepEqual(
      COUNTS.map((count) => replicasOf(id, count)),
      shards.map((s) => [s]),
      `replicas taking device id ${id} for counts ${COUNTS.join(',')}`,
    );
  }
});

test('a single replica takes every device', () => {
  for (const [id] of PINNED) assert.equal(inShard(id, { index: 0, count: 1 }), true);
});
