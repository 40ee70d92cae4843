import type { Labels } from './family.js';

// The exposition check's memory of which series a name already has. It runs over every series of every
// refresh (about 370,000 at 10,000 devices), so it keys series by a 30-bit hash of their labels, computed from
// the label names and values as they are, and compares label texts only when two hashes meet: a set of label
// texts would hash a new string per series, most of them built just for the line (half again the renderer's
// CPU, measured). A meeting of hashes is settled exactly, never by the hash alone.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Units fed between a name and its value, and after the value (any fixed units do: equality is checked). */
const EQUALS = 0x3d;
const COMMA = 0x2c;

function feed(hash: number, text: string): number {
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), FNV_PRIME);
  return hash;
}

/** The hash of a name, to start a label set's hash from when series of several names share a set. */
export const nameSeed = (name: string): number => feed(FNV_OFFSET, name);

export const LABELS_HASH_SEED = FNV_OFFSET;

/** Adds one label to a label set's hash (labelsHash, one label at a time). */
export const hashLabel = (hash: number, name: string, value: string): number =>
  Math.imul(feed(Math.imul(feed(hash, name) ^ EQUALS, FNV_PRIME), value) ^ COMMA, FNV_PRIME);

/** The hash as the sets take it: 30 bits, a small integer to V8. */
export const endLabelsHash = (hash: number): number => hash & 0x3fffffff;

/** Hash of a label set (names and raw values, in order): equal label sets, equal hashes. */
export function labelsHash(labels: Labels, seed = FNV_OFFSET): number {
  let hash = seed;
  for (const key in labels) hash = hashLabel(hash, key, labels[key]!);
  return endLabelsHash(hash);
}

/**
 * The same hash from a rendered label text (`a="1",b="x\\"y"`): the values are read back unescaped, so a
 * series has one hash whether it came as a sample or as a line of text.
 */
export function labelTextHash(labelText: string, seed = FNV_OFFSET): number {
  let hash = seed;
  let i = 0;
  while (i < labelText.length) {
    const eq = labelText.indexOf('=', i);
    if (eq < 0) break;
    for (; i < eq; i++) hash = Math.imul(hash ^ labelText.charCodeAt(i), FNV_PRIME);
    hash = Math.imul(hash ^ EQUALS, FNV_PRIME);
    // Skip `="`; read up to the closing quote, undoing \\, \" and \n.
    for (i = eq + 2; i < labelText.length; i++) {
      let c = labelText.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        c = labelText.charCodeAt(++i);
        if (c === 0x6e) c = 0x0a;
      }
      hash = Math.imul(hash ^ c, FNV_PRIME);
    }
    hash = Math.imul(hash ^ COMMA, FNV_PRIME);
    // Past the quote and the comma.
    i += 2;
  }
  return hash & 0x3fffffff;
}

/** The series of one name, as (hash, label text): `add` says whether a series is new. */
export class SeriesSet {
  /** The label text of the first series of each hash. */
  readonly #first = new Map<number, string>();
  /** Label texts of later series whose hash met an earlier one's (rare). */
  #more: Set<string> | undefined;

  add(hash: number, labelText: string): boolean {
    const first = this.#first.get(hash);
    if (first === undefined) {
      this.#first.set(hash, labelText);
      return true;
    }
    if (first === labelText) return false;
    this.#more ??= new Set();
    if (this.#more.has(labelText)) return false;
    this.#more.add(labelText);
    return true;
  }
}

/**
 * One family's series by hash, in typed arrays reused from family to family: no object and no string is kept
 * per series (a set of label texts kept 10,000 strings per family alive through the young generation's
 * collections, doubling the renderer's GC time). An entry is a hash and where its series is (the part of the
 * family, and the sample's index or the line's offset in it), so the owner can render the earlier series'
 * label text again when a new series' hash meets it. Each hash is entered once.
 */
export class SeriesTable {
  #stamp: Uint32Array;
  #hash: Int32Array;
  #part: Int32Array;
  #pos: Int32Array;
  #mask: number;
  #size = 0;
  /** Entries whose stamp is not the current generation are empty: reset() is one increment. */
  #generation = 1;

  constructor(capacity = 1 << 12) {
    this.#stamp = new Uint32Array(capacity);
    this.#hash = new Int32Array(capacity);
    this.#part = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity);
    this.#mask = capacity - 1;
  }

  /** Empties the table for the next family. */
  reset(): void {
    this.#size = 0;
    if (++this.#generation === 0xffffffff) {
      this.#stamp.fill(0);
      this.#generation = 1;
    }
  }

  /** Enters `hash` at (part, pos) and returns -1, or returns the slot of the entry that has `hash` already. */
  insert(hash: number, part: number, pos: number): number {
    if (2 * (this.#size + 1) > this.#stamp.length) this.#grow();
    const slot = this.#find(hash);
    if (this.#stamp[slot] === this.#generation) return slot;
    this.#stamp[slot] = this.#generation;
    this.#hash[slot] = hash;
    this.#part[slot] = part;
    this.#pos[slot] = pos;
    this.#size++;
    return -1;
  }

  partAt(slot: number): number {
    return this.#part[slot]!;
  }

  posAt(slot: number): number {
    return this.#pos[slot]!;
  }

  /** The slot holding `hash`, or the empty slot where it would go (linear probing). */
  #find(hash: number): number {
    let slot = hash & this.#mask;
    while (this.#stamp[slot] === this.#generation && this.#hash[slot] !== hash) slot = (slot + 1) & this.#mask;
    return slot;
  }

  #grow(): void {
    const stamp = this.#stamp;
    const hash = this.#hash;
    const part = this.#part;
    const pos = this.#pos;
    const generation = this.#generation;
    const capacity = stamp.length * 2;
    this.#stamp = new Uint32Array(capacity);
    this.#hash = new Int32Array(capacity);
    this.#part = new Int32Array(capacity);
    this.#pos = new Int32Array(capacity);
    this.#mask = capacity - 1;
    this.#generation = 1;
    for (let i = 0; i < stamp.length; i++) {
      if (stamp[i] !== generation) continue;
      const slot = this.#find(hash[i]!);
      this.#stamp[slot] = 1;
      this.#hash[slot] = hash[i]!;
      this.#part[slot] = part[i]!;
      this.#pos[slot] = pos[i]!;
    }
  }
}
