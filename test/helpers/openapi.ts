// Validates simulator answers against Tailscale's official OpenAPI document (OpenAPI 3.1, whose schemas are JSON
// Schema 2020-12). ajv is the maintained validator for that dialect; ajv-formats adds `date-time` and friends.
// Where the live API differs from the document, tailscale-facts.md says so and the caller passes `allow`.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { sharedReference } from './repo.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void;

interface OpenApiDoc {
  readonly paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, unknown> }> }>>;
}

let ajv: Ajv2020 | undefined;
let doc: OpenApiDoc | undefined;
const compiled = new Map<string, ValidateFunction>();

function load(): { ajv: Ajv2020; doc: OpenApiDoc } {
  if (ajv === undefined || doc === undefined) {
    doc = JSON.parse(readFileSync(sharedReference('tailscale-openapi.json'), 'utf8')) as OpenApiDoc;
    // strict: false, because the document carries OpenAPI keywords (example, discriminator) ajv does not know.
    ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats(ajv);
    ajv.addSchema(doc, 'openapi.json');
  }
  return { ajv, doc };
}

const pointer = (s: string): string => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** True when the document describes a JSON answer for this operation and status. */
export function documented(method: string, template: string, status = 200): boolean {
  const op = load().doc.paths[template]?.[method.toLowerCase()];
  return op?.responses?.[String(status)]?.content?.['application/json'] !== undefined;
}

/** The document's validator for one operation's JSON answer. */
function responseValidator(method: string, template: string, status = 200): ValidateFunction {
  const key = `${method.toLowerCase()} ${template} ${status}`;
  let validate = compiled.get(key);
  if (validate === undefined) {
    assert.ok(documented(method, template, status), `the OpenAPI document has no JSON answer for ${key}`);
    const ref = `openapi.json#/paths/${pointer(template)}/${method.toLowerCase()}/responses/${status}/content/${pointer('application/json')}/schema`;
    validate = load().ajv.compile({ $ref: ref });
    compiled.set(key, validate);
  }
  return validate;
}

/** The schema errors of `body`, minus those at instance paths `allow` names (documented live-API differences). */
export function openApiErrors(
  body: unknown,
  method: string,
  template: string,
  status = 200,
  allow: readonly RegExp[] = [],
): ErrorObject[] {
  const validate = responseValidator(method, template, status);
  if (validate(body)) return [];
  return (validate.errors ?? []).filter((e) => !allow.some((re) => re.test(e.instancePath)));
}

export function assertMatchesOpenApi(
  body: unknown,
  method: string,
  template: string,
  status = 200,
  allow: readonly RegExp[] = [],
): void {
  const errors = openApiErrors(body, method, template, status, allow);
  assert.deepEqual(
    errors.map((e) => `${e.instancePath} ${e.message ?? ''}`),
    [],
    `${method} ${template} ${status}: the answer does not match the OpenAPI document`,
  );
}
