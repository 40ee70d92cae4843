import { isIP } from 'node:net';
import { z } from 'zod';
import { BACKEND_NAMES } from './backends.js';
import { parseGoDuration } from './duration.js';

// Every environment variable tsmetrics reads, in one table: name, default, what is accepted, and the zod
// schema that turns the text into a value. The README's configuration table is checked against this list
// (test/unit/docs.test.ts), so this is the single source of truth for defaults and accepted values.

export interface VariableSpec {
  readonly name: string;
  /** Default as the user would write it; undefined = unset by default. */
  readonly default: string | undefined;
  readonly description: string;
  /** Human words for the accepted values, used in error messages. */
  readonly accepted: string;
  /** Secrets are never printed, and can be read from `<NAME>_FILE`. */
  readonly secret?: boolean;
  readonly schema: z.ZodType;
}

const BOOL_TRUE = new Set(['1', 't', 'true', 'yes', 'on']);
const BOOL_FALSE = new Set(['0', 'f', 'false', 'no', 'off']);

const bool = z.string().transform((s, ctx) => {
  const v = s.trim().toLowerCase();
  if (BOOL_TRUE.has(v)) return true;
  if (BOOL_FALSE.has(v)) return false;
  ctx.addIssue({ code: 'custom', message: 'not a boolean' });
  return z.NEVER;
});

const duration = (minMs: number, maxMs: number) =>
  z.string().transform((s, ctx) => {
    const ms = parseGoDuration(s);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      ctx.addIssue({ code: 'custom', message: 'bad duration' });
      return z.NEVER;
    }
    return ms;
  });

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\s*\d+\s*$/)
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

/** Comma-separated list; blanks dropped. */
const list = z.string().transform((s) =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x !== ''),
);

const nameGlobs = list.pipe(z.array(z.string().regex(/^[A-Za-z0-9*._-]+$/)));

const tagList = list
  .transform((tags) => tags.map((t) => (t.startsWith('tag:') ? t : `tag:${t}`)))
  .pipe(z.array(z.string().regex(/^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/)));

function isCidr(text: string): boolean {
  const [ip, bits, extra] = text.split('/');
  if (ip === undefined || bits === undefined || extra !== undefined || !/^\d{1,3}$/.test(bits)) return false;
  const family = isIP(ip);
  return family !== 0 && Number(bits) <= (family === 4 ? 32 : 128);
}

const cidrList = list.pipe(z.array(z.string().refine(isCidr)).min(1));

const nonEmpty = z.string().trim().min(1);

const httpUrl = z
  .string()
  .trim()
  .pipe(z.url({ protocol: /^https?$/ }))
  .transform((u) => u.replace(/\/+$/, ''));

const hostname = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/);

const RESERVED_LABELS = new Set(['device_id', 'device_name', 'online', 'os', 'version']);

/** `team=tag:team-(.+),env=tag:(prod|staging)`: label name, then an anchored regex with one capture group. */
const labelsFromTags = z.string().transform((text, ctx) => {
  const rules: Array<{ readonly label: string; readonly pattern: RegExp }> = [];
  // Split before each `name=`, so regexes may contain commas ({1,3}).
  for (const part of text.split(/,(?=\s*[A-Za-z_][A-Za-z0-9_]*=)/)) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.+)$/.exec(part);
    let pattern: RegExp | undefined;
    try {
      pattern = m === null ? undefined : new RegExp(`^(?:${m[2]!.trim()})$`);
    } catch {
      pattern = undefined;
    }
    const groups = pattern === undefined ? 0 : new RegExp(`${pattern.source}|`).exec('')!.length - 1;
    if (m === null || pattern === undefined || groups < 1 || RESERVED_LABELS.has(m[1]!) || m[1]!.startsWith('__')) {
      ctx.addIssue({ code: 'custom', message: 'bad rule' });
      return z.NEVER;
    }
    rules.push({ label: m[1]!, pattern });
  }
  return rules;
});

const version = z
  .string()
  .trim()
  .regex(/^v?\d{1,4}\.\d{1,4}(\.\d{1,6})?$/)
  .transform((v) => v.replace(/^v/, ''));

/** Every collector COLLECTORS can name; `all` (the default) is all of them but the opt-in ones. */
export const COLLECTOR_NAMES = [
  'devices',
  'client_metrics',
  'users',
  'keys',
  'settings',
  'dns',
  'services',
  'policy',
  'preauthkeys',
  'apikeys',
  'logstream',
  'posture_integrations',
  'service_hosts',
  'webhooks',
  'flowlogs',
  'audit',
] as const;
export type CollectorName = (typeof COLLECTOR_NAMES)[number];

/**
 * Collectors `all` leaves out, named to run (`all,service_hosts,flowlogs`): service_hosts costs an API call
 * per object; flowlogs and audit need a paid plan (flow logs) or a scope most read-only clients lack, and
 * cost API calls and series of their own (README: Flow logs and the audit log).
 */
export const OPT_IN_COLLECTORS: ReadonlySet<CollectorName> = new Set(['service_hosts', 'flowlogs', 'audit']);

/** Collector names, and `all`, which may be combined with opt-in ones (load.ts expands it per backend). */
const collectorList = list.pipe(z.array(z.enum(['all', ...COLLECTOR_NAMES])).min(1));

const TABLE = [
  // Control server
  {
    name: 'BACKEND',
    default: 'tailscale',
    description: 'Control server: the Tailscale API, or a self-hosted Headscale',
    accepted: 'tailscale or headscale',
    schema: z.string().trim().toLowerCase().pipe(z.enum(BACKEND_NAMES)),
  },
  {
    name: 'HEADSCALE_URL',
    default: undefined,
    description: 'Base URL of the Headscale server (BACKEND=headscale)',
    accepted: 'an http(s) URL, e.g. https://headscale.example.com',
    schema: httpUrl,
  },
  {
    name: 'HEADSCALE_API_KEY',
    default: undefined,
    description: 'Headscale API key (`headscale apikeys create`)',
    accepted: 'a Headscale API key',
    secret: true,
    schema: nonEmpty,
  },
  {
    name: 'HEADSCALE_CA_FILE',
    default: undefined,
    description: 'PEM file of the CA that signed the Headscale server certificate (a private CA)',
    accepted: 'a readable PEM file path',
    schema: nonEmpty,
  },
  // Tailscale API access
  {
    name: 'OAUTH_CLIENT_ID',
    default: undefined,
    description: 'Tailscale OAuth client ID (trust credential)',
    accepted: 'the client ID from the admin console',
    schema: nonEmpty,
  },
  {
    name: 'OAUTH_CLIENT_SECRET',
    default: undefined,
    description: 'Tailscale OAuth client secret',
    accepted: 'a non-empty secret (issued as tskey-client-...; not checked)',
    secret: true,
    schema: nonEmpty,
  },
  {
    name: 'OAUTH_ID_TOKEN_FILE',
    default: undefined,
    description:
      "Workload identity federation instead of OAUTH_CLIENT_SECRET: file holding an OIDC ID token (a Kubernetes projected service account token, a CI token), exchanged with OAUTH_CLIENT_ID (the federated identity's client ID) for API tokens; re-read for every exchange",
    accepted: 'a readable file holding a JWT',
    schema: nonEmpty,
  },
  {
    name: 'TAILSCALE_API_KEY',
    default: undefined,
    description: 'Tailscale API access token, instead of OAuth',
    accepted: 'a non-empty token (issued as tskey-api-...; not checked)',
    secret: true,
    schema: nonEmpty,
  },
  {
    name: 'OAUTH_TOKEN',
    default: undefined,
    description: "Alias of TAILSCALE_API_KEY (the Go original's name)",
    accepted: 'a non-empty token (issued as tskey-api-...; not checked)',
    secret: true,
    schema: nonEmpty,
  },
  {
    name: 'TAILNET_NAME',
    default: '-',
    description: "Tailnet ID or name; `-` is the credential's own tailnet",
    accepted: '`-`, a tailnet ID (T1234CNTRL) or organization name',
    schema: z
      .string()
      .trim()
      .regex(/^[^\s/?#]+$/),
  },
  {
    name: 'TAILSCALE_API_URL',
    default: 'https://api.tailscale.com',
    description: 'Base URL of the Tailscale API',
    accepted: 'an http(s) URL',
    schema: httpUrl,
  },
  {
    name: 'API_TIMEOUT',
    default: '30s',
    description: 'Timeout of one Tailscale API call',
    accepted: 'a duration between 1s and 5m, e.g. 30s',
    schema: duration(1000, 300_000),
  },
  // HTTP server
  {
    name: 'PORT',
    default: '9100',
    description: 'HTTP port of the exporter',
    accepted: 'a port number 1-65535',
    schema: int(1, 65535),
  },
  {
    name: 'ENV',
    default: 'development',
    description: '`production`/`prod` listens on 0.0.0.0, anything else on 127.0.0.1',
    accepted: 'production, prod, development or any word',
    schema: z.string().trim().toLowerCase(),
  },
  {
    name: 'BIND_HOST',
    default: undefined,
    description: 'Listen address; overrides ENV',
    accepted: 'an IPv4 or IPv6 address',
    schema: z
      .string()
      .trim()
      .refine((s) => isIP(s) !== 0),
  },
  {
    name: 'METRICS_TOKEN',
    default: undefined,
    description:
      'When set, /metrics, /debug and the other data endpoints require `Authorization: Bearer <token>`; probe endpoints stay open',
    accepted: 'a token of at least 16 characters',
    secret: true,
    schema: z.string().trim().min(16),
  },
  {
    name: 'RATE_LIMIT_RPS',
    default: '10',
    description:
      'Requests per second allowed per client address without valid credentials; requests with a valid token, basic auth or client certificate and the open probe routes are not limited; 0 turns the limit off',
    accepted: 'a number from 0 to 100000',
    schema: z
      .string()
      .regex(/^\s*\d+(\.\d+)?\s*$/)
      .transform(Number)
      .pipe(z.number().min(0).max(100_000)),
  },
  {
    name: 'RATE_LIMIT_BURST',
    default: '20',
    description: 'Requests a client may make at once before the rate limit applies',
    accepted: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
  },
  {
    name: 'WEB_CONFIG_FILE',
    default: undefined,
    description:
      "exporter-toolkit web config file (TLS, client certificates, basic auth, headers), as node_exporter's --web.config.file; re-read when it or a certificate changes",
    accepted: 'a readable YAML file path',
    schema: nonEmpty,
  },
  {
    name: 'HTTP_MAX_CONNECTIONS',
    default: '1024',
    description: 'Open connections accepted at once; more are closed unanswered',
    accepted: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
  },
  {
    name: 'HTTP_MAX_CONNECTIONS_PER_ADDRESS',
    default: '128',
    description: 'Open connections accepted at once from one client address',
    accepted: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
  },
  {
    name: 'HTTP_MAX_REQUESTS_IN_FLIGHT',
    default: '40',
    description:
      "Requests handled at once (as exporter-toolkit's --web.max-requests); more are answered 503; /metrics (answered from memory) and the open probe routes are not counted",
    accepted: 'an integer from 1 to 100000',
    schema: int(1, 100_000),
  },
  {
    name: 'HTTP_HEADER_TIMEOUT',
    default: '5s',
    description:
      'A connection must send its request headers within this (TLS handshake included); silent connections are closed',
    accepted: 'a duration between 100ms and 5m, e.g. 5s',
    schema: duration(100, 300_000),
  },
  {
    name: 'HTTP_IDLE_TIMEOUT',
    default: '5s',
    description: 'Idle keep-alive connections are closed after this',
    accepted: 'a duration between 100ms and 5m, e.g. 5s',
    schema: duration(100, 300_000),
  },
  {
    name: 'DEBUG_ENDPOINT',
    default: 'true',
    description: 'Serve /debug (redacted config and refresh history)',
    accepted: 'true or false',
    schema: bool,
  },
  // tsnet
  {
    name: 'USE_TSNET',
    default: 'false',
    description: 'Join the tailnet as a node of its own (tsnet mode)',
    accepted: 'true or false',
    schema: bool,
  },
  {
    name: 'TSNET_HOSTNAME',
    default: 'tsmetrics',
    description: "Host name of the exporter's node in tsnet mode",
    accepted: 'a DNS label (letters, digits, -)',
    schema: hostname,
  },
  {
    name: 'TSNET_STATE_DIR',
    default: '/tmp/tsnet-tsmetrics',
    description: 'State directory of the tsnet node',
    accepted: 'a directory path',
    schema: nonEmpty,
  },
  {
    name: 'TSNET_TAGS',
    default: undefined,
    description:
      'Tags the tsnet node advertises (tailscale up --advertise-tags); with REQUIRE_EXPORTER_TAG it must carry all of them',
    accepted: 'comma-separated tags, e.g. exporter,prometheus',
    schema: tagList,
  },
  {
    name: 'TSNET_STATE_SECRET',
    default: undefined,
    description:
      'Kubernetes Secret holding the tsnet node state instead of a file in TSNET_STATE_DIR (tailscaled --state=kube:<name>)',
    accepted: 'a Secret name (lower-case letters, digits, -, .)',
    schema: z
      .string()
      .trim()
      .regex(/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/),
  },
  {
    name: 'TAILSCALED_PATH',
    default: undefined,
    description: 'tailscaled binary for tsnet mode; else found in PATH',
    accepted: 'a path to an executable',
    schema: nonEmpty,
  },
  {
    name: 'TAILSCALE_PATH',
    default: undefined,
    description: 'tailscale CLI binary for tsnet mode; else found in PATH',
    accepted: 'a path to an executable',
    schema: nonEmpty,
  },
  {
    name: 'TS_AUTHKEY',
    default: undefined,
    description: 'Auth key that registers the tsnet node',
    accepted: 'a non-empty key (issued as tskey-auth-...; not checked)',
    secret: true,
    schema: nonEmpty,
  },
  // Which devices are scraped
  {
    name: 'SCRAPE_TAG',
    default: 'exporter',
    description: 'Tag that marks devices whose client metrics are scraped',
    accepted: 'a tag name, with or without tag:',
    schema: z
      .string()
      .trim()
      .min(1)
      .transform((t) => (t.startsWith('tag:') ? t : `tag:${t}`))
      .pipe(z.string().regex(/^tag:[A-Za-z0-9][A-Za-z0-9_-]*$/)),
  },
  {
    name: 'REQUIRE_EXPORTER_TAG',
    default: 'false',
    description:
      "Scrape only devices carrying SCRAPE_TAG; when false, untagged devices named in TARGET_DEVICES are scraped too; in tsnet mode the exporter's own node must also carry TSNET_TAGS (tag:exporter when unset)",
    accepted: 'true or false',
    schema: bool,
  },
  {
    name: 'TARGET_DEVICES',
    default: undefined,
    description: 'Only these devices (names, `*` globs) are scraped',
    accepted: 'comma-separated names or globs, e.g. gateway-*,db-1',
    schema: nameGlobs,
  },
  {
    name: 'EXCLUDE_DEVICES',
    default: undefined,
    description: 'Devices (names, `*` globs) never scraped',
    accepted: 'comma-separated names or globs',
    schema: nameGlobs,
  },
  {
    name: 'DEVICE_TAGS',
    default: undefined,
    description: 'Only devices carrying one of these tags are scraped',
    accepted: 'comma-separated tags, e.g. prod,tag:critical',
    schema: tagList,
  },
  {
    name: 'SCRAPE_ALLOWED_CIDRS',
    default: '100.64.0.0/10,fd7a:115c:a1e0::/48',
    description: 'Device addresses outside these ranges are never dialled',
    accepted: 'comma-separated CIDRs',
    schema: cidrList,
  },
  {
    name: 'TEST_DEVICES',
    default: undefined,
    description: 'Start on the built-in simulated tailnet with these devices (no credentials needed)',
    accepted: 'comma-separated host names',
    schema: list.pipe(z.array(hostname).min(1)),
  },
  // Collectors
  {
    name: 'COLLECTORS',
    default: 'all',
    description:
      'Collectors turned on; each needs its OAuth scope (see Collectors and OAuth scopes); `all` is every collector but the opt-in service_hosts (an API call per service), flowlogs and audit (see Flow logs and the audit log), which may be named next to it (`all,service_hosts,flowlogs`)',
    accepted:
      'all, or a comma-separated subset of devices, client_metrics, users, keys, settings, dns, services, policy, logstream, posture_integrations, service_hosts, webhooks, flowlogs, audit (Tailscale), preauthkeys, apikeys (Headscale), optionally with all',
    schema: collectorList,
  },
  {
    name: 'INVENTORY_INTERVAL',
    default: '5m',
    description:
      'Interval at which users, keys, settings, DNS, services, the policy and the integration health (log streaming, posture integrations, service hosts, webhooks) are fetched (devices follow SCRAPE_INTERVAL)',
    accepted: 'a duration between 1m and 24h, e.g. 5m',
    schema: duration(60_000, 86_400_000),
  },
  // Flow logs and audit log (opt-in collectors flowlogs and audit)
  {
    name: 'FLOW_LOGS_INTERVAL',
    default: '1m',
    description: 'Interval at which the flowlogs collector reads network flow logs',
    accepted: 'a duration between 1s and 1h, e.g. 1m',
    schema: duration(1000, 3_600_000),
  },
  {
    name: 'FLOW_LOGS_LAG',
    default: '2m',
    description: 'How far behind now each flow-log window ends: records arrive minutes after their start',
    accepted: 'a duration between 0s and 1h, e.g. 2m',
    schema: duration(0, 3_600_000),
  },
  {
    name: 'FLOW_LOGS_LOOKBACK',
    default: '5m',
    description:
      'Length of each flow-log window: windows overlap by this much, so late records are still read (each counted once)',
    accepted: 'a duration between 10s and 1h, e.g. 5m',
    schema: duration(10_000, 3_600_000),
  },
  {
    name: 'FLOW_LOGS_PAIRS',
    default: '0',
    description:
      'Device-to-device pairs exported per flow-log window (top N by bytes, the rest as `other`); 0 turns the pair family off',
    accepted: 'an integer from 0 to 1000',
    schema: int(0, 1000),
  },
  {
    name: 'AUDIT_LOG_INTERVAL',
    default: '1m',
    description: 'Interval at which the audit collector reads the configuration audit log',
    accepted: 'a duration between 1s and 1h, e.g. 1m',
    schema: duration(1000, 3_600_000),
  },
  {
    name: 'AUDIT_LOG_LAG',
    default: '2m',
    description: 'How far behind now each audit-log window ends',
    accepted: 'a duration between 0s and 1h, e.g. 2m',
    schema: duration(0, 3_600_000),
  },
  {
    name: 'AUDIT_LOG_LOOKBACK',
    default: '5m',
    description: 'Length of each audit-log window (overlapping, each event counted once)',
    accepted: 'a duration between 10s and 1h, e.g. 5m',
    schema: duration(10_000, 3_600_000),
  },
  // Scaling out
  {
    name: 'SHARD_COUNT',
    default: '1',
    description: 'Number of replicas that split the device scrapes between them',
    accepted: 'an integer from 1 to 1000',
    schema: int(1, 1000),
  },
  {
    name: 'SHARD_INDEX',
    default: 'auto',
    description:
      "This replica's share, 0 to SHARD_COUNT-1; `auto` takes the StatefulSet ordinal from the host name (tsmetrics-2 -> 2), or 0 when SHARD_COUNT is 1",
    accepted: 'auto or an integer from 0 to 999',
    schema: z
      .string()
      .trim()
      .regex(/^(auto|\d{1,3})$/),
  },
  {
    name: 'SHARD_API_METRICS',
    default: 'first',
    description: 'Which replicas export the API device metrics: `first` (shard 0 only, no duplicates) or `all`',
    accepted: 'first or all',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['first', 'all'])),
  },
  // Device client metrics
  {
    name: 'CLIENT_METRICS_PORT',
    default: '5252',
    description: "Port of the devices' client metrics (web client)",
    accepted: 'a port number 1-65535',
    schema: int(1, 65535),
  },
  {
    name: 'CLIENT_METRICS_TIMEOUT',
    default: '10s',
    description: 'Deadline of one device scrape, connect to the last byte of the answer',
    accepted: 'a duration between 100ms and 5m, e.g. 10s',
    schema: duration(100, 300_000),
  },
  {
    name: 'CLIENT_METRICS_MAX_BYTES',
    default: '10485760',
    description: 'Largest device response accepted, in bytes',
    accepted: 'an integer from 1024 to 1073741824',
    schema: int(1024, 1 << 30),
  },
  {
    name: 'CLIENT_METRICS_MAX_SERIES',
    default: '10000',
    description: 'Most series accepted from one device',
    accepted: 'an integer from 1 to 1000000',
    schema: int(1, 1_000_000),
  },
  {
    name: 'MAX_CONCURRENT_SCRAPES',
    default: '10',
    description: 'Device scrapes in flight at once',
    accepted: 'an integer from 1 to 1000',
    schema: int(1, 1000),
  },
  {
    name: 'SCRAPE_INTERVAL',
    default: '30s',
    description: 'Interval of the refresh cycle (API and device scrapes)',
    accepted: 'a duration between 1s and 1h, e.g. 30s',
    schema: duration(1000, 3_600_000),
  },
  // Inventory policy and privacy
  {
    name: 'DEVICE_LABELS_FROM_TAGS',
    default: undefined,
    description:
      'Labels derived from tags and added to tailscale_device_info: `label=regex` pairs, the first capture group of the first matching tag is the value',
    accepted:
      'comma-separated label=regex pairs with one capture group each, e.g. team=tag:team-(.+),env=tag:(prod|staging); labels other than device_id, device_name, online, os, version',
    schema: labelsFromTags,
  },
  {
    name: 'MIN_CLIENT_VERSION',
    default: undefined,
    description: 'Oldest acceptable Tailscale client version, for tailscale_device_client_version_below_minimum',
    accepted: 'a version such as 1.80.0',
    schema: version,
  },
  {
    name: 'EXPECTED_DEVICES_FILE',
    default: undefined,
    description: 'YAML file of expected devices (selectors with minimum counts); re-read on SIGHUP',
    accepted: 'a readable YAML file path',
    schema: nonEmpty,
  },
  {
    name: 'REDACT_USER_EMAILS',
    default: 'false',
    description: 'Replace user e-mail addresses and login names in labels by a stable keyed hash',
    accepted: 'true or false (true needs REDACT_KEY)',
    schema: bool,
  },
  {
    name: 'REDACT_KEY',
    default: undefined,
    description: 'Key of the hash used by REDACT_USER_EMAILS',
    accepted: 'a key of at least 16 characters',
    secret: true,
    schema: z.string().trim().min(16),
  },
  // Logging
  {
    name: 'LOG_LEVEL',
    default: 'info',
    description:
      'Log level; `debug` adds a line per API request (path, duration, outcome), per device and cycle (selection state and scrape outcome) and per cycle, never a secret',
    accepted: 'debug, info, warn or error',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['debug', 'info', 'warn', 'error'])),
  },
  {
    name: 'LOG_FORMAT',
    default: 'text',
    description: 'Log format',
    accepted: 'text or json',
    schema: z
      .string()
      .trim()
      .toLowerCase()
      .pipe(z.enum(['text', 'json'])),
  },
] as const satisfies readonly VariableSpec[];

/** The table, for code that reads any variable's spec (names, defaults, accepted values, secrets). */
export const VARIABLES: readonly VariableSpec[] = TABLE;

/** Each entry keeps its literal name and its schema's own type (`as const`), which VariableValues reads. */
type Variable = (typeof TABLE)[number];

/** Arrays from a list variable are shared by the frozen config: read-only to its users. */
type ReadonlyArrays<T> = T extends ReadonlyArray<infer U> ? readonly U[] : T;

/**
 * Each variable's parsed value, typed by its schema in the table above: a variable with a default always has
 * a value, one without may be undefined. The table is the only place a variable's type is written.
 */
export type VariableValues = {
  readonly [V in Variable as V['name']]: V['default'] extends string
    ? ReadonlyArrays<z.output<V['schema']>>
    : ReadonlyArrays<z.output<V['schema']>> | undefined;
};

export const SECRET_VARIABLES: readonly string[] = VARIABLES.filter((v) => v.secret === true).map((v) => v.name);
