// A subset of the Tailscale API v2 plus the OAuth token endpoint, over real HTTP on 127.0.0.1.
// Every data endpoint declares the OAuth scope it needs (API_ENDPOINTS); API access tokens have all.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { ApiState } from './api-state.js';
import type { SimDevice } from '../shared/device.js';
import { deviceJson, withWrongTypes, type FieldSet } from './device-json.js';
import { OWNER_LOGIN, USER_ROLES, USER_TYPES, userId, type SimKey } from './directory.js';
import { increment } from '../shared/counters.js';
import { FaultSwitch, malformedJson } from '../shared/fault-switch.js';
import {
  closeServer,
  drained,
  JSON_CONTENT_TYPE,
  listen,
  readBody,
  sendError,
  sendJson,
  sendText,
} from '../shared/http.js';
import {
  allUsers,
  corruptBody,
  dnsJson,
  emptyBody,
  keyInvalid,
  keyJson,
  serviceJson,
  settingsJson,
  type EndpointName,
} from './resource-json.js';
import { postureIntegrationJson, webhookJson } from './integrations.js';
import { idTokenProblem } from './jwt.js';
import { canGrant, coversAny, KEY_TYPE_SCOPES, parseScopeList } from './scopes.js';
import type { SimFlowLogs } from './flow-logs.js';
import type { AuditSources, SimAuditLog } from './audit-log.js';
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
  /** API requests per endpoint name (`users`, `keys`, `key`, `acl`, `token`, ...), counted on arrival (before auth). */
  requests: Map<EndpointName, number>;
  /** 403 answers per endpoint name (a scope was missing). */
  forbidden: Map<EndpointName, number>;
}

export interface FakeApiOptions {
  readonly port: number;
  readonly tailnet: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly apiKey: string;
  readonly now: () => number;
  readonly devices: () => readonly SimDevice[];
  /** Called before each device list is answered (the simulated churn changes devices there). */
  readonly beforeDeviceList?: () => void;
  readonly state: ApiState;
  readonly stats: ApiStats;
  /** Called once per injected fault with its kind. */
  readonly onFault: (kind: string) => void;
  /** Network flow logs and the configuration audit log. */
  readonly logs: SimLogs;
}

export interface SimLogs {
  readonly flow: SimFlowLogs;
  readonly audit: SimAuditLog;
  /** False: both logging endpoints answer 404 "logging is not supported" (plan or deployment). */
  supported: boolean;
  readonly auditSources: () => AuditSources;
  /** Called with every record served (tests count what was served). */
  onServed?: (kind: 'flow' | 'audit', record: Record<string, unknown>) => void;
}

export interface FakeApi {
  readonly url: string;
  setFault(fault: ApiFault | null): void;
  close(): Promise<void>;
}

export interface ApiEndpoint {
  readonly name: EndpointName;
  readonly method: 'GET' | 'POST';
  /** Under /api/v2; `{tailnet}` is the tailnet name or "-". */
  readonly path: string;
  /** Any one of these is enough; empty for the token endpoint; null where the handler decides. */
  readonly scopes: readonly string[] | null;
  /** What a missing scope gets: 403, or 404 where the live API says "not found" (tailscale-facts §6.3). */
  readonly missingScope?: 403 | 404;
}

const KEY_SCOPES: readonly string[] = Object.values(KEY_TYPE_SCOPES);

/** Every route the fake API serves, with the scope it requires (the OpenAPI "OAuth Scope" lines). */
export const API_ENDPOINTS: readonly ApiEndpoint[] = [
  { name: 'token', method: 'POST', path: '/oauth/token', scopes: [] },
  { name: 'devices', method: 'GET', path: '/tailnet/{tailnet}/devices', scopes: ['devices:core:read'] },
  { name: 'device', method: 'GET', path: '/device/{deviceId}', scopes: ['devices:core:read'] },
  { name: 'routes', method: 'GET', path: '/device/{deviceId}/routes', scopes: ['devices:routes:read'] },
  { name: 'settings', method: 'GET', path: '/tailnet/{tailnet}/settings', scopes: ['feature_settings:read'] },
  { name: 'users', method: 'GET', path: '/tailnet/{tailnet}/users', scopes: ['users:read'] },
  { name: 'user', method: 'GET', path: '/users/{userId}', scopes: ['users:read'] },
  { name: 'keys', method: 'GET', path: '/tailnet/{tailnet}/keys', scopes: KEY_SCOPES },
  { name: 'key', method: 'GET', path: '/tailnet/{tailnet}/keys/{keyId}', scopes: null },
  { name: 'dns_nameservers', method: 'GET', path: '/tailnet/{tailnet}/dns/nameservers', scopes: ['dns:read'] },
  { name: 'dns_preferences', method: 'GET', path: '/tailnet/{tailnet}/dns/preferences', scopes: ['dns:read'] },
  { name: 'dns_searchpaths', method: 'GET', path: '/tailnet/{tailnet}/dns/searchpaths', scopes: ['dns:read'] },
  { name: 'dns_split', method: 'GET', path: '/tailnet/{tailnet}/dns/split-dns', scopes: ['dns:read'] },
  { name: 'services', method: 'GET', path: '/tailnet/{tailnet}/services', scopes: ['services:read'] },
  { name: 'services', method: 'GET', path: '/tailnet/{tailnet}/vip-services', scopes: ['services:read'] },
  { name: 'service', method: 'GET', path: '/tailnet/{tailnet}/services/{serviceName}', scopes: ['services:read'] },
  { name: 'service', method: 'GET', path: '/tailnet/{tailnet}/vip-services/{serviceName}', scopes: ['services:read'] },
  { name: 'acl', method: 'GET', path: '/tailnet/{tailnet}/acl', scopes: ['policy_file:read'] },
  // Workload identity federation: an OIDC ID token for a bearer token (tailscale-facts §6.2).
  { name: 'token_exchange', method: 'POST', path: '/oauth/token-exchange', scopes: [] },
  // Integration health (tailscale-facts §6.1, §6.3). Listing a service's hosts also needs devices:core:read.
  {
    name: 'logstream_status',
    method: 'GET',
    path: '/tailnet/{tailnet}/logging/{logType}/stream/status',
    scopes: ['log_streaming:read'],
    missingScope: 404,
  },
  {
    name: 'posture_integrations',
    method: 'GET',
    path: '/tailnet/{tailnet}/posture/integrations',
    scopes: ['feature_settings:read'],
    missingScope: 404,
  },
  {
    name: 'service_hosts',
    method: 'GET',
    path: '/tailnet/{tailnet}/services/{serviceName}/devices',
    scopes: ['services:read'],
  },
  {
    name: 'webhooks',
    method: 'GET',
    path: '/tailnet/{tailnet}/webhooks',
    scopes: ['webhooks:read'],
    missingScope: 404,
  },
  { name: 'logging_network', method: 'GET', path: '/tailnet/{tailnet}/logging/network', scopes: ['logs:network:read'] },
  {
    name: 'logging_configuration',
    method: 'GET',
    path: '/tailnet/{tailnet}/logging/configuration',
    scopes: ['logs:configuration:read'],
  },
];

/** The message the real API sends with a 403 for a missing scope (tailscale/tailscale#15969). */
export const FORBIDDEN_MESSAGE = 'calling actor does not have enough permissions to perform this function';

interface RouteMatch {
  readonly endpoint: ApiEndpoint;
  /** The `{tailnet}` segment, if the path has one. */
  readonly tailnet: string | null;
  /** The last `{…}` parameter other than the tailnet (device, user, key or service id). */
  readonly id: string | null;
}

interface Credential {
  /** OAuth token string, or null for the API key. */
  readonly token: string | null;
  /** Issue order of the token; 0 for the API key, which predates every token. */
  readonly serial: number;
  /** The token's scopes; null for the API key, which has every scope. */
  readonly scopes: readonly string[] | null;
  /** The key id this credential may always read: the OAuth client's, or the API token's own. */
  readonly ownKeyId: string;
  /** For tokens from the token exchange: the federated identity's key id, whose scopes then apply. */
  readonly federatedKeyId?: string | null;
}

interface Reply {
  readonly status: number;
  /** A JSON value, or raw text (HuJSON) when `contentType` is set. */
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  /** A large JSON answer written piece by piece instead of `body` (the flow logs of a big tailnet). */
  readonly chunks?: Iterable<string>;
}

const DATA_FAULTS: ReadonlySet<string> = new Set(['status', 'reset', 'hang', 'malformed-json', 'wrong-types', 'empty']);
const MAX_FORM_BYTES = 16 * 1024;
const HUJSON_TYPE = 'application/hujson';

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
  readonly #state: ApiState;
  readonly #tokens: TokenStore;
  readonly #faults: FaultSwitch<ApiFault>;
  /** Tokens with a serial up to this one count as expired while an 'expire-tokens' fault lasts. */
  #expireUpTo = 0;

  constructor(options: FakeApiOptions) {
    this.#options = options;
    this.#state = options.state;
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
    const match = matchRoute(url.pathname);
    if (match === null) return sendError(res, 404, `no route for ${url.pathname}`);
    const name = match.endpoint.name;
    this.#count(name);
    if (name === 'token') return this.#handleToken(req, res);
    if (name === 'token_exchange') return this.#handleTokenExchange(req, res);
    req.resume();
    if (req.method !== 'GET') return sendError(res, 405, 'method not allowed', { allow: 'GET' });
    const credential = this.#authenticate(req);
    if (credential === null) return sendError(res, 401, 'API token invalid');
    if (this.#takeExpiry(credential)) return sendError(res, 401, 'API token invalid');
    const needed = match.endpoint.scopes;
    if (needed !== null && !this.#permits(credential, needed))
      return this.#forbid(res, name, match.endpoint.missingScope);
    const fault = this.#faults.take((f) => DATA_FAULTS.has(f.kind));
    if (fault !== null && applyTransportFault(fault, req, res)) return;
    const reply = this.#reply(match, url, req, credential, fault);
    if (reply.status === 403) return this.#forbid(res, name);
    if (reply.chunks !== undefined && fault?.kind !== 'malformed-json') return sendChunks(res, reply.chunks);
    sendReply(
      res,
      reply.chunks === undefined ? reply : { ...reply, body: JSON.parse([...reply.chunks].join('')) },
      fault?.kind === 'malformed-json',
    );
  }

  #count(name: EndpointName): void {
    const stats = this.#options.stats;
    increment(stats.requests, name);
    if (name === 'token') stats.tokenRequests += 1;
    if (name === 'devices') stats.deviceListRequests += 1;
    if (name === 'routes') stats.routeRequests += 1;
  }

  #forbid(res: ServerResponse, name: EndpointName, status: 403 | 404 = 403): void {
    increment(this.#options.stats.forbidden, name);
    if (status === 404) sendError(res, 404, 'not found');
    else sendError(res, 403, FORBIDDEN_MESSAGE);
  }

  async #handleToken(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await this.#tokenForm(req, res);
    if (form === null) return;
    const grantType = form.get('grant_type');
    if (grantType !== null && grantType !== 'client_credentials') {
      return sendError(res, 400, `unsupported grant_type "${grantType}"`);
    }
    const client = basicCredentials(req) ?? { user: form.get('client_id'), password: form.get('client_secret') };
    if (client.user !== this.#options.clientId || client.password !== this.#options.clientSecret) {
      return sendError(res, 401, 'invalid client credentials');
    }
    const granted = this.#state.grantedScopes;
    const requested = parseScopeList(form.get('scope'));
    if (!requested.every((s) => canGrant(granted, s))) {
      // The real message quotes the whole request, not just the refused part (adinhodovic/tailscale-exporter#34).
      return sendError(res, 403, `OAuth client cannot grant scopes "${requested.join(' ')}"`);
    }
    this.#sendToken(res, requested.length > 0 ? requested : granted, null);
  }

  /**
   * `POST /oauth/token-exchange` (form: client_id, jwt): a bearer token with the federated identity's
   * scopes. Like the real endpoint, every refusal is the same `400 invalid request` (what is checked: see jwt.ts).
   */
  async #handleTokenExchange(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = await this.#tokenForm(req, res);
    if (form === null) return;
    const now = this.#options.now();
    const identity = this.#state.directory.keys.find(
      (k) => k.keyType === 'federated' && k.id === form.get('client_id') && !keyInvalid(k, now),
    );
    const { audience, issuer, subject } = identity ?? {};
    const problem =
      identity === undefined || audience === undefined || issuer === undefined || subject === undefined
        ? 'unknown identity'
        : idTokenProblem(form.get('jwt') ?? '', { audience, issuer, subject }, Math.floor(now / 1000));
    if (identity === undefined || problem !== null) return sendError(res, 400, 'invalid request');
    this.#sendToken(res, identity.scopes ?? [], identity.id);
  }

  /** The form both token endpoints read; null once an error (405, 503 fault, 413) has been answered. */
  async #tokenForm(req: IncomingMessage, res: ServerResponse): Promise<URLSearchParams | null> {
    if (req.method !== 'POST') {
      req.resume();
      sendError(res, 405, 'method not allowed', { allow: 'POST' });
      return null;
    }
    const body = await readBody(req, MAX_FORM_BYTES);
    if (this.#faults.take((f) => f.kind === 'token-endpoint-down') !== null) {
      sendError(res, 503, 'service unavailable');
      return null;
    }
    if (body === null) {
      sendError(res, 413, 'request body too large');
      return null;
    }
    return new URLSearchParams(body);
  }

  #sendToken(res: ServerResponse, scopes: readonly string[], federatedKeyId: string | null): void {
    sendJson(res, 200, {
      access_token: this.#tokens.issue(scopes, federatedKeyId),
      token_type: 'Bearer',
      expires_in: TOKEN_LIFETIME_SECONDS,
      scope: scopes.join(' '),
    });
  }

  #authenticate(req: IncomingMessage): Credential | null {
    const secret = presentedSecret(req);
    if (secret === null || secret === '') return null;
    if (secret === this.#options.apiKey)
      return { token: null, serial: 0, scopes: null, ownKeyId: this.#state.ids.apiKeyId };
    const issued = this.#tokens.lookup(secret);
    if (issued === null) return null;
    return {
      token: secret,
      serial: issued.serial,
      scopes: issued.scopes,
      ownKeyId: issued.federatedKeyId ?? this.#state.ids.clientId,
      federatedKeyId: issued.federatedKeyId,
    };
  }

  /** Applies an 'expire-tokens' fault to this credential; true if the request must get a 401. */
  #takeExpiry(credential: Credential): boolean {
    const stale = credential.serial <= this.#expireUpTo;
    if (this.#faults.take((f) => f.kind === 'expire-tokens' && stale) === null) return false;
    if (credential.token !== null) this.#tokens.revoke(credential.token);
    return true;
  }

  /**
   * True if the credential passes a check needing any of `anyOf`. An OAuth token needs the scope in
   * the token and still granted to its client, so narrowing the client affects live tokens at once.
   */
  #permits(credential: Credential, anyOf: readonly string[]): boolean {
    if (credential.scopes === null) return true;
    const granted =
      credential.federatedKeyId == null
        ? this.#state.grantedScopes
        : (this.#state.directory.keys.find((k) => k.id === credential.federatedKeyId)?.scopes ?? []);
    return coversAny(credential.scopes, anyOf) && coversAny(granted, anyOf);
  }

  #reply(match: RouteMatch, url: URL, req: IncomingMessage, credential: Credential, fault: ApiFault | null): Reply {
    const name = match.endpoint.name;
    if (match.tailnet !== null && !this.#knowsTailnet(match.tailnet))
      return { status: 404, body: { message: 'tailnet not found' } };
    if (name === 'devices' || name === 'device' || name === 'routes')
      return this.#deviceReply(name, match.id, url, fault);
    if (name === 'acl') return this.#aclReply(url, req, fault);
    if (name === 'logging_network' || name === 'logging_configuration') return this.#logReply(name, url, fault);
    const reply = this.#resourceReply(name, match.id, url, credential);
    if (reply.status !== 200 || fault === null) return reply;
    if (fault.kind === 'empty') return { ...reply, body: emptyBody(name) };
    if (fault.kind === 'wrong-types')
      return { ...reply, body: corruptBody(name, reply.body as Record<string, unknown>) };
    return reply;
  }

  #deviceReply(name: 'devices' | 'device' | 'routes', id: string | null, url: URL, fault: ApiFault | null): Reply {
    const fields: FieldSet = url.searchParams.get('fields') === 'all' ? 'all' : 'default';
    const shape = { withoutConnectedToControl: this.#state.devicesWithoutConnectedToControl };
    if (name === 'devices') {
      this.#options.beforeDeviceList?.();
      if (fault?.kind === 'empty') return ok({ devices: [] });
      const devices = this.#options.devices().map((d) => deviceJson(d, fields, shape));
      return ok({ devices: fault?.kind === 'wrong-types' ? withWrongTypes(devices) : devices });
    }
    const device = this.#options.devices().find((d) => d.nodeId === id || d.id === id);
    if (device === undefined) return { status: 404, body: { message: 'device not found' } };
    if (name === 'routes') return ok(routesBody(device, fault));
    if (fault?.kind === 'empty') return ok({});
    const json = deviceJson(device, fields, shape);
    return ok(fault?.kind === 'wrong-types' ? withWrongTypes([json])[0] : json);
  }

  #resourceReply(name: EndpointName, id: string | null, url: URL, credential: Credential): Reply {
    const { directory } = this.#state;
    const now = this.#options.now();
    switch (name) {
      case 'settings':
        return ok(
          settingsJson(directory.settings, {
            networkFlowLogging: this.#permits(credential, ['logs:network:read']),
            https: this.#permits(credential, ['networking_settings:read']),
            aclsExternal: this.#permits(credential, ['policy_file:read']),
          }),
        );
      case 'users':
        return this.#usersReply(url);
      case 'user': {
        const user = this.#users().find((u) => u['id'] === id);
        return user === undefined ? { status: 404, body: { message: 'user not found' } } : ok(user);
      }
      case 'keys':
        return ok({ keys: this.#visibleKeys(credential, url.searchParams.get('all') === 'true') });
      case 'key':
        return this.#keyReply(credential, id ?? '', now);
      case 'dns_nameservers':
        return ok(dnsJson.nameservers(directory.dns));
      case 'dns_preferences':
        return ok(dnsJson.preferences(directory.dns));
      case 'dns_searchpaths':
        return ok(dnsJson.searchPaths(directory.dns));
      case 'dns_split':
        return ok(dnsJson.splitDns(directory.dns));
      case 'services':
        return ok({ vipServices: directory.services.map(serviceJson) });
      case 'service': {
        const service = directory.services.find((s) => s.name === id);
        return service === undefined
          ? { status: 404, body: { message: 'service not found' } }
          : ok(serviceJson(service));
      }
      case 'logstream_status': {
        const stream = id === 'configuration' || id === 'network' ? directory.integrations.logStreams[id] : undefined;
        return stream === undefined ? { status: 404, body: { message: 'not found' } } : ok({ ...stream });
      }
      case 'posture_integrations':
        return ok({ integrations: directory.integrations.postureIntegrations.map(postureIntegrationJson) });
      case 'service_hosts': {
        if (!this.#permits(credential, ['devices:core:read'])) return { status: 403, body: null };
        if (!directory.services.some((s) => s.name === id))
          return { status: 404, body: { message: 'service not found' } };
        return ok({ hosts: (directory.integrations.serviceHosts[id ?? ''] ?? []).map((h) => ({ ...h })) });
      }
      case 'webhooks':
        return ok({ webhooks: directory.integrations.webhooks.map(webhookJson) });
      default:
        return { status: 404, body: { message: `no route for ${url.pathname}` } };
    }
  }

  #users(): Record<string, unknown>[] {
    return allUsers(this.#state.directory.users, this.#options.devices(), this.#options.tailnet, this.#options.now());
  }

  #usersReply(url: URL): Reply {
    const type = url.searchParams.get('type') ?? 'member';
    const role = url.searchParams.get('role') ?? 'all';
    const badType = type !== 'all' && !(USER_TYPES as readonly string[]).includes(type);
    const badRole = role !== 'all' && !(USER_ROLES as readonly string[]).includes(role);
    if (badType) return { status: 400, body: { message: `invalid type "${type}"` } };
    if (badRole) return { status: 400, body: { message: `invalid role "${role}"` } };
    const users = this.#users().filter(
      (u) => (type === 'all' || u['type'] === type) && (role === 'all' || u['role'] === role),
    );
    return ok({ users });
  }

  /**
   * The `/keys` list. Without `all=true` an API access token sees its user's keys and an OAuth token
   * sees the tailnet's OAuth clients (OpenAPI listTailnetKeys); each key type also needs its scope.
   */
  #visibleKeys(credential: Credential, all: boolean): Array<Record<string, unknown>> {
    const now = this.#options.now();
    const owner = userId(OWNER_LOGIN);
    return this.#state.directory.keys
      .filter((k) => all || (credential.token === null ? k.userId === owner : k.keyType === 'client'))
      .filter((k) => this.#permits(credential, [KEY_TYPE_SCOPES[k.keyType]]))
      .filter((k) => this.#state.keyListIncludesInvalid || !keyInvalid(k, now))
      .map((k) => (this.#state.keyListIdsOnly ? { id: k.id } : keyJson(k, now)));
  }

  /** Any credential may read its own key; other keys need the scope of their type. */
  #keyReply(credential: Credential, id: string, now: number): Reply {
    const own = id === credential.ownKeyId;
    if (!own && !this.#permits(credential, KEY_SCOPES)) return { status: 403, body: null };
    const key: SimKey | undefined = this.#state.directory.keys.find((k) => k.id === id);
    if (key === undefined) return { status: 404, body: { message: 'key not found' } };
    if (!own && !this.#permits(credential, [KEY_TYPE_SCOPES[key.keyType]])) return { status: 403, body: null };
    return ok(keyJson(key, now));
  }

  /** JSON for `Accept: application/json`, HuJSON otherwise, `{acl: base64}` for `details=true`; ETag always. */
  #aclReply(url: URL, req: IncomingMessage, fault: ApiFault | null): Reply {
    const doc = this.#state.policy;
    const headers = { etag: doc.etag };
    if (url.searchParams.get('details') === 'true') {
      return {
        status: 200,
        headers,
        body: { acl: Buffer.from(doc.hujson).toString('base64'), warnings: [], errors: null },
      };
    }
    let json: Record<string, unknown> = doc.json;
    if (fault?.kind === 'empty') json = emptyBody('acl');
    if (fault?.kind === 'wrong-types') json = corruptBody('acl', doc.json);
    if ((req.headers.accept ?? '').includes('application/json')) return { status: 200, headers, body: json };
    const text = json === doc.json ? doc.hujson : JSON.stringify(json, null, '\t');
    return { status: 200, headers, body: text, contentType: HUJSON_TYPE };
  }

  /**
   * The logs of [start, end] (both required, RFC 3339): flow records by their `start`, audit events by
   * `eventTime`, each only once it has been logged. 404 when logging is not supported; flow logging turned
   * off (settings) answers no records.
   */
  #logReply(name: 'logging_network' | 'logging_configuration', url: URL, fault: ApiFault | null): Reply {
    const logs = this.#options.logs;
    if (!logs.supported) return { status: 404, body: { message: 'logging is not supported' } };
    const start = Date.parse(url.searchParams.get('start') ?? '');
    const end = Date.parse(url.searchParams.get('end') ?? '');
    if (!Number.isFinite(start) || !Number.isFinite(end))
      return { status: 400, body: { message: 'start and end must be RFC 3339 times' } };
    if (end < start) return { status: 400, body: { message: 'end must not be before start' } };
    const now = this.#options.now();
    if (fault?.kind === 'empty') return ok(emptyBody(name));
    if (name === 'logging_configuration') {
      logs.audit.observe(now, logs.auditSources());
      const records = logs.audit.query(start, end, now);
      for (const r of records) logs.onServed?.('audit', r);
      return ok({ version: '1.1', tailnet: logs.audit.tailnet, logs: records });
    }
    const off = this.#state.directory.settings.networkFlowLoggingOn === false;
    const records = off
      ? []
      : logs.flow.records(this.#options.devices(), start, end, now).filter((r) => r.loggedMs <= now);
    const onServed = logs.onServed;
    function* chunks(): Generator<string> {
      yield '{"logs":[';
      for (let i = 0; i < records.length; i += 200) {
        const part = records.slice(i, i + 200);
        for (const r of part) onServed?.('flow', r.json);
        yield (i === 0 ? '' : ',') + part.map((r) => JSON.stringify(r.json)).join(',');
      }
      yield ']}';
    }
    return { status: 200, body: null, chunks: chunks() };
  }

  #knowsTailnet(tailnet: string): boolean {
    return tailnet === '-' || tailnet === this.#options.tailnet;
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

/** Writes a JSON answer piece by piece, waiting whenever the socket's buffer is full. */
async function sendChunks(res: ServerResponse, chunks: Iterable<string>): Promise<void> {
  res.writeHead(200, { 'content-type': JSON_CONTENT_TYPE });
  for (const chunk of chunks) {
    if (!res.write(chunk)) await drained(res);
    if (res.destroyed) return;
  }
  res.end();
}

function sendReply(res: ServerResponse, reply: Reply, malformed: boolean): void {
  const text = reply.contentType === undefined ? JSON.stringify(reply.body) : String(reply.body);
  const contentType = reply.contentType ?? JSON_CONTENT_TYPE;
  if (malformed && reply.status === 200) return sendText(res, 200, malformedJson(text), contentType, reply.headers);
  sendText(res, reply.status, text, contentType, reply.headers);
}

const SPLIT_ROUTES = API_ENDPOINTS.map((endpoint) => ({
  endpoint,
  segments: endpoint.path.split('/').filter((s) => s !== ''),
}));

function matchRoute(pathname: string): RouteMatch | null {
  const parts = decodeSegments(pathname);
  if (parts === null || parts[0] !== 'api' || parts[1] !== 'v2') return null;
  const rest = parts.slice(2);
  for (const { endpoint, segments } of SPLIT_ROUTES) {
    if (segments.length !== rest.length) continue;
    let tailnet: string | null = null;
    let id: string | null = null;
    const matches = segments.every((segment, i) => {
      const value = rest[i] ?? '';
      if (segment === '{tailnet}') tailnet = value;
      else if (segment.startsWith('{')) id = value;
      else return segment === value;
      return value !== '';
    });
    if (matches) return { endpoint, tailnet, id };
  }
  return null;
}

function decodeSegments(pathname: string): string[] | null {
  try {
    return pathname
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    return null;
  }
}

function routesBody(device: SimDevice, fault: ApiFault | null): unknown {
  if (fault?.kind === 'empty') return { advertisedRoutes: [], enabledRoutes: [] };
  if (fault?.kind === 'wrong-types')
    return { advertisedRoutes: device.advertisedRoutes?.join(',') ?? '', enabledRoutes: null };
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

function failRequest(res: ServerResponse): void {
  if (res.headersSent) res.destroy();
  else sendError(res, 500, 'simulator error');
}
