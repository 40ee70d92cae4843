import { z } from 'zod';
import { ApiError } from '../errors.js';
import { rfc3339Seconds } from '../util/time.js';
import type { ClientConnectivity, Device, DerpLatency } from './device.js';

// zod schemas for the Tailscale API's JSON. Unknown fields are ignored; an optional field with a wrong type
// is treated as absent (`.catch`) so one odd field never fails a device, and one bad device (no id, no
// name) never fails the list: it is dropped and counted by the caller.

const optBool = z.boolean().optional().catch(undefined);
const optString = z.string().optional().catch(undefined);
const stringArray = z.array(z.string()).optional().catch(undefined);

const latencyEntry = z.object({ latencyMs: z.number(), preferred: optBool });

const connectivitySchema = z
  .object({
    endpoints: stringArray,
    derp: optString,
    mappingVariesByDestIP: optBool,
    latency: z.record(z.string(), latencyEntry.optional().catch(undefined)).optional().catch(undefined),
    clientSupports: z
      .record(z.string(), z.boolean().nullable().optional().catch(undefined))
      .optional()
      .catch(undefined),
  })
  .optional()
  .catch(undefined);

export const apiDeviceSchema = z.object({
  id: z.string().min(1),
  nodeId: z.string().optional().catch(undefined),
  name: z.string().min(1),
  hostname: optString,
  user: optString,
  addresses: stringArray,
  os: optString,
  clientVersion: optString,
  tags: stringArray,
  connectedToControl: optBool,
  authorized: optBool,
  updateAvailable: optBool,
  isExternal: optBool,
  isEphemeral: optBool,
  blocksIncomingConnections: optBool,
  multipleConnections: optBool,
  keyExpiryDisabled: optBool,
  tailnetLockError: optString,
  created: optString,
  lastSeen: optString,
  expires: optString,
  advertisedRoutes: stringArray,
  enabledRoutes: stringArray,
  clientConnectivity: connectivitySchema,
  postureIdentity: z.object({ serialNumbers: stringArray, disabled: optBool }).optional().catch(undefined),
  sshEnabled: optBool,
});

export type ApiDevice = z.infer<typeof apiDeviceSchema>;

export const routesSchema = z.object({
  advertisedRoutes: z.array(z.string()).nullable().optional(),
  enabledRoutes: z.array(z.string()).nullable().optional(),
});

export const tokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.number().positive().optional(),
});

/**
 * `body` as `schema` reads it, or an `invalid_response` ApiError of `endpoint` saying what the answer is not:
 * zod's own error is a JSON dump of issues, whose first line (all a log line or collector error keeps) is `[`.
 */
export function shaped<T>(endpoint: string, body: unknown, schema: z.ZodType<T>, expected: string): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new ApiError(endpoint, 'invalid_response', `response ${expected}`, 200);
  return parsed.data;
}

/** A JSON object whose `key` is a list (or null/absent = empty); anything else is a malformed answer. */
export function listOf(endpoint: string, body: unknown, key: string): unknown[] {
  const schema = z.object({ [key]: z.array(z.unknown()).nullable().optional() });
  return shaped(endpoint, body, schema, `has no "${key}" array`)[key] ?? [];
}

/** A JSON object (its values unchecked). */
export const anObject = z.record(z.string(), z.unknown());

/** Parses each entry on its own: one malformed entry is dropped, never the list. */
export function parseEntries<T>(list: unknown, schema: z.ZodType<T>, key: (t: T) => string): T[] {
  if (!Array.isArray(list)) return [];
  // Entries become series keyed by `key`: a repeated one is dropped, so no series is written twice.
  const seen = new Set<string>();
  return list.flatMap((e) => {
    const r = schema.safeParse(e);
    if (!r.success || seen.has(key(r.data))) return [];
    seen.add(key(r.data));
    return [r.data];
  });
}

/** Drops repeated entries: a list the API sends twice over must not become duplicate series. */
export const uniq = <T>(list: readonly T[] | undefined): T[] | undefined =>
  list === undefined ? undefined : [...new Set(list)];

/** RFC 3339 -> whole Unix seconds; "", Go's zero time (year 1) and garbage -> undefined. */
export function timestampSeconds(text: string | undefined): number | undefined {
  const seconds = rfc3339Seconds(text);
  return seconds === undefined ? undefined : Math.floor(seconds);
}

function connectivity(raw: ApiDevice['clientConnectivity']): ClientConnectivity | undefined {
  if (raw === undefined) return undefined;
  const latency: DerpLatency[] = [];
  for (const [region, entry] of Object.entries(raw.latency ?? {})) {
    if (entry !== undefined) latency.push({ region, latencyMs: entry.latencyMs, preferred: entry.preferred === true });
  }
  latency.sort((a, b) => (a.region < b.region ? -1 : a.region > b.region ? 1 : 0));
  const clientSupports: Record<string, boolean> = {};
  for (const [feature, supported] of Object.entries(raw.clientSupports ?? {})) {
    // null means "not tracked" (hairPinning always is): absent, not false.
    if (typeof supported === 'boolean') clientSupports[feature.toLowerCase()] = supported;
  }
  return { endpoints: raw.endpoints ?? [], latency, clientSupports, mappingVariesByDestIP: raw.mappingVariesByDestIP };
}

/**
 * Without `connectedToControl` (control servers that imitate the Tailscale API, such as Headscale's planned
 * /api/v2, and older API shapes), a device counts as online when `lastSeen` is absent (such servers send it
 * only for offline devices) or at most this many seconds old.
 */
const ONLINE_LAST_SEEN_SECONDS = 5 * 60;

/** True when the device's online state is derived from lastSeen and the clock: it changes without the entry changing. */
export function onlineFromClock(raw: ApiDevice): boolean {
  return raw.connectedToControl === undefined && timestampSeconds(raw.lastSeen) !== undefined;
}

export function toDevice(raw: ApiDevice, nowSeconds: number): Device {
  const keyExpiryDisabled = raw.keyExpiryDisabled === true;
  const lastSeenSeconds = timestampSeconds(raw.lastSeen);
  const online =
    raw.connectedToControl !== undefined
      ? raw.connectedToControl
      : lastSeenSeconds === undefined || nowSeconds - lastSeenSeconds <= ONLINE_LAST_SEEN_SECONDS;
  const posture = raw.postureIdentity;
  return {
    id: raw.id,
    nodeId: raw.nodeId ?? '',
    name: raw.name.replace(/\.$/, ''),
    hostname: raw.hostname ?? '',
    user: raw.user ?? '',
    addresses: raw.addresses ?? [],
    os: raw.os ?? '',
    clientVersion: raw.clientVersion ?? '',
    tags: uniq(raw.tags) ?? [],
    online,
    authorized: raw.authorized === true,
    updateAvailable: raw.updateAvailable === true,
    isExternal: raw.isExternal === true,
    isEphemeral: raw.isEphemeral === true,
    blocksIncomingConnections: raw.blocksIncomingConnections === true,
    multipleConnections: raw.multipleConnections === true,
    keyExpiryDisabled,
    tailnetLockError: raw.tailnetLockError ?? '',
    createdSeconds: timestampSeconds(raw.created),
    lastSeenSeconds,
    // Gate on keyExpiryDisabled first: the API may still carry a stale date for such devices.
    expiresSeconds: keyExpiryDisabled ? undefined : timestampSeconds(raw.expires),
    advertisedRoutes: uniq(raw.advertisedRoutes),
    enabledRoutes: uniq(raw.enabledRoutes),
    clientConnectivity: connectivity(raw.clientConnectivity),
    postureSerialNumbers:
      posture === undefined || posture.disabled === true ? undefined : (posture.serialNumbers ?? []),
    sshEnabled: raw.sshEnabled,
  };
}
