// Headscale's REST API as released servers (0.26–0.29) serve it: chi router, the Bearer API-key
// middleware on /api, then grpc-gateway. Reproduced from juanfont/headscale hscontrol/app.go
// (httpAuthenticationMiddleware, createRouter), hscontrol/grpcv1.go (List*, GetNode, Health) and
// grpc-gateway v2 runtime (errors as {"code","message","details"}, routing errors, query parsing).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { increment } from '../shared/counters.js';
import { FaultSwitch, malformedJson } from '../shared/fault-switch.js';
import {
  apiKeyJson,
  isTagged,
  nodeJson,
  preAuthKeyJson,
  protoTime,
  userJson,
  type HeadscaleData,
  type HeadscaleFlavor,
  type HeadscaleTagModel,
  type SimHeadscaleNode,
} from './model.js';
import { closeServer, listen, PLAIN_TEXT_TYPE, sendJson, sendNotFound, sendText } from '../shared/http.js';

/** Request counters: `node` = ListNodes, `node_get` = GetNode. */
type HeadscaleEndpoint = 'node' | 'node_get' | 'user' | 'preauthkey' | 'apikey' | 'policy' | 'health';

interface FaultBase {
  /** Applies to this many requests, then clears; default until replaced. */
  readonly times?: number;
  /** Only requests to this endpoint; default every authenticated /api/v1 request. */
  readonly endpoint?: HeadscaleEndpoint;
}

export type HeadscaleFault =
  | (FaultBase & { kind: 'status'; status: number })
  | (FaultBase & { kind: 'hang' })
  | (FaultBase & { kind: 'reset' })
  | (FaultBase & { kind: 'malformed-json' })
  /** 401 "Unauthorized" whatever the key, as after `headscale apikeys expire`. */
  | (FaultBase & { kind: 'unauthorized' });

export interface HeadscaleApiStats {
  /** Requests per endpoint, counted on arrival (before auth). */
  readonly requests: Map<HeadscaleEndpoint, number>;
  /** 401 answers. */
  unauthorized: number;
}

export interface HeadscaleApiOptions {
  readonly port: number;
  readonly model: HeadscaleTagModel;
  /** 'v030': errors as application/problem+json, null times, tagged nodes without a user. */
  readonly flavor: HeadscaleFlavor;
  /** false: a server before 0.27, without GET /api/v1/health (404). */
  readonly healthEndpoint: boolean;
  readonly now: () => number;
  readonly data: HeadscaleData;
  readonly stats: HeadscaleApiStats;
  readonly databaseHealthy: () => boolean;
  /** The stored policy (HuJSON text) and when it was last set, for GET /api/v1/policy. */
  readonly policy: () => { text: string; updatedAt: number };
  /** Called once per injected fault with its kind. */
  readonly onFault: (kind: string) => void;
}

export interface HeadscaleApi {
  readonly url: string;
  setFault(fault: HeadscaleFault | null): void;
  close(): Promise<void>;
}

/** grpc-gateway's marshaler content type. */
const JSON_TYPE = 'application/json';
/** Header metadata the gateway forwards from the gRPC backend on every proxied answer. */
const GATEWAY_HEADERS = { 'grpc-metadata-content-type': 'application/grpc' };
const AUTH_PREFIX = 'Bearer ';
const UINT64_MAX = 18446744073709551615n;

/** gRPC codes used here, and the HTTP status grpc-gateway's HTTPStatusFromCode maps them to. */
const GRPC = {
  unknown: { code: 2, http: 500 },
  invalidArgument: { code: 3, http: 400 },
  notFound: { code: 5, http: 404 },
  unimplemented: { code: 12, http: 501 },
} as const;

type Grpc = (typeof GRPC)[keyof typeof GRPC];

interface Reply {
  readonly status: number;
  readonly body: unknown;
  /** false when the gateway answers itself (routing errors), so no backend metadata headers. */
  readonly proxied: boolean;
}

export async function startHeadscaleApi(options: HeadscaleApiOptions): Promise<HeadscaleApi> {
  const api = new HeadscaleApiServer(options);
  const port = await listen(api.server, '127.0.0.1', options.port);
  return {
    url: `http://127.0.0.1:${port}`,
    setFault: (fault) => api.faults.set(fault),
    close: () => closeServer(api.server),
  };
}

class HeadscaleApiServer {
  readonly server: Server;
  readonly faults: FaultSwitch<HeadscaleFault>;
  readonly #options: HeadscaleApiOptions;

  constructor(options: HeadscaleApiOptions) {
    this.#options = options;
    this.faults = new FaultSwitch<HeadscaleFault>((fault) => options.onFault(fault.kind));
    this.server = createServer((req, res) => {
      try {
        this.#handle(req, res);
      } catch {
        if (res.headersSent) res.destroy();
        else grpcError(res, GRPC.unknown, 'simulator error');
      }
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    req.resume();
    const url = new URL(req.url ?? '/', 'http://headscale.invalid');
    const path = url.pathname;
    if (path === '/health') {
      if (req.method === 'GET') return this.#plainHealth(res);
      res.writeHead(405, { 'content-length': 0 });
      res.end();
      return;
    }
    if (!path.startsWith('/api/')) return sendNotFound(res);
    const endpoint = endpointOf(path, req.method);
    if (endpoint !== null) increment(this.#options.stats.requests, endpoint);
    if (!this.#authorized(req) || this.faults.take((f) => f.kind === 'unauthorized' && applies(f, endpoint)) !== null) {
      this.#options.stats.unauthorized += 1;
      return sendText(res, 401, 'Unauthorized', PLAIN_TEXT_TYPE);
    }
    if (!path.startsWith('/api/v1/')) return sendNotFound(res);
    const fault = this.faults.take((f) => f.kind !== 'unauthorized' && applies(f, endpoint));
    const v030 = this.#options.flavor === 'v030';
    switch (fault?.kind) {
      case 'status':
        if (v030) return sendProblem(res, fault.status, `simulated HTTP ${fault.status}`);
        return grpcError(res, { code: GRPC.unknown.code, http: fault.status }, `simulated HTTP ${fault.status}`);
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'hang':
        return; // never answered; close() cuts the connection
      default:
        break;
    }
    const reply = this.#route(path, req.method ?? 'GET', url.searchParams);
    if (v030 && reply.status !== 200) {
      const message = (reply.body as { message?: unknown }).message;
      return sendProblem(res, reply.status, typeof message === 'string' ? message : '');
    }
    const text = JSON.stringify(reply.body);
    const body = fault?.kind === 'malformed-json' && reply.status === 200 ? malformedJson(text) : text;
    sendText(res, reply.status, body, JSON_TYPE, reply.proxied ? GATEWAY_HEADERS : {});
  }

  /** Headscale's unauthenticated `/health` (hscontrol/handlers.go HealthHandler). */
  #plainHealth(res: ServerResponse): void {
    const healthy = this.#options.databaseHealthy();
    const body = `${JSON.stringify({ status: healthy ? 'pass' : 'fail' })}\n`;
    sendText(res, healthy ? 200 : 500, body, 'application/health+json; charset=utf-8');
  }

  /** httpAuthenticationMiddleware: the header must start with exactly "Bearer "; expired keys fail. */
  #authorized(req: IncomingMessage): boolean {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith(AUTH_PREFIX)) return false;
    const presented = header.slice(AUTH_PREFIX.length);
    const key = this.#options.data.apiKeys.find((k) => k.key === presented);
    if (key === undefined) return false;
    return key.expiration === null || key.expiration >= this.#options.now();
  }

  #route(path: string, method: string, query: URLSearchParams): Reply {
    const rest = path.slice('/api/v1/'.length);
    const known = KNOWN_PATHS.find((p) => p.test(rest));
    if (known === undefined) return routingError(GRPC.notFound, 'Not Found');
    if (method !== 'GET') return routingError(GRPC.unimplemented, 'Method Not Allowed');
    const { data, model } = this.#options;
    if (rest === 'node') return this.#listNodes(query);
    if (rest.startsWith('node/')) return this.#getNode(rest.slice('node/'.length));
    if (rest === 'user') return this.#listUsers(query);
    if (rest === 'preauthkey') return this.#listPreAuthKeys(query);
    if (rest === 'apikey') return ok({ apiKeys: byId(data.apiKeys).map((k) => apiKeyJson(k, model)) });
    if (rest === 'policy') {
      const policy = this.#options.policy();
      return ok({ policy: policy.text, updatedAt: protoTime(policy.updatedAt, 'policy') });
    }
    if (rest === 'health' && !this.#options.healthEndpoint) return routingError(GRPC.notFound, 'Not Found');
    if (rest === 'health') {
      if (!this.#options.databaseHealthy()) return failure(GRPC.unknown, 'pinging database: sql: database is closed');
      return ok({ databaseConnectivity: true });
    }
    return routingError(GRPC.notFound, 'Not Found');
  }

  /**
   * ListNodes: `?user=<name>` looks the user up by name (unknown name: code 2 "user not found");
   * 0.29 leaves tagged nodes out of a user's list, since tags own them.
   */
  #listNodes(query: URLSearchParams): Reply {
    const { data, model } = this.#options;
    let nodes: SimHeadscaleNode[] = data.nodes;
    const userName = query.get('user') ?? '';
    if (userName !== '') {
      const users = data.users.filter((u) => u.name === userName);
      if (users.length === 0) return failure(GRPC.unknown, 'user not found');
      if (users.length > 1) return failure(GRPC.unknown, `user not unique, found ${users.length}`);
      const id = users[0]?.id;
      nodes = nodes.filter((n) => n.userId === id && !(model === 'v028' && isTagged(n)));
    }
    return ok({
      nodes: byId(nodes).map((n) => nodeJson(n, { data, model, listing: true, flavor: this.#options.flavor })),
    });
  }

  /** GetNode returns node.Proto() only: no tagged-devices user, no validTags, no subnetRoutes. */
  #getNode(idText: string): Reply {
    const id = parseUint64(idText);
    if (id === null) {
      return failure(GRPC.invalidArgument, `type mismatch, parameter: node_id, error: ${parseUintError(idText)}`);
    }
    const { data, model } = this.#options;
    const node = data.nodes.find((n) => BigInt(n.id) === id);
    if (node === undefined) return failure(GRPC.notFound, 'node not found');
    return ok({ node: nodeJson(node, { data, model, listing: false, flavor: this.#options.flavor }) });
  }

  /** ListUsers: filters by name, else email, else id (empty list when nothing matches). */
  #listUsers(query: URLSearchParams): Reply {
    const users = this.#options.data.users;
    const name = query.get('name') ?? '';
    const email = query.get('email') ?? '';
    const idText = query.get('id');
    let id: bigint | null = 0n;
    if (idText !== null) {
      id = parseUint64(idText);
      if (id === null) return failure(GRPC.invalidArgument, `parsing field "id": ${parseUintError(idText)}`);
    }
    let selected = users;
    if (name !== '') selected = users.filter((u) => u.name === name);
    else if (email !== '') selected = users.filter((u) => u.email === email);
    else if (id !== 0n) selected = users.filter((u) => BigInt(u.id) === id);
    return ok({ users: byId(selected).map(userJson) });
  }

  /**
   * ListPreAuthKeys. legacy (0.26–0.27): `?user=<numeric user id>` is required; without it the user
   * id is 0 and the lookup fails (code 2 "user not found"). v028 (0.28+): the request has no fields,
   * every key is listed and any `user` parameter is ignored.
   */
  #listPreAuthKeys(query: URLSearchParams): Reply {
    const { data, model } = this.#options;
    let keys = data.preAuthKeys;
    if (model === 'legacy') {
      const text = query.get('user');
      let id: bigint | null = 0n;
      if (text !== null) {
        id = parseUint64(text);
        if (id === null) return failure(GRPC.invalidArgument, `parsing field "user": ${parseUintError(text)}`);
      }
      const user = data.users.find((u) => BigInt(u.id) === id);
      if (user === undefined) return failure(GRPC.unknown, 'user not found');
      keys = keys.filter((k) => k.userId === user.id);
    }
    return ok({ preAuthKeys: byId(keys).map((k) => preAuthKeyJson(k, data, model)) });
  }
}

/** The routes grpc-gateway knows under /api/v1 for GET (other methods of the same paths are 501). */
const KNOWN_PATHS: readonly RegExp[] = [
  /^(?:node|user|preauthkey|apikey|policy|health)$/,
  /^node\/[^/]+$/,
  // Routes the real API has for other methods only (headscale.proto @ v0.29.2), so GET there is 501, not 404.
  /^node\/[^/]+\/(?:tags|approve_routes|expire|rename\/[^/]+)$/,
  /^user\/[^/]+(?:\/rename\/[^/]+)?$/,
  /^(?:preauthkey|apikey)\/expire$/,
  /^apikey\/[^/]+$/,
  /^(?:policy\/check|debug\/node|auth\/(?:register|approve|reject))$/,
];

function endpointOf(path: string, method: string | undefined): HeadscaleEndpoint | null {
  if (method !== 'GET') return null;
  switch (path) {
    case '/api/v1/node':
      return 'node';
    case '/api/v1/user':
      return 'user';
    case '/api/v1/preauthkey':
      return 'preauthkey';
    case '/api/v1/apikey':
      return 'apikey';
    case '/api/v1/policy':
      return 'policy';
    case '/api/v1/health':
      return 'health';
    default:
      return /^\/api\/v1\/node\/[^/]+$/.test(path) ? 'node_get' : null;
  }
}

function applies(fault: HeadscaleFault, endpoint: HeadscaleEndpoint | null): boolean {
  return fault.endpoint === undefined || fault.endpoint === endpoint;
}

function ok(body: unknown): Reply {
  return { status: 200, body, proxied: true };
}

/** A gRPC error from the backend through the gateway's DefaultHTTPErrorHandler. */
function failure(grpc: Grpc, message: string): Reply {
  return { status: grpc.http, body: { code: grpc.code, message, details: [] }, proxied: true };
}

/** DefaultRoutingErrorHandler: same body, but the gateway answers itself. */
function routingError(grpc: Grpc, message: string): Reply {
  return { ...failure(grpc, message), proxied: false };
}

const STATUS_TITLES: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** 0.30's error answers: RFC 9457 problem details. */
function sendProblem(res: ServerResponse, status: number, detail: string): void {
  const body = { type: 'about:blank', title: STATUS_TITLES[status] ?? `HTTP ${status}`, status, detail };
  sendText(res, status, JSON.stringify(body), 'application/problem+json');
}

function grpcError(res: ServerResponse, grpc: { code: number; http: number }, message: string): void {
  sendJson(res, grpc.http, { code: grpc.code, message, details: [] });
}

/** strconv.ParseUint(s, 10, 64) as grpc-gateway applies it; null when Go would reject the text. */
function parseUint64(text: string): bigint | null {
  if (!/^[0-9]+$/.test(text)) return null;
  const value = BigInt(text);
  return value > UINT64_MAX ? null : value;
}

/** Go's strconv error text (%q approximated by JSON quoting); out-of-range numbers say so. */
function parseUintError(text: string): string {
  const reason = /^[0-9]+$/.test(text) ? 'value out of range' : 'invalid syntax';
  return `strconv.ParseUint: parsing ${JSON.stringify(text)}: ${reason}`;
}

function byId<T extends { id: number }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.id - b.id);
}
