// The simulated Headscale's data and its wire form: the JSON grpc-gateway (default marshaler:
// protojson, EmitUnpopulated, lowerCamelCase, uint64 as strings, Timestamps as RFC 3339, enums by
// name) makes of juanfont/headscale's proto messages (proto/headscale/v1/{node,user,preauthkey,
// apikey}.proto). Two node shapes: `legacy` (0.26–0.27: forcedTags/invalidTags/validTags, every
// node owned by a user) and `v028` (0.28+: one `tags` field, tagged nodes shown as the
// "tagged-devices" user). Pure data and rendering, no I/O.
import { isExitRoute } from '../shared/device.js';
import { hexFrom } from '../shared/ids.js';
import { isoTimeMillis, ZERO_TIME } from '../shared/time.js';

export type HeadscaleTagModel = 'legacy' | 'v028';

export type RegisterMethod =
  'REGISTER_METHOD_UNSPECIFIED' | 'REGISTER_METHOD_AUTH_KEY' | 'REGISTER_METHOD_CLI' | 'REGISTER_METHOD_OIDC';

/** The pseudo user 0.28+ puts on tagged nodes in node lists (hscontrol/types/users.go TaggedDevices). */
export const TAGGED_DEVICES_USER_ID = 2147455555;

export interface SimHeadscaleUser {
  id: number;
  name: string;
  /** ms since the epoch. */
  createdAt: number;
  displayName: string;
  email: string;
  providerId: string;
  /** "oidc" for users created by an OIDC login, "" for CLI-created ones. */
  provider: string;
  profilePicUrl: string;
}

export interface SimHeadscalePreAuthKey {
  id: number;
  /** Owner; null only in the v028 model (tags-only keys). */
  userId: number | null;
  /**
   * The full key as created: 48 hex characters (before 0.28) or `hskey-auth-<12>-<64>` (0.28+).
   * Lists show the legacy form as is and the new form masked as `hskey-auth-<12>-***`.
   */
  key: string;
  reusable: boolean;
  ephemeral: boolean;
  used: boolean;
  /** ms since the epoch; null when unset. */
  expiration: number | null;
  createdAt: number | null;
  aclTags: string[];
}

export interface SimHeadscaleApiKey {
  id: number;
  /** The stored prefix: 7 characters (before 0.28) or 12 (0.28+). */
  prefix: string;
  /** The full credential (`<prefix>.<secret>` or `hskey-api-<prefix>-<secret>`), for tests. */
  key: string;
  expiration: number | null;
  createdAt: number | null;
  lastSeen: number | null;
}

/**
 * A node as the simulator keeps it. Tags are kept version-neutral: `forcedTags` are set by an admin
 * or inherited from the pre-auth key's aclTags, `requestedTags` are advertised by the client and
 * permitted by the policy. legacy renders forcedTags, validTags = uniq(requested + forced) and
 * invalidTags; v028 renders tags = uniq(forced + requested).
 */
export interface SimHeadscaleNode {
  id: number;
  /** The client's hostname (`name` on the wire). */
  hostname: string;
  givenName: string;
  /** Owner (legacy) or creator (v028); null for v028 nodes registered with a tags-only key. */
  userId: number | null;
  machineKey: string;
  nodeKey: string;
  discoKey: string;
  /** IPv4 first: a 127.0.X.Y loopback address for metrics-serving nodes, else 100.64.0.N; then IPv6. */
  ipAddresses: string[];
  lastSeen: number | null;
  /** ms since the epoch, `'zero'` (0001-01-01, the client asked for no expiry) or null (unset). */
  expiry: number | 'zero' | null;
  createdAt: number;
  preAuthKeyId: number | null;
  registerMethod: RegisterMethod;
  online: boolean;
  availableRoutes: string[];
  approvedRoutes: string[];
  forcedTags: string[];
  requestedTags: string[];
  /** legacy only; Headscale has left it empty since 0.24, but older servers filled it. */
  invalidTags: string[];
  /** Whether `http://<loopbackAddress>:<clientMetricsPort>/metrics` answers. */
  readonly servesMetrics: boolean;
  readonly loopbackAddress: string | null;
}

export interface HeadscaleData {
  readonly users: SimHeadscaleUser[];
  readonly nodes: SimHeadscaleNode[];
  readonly preAuthKeys: SimHeadscalePreAuthKey[];
  readonly apiKeys: SimHeadscaleApiKey[];
}

type Json = Record<string, unknown>;

/** Applied tags in the 0.28+ sense. */
export function appliedTags(node: SimHeadscaleNode): string[] {
  return uniq([...node.forcedTags, ...node.requestedTags]);
}

export function isTagged(node: SimHeadscaleNode): boolean {
  return appliedTags(node).length > 0;
}

/**
 * protojson Timestamp text: whole seconds with 0, 3 or 9 fractional digits. With a `salt`, adds
 * deterministic sub-millisecond digits the way Go's nanosecond clock does, so parsers meet the
 * 9-digit form real servers send; Date.parse still yields `ms`.
 */
export function protoTime(ms: number, salt?: string): string {
  const iso = isoTimeMillis(ms);
  const seconds = iso.slice(0, 19);
  const millis = iso.slice(20, 23);
  if (salt !== undefined) {
    let micro = parseInt(hexFrom(`ts:${salt}`, 8), 16) % 1_000_000;
    if (micro % 1000 === 0) micro += 1;
    return `${seconds}.${millis}${String(micro).padStart(6, '0')}Z`;
  }
  return millis === '000' ? `${seconds}Z` : `${seconds}.${millis}Z`;
}

function time(ms: number | null, salt: string): string | null {
  return ms === null ? null : protoTime(ms, salt);
}

export function userJson(user: SimHeadscaleUser): Json {
  return {
    id: String(user.id),
    name: user.name,
    createdAt: protoTime(user.createdAt, `user:${user.id}`),
    displayName: user.displayName,
    email: user.email,
    providerId: user.providerId,
    provider: user.provider,
    profilePicUrl: user.profilePicUrl,
  };
}

/** TaggedDevices.Proto(): zero CreatedAt, no email or provider. */
function taggedDevicesUserJson(): Json {
  return {
    id: String(TAGGED_DEVICES_USER_ID),
    name: 'tagged-devices',
    createdAt: ZERO_TIME,
    displayName: 'Tagged Devices',
    email: '',
    providerId: '',
    provider: '',
    profilePicUrl: '',
  };
}

export function preAuthKeyJson(key: SimHeadscalePreAuthKey, data: HeadscaleData, model: HeadscaleTagModel): Json {
  const user = key.userId === null ? undefined : data.users.find((u) => u.id === key.userId);
  return {
    user: user === undefined ? null : userJson(user),
    id: String(key.id),
    key: model === 'v028' ? maskAuthKey(key.key) : key.key,
    reusable: key.reusable,
    ephemeral: key.ephemeral,
    used: key.used,
    expiration: time(key.expiration, `pak:${key.id}:exp`),
    createdAt: time(key.createdAt, `pak:${key.id}:created`),
    aclTags: [...key.aclTags],
  };
}

export function apiKeyJson(key: SimHeadscaleApiKey, model: HeadscaleTagModel): Json {
  return {
    id: String(key.id),
    prefix: displayedApiKeyPrefix(key.prefix, model),
    expiration: time(key.expiration, `apikey:${key.id}:exp`),
    createdAt: time(key.createdAt, `apikey:${key.id}:created`),
    lastSeen: time(key.lastSeen, `apikey:${key.id}:seen`),
  };
}

/** hscontrol/types/api_key.go Proto(): 0.28+ masks the prefix; before, the bare 7 characters. */
function displayedApiKeyPrefix(prefix: string, model: HeadscaleTagModel): string {
  if (model === 'legacy') return prefix;
  return prefix.length === 12 ? `hskey-api-${prefix}-***` : `${prefix}***`;
}

export interface NodeRenderContext {
  readonly data: HeadscaleData;
  readonly model: HeadscaleTagModel;
  /**
   * true for ListNodes (nodesToProto: tagged-devices user, validTags, subnetRoutes filled in);
   * false for GetNode, which returns node.Proto() alone.
   */
  readonly listing: boolean;
  /**
   * 'v030' (main, 2026): plain HTTP instead of grpc-gateway; unset times are null (no zero time) and a
   * tagged node has no user at all (no tagged-devices pseudo user). Default 'grpc-gateway' (0.26-0.29).
   */
  readonly flavor?: HeadscaleFlavor;
}

export type HeadscaleFlavor = 'grpc-gateway' | 'v030';

/** One Node message; field order follows the proto field numbers, as protojson writes them. */
export function nodeJson(node: SimHeadscaleNode, ctx: NodeRenderContext): Json {
  const { data, model, listing } = ctx;
  const owner = node.userId === null ? undefined : data.users.find((u) => u.id === node.userId);
  const key = node.preAuthKeyId === null ? undefined : data.preAuthKeys.find((k) => k.id === node.preAuthKeyId);
  const taggedView = model === 'v028' && listing && isTagged(node);
  const v030 = ctx.flavor === 'v030';
  const json: Json = {
    id: String(node.id),
    machineKey: node.machineKey,
    nodeKey: node.nodeKey,
    discoKey: node.discoKey,
    ipAddresses: [...node.ipAddresses],
    name: node.hostname,
    user: taggedView ? (v030 ? null : taggedDevicesUserJson()) : owner === undefined ? null : userJson(owner),
    lastSeen: time(node.lastSeen, `node:${node.id}:seen`),
    expiry: node.expiry === 'zero' ? (v030 ? null : ZERO_TIME) : time(node.expiry, `node:${node.id}:expiry`),
    preAuthKey: key === undefined ? null : preAuthKeyJson(key, data, model),
    createdAt: protoTime(node.createdAt, `node:${node.id}:created`),
    registerMethod: node.registerMethod,
  };
  if (model === 'legacy') {
    json['forcedTags'] = [...node.forcedTags];
    json['invalidTags'] = [...node.invalidTags];
    json['validTags'] = listing ? uniq([...node.requestedTags, ...node.forcedTags]) : [];
  }
  json['givenName'] = node.givenName;
  json['online'] = node.online;
  json['approvedRoutes'] = [...node.approvedRoutes];
  json['availableRoutes'] = [...node.availableRoutes];
  json['subnetRoutes'] = listing ? subnetRoutes(node, data.nodes) : [];
  if (model === 'v028') json['tags'] = appliedTags(node);
  return json;
}

/**
 * What nodesToProto reports as subnetRoutes: the node's primary routes plus its exit routes. A route
 * is served (announced and approved); among online nodes serving the same prefix the lowest id is primary.
 */
function subnetRoutes(node: SimHeadscaleNode, nodes: readonly SimHeadscaleNode[]): string[] {
  const served = servedRoutes(node);
  const exits = served.filter(isExitRoute);
  if (!node.online) return exits;
  const primaries = served.filter((route) => {
    if (isExitRoute(route)) return false;
    const first = nodes
      .filter((n) => n.online && servedRoutes(n).includes(route))
      .reduce<SimHeadscaleNode | null>((best, n) => (best === null || n.id < best.id ? n : best), null);
    return first?.id === node.id;
  });
  return [...primaries, ...exits];
}

function servedRoutes(node: SimHeadscaleNode): string[] {
  const approved = new Set(node.approvedRoutes);
  return node.availableRoutes.filter((r) => approved.has(r));
}

/** `hskey-auth-<prefix>-<secret>` is listed as `hskey-auth-<prefix>-***`; legacy plaintext keys as is. */
function maskAuthKey(key: string): string {
  const match = /^hskey-auth-([A-Za-z0-9_-]{12})-/.exec(key);
  return match === null ? key : `hskey-auth-${match[1]}-***`;
}

function uniq(values: readonly string[]): string[] {
  return [...new Set(values)];
}
