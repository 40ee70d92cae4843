import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ArrayElementSplitter, JsonStructureError } from '../../src/control/json-scan.js';

// The device list is cut into its entries without parsing it whole; every cut must be what JSON.parse
// would give, and a broken document must never yield a partial list.

/** A whole document in one piece: the [start, end) of each element, or undefined without an array under `key`. */
function arrayElementRanges(bytes: Uint8Array, key: string): number[] | undefined {
  let ranges: number[] = [];
  const splitter = new ArrayElementSplitter(key, {
    onArrayStart: () => (ranges = []),
    onElement: (element, offset) => ranges.push(offset, offset + element.length),
  });
  splitter.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
  return splitter.end() === 'array' ? ranges : undefined;
}

const elements = (text: string, key = 'devices'): unknown[] | undefined => {
  const bytes = Buffer.from(text, 'utf8');
  const ranges = arrayElementRanges(bytes, key);
  if (ranges === undefined) return undefined;
  const out: unknown[] = [];
  for (let i = 0; i < ranges.length; i += 2) out.push(JSON.parse(bytes.toString('utf8', ranges[i], ranges[i + 1])));
  return out;
};

test('entries of arbitrary JSON documents match JSON.parse, compact or indented (2,000 runs)', () => {
  const doc = fc.record(
    { devices: fc.array(fc.jsonValue(), { maxLength: 8 }), other: fc.jsonValue(), 'we\\"ird': fc.string() },
    { requiredKeys: ['devices'] },
  );
  fc.assert(
    fc.property(doc, fc.constantFrom(undefined, 2, '\t'), (value, indent) => {
      const text = JSON.stringify(value, null, indent);
      assert.deepEqual(elements(text), (JSON.parse(text) as { devices: unknown[] }).devices);
    }),
    { numRuns: 2000 },
  );
});

test('strings with brackets, quotes, escapes and multi-byte characters do not confuse the cuts', () => {
  const devices = [
    { name: 'a]}",{["\\', id: 'ü🙂' },
    '[{',
    { nested: [[1, { x: '}' }], []] },
    null,
    true,
    -1.5e3,
    'ends with \\\\',
  ];
  const text = JSON.stringify({ before: '{"devices":[1]}', devices, after: [']'] });
  assert.deepEqual(elements(text), devices);
});

test('runs of backslashes before quotes: a quote is escaped only by an odd run (1,000 runs)', () => {
  // The closing quote is found by a byte search, then checked against the backslashes before it.
  const tricky = fc
    .array(fc.constantFrom('\\', '"', 'x', '\\\\', '\\"', ']', '}'), { maxLength: 12 })
    .map((parts) => parts.join(''));
  fc.assert(
    fc.property(
      fc.array(fc.oneof(tricky, fc.record({ k: tricky }), fc.array(tricky, { maxLength: 3 })), { maxLength: 6 }),
      (devices) => {
        const text = JSON.stringify({ devices, after: devices });
        assert.deepEqual(elements(text), (JSON.parse(text) as { devices: unknown[] }).devices);
      },
    ),
    { numRuns: 1000 },
  );
});

test('no such key, or not an array: undefined; an empty array: no entries', () => {
  assert.equal(elements('{}'), undefined);
  assert.equal(elements('{"users":[1,2]}'), undefined);
  assert.equal(elements('{"devices":{"a":1}}'), undefined);
  assert.equal(elements('{"devices":null}'), undefined);
  assert.deepEqual(elements('{"devices":[]}'), []);
  assert.deepEqual(elements(' { "devices" : [ ] } \n'), []);
});

test('a repeated key: the last one wins, as with JSON.parse', () => {
  assert.deepEqual(elements('{"devices":[1],"devices":[2,3]}'), [2, 3]);
});

test('every truncation of a document throws instead of giving part of the list (all prefixes)', () => {
  const text = JSON.stringify({
    devices: [
      { id: '1', tags: ['tag:a'] },
      { id: '2', s: 'x]"' },
    ],
    n: 1,
  });
  for (let cut = 0; cut < text.length; cut++) {
    const prefix = text.slice(0, cut);
    assert.throws(
      () => {
        const got = elements(prefix);
        // A prefix that still scans must fail when its entries are parsed; never a shorter good list.
        if (got !== undefined) throw new SyntaxError(`scanned ${got.length} entries from a truncated document`);
        throw new SyntaxError('no list');
      },
      (err: unknown) => err instanceof SyntaxError,
      `prefix of ${cut} bytes`,
    );
  }
});

test('structure errors are JsonStructureError', () => {
  for (const bad of [
    '[1,2]',
    '{"devices":[1 2]}',
    '{"devices":[1],}',
    '{"devices" [1]}',
    '{"devices":[1]} x',
    '{"a":"unterminated}',
  ]) {
    assert.throws(() => arrayElementRanges(Buffer.from(bad), 'devices'), JsonStructureError, bad);
  }
});

test('a malformed value under another key fails the document, as JSON.parse would', () => {
  for (const bad of ['{"devices":[1],"x":tru}', '{"x":01,"devices":[]}', '{"x":{"a":nul},"devices":[]}']) {
    assert.throws(() => JSON.parse(bad), SyntaxError);
    assert.throws(() => arrayElementRanges(Buffer.from(bad), 'devices'), SyntaxError, bad);
  }
});

/** The document fed to a splitter in pieces cut at `cuts` (byte offsets): its elements, or what it threw. */
function streamed(bytes: Buffer, cuts: readonly number[]): { elements?: unknown[]; found?: string; error?: unknown } {
  let elements: unknown[] = [];
  const splitter = new ArrayElementSplitter('devices', {
    onArrayStart: () => (elements = []),
    onElement: (element) => elements.push(JSON.parse(element.toString('utf8'))),
  });
  try {
    let from = 0;
    for (const cut of [...cuts].sort((a, b) => a - b)) {
      splitter.push(bytes.subarray(from, Math.max(from, cut)));
      from = Math.max(from, cut);
    }
    splitter.push(bytes.subarray(from));
    const found = splitter.end();
    return { elements, found };
  } catch (error) {
    return { error };
  }
}

test('fed in arbitrary pieces, down to single bytes, the splitter cuts what the whole document gives (1,000 runs)', () => {
  const doc = fc.record(
    { devices: fc.array(fc.jsonValue(), { maxLength: 6 }), other: fc.jsonValue() },
    { requiredKeys: ['devices'] },
  );
  fc.assert(
    fc.property(
      doc,
      fc.constantFrom(undefined, 1),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.boolean(),
      (value, indent, cuts, bytewise) => {
        const bytes = Buffer.from(JSON.stringify(value, null, indent), 'utf8');
        const pieces = bytewise
          ? Array.from({ length: bytes.length }, (_, i) => i)
          : cuts.map((c) => c % (bytes.length + 1));
        const got = streamed(bytes, pieces);
        assert.equal(got.error, undefined);
        assert.deepEqual(got.elements, (JSON.parse(bytes.toString('utf8')) as { devices: unknown[] }).devices);
        assert.equal(got.found, 'array');
      },
    ),
    { numRuns: 1000 },
  );
});

test('in pieces, a broken or cut-short document still throws, and a repeated key still keeps the last array', () => {
  const broken = [
    '{"devices":[1 2]}',
    '{"devices":[1],}',
    '{"devices":[{"a":"x"}',
    '{"devices":[1]} x',
    '{"x":tru,"devices":[]}',
    '{"devices":[12',
  ];
  for (const text of broken) {
    const bytes = Buffer.from(text);
    for (let cut = 0; cut <= bytes.length; cut++) {
      const got = streamed(bytes, [cut]);
      assert.ok(got.error instanceof SyntaxError, `${text} cut at ${cut}: ${JSON.stringify(got)}`);
    }
  }
  const repeated = Buffer.from('{"devices":[1,2],"devices":[3]}');
  for (let cut = 0; cut <= repeated.length; cut++)
    assert.deepEqual(streamed(repeated, [cut]).elements, [3], `cut at ${cut}`);
  assert.equal(streamed(Buffer.from('{"devices":[1],"devices":null}'), [5]).found, 'other');
  assert.equal(streamed(Buffer.from('{"users":[]}'), [3]).found, 'absent');
});

test('a large element arriving in many small pieces is scanned in linear time, not once per piece', () => {
  // Rescanned on every 64-byte piece, 2 MB of one string would be scanned 31,000 times (a quadratic 30 GB).
  const big = Buffer.from(JSON.stringify({ devices: ['x'.repeat(2_000_000)] }));
  let elements = 0;
  const splitter = new ArrayElementSplitter('devices', { onArrayStart: () => undefined, onElement: () => elements++ });
  // Every byte the splitter copies to join pieces is counted.
  const concat = Buffer.concat.bind(Buffer);
  let copied = 0;
  const counting: typeof Buffer.concat = (list, total) => {
    const joined = concat(list, total);
    copied += joined.length;
    return joined;
  };
  Buffer.concat = counting;
  try {
    for (let i = 0; i < big.length; i += 64) splitter.push(big.subarray(i, i + 64));
    assert.equal(splitter.end(), 'array');
  } finally {
    Buffer.concat = concat;
  }
  assert.equal(elements, 1);
  // The held bytes are scanned again only once they have doubled: about log2(2 MB / 64) times; and joined as
  // often, so the bytes copied stay a small multiple of the document (a copy per piece would be ~31 GB).
  assert.ok(splitter.scans < 40, `${splitter.scans} scans`);
  assert.ok(copied < 4 * big.length, `${copied} bytes copied`);
});

/** The message of the JsonStructureError a document throws, fed whole or in pieces cut at `cuts`. */
function structureError(text: string, cuts: readonly number[] = []): string {
  const bytes = Buffer.from(text);
  const got = streamed(bytes, cuts);
  assert.ok(got.error instanceof JsonStructureError, `${text}: ${String(got.error)}`);
  return got.error.message;
}

test('a structure error says what was expected at which byte of the document', () => {
  const cases: [string, string][] = [
    ['[1,2]', 'expected { at 0'],
    ['{"devices" [1]}', 'expected : at 11'],
    ['{"devices":[1],}', 'expected " at 15'],
    ['{"devices":[1 2]}', 'expected , or ] at 14'],
    ['{"a":1 "b":2}', 'expected , or } at 7'],
    ['{"devices":[1]} x', 'content after the document, at 16'],
    ['{"a":}', 'unexpected byte at 5'],
    ['{"devices":[1,]}', 'unexpected byte at 14'],
    ['{"a":1', 'document ends early, at byte 6'],
    ['{"a"', 'document ends early, at byte 4'],
  ];
  for (const [text, message] of cases) assert.equal(structureError(text), message, text);
});

test('fed in pieces, elements and structure errors keep their offsets in the whole document', () => {
  const text = '{"n":1, "devices":[1,{"a":"]"} , "x",[2]],"m":[3]}';
  const bytes = Buffer.from(text);
  const offsets = (cuts: readonly number[]): number[] => {
    const out: number[] = [];
    const splitter = new ArrayElementSplitter('devices', {
      onArrayStart: () => (out.length = 0),
      onElement: (element, offset) => out.push(offset, offset + element.length),
    });
    let from = 0;
    for (const cut of cuts) {
      splitter.push(bytes.subarray(from, cut));
      from = cut;
    }
    splitter.push(bytes.subarray(from));
    assert.equal(splitter.end(), 'array');
    return out;
  };
  const whole = offsets([]);
  const cutOut = Array.from({ length: whole.length / 2 }, (_, i) => text.slice(whole[2 * i], whole[2 * i + 1]));
  assert.deepEqual(cutOut, ['1', '{"a":"]"}', '"x"', '[2]']);
  for (let a = 0; a <= bytes.length; a++) {
    assert.deepEqual(offsets([a]), whole, `cut at ${a}`);
    for (let b = a; b <= bytes.length; b += 7) assert.deepEqual(offsets([a, b]), whole, `cut at ${a} and ${b}`);
  }
  for (const bad of [
    '{"devices" [1]}',
    '{"devices":[1 2]}',
    '{"a":1 "b":2}',
    '{"devices":[1]} x',
    '{"x":1,"a":1',
    // A value or element that starts with , ] or }: counted from the document's start, not from the bytes held.
    '{"a":1,"b":}',
    '{"devices":[1,]}',
  ]) {
    const message = structureError(bad);
    for (let cut = 0; cut <= bad.length; cut++)
      assert.equal(structureError(bad, [cut]), message, `${bad} cut at ${cut}`);
  }
});

test('blanks are the four JSON allows (space, tab, line feed, carriage return), around every token', () => {
  const tokens = ['{', '"devices"', ':', '[', '1', ',', '{"a":[2]}', ']', ',', '"x"', ':', 'true', '}'];
  for (const blank of [' ', '\t', '\n', '\r', '\r\n', ' \t\r\n']) {
    const text = blank + tokens.join(blank) + blank;
    assert.deepEqual(elements(text), [1, { a: [2] }], JSON.stringify(blank));
  }
  // Other blanks are not JSON's.
  assert.throws(() => elements('{\u00a0"devices":[]}'), JsonStructureError);
  assert.throws(() => elements('{"devices":[]}\u000b'), JsonStructureError);
});

test('held bytes are scanned again only once they have doubled; an empty chunk, or end() with nothing held, costs no scan', () => {
  const got: string[] = [];
  const splitter = new ArrayElementSplitter('devices', {
    onArrayStart: () => undefined,
    onElement: (element) => got.push(element.toString()),
  });
  splitter.push(Buffer.alloc(0));
  assert.equal(splitter.scans, 0, 'an empty chunk is not scanned');
  // The unfinished string is held: 3 bytes.
  splitter.push(Buffer.from('{"devices":["ab'));
  assert.equal(splitter.scans, 1);
  // 5 bytes held, under twice 3: not scanned yet, though the string is now whole.
  splitter.push(Buffer.from('c"'));
  assert.deepEqual([splitter.scans, got], [1, []]);
  // 6 bytes: scanned, and the element is cut out.
  splitter.push(Buffer.from(']'));
  assert.deepEqual([splitter.scans, got], [2, ['"abc"']]);
  // Nothing was held: the next chunk is scanned at once.
  splitter.push(Buffer.from('}'));
  assert.equal(splitter.scans, 3);
  assert.equal(splitter.end(), 'array');
  assert.equal(splitter.scans, 3, 'nothing held at the end: no scan');
});
