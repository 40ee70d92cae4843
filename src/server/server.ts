import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerOptions as HttpServerOptions,
  type ServerResponse,
} from 'node:http';
import { hostPort } from '../util/host.js';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import type { SnapshotStore } from '../exposition/snapshot.js';
import type { RefreshStatus } from '../refresh/status.js';
import { formatGoDuration } from '../config/duration.js';
import type { WebConfig } from '../config/web-config.js';
import { acceptsGzip } from './accept-encoding.js';
import { createAuthenticator } from './auth.js';
import { guardConnections } from './connections.js';
import { HttpStats } from './http-stats.js';
import { createRateLimiter } from './rate-limit.js';
import { DeviceTable } from './device-table.js';
import { escapeHtml } from './html.js';
import { renderStatusPage, type StatusPageInfo } from './status-page.js';
import { applyTls, clientCertAccepted, tlsServerOptions, watchWebConfig } from './tls.js';

export interface ServerOptions {
  readonly host: string;
  readonly port: number;
  readonly store: SnapshotStore;
  readonly status: RefreshStatus;
  readonly version: string;
  readonly intervalMs: number;
  /** Redacted config for /debug and the status page; undefined turns both off. */
  readonly debugConfig: Record<string, unknown> | undefined;
  /** What the status page says about the deployment; without it `/` is only a list of links. */
  readonly about?: Omit<StatusPageInfo, 'version' | 'config'>;
  readonly log: Logger;
  /** When set, every route not marked open requires `Authorization: Bearer <token>`. */
  readonly metricsToken?: string | undefined;
  /** Per-address bucket for requests without valid credentials; authenticated ones and the open routes are not limited. */
  readonly rateLimit?: { readonly perSecond: number; readonly burst: number };
  /** WEB_CONFIG_FILE: TLS, client certificates, basic auth, headers; re-read when it or a certificate changes. */
  readonly webConfig?: WebConfig | undefined;
  /** Connection and request limits; the defaults are the configuration defaults. */
  readonly limits?: Partial<HttpLimits>;
  /** Counters for the self-metrics; a private one when not given. */
  readonly stats?: HttpStats;
  /** How often the web config is checked for changes (tests shorten it). */
  readonly webConfigPollMs?: number;
  /** More data routes (service discovery, probes), protected like /metrics. */
  readonly extraRoutes?: Readonly<Record<string, Handler>>;
  /** tsnet mode: whether the exporter's own tailscaled is up; /health says "degraded" while it is not. */
  readonly tsnetUp?: (() => boolean) | undefined;
  readonly now?: () => number;
}

interface HttpLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  readonly maxRequestsInFlight: number;
  readonly headerTimeoutMs: number;
  readonly idleTimeoutMs: number;
}

const DEFAULT_LIMITS: HttpLimits = {
  maxConnections: 1024,
  maxConnectionsPerAddress: 128,
  maxRequestsInFlight: 40,
  headerTimeoutMs: 5000,
  idleTimeoutMs: 5000,
};

/** /health turns unhealthy when no device list succeeded within this many intervals. */
export const STALE_INTERVALS = 3;

const CONTENT_TYPE_METRICS = 'text/plain; version=0.0.4; charset=utf-8';

/** `authorized`: the request passed the access check of protected routes (always true without one). */
export type Handler = (req: IncomingMessage, res: ServerResponse, authorized: boolean) => void | Promise<void>;

/** Probe endpoints stay reachable without the bearer token (Kubernetes probes carry none). */
const OPEN_ROUTES = new Set(['/', '/health', '/healthz', '/livez', '/readyz', '/startupz']);

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  readonly stats: HttpStats;
  close(): Promise<void>;
}

export function startServer(o: ServerOptions): Promise<RunningServer> {
  const now = o.now ?? Date.now;

  const health = (): { status: 'healthy' | 'degraded' | 'starting' | 'unhealthy'; code: number } => {
    const staleAfter = STALE_INTERVALS * o.intervalMs;
    const last = o.status.lastApiSuccessAtMs;
    if (last !== undefined && now() - last <= staleAfter) {
      // API data is fresh, but devices cannot be reached while our tailscaled is down.
      return o.tsnetUp?.() === false ? { status: 'degraded', code: 200 } : { status: 'healthy', code: 200 };
    }
    if (last === undefined && now() - o.status.startedAtMs <= staleAfter) return { status: 'starting', code: 200 };
    return { status: 'unhealthy', code: 503 };
  };

  const routes: Record<string, Handler> = {
    '/metrics': async (req, res) => {
      const snapshot = o.store.current();
      if (snapshot === undefined)
        return send(res, 503, 'text/plain; charset=utf-8', 'no data yet: the first refresh has not finished\n');
      const gzip = acceptsGzip(req.headers['accept-encoding']);
      const headOnly = req.method === 'HEAD';
      if (!gzip) o.store.notePlainRequest(now());
      // The first plain GET of a snapshot inflates it once (off the event loop); later ones get the held buffer.
      const body = gzip ? snapshot.gzipBody : headOnly ? undefined : (snapshot.plainBody ?? (await snapshot.plain()));
      res.writeHead(200, {
        'content-type': CONTENT_TYPE_METRICS,
        'content-length': body?.length ?? snapshot.plainLength,
        vary: 'Accept-Encoding',
        'cache-control': 'no-store',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      });
      res.end(headOnly ? undefined : body);
    },
    '/health': (_req, res) => {
      const h = health();
      const last = o.status.lastCycleAtMs;
      sendJson(res, h.code, {
        status: h.status,
        timestamp: new Date(now()).toISOString(),
        version: o.version,
        uptime: formatGoDuration(Math.floor((now() - o.status.startedAtMs) / 1000) * 1000),
        devices_discovered: o.status.devicesDiscovered,
        devices_scraped: o.status.devicesScraped,
        last_scrape: last === undefined ? null : new Date(last).toISOString(),
        last_successful_refresh:
          o.status.lastApiSuccessAtMs === undefined ? null : new Date(o.status.lastApiSuccessAtMs).toISOString(),
        ...(o.tsnetUp === undefined ? {} : { tsnet_up: o.tsnetUp() }),
      });
    },
    '/livez': (_req, res) => send(res, 200, 'text/plain; charset=utf-8', 'ok\n'),
    '/healthz': (_req, res) => {
      const h = health();
      send(res, h.code, 'text/plain; charset=utf-8', `${h.status}\n`);
    },
    '/startupz': (_req, res) => {
      const started = o.store.current() !== undefined;
      send(
        res,
        started ? 200 : 503,
        'text/plain; charset=utf-8',
        started ? 'started\n' : 'starting: the first refresh has not finished\n',
      );
    },
    '/readyz': (_req, res) => {
      const status = health().status;
      const ready = o.store.current() !== undefined && (status === 'healthy' || status === 'degraded');
      send(res, ready ? 200 : 503, 'text/plain; charset=utf-8', ready ? 'ready\n' : 'not ready: no fresh data\n');
    },
  };
  const links = endpointLinks(o.debugConfig !== undefined);
  const statusPage =
    o.debugConfig === undefined || o.about === undefined
      ? undefined
      : { ...o.about, version: o.version, config: o.debugConfig };
  const table = new DeviceTable();
  const statusPageOf = (info: StatusPageInfo, req: IncomingMessage, path: string): string =>
    renderStatusPage({
      info,
      status: o.status,
      table,
      health: health().status,
      tsnetUp: o.tsnetUp?.(),
      nowMs: now(),
      path,
      params: new URLSearchParams((req.url ?? '').split('?')[1] ?? ''),
      links,
    });
  // `/` is the status page for whoever may see /debug; to anyone else (the token is missing) it is the list
  // of links, and /status asks for the credentials.
  routes['/'] = (req, res, authorized) => {
    if (statusPage === undefined || !authorized)
      return sendHtml(res, landingPage(o.version, links, statusPage !== undefined));
    return sendHtml(res, statusPageOf(statusPage, req, '/'));
  };
  if (statusPage !== undefined)
    routes['/status'] = (req, res) => sendHtml(res, statusPageOf(statusPage, req, '/status'));
  if (o.debugConfig !== undefined) {
    const config = o.debugConfig;
    routes['/debug'] = (_req, res) => {
      const mem = process.memoryUsage();
      sendJson(res, 200, {
        version: o.version,
        config,
        runtime: {
          node_version: process.version,
          pid: process.pid,
          uptime_seconds: Math.floor(process.uptime()),
          memory: { rss_bytes: mem.rss, heap_used_bytes: mem.heapUsed },
        },
        refresh: {
          last_cycle: o.status.lastCycleAtMs === undefined ? null : new Date(o.status.lastCycleAtMs).toISOString(),
          last_successful_refresh:
            o.status.lastApiSuccessAtMs === undefined ? null : new Date(o.status.lastApiSuccessAtMs).toISOString(),
          devices_discovered: o.status.devicesDiscovered,
          devices_scraped: o.status.devicesScraped,
          failing_devices: o.status.failingDevices,
          history: o.status.history(),
        },
      });
    };
  }

  Object.assign(routes, o.extraRoutes ?? {});
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...o.limits };
  const stats = o.stats ?? new HttpStats();
  let web = o.webConfig;
  const auth = createAuthenticator(o.metricsToken, () => web?.basicAuthUsers ?? new Map());
  const limiter = createRateLimiter(o.rateLimit?.perSecond ?? 0, o.rateLimit?.burst ?? 1, now);
  // exporter-toolkit's rate_limit: one bucket for everyone; rebuilt when the file changes.
  const globalLimiter = (w: WebConfig | undefined) =>
    w?.rateLimit === undefined
      ? undefined
      : createRateLimiter(1000 / w.rateLimit.intervalMs, Math.max(1, w.rateLimit.burst), now);
  let shared = globalLimiter(web);
  let limitedInFlight = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    res.setHeader('x-content-type-options', 'nosniff');
    for (const [name, value] of Object.entries(web?.headers ?? {})) res.setHeader(name, value);
    const path = (req.url ?? '/').split('?')[0]!;
    const handler = Object.hasOwn(routes, path) ? routes[path] : undefined;
    stats.inFlight++;
    res.once('close', () => {
      stats.inFlight--;
      stats.countRequest(handler === undefined ? 'other' : path, res.statusCode);
    });
    const open = OPEN_ROUTES.has(path) && handler !== undefined;
    // What an open route may show depends on the credentials too (the status page at /): a cheap check only.
    let granted = !auth.required || auth.quick(req.headers.authorization);
    if (!open) {
      // A token or basic credentials are needed when configured (a client certificate does not replace them,
      // as in exporter-toolkit); a verified client certificate or a valid credential exempts from the anonymous bucket.
      let authenticated = auth.quick(req.headers.authorization);
      const certified = (req.socket as TLSSocket).authorized === true;
      const tooMany = (wait: number): void => {
        res.setHeader('retry-after', String(wait));
        send(res, 429, 'text/plain; charset=utf-8', 'too many requests\n');
      };
      const wait = shared?.take('') ?? 0;
      if (wait > 0) return tooMany(wait);
      if (!authenticated && !certified) {
        // Before bcrypt: a flood of wrong passwords costs one bucket, not one hash each.
        const anonWait = limiter.take(req.socket.remoteAddress ?? '');
        if (anonWait > 0) return tooMany(anonWait);
      }
      if (!authenticated && auth.needsSlowCheck(req.headers.authorization)) {
        const verdict = await auth.verify(req.headers.authorization);
        if (verdict === 'busy') return tooMany(1);
        authenticated = verdict;
      }
      // Same answer for every path without credentials: no 404-versus-401 oracle for disabled routes.
      if (auth.required && !authenticated) {
        res.setHeader('www-authenticate', auth.challenges());
        return send(res, 401, 'text/plain; charset=utf-8', 'unauthorized\n');
      }
      granted = true;
    }
    if (handler === undefined) return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed\n');
    }
    // /metrics answers from memory: hanging probes filling every slot must not fail the exporter's own scrape.
    if (!open && path !== '/metrics') {
      if (limitedInFlight >= limits.maxRequestsInFlight) {
        res.setHeader('retry-after', '1');
        return send(res, 503, 'text/plain; charset=utf-8', 'too many requests in flight\n');
      }
      limitedInFlight++;
      res.once('close', () => limitedInFlight--);
    }
    await handler(req, res, granted);
  };

  // Node checks its header and request timeouts only this often: never less often than the timeout itself.
  const checkIntervalMs = Math.min(1000, limits.headerTimeoutMs);
  const options: HttpServerOptions = {
    // Bounds against slow or oversized clients; /metrics answers from memory.
    maxHeaderSize: 16 * 1024,
    // A connection's first request is timed by guardConnections from the accept (counted in
    // tsmetrics_http_header_timeouts_total); Node's own check, one interval later, only bounds the headers of later
    // requests on a kept-alive connection. Equal deadlines raced, and a connection Node closed went uncounted.
    headersTimeout: limits.headerTimeoutMs + checkIntervalMs,
    requestTimeout: Math.max(30_000, limits.headerTimeoutMs + checkIntervalMs),
    keepAliveTimeout: limits.idleTimeoutMs,
    connectionsCheckingInterval: checkIntervalMs,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Requests arrive only once the server below listens, so `guard` is set by then.
    guard.requestStarted(req.socket);
    const fail = (err: unknown): void => {
      o.log.error({ err, path: (req.url ?? '/').split('?')[0] }, 'request handler failed');
      if (!res.headersSent) send(res, 500, 'text/plain; charset=utf-8', 'internal error\n');
      else res.destroy();
    };
    handle(req, res).catch(fail);
  };
  const tls = web?.tls;
  const server: Server =
    tls === undefined
      ? createServer(options, onRequest)
      : createHttpsServer(
          { ...options, ...tlsServerOptions(web!), handshakeTimeout: limits.headerTimeoutMs },
          onRequest,
        );
  const guard = guardConnections(server, limits, stats);
  if (tls !== undefined) {
    server.on('secureConnection', (socket: TLSSocket) => {
      if (web?.tls !== undefined && !clientCertAccepted(web.tls, socket)) socket.destroy();
    });
    server.on('tlsClientError', (err: Error) => o.log.debug({ err: err.message }, 'TLS handshake failed'));
  }
  const watcher =
    web === undefined
      ? undefined
      : watchWebConfig(
          web,
          (next) => {
            if (next.tls !== undefined) applyTls(server as unknown as TlsServer, next);
            web = next;
            shared = globalLimiter(next);
          },
          (message) => {
            stats.webConfigReloadFailures++;
            o.log.error({ err: message }, 'web config reload failed; the previous settings stay in force');
          },
          o.log,
          o.webConfigPollMs,
        );

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // The kernel's accept queue as deep as it allows (somaxconn caps it), as Go's listeners are: a burst of
    // connections while the loop is busy waits there instead of half-opening and being lost.
    server.listen({ port: o.port, host: o.host, backlog: 4096 }, () => {
      server.off('error', reject);
      server.on('error', (err) => o.log.error({ err }, 'http server error'));
      const addr = server.address() as AddressInfo;
      resolve({
        server,
        url: `${tls === undefined ? 'http' : 'https'}://${hostPort(addr.address, addr.port)}`,
        stats,
        close: () =>
          new Promise<void>((done) => {
            watcher?.stop();
            server.close(() => done());
            server.closeIdleConnections();
            // Open scrapes get a moment to finish, then go.
            setTimeout(() => server.closeAllConnections(), 2000).unref();
          }),
      });
    });
  });
}

export function send(res: ServerResponse, code: number, type: string, body: string): void {
  res.writeHead(code, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

export function sendJson(res: ServerResponse, code: number, value: unknown): void {
  send(res, code, 'application/json; charset=utf-8', `${JSON.stringify(value, null, 2)}\n`);
}

/** The page and the scripts-free policy it is served with: nothing is loaded, nothing runs. */
function sendHtml(res: ServerResponse, body: string): void {
  res.setHeader(
    'content-security-policy',
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  );
  send(res, 200, 'text/html; charset=utf-8', body);
}

function endpointLinks(debug: boolean): Array<readonly [string, string]> {
  return [
    ['/metrics', 'Prometheus metrics'],
    ['/health', 'health (JSON)'],
    ['/healthz', 'health verdict (plain text)'],
    ['/livez', 'liveness probe'],
    ['/readyz', 'readiness probe'],
    ['/startupz', 'startup probe'],
    ['/sd', 'Prometheus HTTP service discovery of the scraped devices (JSON)'],
    ['/probe?target=', 'scrape one device now: /probe?target=<device id or name>'],
    ...(debug ? [['/debug', 'debug information (JSON, secrets redacted)'] as const] : []),
  ];
}

function landingPage(version: string, links: ReadonlyArray<readonly [string, string]>, statusPage: boolean): string {
  const all = statusPage
    ? [
        ...links,
        [
          '/status',
          'status page: refreshes, collectors, every device and why it is or is not scraped (needs the credentials)',
        ] as const,
      ]
    : links;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>tsmetrics</title><link rel="icon" href="data:,"></head>
<body>
<h1>tsmetrics</h1>
<p>Prometheus exporter for Tailscale networks, version ${escapeHtml(version)}.</p>
<ul>
${all.map(([href, text]) => `<li><a href="${escapeHtml(href)}">${escapeHtml(href)}</a>: ${escapeHtml(text)}</li>`).join('\n')}
</ul>
</body></html>
`;
}
