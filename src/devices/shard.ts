// Stable sharding of the scraped devices across replicas: replica i scrapes the devices whose id hashes to
// i modulo the replica count. FNV-1a is enough here: the input is an opaque id, not attacker-chosen in a
// way that matters (the worst case is an uneven split), and it is stable across versions and processes.

import { fnv1a32 } from '../util/fnv.js';

export interface Shard {
  readonly index: number;
  readonly count: number;
}

const shardOf = (deviceId: string, count: number): number => fnv1a32(deviceId) % count;

export const inShard = (deviceId: string, shard: Shard): boolean =>
  shard.count <= 1 || shardOf(deviceId, shard.count) === shard.index;
