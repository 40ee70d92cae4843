import { ConfigError, errorCode } from '../errors.js';
import { SECRET_VARIABLES, VARIABLES, type VariableSpec, type VariableValues } from './schema.js';

// Reads every variable of the table, from the environment or its `<NAME>_FILE`, and parses it with its
// schema. The first bad one throws a one-line ConfigError naming it and the accepted values.

export type Env = Readonly<Record<string, string | undefined>>;

const SECRETS = new Set(SECRET_VARIABLES);

/** Reads `<NAME>` or `<NAME>_FILE` (Docker and Kubernetes secrets); both set is an error. */
function rawValue(env: Env, spec: VariableSpec, readFile: (p: string) => string): string | undefined {
  const direct = env[spec.name];
  const filePath = SECRETS.has(spec.name) ? env[`${spec.name}_FILE`] : undefined;
  if (filePath !== undefined && filePath !== '') {
    if (direct !== undefined && direct !== '') {
      throw new ConfigError(`${spec.name} and ${spec.name}_FILE are both set: set only one`);
    }
    let text: string;
    try {
      text = readFile(filePath);
    } catch (err) {
      throw new ConfigError(
        `${spec.name}_FILE=${JSON.stringify(filePath)}: cannot read the file (${errorCode(err) ?? 'unreadable'}); expected a readable file holding ${spec.accepted}`,
      );
    }
    if (text.trim() === '') {
      throw new ConfigError(
        `${spec.name}_FILE=${JSON.stringify(filePath)}: the file is empty; expected a file holding ${spec.accepted}`,
      );
    }
    return text.trim();
  }
  return direct === '' ? undefined : direct;
}

function shown(spec: VariableSpec, value: string): string {
  return spec.secret === true ? '<redacted>' : JSON.stringify(value);
}

/** Every variable's value (its default when unset), in table order; the first bad one throws. */
export function readVariables(env: Env, readFile: (p: string) => string): VariableValues {
  const values: Record<string, unknown> = {};
  for (const spec of VARIABLES) {
    const raw = rawValue(env, spec, readFile) ?? spec.default;
    if (raw === undefined) continue;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(`${spec.name}=${shown(spec, raw)} is invalid: expected ${spec.accepted}`);
    }
    values[spec.name] = parsed.data;
  }
  // The one place the types meet the loop: each name holds its own schema's output, which VariableValues
  // spells out per name but the checker cannot follow through a loop over the table.
  return values as VariableValues;
}
