// Cuts the elements of one array out of a JSON document as its bytes arrive, without parsing the document
// whole. The device list of a 10,000-device tailnet is 12 MB of JSON: parsed whole it is a 12 MB string
// plus ~15 MB of objects, alive next to the previous list; read whole it is still a 12 MB buffer. Cut as
// it streams in, only the bytes of the element being read are held, and each device is hashed (and, when
// it changed, parsed, validated and converted) on its own. Structural characters are ASCII and never occur
// inside a UTF-8 multi-byte sequence, so the bytes are scanned directly.

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

/** The bytes so far end inside the token being read: wait for more (or, at the end, the document is cut short). */
const INCOMPLETE = Symbol('incomplete');

const isSpace = (b: number | undefined): boolean => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

/** Index of the first non-space byte at or after `pos`; INCOMPLETE when there is none yet. */
function skipSpace(bytes: Uint8Array, pos: number): number {
  while (isSpace(bytes[pos])) pos++;
  if (pos >= bytes.length) throw INCOMPLETE;
  return pos;
}

/**
 * Index just past the string starting at `pos` (a quote). Most of a device list is strings: the closing
 * quote is found by the native byte search, and is the end unless an odd run of backslashes escapes it.
 */
function endOfString(bytes: Uint8Array, pos: number): number {
  for (let from = pos + 1; ;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) throw INCOMPLETE;
    let before = quote - 1;
    while (before > pos && bytes[before] === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote + 1;
    from = quote + 1;
  }
}

/**
 * Index just past the value starting at `pos`; nested values are matched by bracket depth. `base`: the
 * document offset of `bytes[0]`, for the error message.
 */
function endOfValue(bytes: Uint8Array, pos: number, base: number): number {
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
    throw INCOMPLETE;
  }
  // A number or a literal: its validity is JSON.parse's business, when its element is parsed. One that
  // runs to the end of the bytes so far may go on in the next chunk (a document never ends with one).
  let i = pos;
  while (
    i < bytes.length &&
    !isSpace(bytes[i]) &&
    bytes[i] !== COMMA &&
    bytes[i] !== CLOSE_BRACE &&
    bytes[i] !== CLOSE_BRACKET
  )
    i++;
  if (i === bytes.length) throw INCOMPLETE;
  if (i === pos) throw new JsonStructureError(`unexpected byte at ${base + pos}`);
  return i;
}

const enum State {
  Open,
  FirstKey,
  Key,
  Colon,
  Value,
  FirstElement,
  Element,
  AfterElement,
  AfterValue,
  Tail,
}

export interface ArrayElementHandler {
  /** The array under the key begins; a later array under the same key replaces it (JSON.parse keeps the last). */
  onArrayStart(): void;
  /** One element's bytes, valid only during the call, and its offset in the document. */
  onElement(bytes: Buffer, offset: number): void;
}

/**
 * The elements of the array under `key` of the top-level object, fed chunk by chunk. The document is held
 * only from the start of the token being read: an element, a key, or a value under another key (those are
 * parsed, so that a document JSON.parse rejects is rejected here too). The elements themselves are not
 * validated here: parse each one. Throws JsonStructureError when the structure is broken, SyntaxError for
 * a malformed value under another key.
 */
export class ArrayElementSplitter {
  readonly #key: string;
  readonly #handler: ArrayElementHandler;
  #state = State.Open;
  /** The bytes not consumed yet, and the document offset of their first byte. */
  #pending: Buffer = Buffer.alloc(0);
  /** Chunks after #pending, joined only when a scan is due: a copy per chunk would be quadratic in bytes. */
  #waiting: Buffer[] = [];
  #held = 0;
  #base = 0;
  /** An incomplete token is scanned again only once the bytes held have doubled: linear in all. */
  #retryAt = 0;
  #name = '';
  #scans = 0;
  /** What the last value under the key was: none yet, an array, or something else. */
  #found: 'absent' | 'array' | 'other' = 'absent';

  constructor(key: string, handler: ArrayElementHandler) {
    this.#key = key;
    this.#handler = handler;
  }

  /** Scans of the held bytes so far: what keeps a long token arriving in small pieces linear (tested on it). */
  get scans(): number {
    return this.#scans;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#waiting.push(chunk);
    this.#held += chunk.length;
    if (this.#held < this.#retryAt) return;
    this.#scan();
  }

  /** After the last chunk: whether the key held an array. Throws when the document is cut short or broken. */
  end(): 'absent' | 'array' | 'other' {
    this.#retryAt = 0;
    if (this.#held > 0) this.#scan();
    if (this.#state !== State.Tail)
      throw new JsonStructureError(`document ends early, at byte ${this.#base + this.#pending.length}`);
    return this.#found;
  }

  #scan(): void {
    this.#scans++;
    if (this.#waiting.length > 0) {
      if (this.#pending.length === 0 && this.#waiting.length === 1) this.#pending = this.#waiting[0]!;
      else this.#pending = Buffer.concat([this.#pending, ...this.#waiting]);
      this.#waiting = [];
    }
    const bytes = this.#pending;
    let pos = 0;
    try {
      for (;;) pos = this.#step(bytes, pos);
    } catch (err) {
      if (err !== INCOMPLETE) throw err;
    }
    // Everything before `pos` is consumed; the token starting there waits for more bytes.
    this.#pending = bytes.subarray(pos);
    this.#held = this.#pending.length;
    this.#base += pos;
    this.#retryAt = this.#pending.length * 2;
  }

  /** Reads one token at `pos`; returns the index past it. Throws INCOMPLETE when the token is not all there. */
  #step(bytes: Buffer, at: number): number {
    switch (this.#state) {
      case State.Open: {
        const pos = skipSpace(bytes, at);
        expect(bytes, pos, OPEN_BRACE, this.#base);
        this.#state = State.FirstKey;
        return pos + 1;
      }
      case State.FirstKey: {
        const pos = skipSpace(bytes, at);
        if (bytes[pos] === CLOSE_BRACE) {
          this.#state = State.Tail;
          return pos + 1;
        }
        this.#state = State.Key;
        return pos;
      }
      case State.Key: {
        const pos = skipSpace(bytes, at);
        expect(bytes, pos, QUOTE, this.#base);
        const end = endOfString(bytes, pos);
        // Keys are short; JSON.parse handles any escapes in them.
        this.#name = JSON.parse(bytes.toString('utf8', pos, end)) as string;
        this.#state = State.Colon;
        return end;
      }
      case State.Colon: {
        const pos = skipSpace(bytes, at);
        expect(bytes, pos, COLON, this.#base);
        this.#state = State.Value;
        return pos + 1;
      }
      case State.Value: {
        const pos = skipSpace(bytes, at);
        if (this.#name === this.#key && bytes[pos] === OPEN_BRACKET) {
          this.#handler.onArrayStart();
          this.#found = 'array';
          this.#state = State.FirstElement;
          return pos + 1;
        }
        const end = endOfValue(bytes, pos, this.#base);
        // Other values are small; parsed here so that a document JSON.parse rejects is rejected here too.
        JSON.parse(bytes.toString('utf8', pos, end));
        if (this.#name === this.#key) this.#found = 'other';
        this.#state = State.AfterValue;
        return end;
      }
      case State.FirstElement: {
        const pos = skipSpace(bytes, at);
        if (bytes[pos] === CLOSE_BRACKET) {
          this.#state = State.AfterValue;
          return pos + 1;
        }
        this.#state = State.Element;
        return pos;
      }
      case State.Element: {
        const pos = skipSpace(bytes, at);
        const end = endOfValue(bytes, pos, this.#base);
        this.#handler.onElement(bytes.subarray(pos, end), this.#base + pos);
        this.#state = State.AfterElement;
        return end;
      }
      case State.AfterElement: {
        const pos = skipSpace(bytes, at);
        if (bytes[pos] === COMMA) this.#state = State.Element;
        else if (bytes[pos] === CLOSE_BRACKET) this.#state = State.AfterValue;
        else throw new JsonStructureError(`expected , or ] at ${this.#base + pos}`);
        return pos + 1;
      }
      case State.AfterValue: {
        const pos = skipSpace(bytes, at);
        if (bytes[pos] === COMMA) this.#state = State.Key;
        else if (bytes[pos] === CLOSE_BRACE) this.#state = State.Tail;
        else throw new JsonStructureError(`expected , or } at ${this.#base + pos}`);
        return pos + 1;
      }
      case State.Tail: {
        const pos = skipSpace(bytes, at);
        throw new JsonStructureError(`content after the document, at ${this.#base + pos}`);
      }
    }
  }
}

function expect(bytes: Uint8Array, pos: number, byte: number, base: number): void {
  if (bytes[pos] !== byte) throw new JsonStructureError(`expected ${String.fromCharCode(byte)} at ${base + pos}`);
}
