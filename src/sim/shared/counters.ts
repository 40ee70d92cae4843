// Request and fault counters of the simulators' stats, keyed by endpoint, device or fault kind.

export function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
