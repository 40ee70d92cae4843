// Finds the elements of one array in a JSON document without parsing the document whole. The device list
// of a 10,000-device tailnet is 12 MB of JSON: parsed whole it is a 12 MB string plus ~15 MB of objects,
// alive next to the previous list. Cut into elements, each device is parsed, validated and converted on
// its own, and only the bytes are held. Structural characters are ASCII and never occur inside a UTF-8
// multi-byte sequence, so the bytes are scanned directly.

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/** Thrown for a document whose structure is broken: the caller reports it as malformed JSON. */
export class JsonStructureError extends SyntaxError {}

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

function skipSpace(bytes: Uint8Array, pos: number): number {
  while (isSpace(bytes[pos])) pos++;
  return pos;
}

/**
 * Index just past the string starting at `pos` (a quote). Most of a device list is strings: the closing
 * quote is found by the native byte search, and is the end unless an odd run of backslashes escapes it.
 */
function endOfString(bytes: Uint8Array, pos: number): number {
  for (let from = pos + 1; ; ) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) throw new JsonStructureError('unterminated string');
    let before = quote - 1;
    while (before > pos && bytes[before] === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/** Index just past the value starting at `pos`; nested values are matched by bracket depth. */
function endOfValue(bytes: Uint8Array, pos: number): number {
  const first = bytes[pos];
  if (first === QUOTE) return endOfString(bytes, pos);
  if (first === OPEN_BRACE || first === OPEN_BRACKET) {
    let depth = 0;
    for (let i = pos; i < bytes.length; i++) {
      const b = bytes[i];
      if (b === QUOTE) i = endOfString(bytes, i) - 1;
      else if (b === OPEN_BRACE || b === OPEN_BRACKET) depth++;
      else if (b === CLOSE_BRACE || b === CLOSE_BRACKET) {
        if (--depth === 0) return i + 1;
      }
    }
    throw new JsonStructureError('unterminated object or array');
  }
  // A number or a literal: its validity is JSON.parse's business, when its element is parsed.
  let i = pos;
  while (i < bytes.length && !isSpace(bytes[i]) && bytes[i] !== COMMA && bytes[i] !== CLOSE_BRACE && bytes[i] !== CLOSE_BRACKET) i++;
  if (i === pos) throw new JsonStructureError(`unexpected byte at ${pos}`);
  return i;
}

function expect(bytes: Uint8Array, pos: number, byte: number): void {
  if (bytes[pos] !== byte) throw new JsonStructureError(`expected ${String.fromCharCode(byte)} at ${pos}`);
}

/**
 * Byte ranges [start, end) of the elements of the array under `key` of the top-level object, or
 * undefined when the document is an object without that key or with a non-array under it. Throws
 * JsonStructureError when the structure is broken, SyntaxError for a malformed value under another key.
 * The array's elements are not validated here: parse each one.
 */
export function arrayElementRanges(bytes: Uint8Array, key: string): number[] | undefined {
  let pos = skipSpace(bytes, 0);
  expect(bytes, pos, OPEN_BRACE);
  pos = skipSpace(bytes, pos + 1);
  let ranges: number[] | undefined;
  let found = false;
  if (bytes[pos] !== CLOSE_BRACE) {
    for (;;) {
      expect(bytes, pos, QUOTE);
      const keyEnd = endOfString(bytes, pos);
      // Keys are short; JSON.parse handles any escapes in them.
      const name = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + pos, keyEnd - pos).toString('utf8')) as string;
      pos = skipSpace(bytes, keyEnd);
      expect(bytes, pos, COLON);
      pos = skipSpace(bytes, pos + 1);
      let valueEnd: number;
      if (name === key) {
        // JSON.parse keeps the last of repeated keys; so does this.
        found = true;
        // The array is cut into its elements in the same pass that finds its end.
        if (bytes[pos] === OPEN_BRACKET) {
          ranges = [];
          valueEnd = elementRanges(bytes, pos, ranges);
        } else {
          ranges = undefined;
          valueEnd = endOfValue(bytes, pos);
        }
      } else {
        valueEnd = endOfValue(bytes, pos);
        // Other values are small; parsed here so that a document JSON.parse rejects is rejected here too.
        JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset + pos, valueEnd - pos).toString('utf8'));
      }
      pos = skipSpace(bytes, valueEnd);
      if (bytes[pos] === COMMA) {
        pos = skipSpace(bytes, pos + 1);
        continue;
      }
      expect(bytes, pos, CLOSE_BRACE);
      break;
    }
  }
  if (skipSpace(bytes, pos + 1) !== bytes.length) throw new JsonStructureError('content after the document');
  return found ? ranges : undefined;
}

/** Pushes the [start, end) of each element of the array opening at `open`; returns the index past its `]`. */
function elementRanges(bytes: Uint8Array, open: number, ranges: number[]): number {
  let pos = skipSpace(bytes, open + 1);
  if (bytes[pos] === CLOSE_BRACKET) return pos + 1;
  for (;;) {
    const end = endOfValue(bytes, pos);
    ranges.push(pos, end);
    pos = skipSpace(bytes, end);
    if (bytes[pos] === COMMA) {
      pos = skipSpace(bytes, pos + 1);
      continue;
    }
    if (bytes[pos] !== CLOSE_BRACKET) throw new JsonStructureError(`expected , or ] at ${pos}`);
    return pos + 1;
  }
}
