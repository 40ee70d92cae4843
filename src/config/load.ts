import { ConfigError, errorCode } from '../errors.js';
import { readExpectedDevicesFile, type ExpectedDevices } from './expected-devices.js';
import { BACKEND_INFO, backendCollectors } from './backends.js';
import { OPT_IN_COLLECTORS, type CollectorName, type VariableValues } from './schema.js';
import { readVariables, type Env } from './variables.js';
import { loadWebConfig, type WebConfig } from './web-config.js';

// The app's view of the variables. Each field's type is its variable's, as the schema table parses it
// (V['NAME']): the table is the one place a type is written, and this file only arranges values.
type V = VariableValues;

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
  readonly backend: V['BACKEND'];
  /** Set when backend is headscale. */
  readonly headscale: HeadscaleConfig | undefined;
  /** Undefined only in simulator mode, where the simulator supplies credentials at start. */
  readonly auth: ApiAuth | undefined;
  readonly tailnet: V['TAILNET_NAME'];
  readonly apiUrl: V['TAILSCALE_API_URL'];
  readonly apiTimeoutMs: V['API_TIMEOUT'];
  /** BIND_HOST, or the address ENV chooses. */
  readonly listenHost: string;
  readonly port: V['PORT'];
  readonly env: V['ENV'];
  readonly debugEndpoint: V['DEBUG_ENDPOINT'];
  readonly metricsToken: V['METRICS_TOKEN'];
  readonly rateLimit: { readonly perSecond: V['RATE_LIMIT_RPS']; readonly burst: V['RATE_LIMIT_BURST'] };
  /** WEB_CONFIG_FILE, read and checked (certificates included); undefined = plain HTTP, no basic auth. */
  readonly webConfig: WebConfig | undefined;
  readonly http: {
    readonly maxConnections: V['HTTP_MAX_CONNECTIONS'];
    readonly maxConnectionsPerAddress: V['HTTP_MAX_CONNECTIONS_PER_ADDRESS'];
    readonly maxRequestsInFlight: V['HTTP_MAX_REQUESTS_IN_FLIGHT'];
    readonly headerTimeoutMs: V['HTTP_HEADER_TIMEOUT'];
    readonly idleTimeoutMs: V['HTTP_IDLE_TIMEOUT'];
  };
  readonly tsnet: {
    readonly enabled: V['USE_TSNET'];
    readonly hostname: V['TSNET_HOSTNAME'];
    readonly stateDir: V['TSNET_STATE_DIR'];
    readonly tags: NonNullable<V['TSNET_TAGS']>;
    readonly authKey: V['TS_AUTHKEY'];
    readonly stateSecret: V['TSNET_STATE_SECRET'];
    readonly tailscaledPath: V['TAILSCALED_PATH'];
    readonly tailscalePath: V['TAILSCALE_PATH'];
  };
  readonly scrapeTag: V['SCRAPE_TAG'];
  readonly requireExporterTag: V['REQUIRE_EXPORTER_TAG'];
  readonly targetDevices: NonNullable<V['TARGET_DEVICES']>;
  readonly excludeDevices: NonNullable<V['EXCLUDE_DEVICES']>;
  readonly deviceTags: NonNullable<V['DEVICE_TAGS']>;
  readonly scrapeAllowedCidrs: V['SCRAPE_ALLOWED_CIDRS'];
  readonly clientMetrics: {
    readonly port: V['CLIENT_METRICS_PORT'];
    readonly timeoutMs: V['CLIENT_METRICS_TIMEOUT'];
    readonly maxBytes: V['CLIENT_METRICS_MAX_BYTES'];
    readonly maxSeries: V['CLIENT_METRICS_MAX_SERIES'];
  };
  readonly maxConcurrentScrapes: V['MAX_CONCURRENT_SCRAPES'];
  /** COLLECTORS with `all` expanded for the backend. */
  readonly collectors: readonly string[];
  readonly inventoryIntervalMs: V['INVENTORY_INTERVAL'];
  /** The opt-in log collectors' polling: each window is [now - lag - lookback, now - lag]. */
  readonly logs: {
    readonly flow: LogPolling & { readonly pairs: V['FLOW_LOGS_PAIRS'] };
    readonly audit: LogPolling;
  };
  readonly shard: {
    /** SHARD_INDEX, `auto` resolved. */
    readonly index: number;
    readonly count: V['SHARD_COUNT'];
    readonly apiMetrics: V['SHARD_API_METRICS'];
  };
  readonly scrapeIntervalMs: V['SCRAPE_INTERVAL'];
  readonly labelsFromTags: NonNullable<V['DEVICE_LABELS_FROM_TAGS']>;
  readonly minClientVersion: V['MIN_CLIENT_VERSION'];
  readonly expectedDevicesFile: V['EXPECTED_DEVICES_FILE'];
  /** EXPECTED_DEVICES_FILE as read and validated at load time; SIGHUP re-reads the file. */
  readonly expectedDevices: ExpectedDevices | undefined;
  /** Key for REDACT_USER_EMAILS; undefined = e-mail addresses are exported as they are. */
  readonly redactKey: V['REDACT_KEY'];
  readonly log: { readonly level: V['LOG_LEVEL']; readonly format: V['LOG_FORMAT'] };
  /** Simulated tailnet instead of the real API: `demo` scenario, or the TEST_DEVICES names. */
  readonly simulator: Simulator | undefined;
}

type Simulator = { readonly scenario: 'demo' } | { readonly names: NonNullable<V['TEST_DEVICES']> };

/** The flow-log and audit-log windows (FLOW_LOGS_* and AUDIT_LOG_* share their schemas). */
export interface LogPolling {
  readonly intervalMs: V['FLOW_LOGS_INTERVAL'];
  readonly lagMs: V['FLOW_LOGS_LAG'];
  readonly lookbackMs: V['FLOW_LOGS_LOOKBACK'];
}

export interface LoadOptions {
  /** `--demo`: run on the built-in simulated tailnet. */
  readonly demo?: boolean;
  readonly readFile?: (path: string) => string;
}

/** Parses every variable; the first bad one throws a one-line ConfigError. */
export function loadConfig(env: Env, options: LoadOptions = {}): Config {
  const readFile =
    options.readFile ??
    ((p: string) => {
      throw Object.assign(new Error('no file reader'), { code: 'ENOENT', path: p });
    });
  const v = readVariables(env, readFile);

  const apiKey = v.TAILSCALE_API_KEY ?? v.OAUTH_TOKEN;
  const clientId = v.OAUTH_CLIENT_ID;
  const clientSecret = v.OAUTH_CLIENT_SECRET;
  const idTokenFile = v.OAUTH_ID_TOKEN_FILE;
  const testDevices = v.TEST_DEVICES;
  const simulator: Simulator | undefined =
    options.demo === true ? { scenario: 'demo' } : testDevices ? { names: testDevices } : undefined;

  const backend = v.BACKEND;
  if (testDevices !== undefined) {
    // A .env migrated from the Go exporter can carry both: serving a fake tailnet to production dashboards
    // would be silent, so the combination is refused.
    const credential = (
      [
        'OAUTH_CLIENT_ID',
        'OAUTH_CLIENT_SECRET',
        'OAUTH_ID_TOKEN_FILE',
        'TAILSCALE_API_KEY',
        'OAUTH_TOKEN',
        'HEADSCALE_URL',
        'HEADSCALE_API_KEY',
      ] satisfies ReadonlyArray<keyof V>
    ).find((name) => v[name] !== undefined);
    if (credential !== undefined) {
      throw new ConfigError(
        `TEST_DEVICES and ${credential} are both set: TEST_DEVICES runs the built-in simulated tailnet and would ignore the real credentials; unset TEST_DEVICES to monitor your tailnet, or unset ${credential} to run the simulator`,
      );
    }
  }
  let headscale: HeadscaleConfig | undefined;
  if (BACKEND_INFO[backend].credential === 'headscale-api-key') {
    const url = v.HEADSCALE_URL;
    const key = v.HEADSCALE_API_KEY;
    if (simulator === undefined && (url === undefined || key === undefined)) {
      throw new ConfigError(
        `${url === undefined ? 'HEADSCALE_URL' : 'HEADSCALE_API_KEY'} is not set: BACKEND=headscale needs HEADSCALE_URL and HEADSCALE_API_KEY (or HEADSCALE_API_KEY_FILE)`,
      );
    }
    const caFile = v.HEADSCALE_CA_FILE;
    let ca: string | undefined;
    if (caFile !== undefined) {
      try {
        ca = readFile(caFile);
      } catch (err) {
        throw new ConfigError(
          `HEADSCALE_CA_FILE=${JSON.stringify(caFile)}: cannot read the file (${errorCode(err) ?? 'unreadable'}); expected a PEM file`,
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
  if (v.TAILSCALE_API_KEY !== undefined && v.OAUTH_TOKEN !== undefined) {
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
  } else if (simulator === undefined && BACKEND_INFO[backend].credential === 'tailscale') {
    throw new ConfigError(
      'no Tailscale credentials: set OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET (or OAUTH_ID_TOKEN_FILE, or TAILSCALE_API_KEY), ' +
        'or try the built-in simulated tailnet with `npm run demo` (or TEST_DEVICES=gateway-1,gateway-2)',
    );
  }

  const useTsnet = v.USE_TSNET;
  if (useTsnet && simulator !== undefined) {
    throw new ConfigError(
      'USE_TSNET=true cannot be combined with --demo or TEST_DEVICES: the simulated tailnet is on loopback, not in a tailnet',
    );
  }

  const shardCount = v.SHARD_COUNT;
  const shardIndexText = v.SHARD_INDEX;
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

  const redact = v.REDACT_USER_EMAILS;
  const redactKey = v.REDACT_KEY;
  if (redact && redactKey === undefined) {
    throw new ConfigError(
      'REDACT_USER_EMAILS=true needs REDACT_KEY (or REDACT_KEY_FILE): a secret of at least 16 characters that keys the hash',
    );
  }

  const supported = backendCollectors(backend);
  const named = v.COLLECTORS;
  const explicit = named.filter((c): c is CollectorName => c !== 'all');
  const foreign = explicit.filter((c) => !supported.includes(c));
  if (foreign.length > 0) {
    throw new ConfigError(
      `COLLECTORS=${JSON.stringify(named.join(','))} is invalid with BACKEND=${backend}: ${foreign.join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not available there; expected all, or a subset of ${supported.join(', ')}`,
    );
  }
  // `all` is every collector of the backend but the opt-in ones, which may be named next to it.
  const everyDefault = named.includes('all') ? supported.filter((c) => !OPT_IN_COLLECTORS.has(c)) : [];
  const collectors = [...new Set([...everyDefault, ...explicit])];

  const expectedFile = v.EXPECTED_DEVICES_FILE;
  const envName = v.ENV;
  const bindHost = v.BIND_HOST;
  const listenHost = bindHost ?? (envName === 'production' || envName === 'prod' ? '0.0.0.0' : '127.0.0.1');

  const webConfigFile = v.WEB_CONFIG_FILE;
  const webConfig = webConfigFile === undefined ? undefined : loadWebConfig(webConfigFile, readFile);

  const config: Config = {
    backend,
    headscale,
    auth: simulator === undefined ? auth : undefined,
    tailnet: v.TAILNET_NAME,
    apiUrl: v.TAILSCALE_API_URL,
    apiTimeoutMs: v.API_TIMEOUT,
    listenHost,
    port: v.PORT,
    env: envName,
    debugEndpoint: v.DEBUG_ENDPOINT,
    metricsToken: v.METRICS_TOKEN,
    rateLimit: { perSecond: v.RATE_LIMIT_RPS, burst: v.RATE_LIMIT_BURST },
    webConfig,
    http: {
      maxConnections: v.HTTP_MAX_CONNECTIONS,
      maxConnectionsPerAddress: v.HTTP_MAX_CONNECTIONS_PER_ADDRESS,
      maxRequestsInFlight: v.HTTP_MAX_REQUESTS_IN_FLIGHT,
      headerTimeoutMs: v.HTTP_HEADER_TIMEOUT,
      idleTimeoutMs: v.HTTP_IDLE_TIMEOUT,
    },
    tsnet: {
      enabled: useTsnet,
      hostname: v.TSNET_HOSTNAME,
      stateDir: v.TSNET_STATE_DIR,
      tags: v.TSNET_TAGS ?? [],
      authKey: v.TS_AUTHKEY,
      stateSecret: v.TSNET_STATE_SECRET,
      tailscaledPath: v.TAILSCALED_PATH,
      tailscalePath: v.TAILSCALE_PATH,
    },
    scrapeTag: v.SCRAPE_TAG,
    requireExporterTag: v.REQUIRE_EXPORTER_TAG,
    targetDevices: v.TARGET_DEVICES ?? [],
    excludeDevices: v.EXCLUDE_DEVICES ?? [],
    deviceTags: v.DEVICE_TAGS ?? [],
    scrapeAllowedCidrs: v.SCRAPE_ALLOWED_CIDRS,
    clientMetrics: {
      port: v.CLIENT_METRICS_PORT,
      timeoutMs: v.CLIENT_METRICS_TIMEOUT,
      maxBytes: v.CLIENT_METRICS_MAX_BYTES,
      maxSeries: v.CLIENT_METRICS_MAX_SERIES,
    },
    maxConcurrentScrapes: v.MAX_CONCURRENT_SCRAPES,
    collectors,
    inventoryIntervalMs: v.INVENTORY_INTERVAL,
    logs: {
      flow: {
        intervalMs: v.FLOW_LOGS_INTERVAL,
        lagMs: v.FLOW_LOGS_LAG,
        lookbackMs: v.FLOW_LOGS_LOOKBACK,
        pairs: v.FLOW_LOGS_PAIRS,
      },
      audit: {
        intervalMs: v.AUDIT_LOG_INTERVAL,
        lagMs: v.AUDIT_LOG_LAG,
        lookbackMs: v.AUDIT_LOG_LOOKBACK,
      },
    },
    shard: { index: shardIndex, count: shardCount, apiMetrics: v.SHARD_API_METRICS },
    scrapeIntervalMs: v.SCRAPE_INTERVAL,
    labelsFromTags: v.DEVICE_LABELS_FROM_TAGS ?? [],
    minClientVersion: v.MIN_CLIENT_VERSION,
    expectedDevicesFile: v.EXPECTED_DEVICES_FILE,
    expectedDevices: expectedFile === undefined ? undefined : readExpectedDevicesFile(expectedFile, readFile),
    redactKey: redact ? redactKey : undefined,
    log: { level: v.LOG_LEVEL, format: v.LOG_FORMAT },
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
    throw new ConfigError(
      `OAUTH_ID_TOKEN_FILE=${JSON.stringify(path)}: cannot read the file (${errorCode(err) ?? 'unreadable'}); expected a readable file holding an OIDC ID token (JWT)`,
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
