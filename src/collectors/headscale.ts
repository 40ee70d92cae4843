import { boolValue, gauge, type Labels } from '../exposition/family.js';
import { deviceListSource, deviceLabels, type ListCollector } from './collector.js';

// Families only Headscale has: its users, pre-auth keys, API keys, per-node route state, and an `up`
// that tells the truth (1 only when the node list call succeeded). Times missing in the API are absent.

export const headscaleNodesCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  collect({ devices, api }) {
    const routes: Array<readonly [Labels, number]> = [];
    for (const d of devices ?? []) {
      for (const route of d.advertisedRoutes ?? []) routes.push([{ ...deviceLabels(d), route, state: 'available' }, 1]);
      for (const route of d.enabledRoutes ?? []) routes.push([{ ...deviceLabels(d), route, state: 'approved' }, 1]);
      for (const route of d.servingRoutes ?? []) routes.push([{ ...deviceLabels(d), route, state: 'serving' }, 1]);
    }
    return [
      gauge('headscale_up', '1 if the last Headscale node list call succeeded.', [[{}, api.up ? 1 : 0]]),
      gauge(
        'headscale_node_route',
        'Route of a node, value 1: state available (availableRoutes), approved (approvedRoutes) or serving (subnetRoutes).',
        routes,
      ),
    ];
  },
};

/** 0.27+: the server's own health check, fetched every refresh cycle; absent when the server has none. */
export const headscaleHealthCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: (d) => d.inventory.headscaleHealth,
  collect({ inventory }) {
    const connectivity = inventory.headscaleHealth.data?.databaseConnectivity;
    return [
      gauge(
        'headscale_database_connectivity',
        '1 if Headscale reaches its database (GET /api/v1/health: databaseConnectivity; 0 when the health call answers 500); absent on servers without the endpoint (before 0.27).',
        connectivity === undefined ? [] : [[{}, boolValue(connectivity)]],
      ),
    ];
  },
};

export function makeHeadscaleUsersCollector(userLabel: (user: string) => string): ListCollector {
  return {
    name: 'users',
    stage: 'list',
    source: (d) => d.inventory.headscaleUsers,
    collect({ inventory }) {
      const users = inventory.headscaleUsers.data;
      if (users === undefined) return [];
      return [
        gauge(
          'headscale_user_info',
          'Headscale user, value 1 (GET /api/v1/user: name, displayName, email, provider).',
          users.map(
            (u) =>
              [
                {
                  user_id: u.id,
                  name: userLabel(u.name),
                  display_name: userLabel(u.displayName),
                  email: userLabel(u.email),
                  provider: u.provider,
                },
                1,
              ] as const,
          ),
        ),
        gauge(
          'headscale_user_created_timestamp_seconds',
          'Unix time the Headscale user was created (createdAt).',
          users.flatMap((u) =>
            u.createdSeconds === undefined ? [] : [[{ user_id: u.id }, u.createdSeconds] as const],
          ),
        ),
      ];
    },
  };
}

export function makePreAuthKeysCollector(userLabel: (user: string) => string): ListCollector {
  return {
    name: 'preauthkeys',
    stage: 'list',
    source: (d) => d.inventory.preauthkeys,
    collect({ inventory, nowSeconds }) {
      const keys = inventory.preauthkeys.data;
      if (keys === undefined) return [];
      const ids = (id: string): Labels => ({ key_id: id });
      return [
        gauge(
          'headscale_preauthkey_info',
          'Headscale pre-auth key, value 1 (user, reusable, ephemeral, used, aclTags as ,tag:a,tag:b,).',
          keys.map(
            (k) =>
              [
                {
                  key_id: k.id,
                  user: userLabel(k.user),
                  reusable: String(k.reusable),
                  ephemeral: String(k.ephemeral),
                  used: String(k.used),
                  acl_tags: k.aclTags.length === 0 ? '' : `,${k.aclTags.join(',')},`,
                },
                1,
              ] as const,
          ),
        ),
        gauge(
          'headscale_preauthkey_used',
          '1 if the pre-auth key has been used (used).',
          keys.map((k) => [ids(k.id), boolValue(k.used)] as const),
        ),
        gauge(
          'headscale_preauthkey_expiry_timestamp_seconds',
          'Unix time the pre-auth key expires (expiration).',
          keys.flatMap((k) => (k.expirationSeconds === undefined ? [] : [[ids(k.id), k.expirationSeconds] as const])),
        ),
        gauge(
          'headscale_preauthkey_expires_in_seconds',
          'Seconds until the pre-auth key expires, negative once expired.',
          keys.flatMap((k) =>
            k.expirationSeconds === undefined ? [] : [[ids(k.id), k.expirationSeconds - nowSeconds] as const],
          ),
        ),
        gauge(
          'headscale_preauthkey_created_timestamp_seconds',
          'Unix time the pre-auth key was created (createdAt).',
          keys.flatMap((k) => (k.createdSeconds === undefined ? [] : [[ids(k.id), k.createdSeconds] as const])),
        ),
      ];
    },
  };
}

export const apiKeysCollector: ListCollector = {
  name: 'apikeys',
  stage: 'list',
  source: (d) => d.inventory.apikeys,
  collect({ inventory, nowSeconds }) {
    const keys = inventory.apikeys.data;
    if (keys === undefined) return [];
    const ids = (id: string): Labels => ({ key_id: id });
    return [
      gauge(
        'headscale_apikey_info',
        'Headscale API key, value 1 (prefix: the public part Headscale shows).',
        keys.map((k) => [{ key_id: k.id, prefix: k.prefix }, 1] as const),
      ),
      gauge(
        'headscale_apikey_expiry_timestamp_seconds',
        'Unix time the API key expires (expiration).',
        keys.flatMap((k) => (k.expirationSeconds === undefined ? [] : [[ids(k.id), k.expirationSeconds] as const])),
      ),
      gauge(
        'headscale_apikey_expires_in_seconds',
        'Seconds until the API key expires, negative once expired.',
        keys.flatMap((k) =>
          k.expirationSeconds === undefined ? [] : [[ids(k.id), k.expirationSeconds - nowSeconds] as const],
        ),
      ),
      gauge(
        'headscale_apikey_last_seen_timestamp_seconds',
        'Unix time the API key was last used (lastSeen).',
        keys.flatMap((k) => (k.lastSeenSeconds === undefined ? [] : [[ids(k.id), k.lastSeenSeconds] as const])),
      ),
      gauge(
        'headscale_apikey_created_timestamp_seconds',
        'Unix time the API key was created (createdAt).',
        keys.flatMap((k) => (k.createdSeconds === undefined ? [] : [[ids(k.id), k.createdSeconds] as const])),
      ),
    ];
  },
};
