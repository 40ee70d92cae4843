// FNV-1a, 32 bits: a stable hash of short opaque text (device ids) for sharding, exposition blocks and the
// simulator's reproducible pseudo-randomness. Not for anything an attacker chooses to collide: the worst case is
// an uneven split.

export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
