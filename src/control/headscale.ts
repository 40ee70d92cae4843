import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { ControlPlane, DeviceList, ResourceReaders } from './control.js';
import { HttpClient, type HttpClientOptions, type JsonSource } from './http.js';
import type { Device } from './device.js';
import { listOf, parseEntries, timestampSeconds, uniq } from './schemas.js';

// Headscale, the self-hosted control server (REST /api/v1, Bearer API key). Its nodes feed the same
// Device model as the Tailscale API, so the tailscale_device_* families and dashboards work unchanged;
// what Headscale does not know stays unknown (see HEADSCALE_UNSUPPORTED_FAMILIES), never a fake 0.

const optString = z.string().optional().catch(undefined);
const strings = z.array(z.string()).nullable().optional().catch(undefined);
const id = z.union([z.string(), z.number()]).transform(String);

const userSchema = z.object({
  id: id.optional().catch(undefined),
  name: optString,
  displayName: optString,
  email: optString,
  provider: optString,
  providerId: optString,
  createdAt: optString,
});

const nodeSchema = z.object({
  id,
  name: optString,
  givenName: optString,
  ipAddresses: strings,
  user: userSchema.optional().catch(undefined),
  lastSeen: optString.nullable().catch(undefined),
  expiry: optString.nullable().catch(undefined),
  createdAt: optString,
  online: z.boolean().optional().catch(undefined),
  registerMethod: optString,
  preAuthKey: z
    .object({ ephemeral: z.boolean().optional().catch(undefined) })
    .nullable()
    .optional()
    .catch(undefined),
  approvedRoutes: strings,
  availableRoutes: strings,
  subnetRoutes: strings,
  // Before 0.28: forced and valid tags apply, invalid ones do not. From 0.28: one `tags` list.
  forcedTags: strings,
  validTags: strings,
  invalidTags: strings,
  tags: strings,
});

export type HeadscaleNode = z.infer<typeof nodeSchema>;
type HeadscaleUser = z.infer<typeof userSchema>;

/** Families the Headscale API has no data for: absent in headscale mode rather than a made-up value. */
export const HEADSCALE_UNSUPPORTED_FAMILIES: ReadonlySet<string> = new Set([
  'tailscale_device_authorized',
  'tailscale_device_update_available',
  'tailscale_device_external',
  'tailscale_device_blocks_incoming_connections',
  'tailscale_device_multiple_connections',
  'tailscale_device_tailnet_lock_error',
  'tailscale_device_latency_ms',
  'tailscale_device_endpoints_total',
  'tailscale_device_client_supports',
  'tailscale_device_posture_serial_numbers_total',
  'tailscale_device_client_version_info',
  'tailscale_device_client_version_below_minimum',
]);

/**
 * The node's user as a label: none for a tagged node of 0.28+ (the `tags` field; tags and user ownership are
 * exclusive there, and lists show the "tagged-devices" pseudo user or no user at all), its e-mail or name otherwise.
 */
function nodeUser(n: HeadscaleNode): string {
  if (n.tags !== undefined && n.tags !== null && n.tags.length > 0) return '';
  return n.user?.email || n.user?.name || '';
}

export function nodeTags(n: HeadscaleNode): string[] {
  if (n.tags !== undefined && n.tags !== null) return [...new Set(n.tags)];
  return [...new Set([...(n.forcedTags ?? []), ...(n.validTags ?? [])])];
}

/** A Headscale node as the exporter's Device (the field-by-field mapping is in the README). */
export function nodeToDevice(n: HeadscaleNode): Device {
  const expiresSeconds = timestampSeconds(n.expiry ?? undefined);
  const given = n.givenName ?? n.name ?? n.id;
  return {
    id: n.id,
    nodeId: n.id,
    name: given,
    hostname: n.name ?? given,
    user: nodeUser(n),
    addresses: n.ipAddresses ?? [],
    os: '',
    clientVersion: '',
    tags: nodeTags(n),
    online: n.online === true,
    authorized: true,
    updateAvailable: false,
    isExternal: false,
    isEphemeral: n.preAuthKey?.ephemeral === true,
    blocksIncomingConnections: false,
    multipleConnections: false,
    // Headscale nodes without an expiry never expire.
    keyExpiryDisabled: expiresSeconds === undefined,
    tailnetLockError: '',
    createdSeconds: timestampSeconds(n.createdAt),
    lastSeenSeconds: timestampSeconds(n.lastSeen ?? undefined),
    expiresSeconds,
    advertisedRoutes: uniq(n.availableRoutes ?? []),
    enabledRoutes: uniq(n.approvedRoutes ?? []),
    clientConnectivity: undefined,
    postureSerialNumbers: undefined,
    sshEnabled: undefined,
    servingRoutes: uniq(n.subnetRoutes ?? []),
  };
}

/** The Headscale REST API (/api/v1) as a control plane, over the one HTTP client (timeouts, retries, CA, stats). */
export class HeadscaleApi implements ControlPlane {
  readonly #http: HttpClient;
  readonly resources: ResourceReaders;
  /** Headscale has no flow or audit logs. */
  readonly logs = undefined;

  constructor(options: HttpClientOptions) {
    this.#http = new HttpClient(options);
    this.resources = headscaleResources(this.#http);
  }

  async listDevices(signal?: AbortSignal): Promise<DeviceList> {
    const body = await this.#http.getJson('nodes', '/api/v1/node', signal);
    const list = z.object({ nodes: z.array(z.unknown()).nullable().optional() }).safeParse(body);
    if (!list.success) throw new ApiError('nodes', 'invalid_response', 'response has no "nodes" array');
    const nodes: HeadscaleNode[] = [];
    let invalidDevices = 0;
    const seen = new Set<string>();
    for (const entry of list.data.nodes ?? []) {
      const parsed = nodeSchema.safeParse(entry);
      if (parsed.success && !seen.has(parsed.data.id)) {
        seen.add(parsed.data.id);
        nodes.push(parsed.data);
      } else invalidDevices++;
    }
    return { devices: nodes.map(nodeToDevice), invalidDevices };
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}

/** Headscale's inventory resources, read through `api`. */
function headscaleResources(api: JsonSource): ResourceReaders {
  return {
    headscaleUsers: (signal) => fetchHeadscaleUsers(api, signal),
    preauthkeys: (signal) => fetchPreAuthKeys(api, signal),
    apikeys: (signal) => fetchApiKeys(api, signal),
    headscaleHealth: (signal) => fetchHeadscaleHealth(api, signal),
  };
}

// --- Headscale-only inventory: users, pre-auth keys, API keys -------------------------------------

export interface HsUser {
  readonly id: string;
  readonly name: string;
  readonly displayName: string;
  readonly email: string;
  readonly provider: string;
  readonly createdSeconds: number | undefined;
}

export interface HsPreAuthKey {
  readonly id: string;
  readonly user: string;
  readonly reusable: boolean;
  readonly ephemeral: boolean;
  readonly used: boolean;
  readonly expirationSeconds: number | undefined;
  readonly createdSeconds: number | undefined;
  readonly aclTags: readonly string[];
}

export interface HsApiKey {
  readonly id: string;
  readonly prefix: string;
  readonly expirationSeconds: number | undefined;
  readonly createdSeconds: number | undefined;
  readonly lastSeenSeconds: number | undefined;
}

const bool = z.boolean().optional().catch(undefined);
const ts = optString.nullable().catch(undefined);

const preAuthKeySchema = z.object({
  id,
  user: z.union([z.string(), userSchema]).nullable().optional().catch(undefined),
  reusable: bool,
  ephemeral: bool,
  used: bool,
  expiration: ts,
  createdAt: ts,
  aclTags: strings,
});

const apiKeySchema = z.object({ id, prefix: optString, expiration: ts, createdAt: ts, lastSeen: ts });

function parseList<T extends { id?: string | undefined }>(body: unknown, key: string, schema: z.ZodType<T>): T[] {
  return parseEntries(listOf(key, body, key), schema, (e) => e.id ?? '');
}

const toHsUser = (u: HeadscaleUser): HsUser => ({
  id: u.id ?? '',
  name: u.name ?? '',
  displayName: u.displayName ?? '',
  email: u.email ?? '',
  provider: u.provider ?? '',
  createdSeconds: timestampSeconds(u.createdAt),
});

async function fetchHeadscaleUsers(api: JsonSource, signal?: AbortSignal): Promise<HsUser[]> {
  return parseList(await api.getJson('users', '/api/v1/user', signal), 'users', userSchema).map(toHsUser);
}

/**
 * 0.28+ lists every pre-auth key at once; 0.26-0.27 need `?user=<id>` and answer an error without it,
 * so then the keys are read user by user.
 */
async function fetchPreAuthKeys(api: JsonSource, signal?: AbortSignal): Promise<HsPreAuthKey[]> {
  let raw: Array<z.infer<typeof preAuthKeySchema>>;
  try {
    raw = parseList(await api.getJson('preauthkeys', '/api/v1/preauthkey', signal), 'preAuthKeys', preAuthKeySchema);
  } catch (err) {
    if (!(err instanceof ApiError) || (err.status !== 400 && err.status !== 500)) throw err;
    const users = await fetchHeadscaleUsers(api, signal);
    raw = [];
    for (const u of users) {
      raw.push(
        ...parseList(
          await api.getJson('preauthkeys', `/api/v1/preauthkey?user=${encodeURIComponent(u.id)}`, signal),
          'preAuthKeys',
          preAuthKeySchema,
        ),
      );
    }
  }
  return raw.map((k) => ({
    id: k.id,
    user: typeof k.user === 'string' ? k.user : (k.user?.name ?? ''),
    reusable: k.reusable === true,
    ephemeral: k.ephemeral === true,
    used: k.used === true,
    expirationSeconds: timestampSeconds(k.expiration ?? undefined),
    createdSeconds: timestampSeconds(k.createdAt ?? undefined),
    aclTags: k.aclTags ?? [],
  }));
}

export interface HsHealth {
  /** undefined on servers without GET /api/v1/health (before 0.27): absent, not 0. */
  readonly databaseConnectivity: boolean | undefined;
}

/**
 * 0.27+: `GET /api/v1/health` -> `{databaseConnectivity}`. When the database ping fails Headscale answers 500
 * with the error, which means "no connectivity"; a 404 means the server predates the endpoint.
 */
export async function fetchHeadscaleHealth(api: JsonSource, signal?: AbortSignal): Promise<HsHealth> {
  let body: unknown;
  try {
    body = await api.getJson('health', '/api/v1/health', signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return { databaseConnectivity: undefined };
    if (err instanceof ApiError && err.status === 500) return { databaseConnectivity: false };
    throw err;
  }
  const parsed = z.object({ databaseConnectivity: z.boolean().optional() }).safeParse(body);
  if (!parsed.success)
    throw new ApiError('health', 'invalid_response', 'response has no boolean "databaseConnectivity"', 200);
  // protojson leaves a false field out: an answer without it means false.
  return { databaseConnectivity: parsed.data.databaseConnectivity === true };
}

async function fetchApiKeys(api: JsonSource, signal?: AbortSignal): Promise<HsApiKey[]> {
  return parseList(await api.getJson('apikeys', '/api/v1/apikey', signal), 'apiKeys', apiKeySchema).map((k) => ({
    id: k.id,
    prefix: k.prefix ?? '',
    expirationSeconds: timestampSeconds(k.expiration ?? undefined),
    createdSeconds: timestampSeconds(k.createdAt ?? undefined),
    lastSeenSeconds: timestampSeconds(k.lastSeen ?? undefined),
  }));
}
