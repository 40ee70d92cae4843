import type { Logger } from 'pino';
import type { Config } from '../config/load.js';
import { HttpTailscaleApi } from './api.js';
import { OAuthTokenSource, StaticToken } from './auth.js';
import type { ControlPlane } from './control.js';
import { HeadscaleApi } from './headscale.js';
import { HttpTransport } from './http.js';
import type { RequestStats } from './request-stats.js';

// Each backend's client factory, as the backend table (collectors/backends.ts) names it: the control plane and the
// credentials it runs on, built from the configuration.

export interface ConnectDeps {
  readonly stats: RequestStats;
  readonly log: Logger;
  readonly now: () => number;
}

export interface Connection {
  readonly control: ControlPlane;
  /** Closes the control plane and its token source. */
  readonly close: () => Promise<void>;
}

function connection(control: ControlPlane, ...others: Array<{ close(): Promise<void> }>): Connection {
  return {
    control,
    close: async () => {
      await Promise.allSettled([control.close(), ...others.map((o) => o.close())]);
    },
  };
}

export function connectTailscale(config: Config, deps: ConnectDeps): Connection {
  const auth = config.auth;
  if (auth === undefined) throw new Error('no API credentials');
  // One connection pool for the token calls and the API calls: the same host.
  const transport = new HttpTransport({ baseUrl: config.apiUrl, timeoutMs: config.apiTimeoutMs });
  const common = { baseUrl: config.apiUrl, timeoutMs: config.apiTimeoutMs, stats: deps.stats, transport };
  const tokens =
    auth.kind === 'api-key'
      ? new StaticToken(auth.apiKey)
      : auth.kind === 'federated'
        ? new OAuthTokenSource({ ...common, clientId: auth.clientId, idTokenFile: auth.idTokenFile })
        : new OAuthTokenSource({ ...common, clientId: auth.clientId, clientSecret: auth.clientSecret });
  const control = new HttpTailscaleApi({
    ...common,
    tailnet: config.tailnet,
    tokens,
    log: deps.log.child({ stage: 'api' }),
    now: deps.now,
  });
  return connection(control, tokens, transport);
}

export function connectHeadscale(config: Config, deps: ConnectDeps): Connection {
  const hs = config.headscale;
  if (hs === undefined) throw new Error('no Headscale settings');
  const tokens = new StaticToken(hs.apiKey);
  const control = new HeadscaleApi({
    baseUrl: hs.url,
    timeoutMs: config.apiTimeoutMs,
    tokens,
    stats: deps.stats,
    log: deps.log.child({ stage: 'headscale' }),
    ca: hs.ca,
  });
  return connection(control, tokens);
}
