import { buildConnector, Socks5ProxyAgent, type Dispatcher } from 'undici';
import { TsnetError } from './errors.js';

// In userspace mode local processes cannot reach 100.x addresses directly: outbound connections to the
// tailnet go through tailscaled's SOCKS5 server (no auth, loopback only). This builds the undici
// dispatcher the device scraper uses in tsnet mode.

export interface ProxyTimeouts {
  /** Connect to the SOCKS5 server (the tunnel set-up itself is bounded by undici at 5 s per step). */
  readonly connectMs: number;
  readonly headersMs: number;
  readonly bodyMs: number;
}

export interface SocksDispatcherOptions {
  /** The current SOCKS5 port: it changes when tailscaled is restarted. */
  readonly port: () => number;
  /** While false, requests fail at once with TSM_TSNET_DOWN instead of waiting on a dead proxy. */
  readonly isUp: () => boolean;
  readonly timeouts: ProxyTimeouts;
}

/**
 * A Socks5ProxyAgent whose connector always dials 127.0.0.1:<current port>, with the caller's header
 * and body timeouts applied to every request (Socks5ProxyAgent does not pass Pool options on).
 */
export function createSocksDispatcher(options: SocksDispatcherOptions): Dispatcher {
  const base = buildConnector({ timeout: options.timeouts.connectMs });
  const connect: buildConnector.connector = (connectOptions, callback) => {
    if (!options.isUp()) {
      callback(new TsnetError('TSM_TSNET_DOWN', 'tsnet is down: tailscaled is not running or not logged in', 1), null);
      return;
    }
    base(
      { ...connectOptions, hostname: '127.0.0.1', host: '127.0.0.1', port: String(options.port()), protocol: 'http:' },
      callback,
    );
  };
  const agent = new Socks5ProxyAgent(`socks5://127.0.0.1:${options.port()}`, { connect });
  const { headersMs, bodyMs } = options.timeouts;
  return agent.compose(
    (dispatch) => (opts, handler) =>
      dispatch(
        { ...opts, headersTimeout: opts.headersTimeout ?? headersMs, bodyTimeout: opts.bodyTimeout ?? bodyMs },
        handler,
      ),
  );
}
