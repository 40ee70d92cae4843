import { ConfigError } from '../errors.js';
import { readExpectedDevicesFile, type ExpectedDevices } from './expected-devices.js';
import {
  BACKEND_COLLECTORS,
  OPT_IN_COLLECTORS,
  SECRET_VARIABLES,
  VARIABLES,
  type CollectorName,
  type VariableSpec,
} from './schema.js';
import { loadWebConfig, type WebConfig } from './web-config.js';

type ApiAuth =
  | { readonly kind: 'oauth'; readonly clientId: string; readonly clientSecret: string }
  /** Workload identity federation: the ID token file is re-read for every exchange. */
  | { readonly kind: 'federated'; readonly clientId: string; readonly idTokenFile: string }
  | { readonly kind: 'api-key'; readonly apiKey: string };

interface HeadscaleConfig {
  readonly url: string;
  readonly apiKey: string;
  /** PEM text of a private CA, read from HEADSCALE_CA_FILE. */
  readonly ca: string | undefined;
}

export interface Config {
  readonly backend: 'tailscale' | 'headscale';
  /** Set when backend is headscale. */
  readonly headscale: HeadscaleConfig | undefined;
  /** Undefined only in simulator mode, where the simulator supplies credentials at start. */
  readonly auth: ApiAuth | undefined;
  readonly tailnet: string;
  readonly apiUrl: string;
  readonly apiTimeoutMs: number;
  readonly listenHost: string;
  readonly port: number;
  readonly env: string;
  readonly debugEndpoint: boolean;
  readonly metricsToken: string | undefined;
  readonly rateLimit: { readonly perSecond: number; readonly burst: number };
  /** WEB_CONFIG_FILE, read and checked (certificates included); undefined = plain HTTP, no basic auth. */
  readonly webConfig: WebConfig | undefined;
  readonly http: {
    readonly maxConnections: number;
    readonly maxConnectionsPerAddress: number;
    readonly maxRequestsInFlight: number;
    readonly headerTimeoutMs: number;
    readonly idleTimeoutMs: number;
  };
  readonly tsnet: {
    readonly enabled: boolean;
    readonly hostname: string;
    readonly stateDir: string;
    readonly tags: readonly string[];
    readonly authKey: string | undefined;
    readonly stateSecret: string | undefined;
    readonly tailscaledPath: string | undefined;
    readonly tailscalePath: string | undefined;
  };
  readonly scrapeTag: string;
  readonly requireExporterTag: boolean;
  readonly targetDevices: readonly string[];
  readonly excludeDevices: readonly string[];
  readonly deviceTags: readonly string[];
  readonly scrapeAllowedCidrs: readonly string[];
  readonly clientMetrics: {
    readonly port: number;
    readonly timeoutMs: number;
    readonly maxBytes: number;
    readonly maxSeries: number;
  };
  readonly maxConcurrentScrapes: number;
  readonly collectors: readonly string[];
  readonly inventoryIntervalMs: number;
  /** The opt-in log collectors' polling: each window is [now - lag - lookback, now - lag]. */
  readonly logs: {
    readonly flow: LogPolling & { readonly pairs: number };
    readonly audit: LogPolling;
  };
  readonly shard: { readonly index: number; readonly count: number; readonly apiMetrics: 'first' | 'all' };
  readonly scrapeIntervalMs: number;
  readonly labelsFromTags: ReadonlyArray<{ readonly label: string; readonly pattern: RegExp }>;
  readonly minClientVersion: string | undefined;
  readonly expectedDevicesFile: string | undefined;
  /** EXPECTED_DEVICES_FILE as read and validated at load time; SIGHUP re-reads the file. */
  readonly expectedDevices: ExpectedDevices | undefined;
  /** Key for REDACT_USER_EMAILS; undefined = e-mail addresses are exported as they are. */
  readonly redactKey: string | undefined;
  readonly log: { readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly format: 'text' | 'json' };
  /** Simulated tailnet instead of the real API: `demo` scenario, or the TEST_DEVICES names. */
  readonly simulator: { readonly scenario: 'demo' } | { readonly names: readonly string[] } | undefined;
}

export interface LogPolling {
  readonly intervalMs: number;
  readonly lagMs: number;
  readonly lookbackMs: number;
}

export interface LoadOptions {
  /** `--demo`: run on the built-in simulated tailnet. */
  readonly demo?: boolean;
  readonly readFile?: (path: string) => string;
}

type Env = Readonly<Record<string, string | undefined>>;

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
      const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
      throw new ConfigError(
        `${spec.name}_FILE=${JSON.stringify(filePath)}: cannot read the file (${code}); expected a readable file holding ${spec.accepted}`,
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

/** Parses every variable; the first bad one throws a one-line ConfigError. */
export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const readFile =
    options.readFile ??
    ((p: string) => {
      throw Object.assign(new Error('no file reader'), { code: 'ENOENT', path: p });
    });
  const v: Record<string, unknown> = {};
  for (const spec of VARIABLES) {
    const raw = rawValue(env, spec, readFile) ?? spec.default;
    if (raw === undefined) continue;
    const parsed = spec.schema.safeParse(raw);
    if (!parsed.success) {
      throw new ConfigError(`${spec.name}=${shown(spec, raw)} is invalid: expected ${spec.accepted}`);
    }
    v[spec.name] = parsed.data;
  }
  const get = <T>(name: string): T => v[name] as T;

  const apiKey = get<string | undefined>('TAILSCALE_API_KEY') ?? get<string | undefined>('OAUTH_TOKEN');
  const clientId = get<string | undefined>('OAUTH_CLIENT_ID');
  const clientSecret = get<string | undefined>('OAUTH_CLIENT_SECRET');
  const idTokenFile = get<string | undefined>('OAUTH_ID_TOKEN_FILE');
  const testDevices = get<string[] | undefined>('TEST_DEVICES');
  const simulator =
    options.demo === true ? { scenario: 'demo' as const } : testDevices ? { names: testDevices } : undefined;

  const backend = get<'tailscale' | 'headscale'>('BACKEND');
  if (testDevices !== undefined) {
    // A .env migrated from the Go exporter can carry both: serving a fake tailnet to production dashboards
    // would be silent, so the combination is refused.
    const credential = [
      'OAUTH_CLIENT_ID',
      'OAUTH_CLIENT_SECRET',
      'OAUTH_ID_TOKEN_FILE',
      'TAILSCALE_API_KEY',
      'OAUTH_TOKEN',
      'HEADSCALE_URL',
      'HEADSCALE_API_KEY',
    ].find((name) => v[name] !== undefined);
    if (credential !== undefined) {
      throw new ConfigError(
        `TEST_DEVICES and ${credential} are both set: TEST_DEVICES runs the built-in simulated tailnet and would ignore the real credentials; unset TEST_DEVICES to monitor your tailnet, or unset ${credential} to run the simulator`,
      );
    }
  }
  let headscale: HeadscaleConfig | undefined;
  if (backend === 'headscale') {
    const url = get<string | undefined>('HEADSCALE_URL');
    const key = get<string | undefined>('HEADSCALE_API_KEY');
    if (simulator === undefined && (url === undefined || key === undefined)) {
      throw new ConfigError(
        `${url === undefined ? 'HEADSCALE_URL' : 'HEADSCALE_API_KEY'} is not set: BACKEND=headscale needs HEADSCALE_URL and HEADSCALE_API_KEY (or HEADSCALE_API_KEY_FILE)`,
      );
    }
    const caFile = get<string | undefined>('HEADSCALE_CA_FILE');
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFile(caFile);
      } catch (err) {
        throw new ConfigError(
          `HEADSCALE_CA_FILE=${JSON.stringify(caFile)}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); expected a PEM file`,
        );
      }
      if (!ca.includes('-----BEGIN CERTIFICATE-----'))
        throw new ConfigError(
          `HEADSCALE_CA_FILE=${JSON.stringify(caFile)} is invalid: expected a PEM file with a certificate`,
        );
    }
    // In simulator mode the simulated Headscale supplies the URL and key at start.
    headscale = simulator === undefined ? { url: url!, apiKey: key!, ca } : undefined;
  }

  let auth: ApiAuth | undefined;
  if (get('TAILSCALE_API_KEY') !== undefined && get('OAUTH_TOKEN') !== undefined) {
    throw new ConfigError('TAILSCALE_API_KEY and OAUTH_TOKEN are both set: they are the same setting, set only one');
  }
  if (apiKey !== undefined && (clientId !== undefined || clientSecret !== undefined || idTokenFile !== undefined)) {
    throw new ConfigError(
      'TAILSCALE_API_KEY and OAUTH_CLIENT_ID/OAUTH_CLIENT_SECRET/OAUTH_ID_TOKEN_FILE are both set: choose one way to authenticate',
    );
  }
  if (clientSecret !== undefined && idTokenFile !== undefined) {
    throw new ConfigError(
      'OAUTH_CLIENT_SECRET and OAUTH_ID_TOKEN_FILE are both set: choose one credential for OAUTH_CLIENT_ID (a client secret, or an ID token for workload identity federation)',
    );
  }
  if (apiKey !== undefined) auth = { kind: 'api-key', apiKey };
  else if (clientId !== undefined && clientSecret !== undefined) auth = { kind: 'oauth', clientId, clientSecret };
  else if (clientId !== undefined && idTokenFile !== undefined) {
    checkIdTokenFile(idTokenFile, readFile);
    auth = { kind: 'federated', clientId, idTokenFile };
  } else if (clientId !== undefined || clientSecret !== undefined || idTokenFile !== undefined) {
    const missing = clientId === undefined ? 'OAUTH_CLIENT_ID' : 'OAUTH_CLIENT_SECRET';
    throw new ConfigError(
      `${missing} is not set: OAuth needs OAUTH_CLIENT_ID with OAUTH_CLIENT_SECRET, or OAUTH_CLIENT_ID with OAUTH_ID_TOKEN_FILE (workload identity federation), or use TAILSCALE_API_KEY`,
    );
  } else if (simulator === undefined && backend === 'tailscale') {
    throw new ConfigError(
      'no Tailscale credentials: set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_ID_TOKEN_FILE, or TAILSCALE_API_KEY), ' +
        'or try the built-in simulated tailnet with `npm run demo` (or TEST_DEVICES=gateway-1,gateway-2)',
    );
  }

  const useTsnet = get<boolean>('USE_TSNET');
  if (useTsnet && simulator !== undefined) {
    throw new ConfigError(
      'USE_TSNET=true cannot be combined with --demo or TEST_DEVICES: the simulated tailnet is on loopback, not in a tailnet',
    );
  }

  const shardCount = get<number>('SHARD_COUNT');
  const shardIndexText = get<string>('SHARD_INDEX');
  let shardIndex: number;
  if (shardIndexText !== 'auto') shardIndex = Number(shardIndexText);
  else if (shardCount === 1) shardIndex = 0;
  else {
    const host = env.POD_NAME ?? env.HOSTNAME ?? '';
    const ordinal = ordinalFromHostname(host);
    if (ordinal === undefined) {
      throw new ConfigError(
        `SHARD_INDEX=auto cannot read an ordinal from the host name ${JSON.stringify(host)}: set SHARD_INDEX to 0..${shardCount - 1} or run as a StatefulSet (name-N)`,
      );
    }
    shardIndex = ordinal;
  }
  if (shardIndex >= shardCount) {
    throw new ConfigError(
      `SHARD_INDEX=${shardIndex} is invalid: expected an index from 0 to ${shardCount - 1} (SHARD_COUNT=${shardCount})`,
    );
  }

  const redact = get<boolean>('REDACT_USER_EMAILS');
  const redactKey = get<string | undefined>('REDACT_KEY');
  if (redact && redactKey === undefined) {
    throw new ConfigError(
      'REDACT_USER_EMAILS=true needs REDACT_KEY (or REDACT_KEY_FILE): a secret of at least 16 characters that keys the hash',
    );
  }

  const supported: readonly string[] = BACKEND_COLLECTORS[backend];
  const named = get<string[]>('COLLECTORS');
  const explicit = named.filter((c) => c !== 'all');
  const foreign = explicit.filter((c) => !supported.includes(c));
  if (foreign.length > 0) {
    throw new ConfigError(
      `COLLECTORS=${JSON.stringify(named.join(','))} is invalid with BACKEND=${backend}: ${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not available there; expected all, or a subset of ${supported.join(', ')}`,
    );
  }
  // `all` is every collector of the backend but the opt-in ones, which may be named next to it.
  const everyDefault = named.includes('all') ? supported.filter((c) => !OPT_IN_COLLECTORS.has(c as CollectorName)) : [];
  const collectors = [...new Set([...everyDefault, ...explicit])];

  const expectedFile = get<string | undefined>('EXPECTED_DEVICES_FILE');
  const envName = get<string>('ENV');
  const bindHost = get<string | undefined>('BIND_HOST');
  const listenHost = bindHost ?? (envName === 'production' || envName === 'prod' ? '0.0.0.0' : '127.0.0.1');

  const webConfigFile = get<string | undefined>('WEB_CONFIG_FILE');
  const webConfig = webConfigFile === undefined ? undefined : loadWebConfig(webConfigFile, readFile);

  const config: Config = {
    backend,
    headscale,
    auth: simulator === undefined ? auth : undefined,
    tailnet: get('TAILNET_NAME'),
    apiUrl: get('TAILSCALE_API_URL'),
    apiTimeoutMs: get('API_TIMEOUT'),
    listenHost,
    port: get('PORT'),
    env: envName,
    debugEndpoint: get('DEBUG_ENDPOINT'),
    metricsToken: get('METRICS_TOKEN'),
    rateLimit: { perSecond: get('RATE_LIMIT_RPS'), burst: get('RATE_LIMIT_BURST') },
    webConfig,
    http: {
      maxConnections: get('HTTP_MAX_CONNECTIONS'),
      maxConnectionsPerAddress: get('HTTP_MAX_CONNECTIONS_PER_ADDRESS'),
      maxRequestsInFlight: get('HTTP_MAX_REQUESTS_IN_FLIGHT'),
      headerTimeoutMs: get('HTTP_HEADER_TIMEOUT'),
      idleTimeoutMs: get('HTTP_IDLE_TIMEOUT'),
    },
    tsnet: {
      enabled: useTsnet,
      hostname: get('TSNET_HOSTNAME'),
      stateDir: get('TSNET_STATE_DIR'),
      tags: get<string[] | undefined>('TSNET_TAGS') ?? [],
      authKey: get('TS_AUTHKEY'),
      stateSecret: get('TSNET_STATE_SECRET'),
      tailscaledPath: get('TAILSCALED_PATH'),
      tailscalePath: get('TAILSCALE_PATH'),
    },
    scrapeTag: get('SCRAPE_TAG'),
    requireExporterTag: get('REQUIRE_EXPORTER_TAG'),
    targetDevices: get<string[] | undefined>('TARGET_DEVICES') ?? [],
    excludeDevices: get<string[] | undefined>('EXCLUDE_DEVICES') ?? [],
    deviceTags: get<string[] | undefined>('DEVICE_TAGS') ?? [],
    scrapeAllowedCidrs: get('SCRAPE_ALLOWED_CIDRS'),
    clientMetrics: {
      port: get('CLIENT_METRICS_PORT'),
      timeoutMs: get('CLIENT_METRICS_TIMEOUT'),
      maxBytes: get('CLIENT_METRICS_MAX_BYTES'),
      maxSeries: get('CLIENT_METRICS_MAX_SERIES'),
    },
    maxConcurrentScrapes: get('MAX_CONCURRENT_SCRAPES'),
    collectors,
    inventoryIntervalMs: get('INVENTORY_INTERVAL'),
    logs: {
      flow: {
        intervalMs: get('FLOW_LOGS_INTERVAL'),
        lagMs: get('FLOW_LOGS_LAG'),
        lookbackMs: get('FLOW_LOGS_LOOKBACK'),
        pairs: get('FLOW_LOGS_PAIRS'),
      },
      audit: {
        intervalMs: get('AUDIT_LOG_INTERVAL'),
        lagMs: get('AUDIT_LOG_LAG'),
        lookbackMs: get('AUDIT_LOG_LOOKBACK'),
      },
    },
    shard: { index: shardIndex, count: shardCount, apiMetrics: get('SHARD_API_METRICS') },
    scrapeIntervalMs: get('SCRAPE_INTERVAL'),
    labelsFromTags: get<Array<{ label: string; pattern: RegExp }> | undefined>('DEVICE_LABELS_FROM_TAGS') ?? [],
    minClientVersion: get('MIN_CLIENT_VERSION'),
    expectedDevicesFile: get('EXPECTED_DEVICES_FILE'),
    expectedDevices: expectedFile === undefined ? undefined : readExpectedDevicesFile(expectedFile, readFile),
    redactKey: redact ? redactKey : undefined,
    log: { level: get('LOG_LEVEL'), format: get('LOG_FORMAT') },
    simulator,
  };
  return deepFreeze(config);
}

/**
 * The ID token file must be readable and hold a JWT at start (a wrong path is a configuration error, exit 2);
 * it is re-read for every exchange later. Its content is never printed.
 */
function checkIdTokenFile(path: string, readFile: (p: string) => string): void {
  let text: string;
  try {
    text = readFile(path).trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new ConfigError(
      `OAUTH_ID_TOKEN_FILE=${JSON.stringify(path)}: cannot read the file (${code}); expected a readable file holding an OIDC ID token (JWT)`,
    );
  }
  if (!/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(text)) {
    throw new ConfigError(
      `OAUTH_ID_TOKEN_FILE=${JSON.stringify(path)} is invalid: expected a file holding an OIDC ID token (a JWT: three base64url parts separated by dots)`,
    );
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/** The StatefulSet ordinal at the end of a pod name: `tsmetrics-2` -> 2. */
function ordinalFromHostname(hostname: string): number | undefined {
  const m = /-(\d+)$/.exec(hostname);
  return m === null ? undefined : Number(m[1]);
}
