import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { JsonSource } from './http.js';
import { eachLimited } from '../util/pool.js';
import { anObject, listOf, parseEntries, shaped, timestampSeconds, uniq } from './schemas.js';
import type { HsApiKey, HsHealth, HsPreAuthKey, HsUser } from './headscale.js';
import type { LogStreamStatus, PostureIntegrations, ServiceHosts, Webhooks } from './monitoring.js';

// The slowly changing tailnet inventory: users, keys, settings, DNS, Tailscale Services and the policy
// file. One fetch function per resource, each returning normalized data (timestamps in Unix seconds,
// "no value" as undefined); zod at the boundary, unknown fields ignored, odd optional fields dropped.

const optString = z.string().optional().catch(undefined);
const optBool = z.boolean().nullable().optional().catch(undefined);
const optNumber = z.number().optional().catch(undefined);

export interface User {
  readonly id: string;
  readonly loginName: string;
  readonly displayName: string;
  readonly role: string;
  readonly status: string;
  readonly type: string;
  readonly createdSeconds: number | undefined;
  readonly lastSeenSeconds: number | undefined;
  readonly currentlyConnected: boolean | undefined;
  readonly deviceCount: number | undefined;
}

const userSchema = z.object({
  id: z.union([z.string(), z.number()]).transform(String),
  loginName: optString,
  displayName: optString,
  role: optString,
  status: optString,
  type: optString,
  created: optString,
  lastSeen: optString,
  currentlyConnected: optBool,
  deviceCount: optNumber,
});

/** The port the Tailscale resource readers use: GETs under one tailnet's paths. */
export interface TailnetJson extends JsonSource {
  readonly tailnet: string;
}

export const tailnetPath = (api: TailnetJson, rest: string): string =>
  `/api/v2/tailnet/${encodeURIComponent(api.tailnet)}${rest}`;

export async function fetchUsers(api: TailnetJson, signal?: AbortSignal): Promise<User[]> {
  const body = shaped(
    'users',
    await api.getJson('users', tailnetPath(api, '/users?type=all'), signal),
    z.object({ users: z.array(z.unknown()) }),
    'has no "users" array',
  );
  return parseEntries(body.users, userSchema, (u) => u.id).map((u) => ({
    id: u.id,
    loginName: u.loginName ?? '',
    displayName: u.displayName ?? '',
    role: u.role ?? '',
    status: u.status ?? '',
    type: u.type ?? '',
    createdSeconds: timestampSeconds(u.created),
    lastSeenSeconds: timestampSeconds(u.lastSeen),
    currentlyConnected: u.currentlyConnected ?? undefined,
    deviceCount: u.deviceCount,
  }));
}

export interface Key {
  readonly id: string;
  readonly keyType: string;
  readonly description: string;
  readonly userId: string;
  readonly createdSeconds: number | undefined;
  /** Undefined for keys that never expire (OAuth clients) or carry the zero time. */
  readonly expiresSeconds: number | undefined;
  readonly revoked: boolean;
  readonly invalid: boolean;
}

const keySchema = z.object({
  id: z.string().min(1),
  keyType: optString,
  description: optString,
  userId: optString,
  created: optString,
  expires: optString,
  revoked: optString,
  invalid: optBool,
});

const KEY_DETAIL_CONCURRENCY = 4;

export async function fetchKeys(
  api: TailnetJson,
  signal?: AbortSignal,
  nowSeconds = Date.now() / 1000,
): Promise<Key[]> {
  const body = shaped(
    'keys',
    await api.getJson('keys', tailnetPath(api, '/keys?all=true'), signal),
    z.object({ keys: z.array(z.unknown()) }),
    'has no "keys" array',
  );
  const listed = parseEntries(body.keys, keySchema, (k) => k.id);
  // Older API versions list only ids: read the details of those.
  const detailed = [...listed];
  const missing = listed.map((k, i) => [k, i] as const).filter(([k]) => k.keyType === undefined);
  await eachLimited(missing, KEY_DETAIL_CONCURRENCY, async ([k, i]) => {
    const parsed = keySchema.safeParse(
      await api.getJson('key', tailnetPath(api, `/keys/${encodeURIComponent(k.id)}`), signal),
    );
    if (parsed.success) detailed[i] = parsed.data;
  });
  return detailed.map((k) => {
    const expiresSeconds = timestampSeconds(k.expires);
    const revoked = timestampSeconds(k.revoked) !== undefined;
    return {
      id: k.id,
      keyType: k.keyType ?? 'unknown',
      description: k.description ?? '',
      userId: k.userId ?? '',
      createdSeconds: timestampSeconds(k.created),
      expiresSeconds,
      revoked,
      invalid: k.invalid === true || revoked || (expiresSeconds !== undefined && expiresSeconds <= nowSeconds),
    };
  });
}

export interface Settings {
  /** Boolean settings; null = unknown (not readable with the granted scopes), exported as absent. */
  readonly booleans: Readonly<Record<string, boolean | null>>;
  readonly devicesKeyDurationDays: number | undefined;
  readonly usersRoleAllowedToJoinExternalTailnets: string | undefined;
}

const BOOLEAN_SETTINGS = [
  'aclsExternallyManagedOn',
  'devicesApprovalOn',
  'devicesAutoUpdatesOn',
  'usersApprovalOn',
  'networkFlowLoggingOn',
  'regionalRoutingOn',
  'postureIdentityCollectionOn',
  'httpsEnabled',
] as const;

export async function fetchSettings(api: TailnetJson, signal?: AbortSignal): Promise<Settings> {
  const raw = shaped(
    'settings',
    await api.getJson('settings', tailnetPath(api, '/settings'), signal),
    anObject,
    'is not an object',
  );
  const booleans: Record<string, boolean | null> = {};
  for (const name of BOOLEAN_SETTINGS) {
    const v = raw[name];
    booleans[name] = typeof v === 'boolean' ? v : null;
  }
  const days = raw.devicesKeyDurationDays;
  const role = raw.usersRoleAllowedToJoinExternalTailnets;
  return {
    booleans,
    devicesKeyDurationDays: typeof days === 'number' ? days : undefined,
    usersRoleAllowedToJoinExternalTailnets: typeof role === 'string' ? role : undefined,
  };
}

export interface Dns {
  readonly magicDns: boolean | undefined;
  readonly nameservers: readonly string[];
  readonly searchPaths: readonly string[];
  /** Split-DNS domain -> its nameservers. */
  readonly splitDns: Readonly<Record<string, readonly string[]>>;
}

export async function fetchDns(api: TailnetJson, signal?: AbortSignal): Promise<Dns> {
  const [ns, prefs, paths, split] = await Promise.all([
    api.getJson('dns_nameservers', tailnetPath(api, '/dns/nameservers'), signal),
    api.getJson('dns_preferences', tailnetPath(api, '/dns/preferences'), signal),
    api.getJson('dns_searchpaths', tailnetPath(api, '/dns/searchpaths'), signal),
    api.getJson('dns_split', tailnetPath(api, '/dns/split-dns'), signal),
  ]);
  const strings = z.array(z.string()).nullable().optional().catch(undefined);
  const splitDns: Record<string, string[]> = {};
  for (const [domain, servers] of Object.entries(z.record(z.string(), z.unknown()).catch({}).parse(split))) {
    splitDns[domain] = strings.parse(servers) ?? [];
  }
  return {
    magicDns: z
      .object({ magicDNS: z.boolean().optional().catch(undefined) })
      .catch({ magicDNS: undefined })
      .parse(prefs).magicDNS,
    nameservers: uniq(z.object({ dns: strings }).catch({ dns: undefined }).parse(ns).dns ?? []) ?? [],
    searchPaths:
      uniq(z.object({ searchPaths: strings }).catch({ searchPaths: undefined }).parse(paths).searchPaths ?? []) ?? [],
    splitDns,
  };
}

export interface Service {
  readonly name: string;
  readonly comment: string;
  readonly addrs: readonly string[];
  readonly ports: readonly string[];
  readonly tags: readonly string[];
}

const serviceSchema = z.object({
  name: z.string().min(1),
  comment: optString,
  addrs: z.array(z.string()).optional().catch(undefined),
  ports: z.array(z.string()).optional().catch(undefined),
  tags: z.array(z.string()).optional().catch(undefined),
});

export async function fetchServices(api: TailnetJson, signal?: AbortSignal): Promise<Service[]> {
  const body = await api.getJson('services', tailnetPath(api, '/services'), signal);
  return parseEntries(listOf('services', body, 'vipServices'), serviceSchema, (s) => s.name).map((s) => ({
    name: s.name,
    comment: s.comment ?? '',
    addrs: uniq(s.addrs) ?? [],
    ports: uniq(s.ports) ?? [],
    tags: uniq(s.tags) ?? [],
  }));
}

export interface Policy {
  /** First 16 hex digits of the SHA-256 of the policy in canonical JSON: changes when the policy does. */
  readonly hash: string;
  readonly counts: Readonly<
    Record<'acls' | 'grants' | 'groups' | 'tag_owners' | 'tests' | 'ssh' | 'postures' | 'auto_approvers', number>
  >;
}

/** JSON with object keys sorted, so formatting and key order do not change the hash. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Counts of the policy's parts, never its text: the policy may name people, hosts and addresses. */
export async function fetchPolicy(api: TailnetJson, signal?: AbortSignal): Promise<Policy> {
  const policy = shaped(
    'acl',
    await api.getJson('acl', tailnetPath(api, '/acl'), signal),
    anObject,
    'is not an object',
  );
  const size = (key: string): number => {
    const v = policy[key];
    return Array.isArray(v) ? v.length : v !== null && typeof v === 'object' ? Object.keys(v).length : 0;
  };
  return {
    hash: createHash('sha256').update(canonical(policy)).digest('hex').slice(0, 16),
    counts: {
      acls: size('acls'),
      grants: size('grants'),
      groups: size('groups'),
      tag_owners: size('tagOwners'),
      tests: size('tests'),
      ssh: size('ssh'),
      postures: size('postures'),
      auto_approvers: size('autoApprovers'),
    },
  };
}

export interface ResourceState<T> {
  readonly data: T | undefined;
  /** undefined until the first attempt. */
  readonly ok: boolean | undefined;
  readonly durationSeconds: number;
  readonly error?: string;
  /** Policy only: Unix time a change of the policy was last observed (the first fetch counts). */
  readonly changedAtSeconds?: number;
}

export interface InventoryData {
  readonly users: ResourceState<User[]>;
  readonly keys: ResourceState<Key[]>;
  readonly settings: ResourceState<Settings>;
  readonly dns: ResourceState<Dns>;
  readonly services: ResourceState<Service[]>;
  readonly policy: ResourceState<Policy>;
  // Headscale backend
  readonly headscaleUsers: ResourceState<HsUser[]>;
  readonly preauthkeys: ResourceState<HsPreAuthKey[]>;
  readonly apikeys: ResourceState<HsApiKey[]>;
  /** Fetched every refresh cycle, not on INVENTORY_INTERVAL: a health signal. */
  readonly headscaleHealth: ResourceState<HsHealth>;
  // Integration health (Tailscale)
  readonly logstream: ResourceState<LogStreamStatus[]>;
  readonly postureIntegrations: ResourceState<PostureIntegrations>;
  readonly serviceHosts: ResourceState<ServiceHosts>;
  readonly webhooks: ResourceState<Webhooks>;
}

export const EMPTY_INVENTORY: InventoryData = Object.freeze({
  users: { data: undefined, ok: undefined, durationSeconds: 0 },
  keys: { data: undefined, ok: undefined, durationSeconds: 0 },
  settings: { data: undefined, ok: undefined, durationSeconds: 0 },
  dns: { data: undefined, ok: undefined, durationSeconds: 0 },
  services: { data: undefined, ok: undefined, durationSeconds: 0 },
  policy: { data: undefined, ok: undefined, durationSeconds: 0 },
  headscaleUsers: { data: undefined, ok: undefined, durationSeconds: 0 },
  preauthkeys: { data: undefined, ok: undefined, durationSeconds: 0 },
  apikeys: { data: undefined, ok: undefined, durationSeconds: 0 },
  headscaleHealth: { data: undefined, ok: undefined, durationSeconds: 0 },
  logstream: { data: undefined, ok: undefined, durationSeconds: 0 },
  postureIntegrations: { data: undefined, ok: undefined, durationSeconds: 0 },
  serviceHosts: { data: undefined, ok: undefined, durationSeconds: 0 },
  webhooks: { data: undefined, ok: undefined, durationSeconds: 0 },
});
