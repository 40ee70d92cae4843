import { BACKEND_INFO } from './backends.js';
import { formatGoDuration } from './duration.js';
import type { Config } from './load.js';

/**
 * A URL for display: a password in its userinfo (a control server behind a basic-auth proxy) is replaced, the
 * user name kept so the operator can tell which account is configured.
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return url;
  }
  if (parsed.password === '') return url;
  const user = parsed.username === '' ? '' : decodeURIComponent(parsed.username);
  parsed.username = '';
  parsed.password = '';
  return parsed.href
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)/i, `$1${user}:<redacted>@`)
    .replace(/\/$/, url.endsWith('/') ? '/' : '');
}

/** A display copy of the config for /debug and the start-up log: secrets are replaced by "<redacted>". */
export function redactedConfig(config: Config): Record<string, unknown> {
  return {
    auth: shownAuth(config),
    backend: config.backend,
    headscale_url: config.headscale === undefined ? undefined : redactUrl(config.headscale.url),
    headscale_api_key: config.headscale === undefined ? undefined : '<redacted>',
    tailnet: config.tailnet,
    api_url: redactUrl(config.apiUrl),
    api_timeout: formatGoDuration(config.apiTimeoutMs),
    listen: `${config.listenHost}:${config.port}`,
    env: config.env,
    metrics_token: config.metricsToken === undefined ? undefined : '<redacted>',
    rate_limit_rps: config.rateLimit.perSecond,
    rate_limit_burst: config.rateLimit.burst,
    web_config_file: config.webConfig?.file,
    web_config:
      config.webConfig === undefined
        ? undefined
        : {
            tls: config.webConfig.tls !== undefined,
            client_auth_type: config.webConfig.tls?.clientAuthType,
            basic_auth_users: [...config.webConfig.basicAuthUsers.keys()],
          },
    http_max_connections: config.http.maxConnections,
    http_max_connections_per_address: config.http.maxConnectionsPerAddress,
    http_max_requests_in_flight: config.http.maxRequestsInFlight,
    http_header_timeout: formatGoDuration(config.http.headerTimeoutMs),
    http_idle_timeout: formatGoDuration(config.http.idleTimeoutMs),
    use_tsnet: config.tsnet.enabled,
    tsnet_hostname: config.tsnet.hostname,
    tsnet_tags: config.tsnet.tags,
    ts_authkey: config.tsnet.authKey === undefined ? undefined : '<redacted>',
    tsnet_state_dir: config.tsnet.stateDir,
    tsnet_state_secret: config.tsnet.stateSecret,
    scrape_tag: config.scrapeTag,
    require_exporter_tag: config.requireExporterTag,
    target_devices: config.targetDevices,
    exclude_devices: config.excludeDevices,
    device_tags: config.deviceTags,
    scrape_allowed_cidrs: config.scrapeAllowedCidrs,
    client_metrics_port: config.clientMetrics.port,
    client_metrics_timeout: formatGoDuration(config.clientMetrics.timeoutMs),
    client_metrics_max_bytes: config.clientMetrics.maxBytes,
    client_metrics_max_series: config.clientMetrics.maxSeries,
    max_concurrent_scrapes: config.maxConcurrentScrapes,
    collectors: config.collectors,
    inventory_interval: formatGoDuration(config.inventoryIntervalMs),
    // The log windows matter only with the opt-in collectors that read them.
    ...(config.collectors.includes('flowlogs')
      ? {
          flow_logs: {
            interval: formatGoDuration(config.logs.flow.intervalMs),
            lag: formatGoDuration(config.logs.flow.lagMs),
            lookback: formatGoDuration(config.logs.flow.lookbackMs),
            pairs: config.logs.flow.pairs,
          },
        }
      : {}),
    ...(config.collectors.includes('audit')
      ? {
          audit_log: {
            interval: formatGoDuration(config.logs.audit.intervalMs),
            lag: formatGoDuration(config.logs.audit.lagMs),
            lookback: formatGoDuration(config.logs.audit.lookbackMs),
          },
        }
      : {}),
    scrape_interval: formatGoDuration(config.scrapeIntervalMs),
    device_labels_from_tags: config.labelsFromTags.map((r) => `${r.label}=${r.pattern.source}`),
    min_client_version: config.minClientVersion,
    expected_devices_file: config.expectedDevicesFile,
    redact_user_emails: config.redactKey !== undefined,
    log_level: config.log.level,
    log_format: config.log.format,
    simulator: config.simulator,
  };
}

/** How the exporter authenticates, as the operator configured it. */
function shownAuth(config: Config): unknown {
  if (config.simulator !== undefined) return 'simulator';
  // Headscale takes its API key, shown (redacted) as headscale_api_key.
  const credential = BACKEND_INFO[config.backend].credential;
  if (credential !== 'tailscale') return credential;
  const auth = config.auth;
  if (auth === undefined) return undefined;
  if (auth.kind === 'federated')
    return { kind: 'federated', client_id: auth.clientId, id_token_file: auth.idTokenFile };
  return auth.kind === 'oauth'
    ? { kind: 'oauth', client_id: auth.clientId, client_secret: '<redacted>' }
    : { kind: 'api-key', api_key: '<redacted>' };
}
