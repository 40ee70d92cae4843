import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';
import { ConfigError, errorCode } from '../errors.js';

// EXPECTED_DEVICES_FILE: the devices a tailnet must have. Read at start (a bad file is a config error,
// exit 2) and on SIGHUP (a bad file keeps the last good one and says why).

const selectorSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.:-]+$/, 'name: letters, digits, _ . : - only'),
    match: z
      .object({
        name: z.string().min(1).optional(),
        tag: z
          .string()
          .regex(/^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/)
          .optional(),
      })
      .strict()
      .refine((m) => m.name !== undefined || m.tag !== undefined, 'match needs name or tag'),
    min: z.number().int().min(0).default(1),
    severity: z.enum(['info', 'warning', 'critical']).default('warning'),
  })
  .strict();

const fileSchema = z
  .object({
    strict: z.boolean().default(false),
    selectors: z.array(selectorSchema).min(1),
  })
  .strict()
  .refine((f) => new Set(f.selectors.map((s) => s.name)).size === f.selectors.length, 'selector names must be unique');

export type ExpectedDevices = z.infer<typeof fileSchema>;

/** Parses the YAML text; throws an Error whose message says what is wrong and where. */
// The YAML parser is loaded on first use: most deployments have no expected-devices file, and it costs
// several MB of memory.
let yaml: typeof import('yaml') | undefined;
const loadYaml = (): typeof import('yaml') =>
  (yaml ??= createRequire(import.meta.url)('yaml') as typeof import('yaml'));

export function parseExpectedDevices(text: string): ExpectedDevices {
  let raw: unknown;
  try {
    raw = loadYaml().parse(text);
  } catch (err) {
    throw new Error(`not valid YAML: ${(err as Error).message.split('\n')[0]}`, { cause: err });
  }
  const result = fileSchema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new Error(`${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return result.data;
}

/** Reads and parses EXPECTED_DEVICES_FILE, at start (through loadConfig) and on SIGHUP; errors name the variable. */
export function readExpectedDevicesFile(file: string, readFile: (path: string) => string): ExpectedDevices {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new ConfigError(
      `EXPECTED_DEVICES_FILE=${JSON.stringify(file)}: cannot read the file (${errorCode(err) ?? 'error'})`,
    );
  }
  try {
    return parseExpectedDevices(text);
  } catch (err) {
    throw new ConfigError(`EXPECTED_DEVICES_FILE=${JSON.stringify(file)} is invalid: ${(err as Error).message}`);
  }
}

/** SIGHUP: EXPECTED_DEVICES_FILE read again from disk; throws as at start, and the caller keeps the last good one. */
export function rereadExpectedDevicesFile(file: string): ExpectedDevices {
  return readExpectedDevicesFile(file, (p) => readFileSync(p, 'utf8'));
}
