// Named Headscale setups as data: users, pre-auth keys, API keys and node specs, relative to the
// simulation's start. Which fields a version can express depends on the tag model (a tags-only
// pre-auth key exists only in 0.28+), so the builders take it.
import { DAY_MS, HOUR_MS } from '../shared/time.js';
import type { HeadscaleTagModel, RegisterMethod, SimHeadscalePreAuthKey, SimHeadscaleUser } from './model.js';
import { charsFrom, hexFrom } from '../shared/ids.js';
import { EXIT_ROUTES, EXPORTER_TAG } from '../shared/device.js';

export type HeadscaleScenario = 'demo' | { names: string[] };

/** What a scenario (or addNode) says about a node; the factory fills in keys, addresses and defaults. */
export interface HeadscaleNodeSpec {
  hostname: string;
  /** Owner's user name; null = no user (v028 tags-only registration). */
  user: string | null;
  givenName?: string;
  online?: boolean;
  /** Default: 30 s before start when online, null otherwise. */
  lastSeen?: number | null;
  /** Default: never expires (`'zero'`, or null for v028 tagged nodes, whose expiry 0.28+ clears). */
  expiry?: number | 'zero' | null;
  createdAt?: number;
  preAuthKeyId?: number | null;
  /** Default: AUTH_KEY with a pre-auth key, else CLI. */
  registerMethod?: RegisterMethod;
  availableRoutes?: string[];
  approvedRoutes?: string[];
  forcedTags?: string[];
  requestedTags?: string[];
  invalidTags?: string[];
  /** Serves client metrics on its own loopback address; such nodes carry tag:exporter. */
  servesMetrics?: boolean;
  homeDerpRegionId?: number;
  healthWarnings?: number;
}

interface HeadscaleApiKeySpec {
  id: number;
  expiration: number | null;
  createdAt: number | null;
  lastSeen: number | null;
}

export interface HeadscaleScenarioData {
  users: SimHeadscaleUser[];
  preAuthKeys: SimHeadscalePreAuthKey[];
  /** Other API keys than the sim's own (which the sim adds as id 1). */
  apiKeys: HeadscaleApiKeySpec[];
  nodes: HeadscaleNodeSpec[];
}

export function headscaleScenario(
  scenario: HeadscaleScenario,
  model: HeadscaleTagModel,
  now: number,
): HeadscaleScenarioData {
  if (scenario === 'demo') return demo(model, now);
  if (Array.isArray(scenario.names)) return named(scenario.names, model, now);
  throw new Error('unknown Headscale scenario');
}

/** A pre-auth key's secret in the form its version creates: 48 hex, or hskey-auth-<12>-<64>. */
function preAuthKeyText(model: HeadscaleTagModel, seed: string): string {
  if (model === 'legacy') return hexFrom(`pak:${seed}`, 48);
  return `hskey-auth-${urlSafe(`pak-prefix:${seed}`, 12)}-${urlSafe(`pak-secret:${seed}`, 64)}`;
}

const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** `length` characters of URL-safe base64 alphabet derived from `seed` (util.GenerateRandomStringURLSafe's alphabet). */
export function urlSafe(seed: string, length: number): string {
  return charsFrom(seed, length, URL_SAFE);
}

function cliUser(id: number, name: string, createdAt: number, extra: Partial<SimHeadscaleUser> = {}): SimHeadscaleUser {
  return { id, name, createdAt, displayName: '', email: '', providerId: '', provider: '', profilePicUrl: '', ...extra };
}

function demo(model: HeadscaleTagModel, now: number): HeadscaleScenarioData {
  const users: SimHeadscaleUser[] = [
    cliUser(1, 'ops', now - 200 * DAY_MS),
    cliUser(2, 'alice', now - 150 * DAY_MS, {
      displayName: 'Alice Anders',
      email: 'alice@example.com',
      provider: 'oidc',
      providerId: 'https://sso.example.com/8f14e45fceea167a',
      profilePicUrl: 'https://sso.example.com/avatars/alice.png',
    }),
    cliUser(3, 'bob', now - 120 * DAY_MS, { displayName: 'Bob Builder', email: 'bob@example.com' }),
  ];
  type KeyFlags = Pick<SimHeadscalePreAuthKey, 'id' | 'userId' | 'reusable' | 'ephemeral' | 'used' | 'aclTags'>;
  const key = (flags: KeyFlags, expiresIn: number, age: number): SimHeadscalePreAuthKey => ({
    ...flags,
    key: preAuthKeyText(model, `demo:${flags.id}`),
    expiration: now + expiresIn,
    createdAt: now - age,
  });
  const preAuthKeys: SimHeadscalePreAuthKey[] = [
    // Reusable tagged key the servers joined with.
    key(
      { id: 1, userId: 1, reusable: true, ephemeral: false, used: true, aclTags: [EXPORTER_TAG] },
      60 * DAY_MS,
      100 * DAY_MS,
    ),
    // Ephemeral CI key; 0.28+ lets it belong to no user.
    key(
      {
        id: 2,
        userId: model === 'v028' ? null : 1,
        reusable: true,
        ephemeral: true,
        used: true,
        aclTags: [EXPORTER_TAG, 'tag:ci'],
      },
      1 * DAY_MS,
      1 * DAY_MS,
    ),
    // Expired before anyone used it.
    key({ id: 3, userId: 2, reusable: false, ephemeral: false, used: false, aclTags: [] }, -2 * DAY_MS, 9 * DAY_MS),
    // Used once, then expired.
    key({ id: 4, userId: 3, reusable: false, ephemeral: false, used: true, aclTags: [] }, -10 * DAY_MS, 40 * DAY_MS),
    // Fresh single-use key.
    key({ id: 5, userId: 1, reusable: false, ephemeral: false, used: false, aclTags: [] }, 7 * DAY_MS, 1 * HOUR_MS),
  ];
  const apiKeys: HeadscaleApiKeySpec[] = [
    { id: 2, expiration: now + 3 * DAY_MS, createdAt: now - 87 * DAY_MS, lastSeen: now - 1 * DAY_MS }, // expiring soon
    { id: 3, expiration: now - 5 * DAY_MS, createdAt: now - 95 * DAY_MS, lastSeen: now - 30 * DAY_MS }, // expired
    { id: 4, expiration: now + 30 * DAY_MS, createdAt: now - 2 * DAY_MS, lastSeen: null }, // never used
  ];
  const server = (hostname: string, requested: string, extra: Partial<HeadscaleNodeSpec> = {}): HeadscaleNodeSpec => ({
    hostname,
    user: 'ops',
    preAuthKeyId: 1,
    forcedTags: [EXPORTER_TAG],
    requestedTags: [requested],
    servesMetrics: true,
    createdAt: now - 90 * DAY_MS,
    ...extra,
  });
  const nodes: HeadscaleNodeSpec[] = [
    server('gateway-1', 'tag:gateway', {
      availableRoutes: ['10.20.0.0/16', '192.168.10.0/24'],
      approvedRoutes: ['10.20.0.0/16'],
      homeDerpRegionId: 1,
      healthWarnings: 1,
    }),
    server('gateway-2', 'tag:gateway', {
      availableRoutes: ['172.16.0.0/20'],
      approvedRoutes: ['172.16.0.0/20'],
      homeDerpRegionId: 4,
    }),
    server('exit-node-1', 'tag:exit-node', {
      availableRoutes: [...EXIT_ROUTES],
      approvedRoutes: [...EXIT_ROUTES],
      homeDerpRegionId: 4,
    }),
    server('db-1', 'tag:server', { homeDerpRegionId: 8 }),
    {
      hostname: 'ci-runner-7f3a',
      user: model === 'v028' ? null : 'ops',
      preAuthKeyId: 2,
      forcedTags: [EXPORTER_TAG, 'tag:ci'],
      servesMetrics: true,
      createdAt: now - 2 * HOUR_MS,
      lastSeen: null,
      homeDerpRegionId: 2,
    },
    {
      hostname: 'alice-laptop',
      user: 'alice',
      registerMethod: 'REGISTER_METHOD_OIDC',
      expiry: now + 170 * DAY_MS,
      availableRoutes: ['192.168.1.0/24'],
      approvedRoutes: [],
      createdAt: now - 10 * DAY_MS,
    },
    {
      hostname: 'alice-phone',
      user: 'alice',
      registerMethod: 'REGISTER_METHOD_OIDC',
      online: false,
      lastSeen: now - 5 * HOUR_MS,
      expiry: now + 150 * DAY_MS,
      createdAt: now - 30 * DAY_MS,
    },
    {
      hostname: 'bob-desktop',
      user: 'bob',
      registerMethod: 'REGISTER_METHOD_CLI',
      online: false,
      lastSeen: now - 3 * DAY_MS,
      expiry: now - 3 * DAY_MS,
      createdAt: now - 183 * DAY_MS,
    },
  ];
  return { users, preAuthKeys, apiKeys, nodes };
}

/** One user "ops" and one metrics-serving tagged server per name, joined with one reusable key. */
function named(names: readonly string[], model: HeadscaleTagModel, now: number): HeadscaleScenarioData {
  return {
    users: [cliUser(1, 'ops', now - 30 * DAY_MS)],
    preAuthKeys: [
      {
        id: 1,
        userId: 1,
        key: preAuthKeyText(model, 'names:1'),
        reusable: true,
        ephemeral: false,
        used: names.length > 0,
        expiration: now + 30 * DAY_MS,
        createdAt: now - 1 * DAY_MS,
        aclTags: [EXPORTER_TAG],
      },
    ],
    apiKeys: [],
    nodes: names.map((hostname) => ({
      hostname,
      user: 'ops',
      preAuthKeyId: 1,
      forcedTags: [EXPORTER_TAG],
      servesMetrics: true,
    })),
  };
}
