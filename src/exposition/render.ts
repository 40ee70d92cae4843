import type { Labels, MetricFamily, MetricType, RenderedSeries, Sample } from './family.js';
import { background, type Slicer } from '../slicer.js';
import {
  LABELS_HASH_SEED,
  SeriesSet,
  SeriesTable,
  endLabelsHash,
  hashLabel,
  labelTextHash,
  nameSeed,
} from './series-set.js';
import { escapeHelp, escapeLabelValue, formatValue, isValidLabelName, isValidMetricName } from './escape.js';

export interface RenderStats {
  /** Series written. */
  readonly series: number;
  /** Samples dropped for an invalid metric or label name. */
  readonly invalid: number;
  /** Samples dropped because the same series was already written. */
  readonly duplicates: number;
  /** Families merged away because an earlier family of the same name had another type (first one wins). */
  readonly typeConflicts: number;
  /** What was dropped first and where, for the log (e.g. `duplicate series in tailscale_device_info`). */
  readonly firstDrop?: string;
}

export interface Rendered {
  /** UTF-8 exposition text. */
  readonly body: Buffer;
  /** The same as a string (decoded on demand: the snapshot only needs the bytes). */
  readonly text: string;
  readonly stats: RenderStats;
}

/** Text is turned into bytes in pieces of about this size, so no 40 MB string is ever built. */
const CHUNK_CHARS = 64 * 1024;
/** Pieces of text (a sample is six) the writer holds before it hands them over, however short they are. */
const PIECES = 2048;

/**
 * One growing byte buffer for the whole exposition, sized from the previous render: the text is encoded
 * straight into it, so a refresh holds one copy of the bytes instead of chunks plus their concatenation.
 */
export class ByteSink implements TextSink {
  static #hint = 1 << 20;
  #buf: Buffer;
  #length = 0;

  /** `sizeHint`: the expected size in bytes, when the caller knows it (the last snapshot's). */
  constructor(sizeHint?: number) {
    this.#buf = Buffer.allocUnsafe(
      sizeHint === undefined ? ByteSink.#hint : Math.max(1 << 16, Math.ceil(sizeHint * 1.1)),
    );
  }

  write(text: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.#reserve(text.length * 3);
    this.#length += this.#buf.write(text, this.#length, 'utf8');
  }

  /** Appends bytes already encoded. */
  writeBytes(bytes: Buffer): void {
    this.#reserve(bytes.length);
    this.#length += bytes.copy(this.#buf, this.#length);
  }

  /** Room for `bytes` more, growing (doubling at least) when the hint was short. */
  #reserve(bytes: number): void {
    if (this.#length + bytes <= this.#buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#length + bytes));
    this.#buf.copy(next, 0, 0, this.#length);
    this.#buf = next;
  }

  finish(): Buffer {
    ByteSink.#hint = Math.max(1 << 20, Math.ceil(this.#length * 1.1));
    // A view, not a copy: the spare capacity (about a tenth, from the size hint) stays with the snapshot,
    // which is cheaper than holding two copies of the bytes while copying.
    return this.#buf.subarray(0, this.#length);
  }
}

/**
 * The names a family's samples may have besides the family's own (text format 0.0.4: a counter's samples
 * carry the family name itself, which ends in _total; a summary's quantiles too; a histogram has none).
 */
const SUFFIXES: Record<MetricType, readonly string[]> = {
  counter: [],
  gauge: [],
  untyped: [],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['_sum', '_count'],
};

/** A sample belongs to its family only under the names the type allows (e.g. `x_bucket` for histogram `x`). */
function sampleNameFits(familyName: string, type: MetricType, sampleName: string): boolean {
  if (sampleName === familyName) return type !== 'histogram';
  if (!sampleName.startsWith(familyName)) return false;
  return SUFFIXES[type].includes(sampleName.slice(familyName.length));
}

const DROP_REASONS = { invalid: 'invalid name or label', duplicates: 'duplicate series' } as const;

/** Where rendered text goes: a byte buffer (render), or the snapshot's gzip stream. */
export interface TextSink {
  write(text: string): void;
}

/**
 * Text exposition format 0.0.4, written in batches into one sink. Within a batch, families with the same
 * name are merged into one HELP/TYPE block (first type and help win), families are sorted by name and
 * samples keep their order. Across batches a family is never written twice: a later batch's family of a
 * name already written is dropped and counted, as is any series already written. The output always
 * parses, whatever the collectors or devices handed in.
 */
export class ExpositionWriter {
  readonly #sink: TextSink;
  /** Family names written by this or an earlier batch, with their type. */
  readonly #written = new Map<string, MetricType>();
  // Series written under a name that is not their family's (`h_count` of histogram `h`), by that name, as
  // label texts: a later family literally named `h_count` must not write them again. Sorting puts `h`
  // before `h_count`, so these are always known in time.
  readonly #suffixSeries = new Map<string, SeriesSet>();
  readonly #labelNames = new Map<string, boolean>();
  readonly #devicePrefixes: DevicePrefixes = new Map();
  /** The family being written's series, reset per family. */
  readonly #table = new SeriesTable();
  /**
   * Text not yet handed to the sink (`#count` pieces), and about how many characters it holds (a flush
   * threshold). One fixed array written by index: a fresh array per chunk grew by doubling from empty each
   * time, about a megabyte of garbage per MB of text (30 MB per 10,000-device refresh).
   */
  readonly #pieces: string[] = new Array<string>(PIECES).fill('');
  #count = 0;
  #pending = 0;
  #series = 0;
  readonly #dropped: Record<keyof typeof DROP_REASONS, number> = { invalid: 0, duplicates: 0 };
  #typeConflicts = 0;
  #firstDrop: string | undefined;

  constructor(sink: TextSink) {
    this.#sink = sink;
  }

  get stats(): RenderStats {
    return {
      series: this.#series,
      invalid: this.#dropped.invalid,
      duplicates: this.#dropped.duplicates,
      typeConflicts: this.#typeConflicts,
      ...(this.#firstDrop === undefined ? {} : { firstDrop: this.#firstDrop }),
    };
  }

  /** Writes one batch synchronously. */
  write(families: readonly MetricFamily[]): void {
    const steps = this.steps(families);
    while (steps.next().done !== true);
  }

  /** Writes one batch, taking turns with the rest of the event loop (and pausing while `wait` says so). */
  async writeAsync(
    families: readonly MetricFamily[],
    slicer: Slicer = background,
    wait?: () => Promise<void> | undefined,
  ): Promise<void> {
    const steps = this.steps(families);
    const step = (): boolean => steps.next().done !== true;
    while (await slicer.run(step)) {
      const pending = wait?.();
      if (pending !== undefined) await pending;
    }
  }

  /** The batch as a generator that yields (nothing) every 128 series, so a caller can pause. */
  *steps(families: readonly MetricFamily[]): Generator<void, void, void> {
    const merged = new Map<string, { name: string; help: string; type: MetricType; parts: MetricFamily[] }>();
    for (const fam of families) {
      if (!isValidMetricName(fam.name)) {
        this.#drop('invalid', fam.name, seriesOf(fam));
        continue;
      }
      const earlier = this.#written.get(fam.name);
      const existing = merged.get(fam.name);
      if (earlier !== undefined || (existing !== undefined && existing.type !== fam.type)) {
        // Another type, or an earlier batch's family whose block is already closed: it cannot be joined.
        if ((earlier ?? existing?.type) !== fam.type) this.#typeConflicts++;
        this.#drop(earlier === fam.type ? 'duplicates' : 'invalid', fam.name, seriesOf(fam));
      } else if (existing === undefined) {
        merged.set(fam.name, { name: fam.name, help: fam.help, type: fam.type, parts: [fam] });
      } else {
        existing.parts.push(fam);
      }
    }

    // Lines go into pieces of about CHUNK_CHARS, then into the sink: short-lived strings die young,
    // which keeps the heap near its live size instead of growing by the whole exposition per refresh.
    for (const name of [...merged.keys()].sort()) {
      const fam = merged.get(name)!;
      this.#written.set(name, fam.type);
      // Always checked: no collector or device is trusted to send distinct series (see FamilyCheck).
      const check: FamilyCheck = { name, type: fam.type, parts: fam.parts, earlier: this.#suffixSeries.get(name) };
      this.#table.reset();
      // Device text whose every line starts with its device's labels is distinct from another device's
      // text by those labels alone, so it is admitted whole instead of line by line (what keeps the check
      // cheap: 2,500 devices' client metrics are 2,500 set entries, not 200,000). Only while the family is
      // all such text, with one set of prefix label names, and no suffixed series are involved.
      const wholeText = new DeviceTextCheck(
        !this.#suffixSeries.has(name) &&
          SUFFIXES[fam.type].length === 0 &&
          fam.parts.every((p) => p.rendered !== undefined),
      );
      // HELP/TYPE are written with the first valid sample: a family left with none is not written at all.
      let written = 0;
      const open = (): void => {
        if (written === 0) this.#put(`# HELP ${name} ${escapeHelp(fam.help)}\n# TYPE ${name} ${fam.type}\n`);
      };
      for (let p = 0; p < fam.parts.length; p++) {
        const part = fam.parts[p]!;
        if (part.rendered !== undefined) {
          const text = SeriesText.of(part.rendered, fam.name, fam.type);
          if (text === undefined) {
            // Text the renderer did not make (or made for another family): never written as it is.
            this.#drop('invalid', name, part.rendered.series);
            continue;
          }
          let kept: { text: string; series: number };
          if (wholeText.admits(text, p)) kept = text;
          else {
            // The texts admitted whole so far join the line-by-line check from here on.
            for (const earlier of wholeText.stop()) this.#admitLines(check, earlier.part, earlier.text.text);
            kept = this.#admitLines(check, p, text.text);
          }
          if (kept.series === 0) continue;
          open();
          this.#put(kept.text);
          written += kept.series;
          if (this.#pending >= CHUNK_CHARS) this.flush();
          yield;
          continue;
        }
        const samples = part.samples;
        for (let i = 0; i < samples.length; i++) {
          if ((i & 127) === 127) yield;
          const s = samples[i]!;
          const labelText = sampleLabelText(fam.name, fam.type, s, this.#labelNames, this.#devicePrefixes);
          if (labelText === undefined) {
            this.#drop('invalid', name, 1);
            continue;
          }
          if (!this.#admit(check, s.name, lastLabelsHash, labelText, p, i)) continue;
          open();
          written++;
          // Pieces joined once per chunk: no intermediate line strings or ropes for 400,000 series.
          if (this.#count > PIECES - 6) this.flush();
          const pieces = this.#pieces;
          pieces[this.#count++] = s.name;
          // The braces as pieces of their own: `{${labelText}} ` was one more string per series.
          pieces[this.#count++] = labelText === '' ? ' ' : '{';
          pieces[this.#count++] = labelText;
          pieces[this.#count++] = labelText === '' ? '' : '} ';
          pieces[this.#count++] = formatValue(s.value);
          pieces[this.#count++] = '\n';
          this.#pending += s.name.length + labelText.length + 24;
          if (this.#pending >= CHUNK_CHARS) this.flush();
        }
      }
      this.#series += written;
    }
    this.flush();
  }

  /**
   * Whether series `sampleName{labelText}` of the family being written may be written: not already written
   * in this family, nor under a suffix by another (`h_count` of histogram `h` vs a family named `h_count`).
   * `hash`: the labels' hash (series-set.ts); (part, pos): where the series is (sample index or line offset).
   */
  #admit(check: FamilyCheck, sampleName: string, hash: number, labelText: string, part: number, pos: number): boolean {
    if (sampleName !== check.name) {
      if (this.#written.has(sampleName)) return this.#drop('duplicates', check.name, 1);
      let suffixed = this.#suffixSeries.get(sampleName);
      if (suffixed === undefined) this.#suffixSeries.set(sampleName, (suffixed = new SeriesSet()));
      return suffixed.add(hash, labelText) || this.#drop('duplicates', check.name, 1);
    }
    // A family named like an earlier family's suffixed series (rare) is checked against those by text.
    if (check.earlier !== undefined)
      return check.earlier.add(hash, labelText) || this.#drop('duplicates', check.name, 1);
    const slot = this.#table.insert(hash, part, pos);
    if (slot < 0) return true;
    // The hash met an earlier series': the same series, or (rarely) another one with the same hash.
    if (this.#labelTextAt(check, this.#table.partAt(slot), this.#table.posAt(slot)) === labelText)
      return this.#drop('duplicates', check.name, 1);
    check.collided ??= new Set();
    if (check.collided.has(labelText)) return this.#drop('duplicates', check.name, 1);
    check.collided.add(labelText);
    return true;
  }

  /** The label text of the family's series at (part, pos), rendered again. */
  #labelTextAt(check: FamilyCheck, part: number, pos: number): string | undefined {
    const from = check.parts[part]!;
    if (from.rendered !== undefined)
      return lineAt(SeriesText.of(from.rendered, check.name, check.type)!.text, pos).labelText;
    return sampleLabelText(check.name, check.type, from.samples[pos]!, this.#labelNames);
  }

  /** The lines of pre-rendered text (part `part` of the family) that pass #admit (the text itself when all do). */
  #admitLines(check: FamilyCheck, part: number, text: string): { text: string; series: number } {
    let kept: string[] | undefined;
    let series = 0;
    for (let start = 0; start < text.length;) {
      const line = lineAt(text, start);
      if (this.#admit(check, line.sampleName, labelTextHash(line.labelText), line.labelText, part, start)) {
        kept?.push(text.slice(start, line.end + 1));
        series++;
      } else kept ??= [text.slice(0, start)];
      start = line.end + 1;
    }
    return { text: kept === undefined ? text : kept.join(''), series };
  }

  /** Counts what the check left out; the first drop of each kind is kept for the log (see `firstDrop`). */
  #drop(kind: keyof typeof DROP_REASONS, family: string, series: number): false {
    if (series === 0) return false;
    this.#dropped[kind] += series;
    this.#firstDrop ??= `${DROP_REASONS[kind]} in ${family}`;
    return false;
  }

  #put(text: string): void {
    if (this.#count === PIECES) this.flush();
    this.#pieces[this.#count++] = text;
    this.#pending += text.length;
  }

  /** Hands the text buffered so far to the sink. */
  flush(): void {
    if (this.#count === 0) return;
    // The slots past the last piece are emptied, so the whole array joins into exactly this chunk.
    if (this.#count < PIECES) this.#pieces.fill('', this.#count);
    this.#sink.write(this.#pieces.join(''));
    this.#count = 0;
    this.#pending = 0;
  }
}

const seriesOf = (fam: MetricFamily): number => fam.rendered?.series ?? fam.samples.length;

const ISSUE = Symbol('SeriesText');

/**
 * A family's series rendered as exposition lines, without HELP/TYPE: the only kind of pre-rendered text
 * the writer accepts. Made only by renderSeries (its constructor wants a token no other module has), so
 * its lines are valid, fit the family, are distinct, and each starts with `prefix`; the writer still
 * checks them against the family's other series.
 */
class SeriesText implements RenderedSeries {
  readonly #family: string;
  readonly #type: MetricType;
  readonly text: string;
  readonly series: number;
  /** The label text every line's labels start with (a device's `device_id="…",device_name="…"`), or ''. */
  readonly prefix: string;
  /** The names of the prefix's labels, comma-separated; no line has another label of these names. */
  readonly prefixNames: string;

  constructor(
    token: symbol,
    family: string,
    type: MetricType,
    text: string,
    series: number,
    prefix = '',
    prefixNames = '',
  ) {
    if (token !== ISSUE) throw new TypeError('SeriesText is made by renderSeries only');
    this.#family = family;
    this.#type = type;
    this.text = text;
    this.series = series;
    this.prefix = prefix;
    this.prefixNames = prefixNames;
  }

  /** `r` as the text renderSeries made, when it made it for this family and type. */
  static of(r: RenderedSeries, family: string, type: MetricType): SeriesText | undefined {
    return r instanceof SeriesText && r.#family === family && r.#type === type ? r : undefined;
  }
}

/**
 * Which of a family's device texts may be admitted whole: while every one so far has a distinct prefix with
 * the same label names, no line of one can equal a line of another (their prefix labels differ, and no
 * line repeats a prefix label name; two texts without a prefix have the same, empty, one). The first that
 * breaks this ends it for the family.
 */
class DeviceTextCheck {
  readonly #prefixes = new Set<string>();
  readonly #admitted: Array<{ readonly text: SeriesText; readonly part: number }> = [];
  #names: string | undefined;
  #on: boolean;

  constructor(on: boolean) {
    this.#on = on;
  }

  /** Whether `text` (part `part` of the family) is admitted whole. */
  admits(text: SeriesText, part: number): boolean {
    if (!this.#on || this.#prefixes.has(text.prefix)) return false;
    if ((this.#names ??= text.prefixNames) !== text.prefixNames) return false;
    this.#prefixes.add(text.prefix);
    this.#admitted.push({ text, part });
    return true;
  }

  /** Ends whole-text admission; returns the texts admitted so far. */
  stop(): ReadonlyArray<{ readonly text: SeriesText; readonly part: number }> {
    const admitted = this.#on ? [...this.#admitted] : [];
    this.#on = false;
    this.#admitted.length = 0;
    return admitted;
  }
}

/** The line of rendered text starting at `start`: where it ends, its sample name and its label text. */
function lineAt(text: string, start: number): { end: number; sampleName: string; labelText: string } {
  const end = text.indexOf('\n', start);
  // The value has no space: the last one on the line ends the series' name and labels.
  const headEnd = text.lastIndexOf(' ', end);
  const brace = text.indexOf('{', start);
  return brace < 0 || brace > headEnd
    ? { end, sampleName: text.slice(start, headEnd), labelText: '' }
    : { end, sampleName: text.slice(start, brace), labelText: text.slice(brace + 1, headEnd - 1) };
}

/** What the check of one family needs besides the writer's table. */
interface FamilyCheck {
  readonly name: string;
  readonly type: MetricType;
  readonly parts: readonly MetricFamily[];
  /** Series an earlier histogram or summary wrote under this family's name. */
  readonly earlier: SeriesSet | undefined;
  /** Label texts of series whose hash met another series' (rare). */
  collided?: Set<string>;
}

/**
 * A family's series as exposition lines (a device's, rendered once per scrape): `first` (a device's
 * labels) goes before each sample's own labels. Invalid and repeated samples are left out and counted;
 * `labelNames` caches which label names are valid (the caller's, bounded by it).
 */
export function renderSeries(
  fam: MetricFamily,
  first: Labels | undefined,
  labelNames: Map<string, boolean>,
): { readonly rendered: RenderedSeries; readonly invalid: number; readonly duplicates: number } {
  const empty = (invalid: number): { rendered: RenderedSeries; invalid: number; duplicates: number } => ({
    rendered: new SeriesText(ISSUE, fam.name, fam.type, '', 0),
    invalid,
    duplicates: 0,
  });
  if (!isValidMetricName(fam.name)) return empty(fam.samples.length);
  const { prefix, names } = first === undefined ? NO_PREFIX : prefixOf(first, labelNames);
  if (prefix === null) return empty(fam.samples.length);
  const pieces: string[] = [];
  // The prefix is the same on every line: a sample's name and own labels tell its line apart. Keyed by
  // their hash in the shared table (renderSeries runs to its end in one go), settled by text when two meet.
  const seen = seriesTable;
  seen.reset();
  const familySeed = nameSeed(fam.name);
  let collided: Set<string> | undefined;
  let series = 0;
  let invalid = 0;
  let duplicates = 0;
  for (let i = 0; i < fam.samples.length; i++) {
    const s = fam.samples[i]!;
    const own = sampleLabelText(fam.name, fam.type, s, labelNames);
    if (own === undefined || (prefix !== '' && repeatsLabel(first!, s.labels))) {
      invalid++;
      continue;
    }
    const hash = (lastLabelsHash ^ (s.name === fam.name ? familySeed : nameSeed(s.name))) & 0x3fffffff;
    const slot = seen.insert(hash, 0, i);
    if (slot >= 0) {
      const earlier = fam.samples[seen.posAt(slot)]!;
      // The same series again, or (rarely) another one with the same hash, remembered by its text.
      const key = `${s.name}{${own}}`;
      if (
        (earlier.name === s.name && sampleLabelText(fam.name, fam.type, earlier, labelNames) === own) ||
        (collided ??= new Set()).has(key)
      ) {
        duplicates++;
        continue;
      }
      collided.add(key);
    }
    series++;
    const labels = prefix === '' ? own : own === '' ? prefix : `${prefix},${own}`;
    pieces.push(s.name, labels === '' ? ' ' : `{${labels}} `, formatValue(s.value), '\n');
  }
  // join() gives one flat string: kept between cycles, it should not be a rope of pieces.
  const text = new SeriesText(ISSUE, fam.name, fam.type, pieces.join(''), series, prefix, names);
  return { rendered: text, invalid, duplicates };
}

const NO_PREFIX = { prefix: '', names: '' };

/**
 * A device's labels as the prefix of its lines, with their names: made once per label set (a device's,
 * shared by all its families), so every SeriesText of a device holds the same two strings.
 */
const prefixes = new WeakMap<Labels, { readonly prefix: string | null; readonly names: string }>();

function prefixOf(
  first: Labels,
  labelNames: Map<string, boolean>,
): { readonly prefix: string | null; readonly names: string } {
  let p = prefixes.get(first);
  if (p === undefined) {
    p = { prefix: labelSetText(first, labelNames), names: Object.keys(first).join(',') };
    // As for label texts: only a frozen set cannot change under its cached prefix.
    if (Object.isFrozen(first)) prefixes.set(first, p);
  }
  return p;
}

/** renderSeries' table: one, reused, as renderSeries never pauses. */
const seriesTable = new SeriesTable();

function repeatsLabel(first: Labels, labels: Labels): boolean {
  for (const key in labels) if (key in first) return true;
  return false;
}

/** Renders families (one batch) into one buffer. */
export function render(families: readonly MetricFamily[]): Rendered {
  const sink = new ByteSink();
  const writer = new ExpositionWriter(sink);
  writer.write(families);
  return rendered(sink.finish(), writer.stats);
}

function rendered(body: Buffer, stats: RenderStats): Rendered {
  let text: string | undefined;
  return {
    body,
    get text() {
      return (text ??= body.toString('utf8'));
    },
    stats,
  };
}

/**
 * Rendered label sets by object, with their hash: collectors share one labels object per device across its
 * families, so each is escaped, joined and hashed once. Weak, so label sets go with the data that holds them;
 * null = invalid.
 */
const labelTextCache = new WeakMap<object, { readonly text: string; readonly hash: number } | null>();

/**
 * The hash of the label set whose text sampleLabelText returned last: a second result without an object
 * per sample (the writer reads it right after the call).
 */
let lastLabelsHash = 0;

/** The label text of a sample (`a="1",b="2"`, '' for none), or undefined when its name or a label name is invalid. */
function sampleLabelText(
  familyName: string,
  type: MetricType,
  s: Sample,
  labelNames: Map<string, boolean>,
  devices?: DevicePrefixes,
): string | undefined {
  if (!sampleNameFits(familyName, type, s.name)) return undefined;
  const cached = labelTextCache.get(s.labels);
  if (cached !== undefined) {
    if (cached === null) return undefined;
    lastLabelsHash = cached.hash;
    return cached.text;
  }
  const text = labelSetText(s.labels, labelNames, devices);
  if (text === null) lastLabelsHash = 0;
  // Only frozen sets are shared and immutable; caching a mutable one could serve stale text.
  if (Object.isFrozen(s.labels)) labelTextCache.set(s.labels, text === null ? null : { text, hash: lastLabelsHash });
  return text ?? undefined;
}

/** A device's two labels as text, escaped, with the hash of the two (not yet ended), for one writer. */
interface DevicePrefix {
  readonly name: string;
  readonly text: string;
  readonly hash: number;
}

/** By device_id: most collector series are a device's two labels and one or two of their own. */
type DevicePrefixes = Map<string, DevicePrefix>;

const DEVICE_KEYS = ['device_id', 'device_name'] as const;

/**
 * `a="1",b="2"` with values escaped, or null when a label name is invalid. A set that starts with
 * device_id and device_name takes their text and hash from `devices` (made once per device and writer),
 * so only its own labels are escaped, hashed and joined: about 300,000 such sets per 10,000-device refresh.
 */
function labelSetText(labels: Labels, labelNames: Map<string, boolean>, devices?: DevicePrefixes): string | null {
  let labelText = '';
  let hash = LABELS_HASH_SEED;
  const id = devices === undefined ? undefined : labels['device_id'];
  const name = id === undefined ? undefined : labels['device_name'];
  let prefixKeys = name === undefined ? 2 : 0;
  for (const key in labels) {
    if (prefixKeys < 2) {
      // The device's labels only as the first two, in this order: the text follows the set's own order.
      if (key !== DEVICE_KEYS[prefixKeys]) return labelSetText(labels, labelNames);
      if (++prefixKeys < 2) continue;
      let p = devices!.get(id!);
      if (p === undefined || p.name !== name) {
        p = {
          name: name!,
          text: `device_id="${escapeLabelValue(id!)}",device_name="${escapeLabelValue(name!)}"`,
          hash: hashLabel(hashLabel(LABELS_HASH_SEED, 'device_id', id!), 'device_name', name!),
        };
        devices!.set(id!, p);
      }
      labelText = p.text;
      hash = p.hash;
      continue;
    }
    // Label names repeat across every series: validate each once per render.
    let ok = labelNames.get(key);
    if (ok === undefined) labelNames.set(key, (ok = isValidLabelName(key)));
    if (!ok) return null;
    const value = labels[key]!;
    // Hashed in the same pass (labelsHash's value): the sets of labels are walked once.
    hash = hashLabel(hash, key, value);
    const v = escapeLabelValue(value);
    labelText = labelText === '' ? `${key}="${v}"` : `${labelText},${key}="${v}"`;
  }
  lastLabelsHash = endLabelsHash(hash);
  return labelText;
}
