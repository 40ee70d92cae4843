// Renders the non-device resources the way the API sends them, plus the damaged variants the
// 'empty' and 'wrong-types' API faults serve. Pure functions of the data and the clock.
import type { DeviceRecord } from '../shared/device.js';
import { DAY_MS, isoTime, ZERO_TIME } from '../shared/time.js';
import {
  userId,
  type SimDns,
  type SimKey,
  type SimService,
  type SimSettings,
  type SimUser,
  type UserType,
} from './directory.js';

type Json = Record<string, unknown>;

interface UserActivity {
  owned: number;
  connected: boolean;
  lastSeenMs: number;
  external: boolean;
  createdMs: number;
}

/**
 * Every user: the directory's plus one member (or shared, if all its devices are external) for each
 * device login the directory lacks, so `deviceCount` always matches the device list.
 */
export function allUsers(
  users: readonly SimUser[],
  devices: readonly DeviceRecord[],
  tailnet: string,
  nowMs: number,
): Json[] {
  const activity = userActivity(devices, nowMs);
  const known = new Set(users.map((u) => u.loginName));
  const derived: SimUser[] = [];
  for (const [login, a] of activity) {
    if (known.has(login)) continue;
    const type: UserType = a.external ? 'shared' : 'member';
    derived.push({
      id: userId(login),
      displayName: login.split('@')[0] ?? login,
      loginName: login,
      profilePicUrl: '',
      tailnetId: type === 'shared' ? (login.split('@')[1] ?? tailnet) : tailnet,
      created: isoTime(a.createdMs),
      type,
      role: 'member',
      status: 'active',
      lastSeen: isoTime(a.lastSeenMs > 0 ? a.lastSeenMs : a.createdMs),
    });
  }
  return [...users, ...derived].map((u) => userJson(u, activity.get(u.loginName), nowMs));
}

function userActivity(devices: readonly DeviceRecord[], nowMs: number): Map<string, UserActivity> {
  const byLogin = new Map<string, UserActivity>();
  for (const d of devices) {
    if (d.user === '') continue;
    let a = byLogin.get(d.user);
    if (a === undefined) {
      a = { owned: 0, connected: false, lastSeenMs: 0, external: true, createdMs: nowMs - 30 * DAY_MS };
      byLogin.set(d.user, a);
    }
    a.external &&= d.isExternal;
    const created = Date.parse(d.created);
    if (Number.isFinite(created)) a.createdMs = Math.min(a.createdMs, created);
    // Tagged devices belong to their tags, not to the user who registered them.
    if ((d.tags?.length ?? 0) > 0 && !d.isExternal) continue;
    a.owned += 1;
    a.connected ||= d.connectedToControl;
    const seen = d.connectedToControl ? nowMs : Date.parse(d.lastSeen ?? '');
    if (Number.isFinite(seen)) a.lastSeenMs = Math.max(a.lastSeenMs, seen);
  }
  return byLogin;
}

function userJson(u: SimUser, a: UserActivity | undefined, nowMs: number): Json {
  const connected = u.currentlyConnected ?? a?.connected ?? false;
  const lastSeen = connected ? isoTime(nowMs) : latest(u.lastSeen, a?.lastSeenMs ?? 0);
  return {
    id: u.id,
    displayName: u.displayName,
    loginName: u.loginName,
    profilePicUrl: u.profilePicUrl,
    tailnetId: u.tailnetId,
    created: u.created,
    type: u.type,
    role: u.role,
    status: u.status,
    deviceCount: u.deviceCount ?? a?.owned ?? 0,
    lastSeen,
    currentlyConnected: connected,
  };
}

function latest(iso: string, ms: number): string {
  const own = Date.parse(iso);
  return Number.isFinite(own) && own >= ms ? iso : ms > 0 ? isoTime(ms) : iso;
}

/** True when the key is revoked or past its expiry (the zero time and a missing expiry never expire). */
export function keyInvalid(key: SimKey, nowMs: number): boolean {
  if (key.invalid !== undefined) return key.invalid;
  if (key.revoked !== undefined) return true;
  if (key.expires === undefined || key.expires === '' || key.expires === ZERO_TIME) return false;
  const expires = Date.parse(key.expires);
  return Number.isFinite(expires) && expires <= nowMs;
}

const KEY_FIELDS = [
  'id',
  'keyType',
  'description',
  'created',
  'updated',
  'expires',
  'expirySeconds',
  'revoked',
  'capabilities',
  'scopes',
  'tags',
  'userId',
  'audience',
  'issuer',
  'subject',
  'customClaimRules',
] as const satisfies ReadonlyArray<keyof SimKey>;

export function keyJson(key: SimKey, nowMs: number): Json {
  const out: Json = {};
  for (const field of KEY_FIELDS) if (key[field] !== undefined) out[field] = key[field];
  if (keyInvalid(key, nowMs)) out['invalid'] = true;
  return out;
}

/** Which gated settings the caller may see (tailscale-facts §1.2); hidden ones come back null. */
export interface SettingsVisibility {
  networkFlowLogging: boolean;
  https: boolean;
  aclsExternal: boolean;
}

export function settingsJson(s: SimSettings, visible: SettingsVisibility): Json {
  const out: Json = { ...s };
  if (s.aclsExternalLink === undefined) delete out['aclsExternalLink'];
  if (!visible.networkFlowLogging) out['networkFlowLoggingOn'] = null;
  if (!visible.https) out['httpsEnabled'] = null;
  if (!visible.aclsExternal) {
    out['aclsExternallyManagedOn'] = null;
    out['aclsExternalLink'] = null;
  }
  return out;
}

export function serviceJson(s: SimService): Json {
  const out: Json = { name: s.name, addrs: s.addrs };
  if (s.comment !== undefined) out['comment'] = s.comment;
  out['ports'] = s.ports;
  if (s.tags !== undefined) out['tags'] = s.tags;
  return out;
}

export const dnsJson = {
  nameservers: (d: SimDns): Json => ({ dns: d.nameservers }),
  preferences: (d: SimDns): Json => ({ magicDNS: d.magicDNS }),
  searchPaths: (d: SimDns): Json => ({ searchPaths: d.searchPaths }),
  splitDns: (d: SimDns): Json => ({ ...d.splitDns }),
};

/** The names the fake API counts requests under (`stats.requests`). */
export type EndpointName =
  | 'token'
  | 'devices'
  | 'device'
  | 'routes'
  | 'settings'
  | 'users'
  | 'user'
  | 'keys'
  | 'key'
  | 'dns_nameservers'
  | 'dns_preferences'
  | 'dns_searchpaths'
  | 'dns_split'
  | 'services'
  | 'service'
  | 'acl'
  | 'token_exchange'
  | 'logstream_status'
  | 'posture_integrations'
  | 'service_hosts'
  | 'webhooks'
  | 'logging_network'
  | 'logging_configuration';

/** What the 'empty' fault serves instead of the real answer. */
export function emptyBody(endpoint: EndpointName): Json {
  switch (endpoint) {
    case 'users':
      return { users: [] };
    case 'keys':
      return { keys: [] };
    case 'dns_nameservers':
      return { dns: [] };
    case 'dns_searchpaths':
      return { searchPaths: [] };
    case 'services':
      return { vipServices: [] };
    case 'posture_integrations':
      return { integrations: [] };
    case 'service_hosts':
      return { hosts: [] };
    case 'webhooks':
      return { webhooks: [] };
    case 'logging_network':
    case 'logging_configuration':
      return { logs: [] };
    default:
      return {};
  }
}

/**
 * What the 'wrong-types' fault serves: the real answer with wrong primitive types, nulls where
 * arrays belong and missing ids, on every other list item (so some items stay valid).
 */
export function corruptBody(endpoint: EndpointName, body: Json): Json {
  switch (endpoint) {
    case 'users':
      return { users: corruptEveryOther(body['users'], USER_DAMAGE) };
    case 'user':
      return damage(body, USER_DAMAGE[0]);
    case 'keys':
      return { keys: corruptEveryOther(body['keys'], KEY_DAMAGE) };
    case 'key':
      return damage(body, KEY_DAMAGE[0]);
    case 'settings':
      return {
        ...body,
        devicesKeyDurationDays: String(body['devicesKeyDurationDays']),
        devicesApprovalOn: 'false',
        httpsEnabled: 1,
      };
    case 'dns_nameservers':
      return { dns: (body['dns'] as string[]).join(',') };
    case 'dns_preferences':
      return { magicDNS: String(body['magicDNS']) };
    case 'dns_searchpaths':
      return { searchPaths: null };
    case 'dns_split':
      return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : 42]));
    case 'services':
      return { vipServices: corruptEveryOther(body['vipServices'], SERVICE_DAMAGE) };
    case 'service':
      return damage(body, SERVICE_DAMAGE[0]);
    case 'acl':
      return { ...body, grants: { src: '*' }, acls: 'accept', groups: ['group:admins'] };
    case 'logstream_status':
      return {
        ...body,
        numEntriesSent: String(body['numEntriesSent']),
        numFailedRequests: -1,
        lastActivity: 1_767_225_600,
      };
    case 'posture_integrations':
      return {
        integrations: corruptEveryOther(body['integrations'], [
          (p) => {
            p['status'] = 'ok';
            p['id'] = 5;
          },
        ]),
      };
    case 'service_hosts':
      return {
        hosts: corruptEveryOther(body['hosts'], [
          (h) => {
            h['stableNodeID'] = 7;
          },
        ]),
      };
    case 'webhooks':
      return {
        webhooks: corruptEveryOther(body['webhooks'], [
          (w) => {
            delete w['endpointId'];
            w['subscriptions'] = 'all';
          },
        ]),
      };
    default:
      return body;
  }
}

type Damage = (item: Json) => void;

const USER_DAMAGE: readonly [Damage, ...Damage[]] = [
  (u) => {
    u['deviceCount'] = String(u['deviceCount']);
    u['currentlyConnected'] = 'true';
    delete u['id'];
  },
  (u) => {
    u['created'] = 1_767_225_600;
    u['role'] = null;
    u['lastSeen'] = false;
  },
];

const KEY_DAMAGE: readonly [Damage, ...Damage[]] = [
  (k) => {
    k['expires'] = 1_767_225_600;
    k['invalid'] = 'yes';
    delete k['id'];
  },
  (k) => {
    k['capabilities'] = 'none';
    k['keyType'] = 7;
    k['created'] = null;
  },
];

const SERVICE_DAMAGE: readonly [Damage, ...Damage[]] = [
  (s) => {
    s['name'] = 42;
    s['addrs'] = null;
    s['ports'] = 'tcp:443';
  },
];

function damage(item: Json, which: Damage): Json {
  const copy = { ...item };
  which(copy);
  return copy;
}

function corruptEveryOther(list: unknown, damages: readonly [Damage, ...Damage[]]): unknown[] {
  if (!Array.isArray(list)) return [];
  return list.map((item: Json, i) =>
    i % 2 === 0 ? damage(item, damages[(i / 2) % damages.length] ?? damages[0]) : item,
  );
}
