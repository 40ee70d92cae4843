// HTML built from a tagged template that escapes every interpolated value by default: a device or API
// string can only become markup by first being wrapped by `html` itself, so forgetting to escape is not possible.

const KEY = Symbol('html');

/** A piece of markup. Only `html` makes one: the constructor wants a key no other module holds. */
export class Html {
  readonly #text: string;
  constructor(text: string, key: symbol) {
    if (key !== KEY) throw new TypeError('markup is made with the html template only');
    this.#text = text;
  }
  toString(): string {
    return this.#text;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text as HTML text or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

/**
 * `html\`<td>${name}</td>\`` escapes `name`. Interpolations: Html as is, arrays element by element,
 * null/undefined/false as nothing, anything else as escaped text. Values belong in text or in quoted
 * attribute values only, never in a tag name, an unquoted attribute, a style or a script.
 */
export function html(strings: TemplateStringsArray, ...values: readonly unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += piece(values[i]) + strings[i + 1]!;
  return new Html(out, KEY);
}

function piece(value: unknown): string {
  if (value instanceof Html) return value.toString();
  if (Array.isArray(value)) return value.map(piece).join('');
  if (value === undefined || value === null || value === false) return '';
  // Any other value, an object with its own toString included, becomes text and is escaped.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string
  return escapeHtml(String(value));
}
