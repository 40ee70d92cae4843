import { X509Certificate, createPrivateKey } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { ConfigError, errorCode } from '../errors.js';
import { parseGoDuration } from './duration.js';

// WEB_CONFIG_FILE / --web.config.file: the exporter-toolkit web configuration that node_exporter and
// blackbox_exporter read, so a file written for them works here unchanged. Unknown keys are errors, as
// exporter-toolkit's strict YAML decoding makes them; relative paths are resolved against the file's
// directory, as exporter-toolkit does.

const CLIENT_AUTH_TYPES = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
] as const;
export type ClientAuthType = (typeof CLIENT_AUTH_TYPES)[number];

const TLS_VERSIONS = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' } as const;
type TlsVersionName = keyof typeof TLS_VERSIONS;

/** Go's names of the TLS 1.2 suites crypto/tls offers, in OpenSSL's spelling (TLS 1.3 suites are not configurable in Go either). */
const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
};

const CURVES: Readonly<Record<string, string>> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
};

/** The only headers exporter-toolkit lets the file set, with the values it accepts where it restricts them. */
const HEADERS: Readonly<Record<string, RegExp | undefined>> = {
  'content-security-policy': undefined,
  'x-frame-options': /^(deny|sameorigin)$/i,
  'x-content-type-options': /^nosniff$/i,
  'x-xss-protection': undefined,
  'strict-transport-security': undefined,
};

const BCRYPT_HASH = /^\$2[aby]?\$\d{2}\$[./A-Za-z0-9]{53}$/;

const schema = z.strictObject({
  tls_server_config: z
    .strictObject({
      cert_file: z.string().optional(),
      key_file: z.string().optional(),
      cert: z.string().optional(),
      key: z.string().optional(),
      client_auth_type: z
        .enum(CLIENT_AUTH_TYPES, { message: `expected one of ${CLIENT_AUTH_TYPES.join(', ')}` })
        .optional(),
      client_ca_file: z.string().optional(),
      client_allowed_sans: z.array(z.string()).optional(),
      cipher_suites: z
        .array(
          z
            .string()
            .refine((s) => Object.hasOwn(CIPHER_SUITES, s), { message: 'not a cipher suite Go offers for TLS 1.2' }),
        )
        .optional(),
      curve_preferences: z
        .array(
          z.string().refine((s) => Object.hasOwn(CURVES, s), { message: `expected ${Object.keys(CURVES).join(', ')}` }),
        )
        .optional(),
      min_version: z
        .enum(Object.keys(TLS_VERSIONS) as [TlsVersionName], { message: 'expected TLS10, TLS11, TLS12 or TLS13' })
        .optional(),
      max_version: z
        .enum(Object.keys(TLS_VERSIONS) as [TlsVersionName], { message: 'expected TLS10, TLS11, TLS12 or TLS13' })
        .optional(),
      prefer_server_cipher_suites: z.boolean().optional(),
    })
    .nullish(),
  http_server_config: z
    .strictObject({
      // Accepted for compatibility; Node's server speaks HTTP/1.1 only.
      http2: z.boolean().optional(),
      headers: z.record(z.string(), z.string()).optional(),
    })
    .nullish(),
  basic_auth_users: z
    .record(z.string(), z.string().regex(BCRYPT_HASH, { message: 'expected a bcrypt hash ($2y$10$...)' }))
    .nullish(),
  rate_limit: z
    .strictObject({
      interval: z
        .string()
        .refine((s) => (parseGoDuration(s) ?? 0) > 0, { message: 'expected a duration such as 1s' })
        .optional(),
      burst: z.number().int().min(0).optional(),
    })
    .nullish(),
});

export interface TlsSettings {
  /** Absolute paths, or undefined when the PEM is inline in the file. */
  readonly certFile: string | undefined;
  readonly keyFile: string | undefined;
  readonly inlineCert: string | undefined;
  readonly inlineKey: string | undefined;
  readonly clientAuthType: ClientAuthType;
  readonly clientCaFile: string | undefined;
  readonly clientAllowedSans: readonly string[];
  readonly minVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  readonly maxVersion: (typeof TLS_VERSIONS)[TlsVersionName];
  readonly ciphers: string | undefined;
  readonly ecdhCurve: string | undefined;
  readonly honorCipherOrder: boolean;
}

export interface WebConfig {
  readonly file: string;
  readonly tls: TlsSettings | undefined;
  /** Lower-case header name -> value, added to every response. */
  readonly headers: Readonly<Record<string, string>>;
  /** User -> bcrypt hash; empty when basic auth is off. */
  readonly basicAuthUsers: ReadonlyMap<string, string>;
  /** exporter-toolkit's global limiter: one token every `intervalMs`, `burst` at once. */
  readonly rateLimit: { readonly intervalMs: number; readonly burst: number } | undefined;
}

/** What the server needs to build a TLS context: the PEM text itself. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
}

function fail(file: string, key: string, message: string): never {
  throw new ConfigError(`WEB_CONFIG_FILE=${JSON.stringify(file)}: ${key}: ${message}`);
}

/** Reads and checks the web config file; certificates are read and checked too. Throws a one-line ConfigError. */
export function loadWebConfig(file: string, readFile: (path: string) => string): WebConfig {
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    throw new ConfigError(
      `WEB_CONFIG_FILE=${JSON.stringify(file)}: cannot read the file (${errorCode(err) ?? 'unreadable'}); expected a readable YAML file`,
    );
  }
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) fail(file, 'yaml', doc.errors[0]!.message.split('\n')[0]!);
  const raw: unknown = doc.toJS() ?? {};
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issue.path.map(String);
    if (issue.code === 'unrecognized_keys') fail(file, [...path, issue.keys[0]!].join('.'), 'unknown key');
    fail(
      file,
      path.join('.') || '(top level)',
      issue.code === 'invalid_type' ? `expected ${issue.expected}` : issue.message,
    );
  }
  const c = parsed.data;
  const dir = dirname(resolve(file));
  const abs = (p: string | undefined): string | undefined =>
    p === undefined || p === '' ? undefined : resolve(dir, p);

  let tls: TlsSettings | undefined;
  const t = c.tls_server_config;
  if (t !== null && t !== undefined) {
    if ((t.cert_file ?? t.cert) === undefined)
      fail(file, 'tls_server_config.cert_file', 'missing: TLS needs cert_file (or cert) and key_file (or key)');
    if ((t.key_file ?? t.key) === undefined)
      fail(file, 'tls_server_config.key_file', 'missing: TLS needs cert_file (or cert) and key_file (or key)');
    if (t.cert_file !== undefined && t.cert !== undefined)
      fail(file, 'tls_server_config.cert', 'set only one of cert and cert_file');
    if (t.key_file !== undefined && t.key !== undefined)
      fail(file, 'tls_server_config.key', 'set only one of key and key_file');
    const clientAuthType = t.client_auth_type ?? 'NoClientCert';
    if (
      (clientAuthType === 'VerifyClientCertIfGiven' || clientAuthType === 'RequireAndVerifyClientCert') &&
      (t.client_ca_file ?? '') === ''
    ) {
      fail(
        file,
        'tls_server_config.client_ca_file',
        `missing: client_auth_type ${clientAuthType} needs the CA that signs client certificates`,
      );
    }
    const minVersion = TLS_VERSIONS[t.min_version ?? 'TLS12'];
    const maxVersion = TLS_VERSIONS[t.max_version ?? 'TLS13'];
    if (minVersion > maxVersion) fail(file, 'tls_server_config.min_version', 'is above max_version');
    tls = {
      certFile: abs(t.cert_file),
      keyFile: abs(t.key_file),
      inlineCert: t.cert,
      inlineKey: t.key,
      clientAuthType,
      clientCaFile: abs(t.client_ca_file),
      clientAllowedSans: t.client_allowed_sans ?? [],
      minVersion,
      maxVersion,
      ciphers: t.cipher_suites === undefined ? undefined : t.cipher_suites.map((s) => CIPHER_SUITES[s]).join(':'),
      ecdhCurve: t.curve_preferences === undefined ? undefined : t.curve_preferences.map((s) => CURVES[s]).join(':'),
      honorCipherOrder: t.prefer_server_cipher_suites ?? true,
    };
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(c.http_server_config?.headers ?? {})) {
    const lower = name.toLowerCase();
    if (!Object.hasOwn(HEADERS, lower))
      fail(
        file,
        `http_server_config.headers.${name}`,
        `not allowed; expected one of Content-Security-Policy, X-Frame-Options, X-Content-Type-Options, X-XSS-Protection, Strict-Transport-Security`,
      );
    const allowed = HEADERS[lower];
    if (allowed !== undefined && !allowed.test(value))
      fail(file, `http_server_config.headers.${name}`, `value ${JSON.stringify(value)} is not allowed`);
    headers[lower] = value;
  }

  const rl = c.rate_limit;
  const rateLimit =
    rl === null || rl === undefined || rl.interval === undefined
      ? undefined
      : { intervalMs: parseGoDuration(rl.interval)!, burst: rl.burst ?? 0 };

  const config: WebConfig = {
    file,
    tls,
    headers,
    basicAuthUsers: new Map(Object.entries(c.basic_auth_users ?? {})),
    rateLimit,
  };
  if (tls !== undefined) checkTls(config, readFile);
  return config;
}

/** Reads the PEM files the config names; a failure names the key. */
export function readTlsMaterial(web: WebConfig, readFile: (path: string) => string): TlsMaterial {
  const tls = web.tls!;
  const read = (key: string, path: string | undefined, inline: string | undefined): string => {
    if (path === undefined) return inline!;
    try {
      return readFile(path);
    } catch (err) {
      return fail(web.file, `tls_server_config.${key}`, `cannot read ${path} (${errorCode(err) ?? 'unreadable'})`);
    }
  };
  return {
    cert: read('cert_file', tls.certFile, tls.inlineCert),
    key: read('key_file', tls.keyFile, tls.inlineKey),
    ca: tls.clientCaFile === undefined ? undefined : read('client_ca_file', tls.clientCaFile, undefined),
  };
}

/** The options of a TLS context for these settings and this material. */
export function secureContextOptions(tls: TlsSettings, m: TlsMaterial): SecureContextOptions {
  return {
    cert: m.cert,
    key: m.key,
    ...(m.ca === undefined ? {} : { ca: m.ca }),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    ...(tls.ciphers === undefined ? {} : { ciphers: tls.ciphers }),
    ...(tls.ecdhCurve === undefined ? {} : { ecdhCurve: tls.ecdhCurve }),
    honorCipherOrder: tls.honorCipherOrder,
  };
}

/** Parses every certificate and key, and builds the context once: a mismatch is found before anything listens. */
function checkTls(web: WebConfig, readFile: (path: string) => string): void {
  const m = readTlsMaterial(web, readFile);
  const where = (key: string, path: string | undefined): string =>
    path === undefined ? key.replace(/_file$/, '') : key;
  try {
    new X509Certificate(m.cert);
  } catch {
    fail(web.file, `tls_server_config.${where('cert_file', web.tls!.certFile)}`, 'not a PEM certificate');
  }
  try {
    createPrivateKey(m.key);
  } catch {
    fail(
      web.file,
      `tls_server_config.${where('key_file', web.tls!.keyFile)}`,
      'not a PEM private key (encrypted keys are not supported)',
    );
  }
  if (m.ca !== undefined) {
    try {
      new X509Certificate(m.ca);
    } catch {
      fail(web.file, 'tls_server_config.client_ca_file', 'not a PEM certificate');
    }
  }
  try {
    createSecureContext(secureContextOptions(web.tls!, m));
  } catch (err) {
    fail(
      web.file,
      `tls_server_config.${where('key_file', web.tls!.keyFile)}`,
      `does not fit the certificate or settings (${(err as Error).message.replace(/^error:[0-9A-F]+:/, '')})`,
    );
  }
}
