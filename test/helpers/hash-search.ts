// Label sets found by search that exercise the exposition check's rare paths: the 30-bit series hash
// (src/exposition/series-set.ts) meeting another series', or landing in the first slot of a table.
import { labelsHash } from '../../src/exposition/series-set.js';

/** Two values of label `v` whose label sets hash alike (30 bits meet within ~40,000 tries). */
export function collidingValues(): [string, string] {
  const seen = new Map<number, string>();
  for (let i = 0; ; i++) {
    const value = `value-${i}`;
    const hash = labelsHash({ v: value });
    const other = seen.get(hash);
    if (other !== undefined) return [other, value];
    seen.set(hash, value);
  }
}

/**
 * A label set whose hash, as `hashOf` takes it from labelsHash, is 0 in its low 16 bits: it lands in slot 0
 * of any table of up to 65,536 slots (about 65,000 tries).
 */
export function slotZeroLabels(hashOf: (labelsHash: number) => number = (h) => h): Record<string, string> {
  for (let i = 0; ; i++) {
    const labels = { v: `slot-${i}` };
    if ((hashOf(labelsHash(labels)) & 0xffff) === 0) return labels;
  }
}
