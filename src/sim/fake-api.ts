// A subset of the Tailscale API v2 plus the OAuth token endpoint, over real HTTP on 127.0.0.1.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SimDevice } from './device.js';
import { deviceJson, withWrongTypes, type FieldSet } from './device-json.js';
import { FaultSwitch } from './fault-switch.js';
import { closeServer, listen, readBody, sendError, sendJson, sendText } from './http-util.js';
import { TOKEN_LIFETIME_SECONDS, TokenStore } from './token-store.js';

export type ApiFault =
  | { kind: 'status'; status: number; retryAfterSeconds?: number; times?: number }
  | { kind: 'expire-tokens'; times?: number }
  | { kind: 'token-endpoint-down'; times?: number }
  | { kind: 'reset'; times?: number }
  | { kind: 'hang'; times?: number }
  | { kind: 'malformed-json'; times?: number }
  | { kind: 'wrong-types'; times?: number }
  | { kind: 'empty'; times?: number };

export interface ApiStats {
  tokenRequests: number;
  deviceListRequests: number;
  routeRequests: number;
}

export interface FakeApiOptions {
  readonly port: number;
  readonly tailnet: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiKey: string;
  readonly now: () => number;
  readonly devices: () => readonly SimDevice[];
  readonly stats: ApiStats;
  /** Called once per injected fault with its kind. */
  readonly onFault: (kind: string) => void;
}

export interface FakeApi {
  readonly url: string;
  setFault(fault: ApiFault | null): void;
  close(): Promise<void>;
}

type Route =
  | { kind: 'token' }
  | { kind: 'devices'; tailnet: string }
  | { kind: 'settings'; tailnet: string }
  | { kind: 'device'; id: string }
  | { kind: 'routes'; id: string };

type DataRoute = Extract<Route, { kind: 'devices' | 'device' | 'routes' }>;

interface Credential {
  /** OAuth token string, or null for the API key. */
  readonly token: string | null;
  /** Issue order of the token; 0 for the API key, which predates every token. */
  readonly serial: number;
}

const DATA_FAULTS: ReadonlySet<string> = new Set(['status', 'reset', 'hang', 'malformed-json', 'wrong-types', 'empty']);
const MAX_FORM_BYTES = 16 * 1024;
const JSON_TYPE = 'application/json; charset=utf-8';

const TAILNET_SETTINGS = {
  devicesApprovalOn: false,
  devicesAutoUpdatesOn: true,
  devicesKeyDurationDays: 180,
  usersApprovalOn: false,
  usersRoleAllowedToJoinExternalTailnets: 'member',
  networkFlowLoggingOn: false,
  regionalRoutingOn: false,
  postureIdentityCollectionOn: true,
  httpsEnabled: true,
  aclsExternallyManagedOn: false,
};

export async function startFakeApi(options: FakeApiOptions): Promise<FakeApi> {
  const api = new FakeApiServer(options);
  const port = await listen(api.server, '127.0.0.1', options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    setFault: (fault) => api.setFault(fault),
    close: () => closeServer(api.server),
  };
}

class FakeApiServer {
  readonly server: Server;
  readonly #options: FakeApiOptions;
  readonly #tokens: TokenStore;
  readonly #faults: FaultSwitch<ApiFault>;
  /** Tokens with a serial up to this one count as expired while an 'expire-tokens' fault lasts. */
  #expireUpTo = 0;

  constructor(options: FakeApiOptions) {
    this.#options = options;
    this.#tokens = new TokenStore(options.now);
    this.#faults = new FaultSwitch<ApiFault>((fault) => options.onFault(fault.kind));
    this.server = createServer((req, res) => {
      this.#handle(req, res).catch(() => failRequest(res));
    });
  }

  setFault(fault: ApiFault | null): void {
    if (fault?.kind === 'expire-tokens') this.#expireUpTo = this.#tokens.lastSerial;
    this.#faults.set(fault);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake-api.invalid');
    const route = matchRoute(url.pathname);
    if (route === null) return sendError(res, 404, `no route for ${url.pathname}`);
    if (route.kind === 'token') return this.#handleToken(req, res);
    this.#count(route);
    req.resume();
    if (req.method !== 'GET') return sendError(res, 405, 'method not allowed', { allow: 'GET' });
    const credential = this.#authenticate(req);
    if (credential === null) return sendError(res, 401, 'API token invalid');
    if (this.#takeExpiry(credential)) return sendError(res, 401, 'API token invalid');
    if (route.kind === 'settings') return this.#handleSettings(res, route.tailnet);
    const fault = this.#faults.take((f) => DATA_FAULTS.has(f.kind));
    if (fault !== null && applyTransportFault(fault, req, res)) return;
    const [status, body] = this.#dataBody(route, url, fault);
    if (fault?.kind === 'malformed-json') return sendText(res, 200, truncate(JSON.stringify(body)), JSON_TYPE);
    sendJson(res, status, body);
  }

  #count(route: Route): void {
    const stats = this.#options.stats;
    if (route.kind === 'devices') stats.deviceListRequests += 1;
    if (route.kind === 'routes') stats.routeRequests += 1;
  }

  async #handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.#options.stats.tokenRequests += 1;
    if (req.method !== 'POST') {
      req.resume();
      return sendError(res, 405, 'method not allowed', { allow: 'POST' });
    }
    const body = await readBody(req, MAX_FORM_BYTES);
    if (this.#faults.take((f) => f.kind === 'token-endpoint-down') !== null) {
      return sendError(res, 503, 'service unavailable');
    }
    if (body === null) return sendError(res, 413, 'request body too large');
    const form = new URLSearchParams(body);
    const grantType = form.get('grant_type');
    if (grantType !== null && grantType !== 'client_credentials') {
      return sendError(res, 400, `unsupported grant_type "${grantType}"`);
    }
    const client = basicCredentials(req) ?? { user: form.get('client_id'), password: form.get('client_secret') };
    if (client.user !== this.#options.clientId || client.password !== this.#options.clientSecret) {
      return sendError(res, 401, 'invalid client credentials');
    }
    const scope = form.get('scope')?.trim() || 'all:read';
    const refused = scope.split(/\s+/).filter((s) => !s.endsWith(':read'));
    if (refused.length > 0) return sendError(res, 403, `OAuth client cannot grant scopes "${refused.join(' ')}"`);
    sendJson(res, 200, {
      access_token: this.#tokens.issue(),
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      scope,
    });
  }

  #authenticate(req: IncomingMessage): Credential | null {
    const secret = presentedSecret(req);
    if (secret === null || secret === '') return null;
    if (secret === this.#options.apiKey) return { token: null, serial: 0 };
    const serial = this.#tokens.serialOf(secret);
    return serial === null ? null : { token: secret, serial };
  }

  /** Applies an 'expire-tokens' fault to this credential; true if the request must get a 401. */
  #takeExpiry(credential: Credential): boolean {
    const stale = credential.serial <= this.#expireUpTo;
    if (this.#faults.take((f) => f.kind === 'expire-tokens' && stale) === null) return false;
    if (credential.token !== null) this.#tokens.revoke(credential.token);
    return true;
  }

  #handleSettings(res: ServerResponse, tailnet: string): void {
    if (!this.#knowsTailnet(tailnet)) return sendError(res, 404, 'tailnet not found');
    sendJson(res, 200, TAILNET_SETTINGS);
  }

  #dataBody(route: DataRoute, url: URL, fault: ApiFault | null): [number, unknown] {
    const fields: FieldSet = url.searchParams.get('fields') === 'all' ? 'all' : 'default';
    if (route.kind === 'devices') {
      if (!this.#knowsTailnet(route.tailnet)) return [404, { message: 'tailnet not found' }];
      if (fault?.kind === 'empty') return [200, { devices: [] }];
      const devices = this.#options.devices().map((d) => deviceJson(d, fields));
      return [200, { devices: fault?.kind === 'wrong-types' ? withWrongTypes(devices) : devices }];
    }
    const device = this.#findDevice(route.id);
    if (device === undefined) return [404, { message: 'device not found' }];
    if (route.kind === 'routes') return [200, routesBody(device, fault)];
    if (fault?.kind === 'empty') return [200, {}];
    const json = deviceJson(device, fields);
    return [200, fault?.kind === 'wrong-types' ? withWrongTypes([json])[0] : json];
  }

  #knowsTailnet(tailnet: string): boolean {
    return tailnet === '-' || tailnet === this.#options.tailnet;
  }

  #findDevice(id: string): SimDevice | undefined {
    return this.#options.devices().find((d) => d.nodeId === id || d.id === id);
  }
}

function matchRoute(pathname: string): Route | null {
  const parts = decodeSegments(pathname);
  if (parts === null || parts[0] !== 'api' || parts[1] !== 'v2') return null;
  const [a, b, c, ...rest] = parts.slice(2);
  if (rest.length > 0 || a === undefined) return null;
  if (a === 'oauth' && b === 'token' && c === undefined) return { kind: 'token' };
  if (a === 'tailnet' && b !== undefined && c === 'devices') return { kind: 'devices', tailnet: b };
  if (a === 'tailnet' && b !== undefined && c === 'settings') return { kind: 'settings', tailnet: b };
  if (a === 'device' && b !== undefined && c === undefined) return { kind: 'device', id: b };
  if (a === 'device' && b !== undefined && c === 'routes') return { kind: 'routes', id: b };
  return null;
}

function decodeSegments(pathname: string): string[] | null {
  try {
    return pathname.split('/').filter((s) => s !== '').map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

function routesBody(device: SimDevice, fault: ApiFault | null): unknown {
  if (fault?.kind === 'empty') return { advertisedRoutes: [], enabledRoutes: [] };
  if (fault?.kind === 'wrong-types') return { advertisedRoutes: device.advertisedRoutes?.join(',') ?? '', enabledRoutes: null };
  return { advertisedRoutes: device.advertisedRoutes ?? [], enabledRoutes: device.enabledRoutes ?? [] };
}

/** Handles faults that replace the whole answer; false for faults that only alter the body. */
function applyTransportFault(fault: ApiFault, req: IncomingMessage, res: ServerResponse): boolean {
  switch (fault.kind) {
    case 'status': {
      const headers: Record<string, string> =
        fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
      sendError(res, fault.status, `simulated HTTP ${fault.status}`, headers);
      return true;
    }
    case 'reset':
      req.socket.resetAndDestroy();
      return true;
    case 'hang':
      return true; // left unanswered; closeServer() cuts the connection
    default:
      return false;
  }
}

/** The token as sent: Bearer value, or the Basic username (API keys go there with an empty password). */
function presentedSecret(req: IncomingMessage): string | null {
  const header = req.headers.authorization ?? '';
  const [scheme = '', value = ''] = header.split(/\s+/, 2);
  if (scheme.toLowerCase() === 'bearer') return value;
  if (scheme.toLowerCase() === 'basic') return basicCredentials(req)?.user ?? null;
  return null;
}

function basicCredentials(req: IncomingMessage): { user: string; password: string } | null {
  const match = /^basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (match?.[1] === undefined) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** Cuts a JSON text in half, so it is certainly invalid but starts like the real answer. */
function truncate(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}

function failRequest(res: ServerResponse): void {
  if (res.headersSent) res.destroy();
  else sendError(res, 500, 'simulator error');
}
