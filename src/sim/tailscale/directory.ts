// Everything in the simulated tailnet besides devices: users, keys, Tailscale Services, DNS and
// tailnet settings, as plain data. Wire names and shapes follow the OpenAPI schemas `User`, `Key`,
// `VIPServiceInfo`, `DnsPreferences`, `DnsSearchPaths`, `SplitDns` and `TailnetSettings`
// (tailscale-client-go-v2 tools/openapi/spec/tailscale-v2-openapi.yaml). Times are relative to `now`.
import { DAY_MS, HOUR_MS, ZERO_TIME, isoTime } from '../shared/time.js';
import { stableId, tailnetIPv4, tailnetIPv6 } from '../shared/ids.js';
import { standardIntegrations, type SimIntegrations } from './integrations.js';
import type { Scenario } from './scenarios.js';

export type UserType = 'member' | 'shared';
export type UserRole = 'owner' | 'admin' | 'member' | 'it-admin' | 'network-admin' | 'billing-admin' | 'auditor';
type UserStatus = 'active' | 'idle' | 'suspended' | 'needs-approval' | 'over-billing-limit';

export const USER_TYPES: readonly UserType[] = ['member', 'shared'];
export const USER_ROLES: readonly UserRole[] = [
  'owner',
  'admin',
  'member',
  'it-admin',
  'network-admin',
  'billing-admin',
  'auditor',
];

/**
 * A user as `GET /users` returns it. `deviceCount` and `currentlyConnected` are computed from the
 * devices (untagged devices whose `user` is this login) unless set here; `lastSeen` becomes "now"
 * while a device is connected.
 */
export interface SimUser {
  id: string;
  displayName: string;
  loginName: string;
  profilePicUrl: string;
  tailnetId: string;
  created: string;
  type: UserType;
  role: UserRole;
  status: UserStatus;
  lastSeen: string;
  deviceCount?: number;
  currentlyConnected?: boolean;
}

type KeyType = 'auth' | 'api' | 'client' | 'federated';

interface KeyCapabilities {
  devices: { create: { reusable: boolean; ephemeral: boolean; preauthorized: boolean; tags: string[] } };
}

/**
 * A key as `GET /keys/{id}` returns it (never the secret). Optional members are omitted from the
 * JSON when undefined. `invalid` is computed (revoked, or `expires` has passed) unless set here, and
 * is only sent when true.
 */
export interface SimKey {
  id: string;
  keyType: KeyType;
  description: string;
  created: string;
  updated?: string;
  /** Absent for OAuth clients; the Go zero time for the federated identity. */
  expires?: string;
  expirySeconds?: number;
  revoked?: string;
  invalid?: boolean;
  capabilities?: KeyCapabilities;
  scopes?: string[];
  tags?: string[];
  /** "" for keys created by trust credentials. */
  userId: string;
  audience?: string;
  issuer?: string;
  subject?: string;
  customClaimRules?: Record<string, string>;
}

/** A Tailscale Service (VIP service). Optional members are omitted when undefined. */
export interface SimService {
  name: string;
  addrs: string[];
  comment?: string;
  ports: string[];
  tags?: string[];
}

export interface SimDns {
  nameservers: string[];
  magicDNS: boolean;
  searchPaths: string[];
  /** Domain to nameservers; null means "cleared" and is served as null. */
  splitDns: Record<string, string[] | null>;
}

/** `GET /tailnet/{t}/settings`. Booleans may be null (not available on the plan, or not visible). */
export interface SimSettings {
  aclsExternallyManagedOn: boolean | null;
  aclsExternalLink?: string | null;
  devicesApprovalOn: boolean | null;
  devicesAutoUpdatesOn: boolean | null;
  devicesKeyDurationDays: number;
  usersApprovalOn: boolean | null;
  usersRoleAllowedToJoinExternalTailnets: 'none' | 'admin' | 'member';
  networkFlowLoggingOn: boolean | null;
  regionalRoutingOn: boolean | null;
  postureIdentityCollectionOn: boolean | null;
  httpsEnabled: boolean | null;
}

export interface SimDirectory {
  users: SimUser[];
  keys: SimKey[];
  services: SimService[];
  dns: SimDns;
  settings: SimSettings;
  /** Log streaming, posture integrations, service hosts, webhooks. */
  integrations: SimIntegrations;
}

export interface DirectoryIds {
  /** The OAuth client's key id: its client id. */
  readonly clientId: string;
  /** The key id of the simulator's API access token. */
  readonly apiKeyId: string;
  /** The client id of the federated identity tsmetrics can use (workload identity federation). */
  readonly federatedClientId: string;
}

/** Issuer and subject of the simulator's own federated identity (a Kubernetes service account's token). */
export const SIM_OIDC_ISSUER = 'https://oidc.cluster.example';
export const SIM_OIDC_SUBJECT = 'system:serviceaccount:monitoring:tsmetrics';

/** The tailnet's owner; the simulator's API access token belongs to this user. */
export const OWNER_LOGIN = 'admin@example.com';
const AUTH_KEY_SECONDS = 90 * 86_400;

export function userId(loginName: string): string {
  return stableId('u', `user:${loginName}`);
}

/** The key id inside an API token (`tskey-api-<id>-<secret>`), or a fixed one for odd test tokens. */
export function apiKeyIdOf(apiKey: string): string {
  return /^tskey-api-([A-Za-z0-9]+)-/.exec(apiKey)?.[1] ?? 'kSimApiTokenCNTRL';
}

export function scenarioDirectory(scenario: Scenario, tailnet: string, nowMs: number, ids: DirectoryIds): SimDirectory {
  const directory: SimDirectory = {
    users: standardUsers(tailnet, nowMs),
    keys: standardKeys(nowMs, ids),
    services: standardServices(),
    integrations: standardIntegrations(nowMs),
    dns: {
      nameservers: ['1.1.1.1', '8.8.8.8', '2606:4700:4700::1111'],
      magicDNS: true,
      searchPaths: ['corp.example.com', 'example.internal'],
      splitDns: { 'corp.example.com': ['10.20.0.53', '10.20.0.54'], 'aws.internal': ['172.16.0.2'] },
    },
    settings: {
      aclsExternallyManagedOn: true,
      aclsExternalLink: 'https://github.com/example/tailnet-policy',
      devicesApprovalOn: false,
      devicesAutoUpdatesOn: true,
      devicesKeyDurationDays: 180,
      usersApprovalOn: true,
      usersRoleAllowedToJoinExternalTailnets: 'admin',
      // Not available on the simulated plan, so the API reports null rather than false.
      networkFlowLoggingOn: null,
      regionalRoutingOn: null,
      postureIdentityCollectionOn: true,
      httpsEnabled: true,
    },
  };
  if (scenario === 'edge-cases') addEdgeCases(directory, nowMs);
  return directory;
}

type UserRow = readonly [
  loginName: string,
  displayName: string,
  role: UserRole,
  status: UserStatus,
  createdDaysAgo: number,
  lastSeenHoursAgo: number,
  extra?: Partial<SimUser>,
];

/** Every role, status and type at least once, so a label mix-up (AH's users bug) shows. */
const STANDARD_USERS: readonly UserRow[] = [
  [OWNER_LOGIN, 'Ada Admin', 'owner', 'active', 400, 1, { profilePicUrl: 'https://avatars.example.com/ada.png' }],
  ['ops@example.com', 'Ops Automation', 'network-admin', 'active', 300, 2],
  ['alice@example.com', 'Alice Anders', 'admin', 'active', 250, 1],
  ['bob@example.com', 'Bob Brown', 'member', 'active', 200, 72],
  ['carol@example.com', 'Carol Chen', 'it-admin', 'active', 150, 3],
  ['erin@example.com', 'Erin Evans', 'billing-admin', 'idle', 500, 40 * 24],
  ['frank@example.com', 'Frank Fischer', 'auditor', 'suspended', 365, 90 * 24],
  ['grace@example.com', 'Grace Green', 'member', 'needs-approval', 1, 20],
  ['heidi@example.com', 'Heidi Hall', 'member', 'over-billing-limit', 3, 70],
  ['dave@partner.example', 'Dave Dawson', 'member', 'active', 120, 5, { type: 'shared', tailnetId: 'partner.example' }],
];

function standardUsers(tailnet: string, now: number): SimUser[] {
  return STANDARD_USERS.map(([loginName, displayName, role, status, createdDays, lastSeenHours, extra]) => ({
    id: userId(loginName),
    displayName,
    loginName,
    profilePicUrl: '',
    tailnetId: tailnet,
    created: isoTime(now - createdDays * DAY_MS),
    type: 'member',
    role,
    status,
    lastSeen: isoTime(now - lastSeenHours * HOUR_MS),
    ...extra,
  }));
}

function standardKeys(now: number, ids: DirectoryIds): SimKey[] {
  const at = (days: number): string => isoTime(now + days * DAY_MS);
  const owner = userId(OWNER_LOGIN);
  const create = (reusable: boolean, ephemeral: boolean, preauthorized: boolean, tags: string[]): KeyCapabilities => ({
    devices: { create: { reusable, ephemeral, preauthorized, tags } },
  });
  return [
    {
      id: stableId('k', 'key:ci-runners'),
      keyType: 'auth',
      description: 'ci runners',
      created: at(-80),
      expires: at(10),
      expirySeconds: AUTH_KEY_SECONDS,
      capabilities: create(true, false, true, ['tag:ci', 'tag:exporter']),
      userId: owner,
    },
    {
      id: stableId('k', 'key:k8s-operator'),
      keyType: 'auth',
      description: 'k8s operator',
      created: at(-1),
      expires: at(89),
      expirySeconds: AUTH_KEY_SECONDS,
      capabilities: create(false, true, true, ['tag:k8s']),
      userId: '',
    },
    {
      id: stableId('k', 'key:old-laptop'),
      keyType: 'auth',
      description: 'old laptop enrolment',
      created: at(-30),
      expires: at(60),
      expirySeconds: AUTH_KEY_SECONDS,
      revoked: at(-2),
      capabilities: create(false, false, false, []),
      userId: owner,
    },
    {
      id: stableId('k', 'key:lab'),
      keyType: 'auth',
      description: 'lab',
      created: at(-100),
      expires: at(-10),
      expirySeconds: AUTH_KEY_SECONDS,
      capabilities: create(true, true, false, ['tag:server']),
      userId: owner,
    },
    {
      id: stableId('k', 'key:terraform'),
      keyType: 'api',
      description: 'terraform',
      created: at(-85),
      expires: at(5),
      expirySeconds: AUTH_KEY_SECONDS,
      scopes: ['all'],
      userId: owner,
    },
    {
      id: stableId('k', 'key:alice-scripts'),
      keyType: 'api',
      description: 'alice scripts',
      created: at(-30),
      expires: at(60),
      expirySeconds: AUTH_KEY_SECONDS,
      scopes: ['all'],
      userId: userId('alice@example.com'),
    },
    {
      id: ids.apiKeyId,
      keyType: 'api',
      description: 'tsmetrics simulator',
      created: at(-1),
      expires: at(89),
      expirySeconds: AUTH_KEY_SECONDS,
      scopes: ['all'],
      userId: owner,
    },
    {
      id: ids.clientId,
      keyType: 'client',
      description: 'tsmetrics exporter',
      created: at(-200),
      updated: at(-20),
      scopes: ['all:read'],
      tags: ['tag:monitoring'],
      userId: owner,
    },
    {
      id: stableId('k', 'key:github-deploy'),
      keyType: 'federated',
      description: 'github actions deploy',
      created: at(-45),
      updated: at(-45),
      expires: ZERO_TIME,
      scopes: ['devices:core:read', 'policy_file'],
      tags: ['tag:ci'],
      userId: owner,
      audience: `api.tailscale.com/${stableId('k', 'key:github-deploy')}`,
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:example/infra:ref:refs/heads/main',
      customClaimRules: { repository_owner: 'example' },
    },
    {
      id: ids.federatedClientId,
      keyType: 'federated',
      description: 'tsmetrics workload identity',
      created: at(-10),
      updated: at(-10),
      expires: ZERO_TIME,
      scopes: ['all:read'],
      tags: ['tag:monitoring'],
      userId: '',
      audience: `api.tailscale.com/${ids.federatedClientId}`,
      issuer: SIM_OIDC_ISSUER,
      subject: SIM_OIDC_SUBJECT,
    },
  ];
}

/** Addresses far above any device index, so they never collide with a device's. */
const SERVICE_ADDRESS_BASE = 4_000_000;

function serviceAddrs(n: number): string[] {
  return [tailnetIPv4(SERVICE_ADDRESS_BASE + n), tailnetIPv6(SERVICE_ADDRESS_BASE + n)];
}

function standardServices(): SimService[] {
  return [
    {
      name: 'svc:grafana',
      addrs: serviceAddrs(0),
      comment: 'Grafana dashboards',
      ports: ['tcp:443'],
      tags: ['tag:web'],
    },
    { name: 'svc:postgres', addrs: serviceAddrs(1), ports: ['tcp:5432'], tags: ['tag:db'] },
    { name: 'svc:wiki', addrs: serviceAddrs(2), comment: 'Team wiki', ports: ['tcp:80', 'tcp:443'] },
  ];
}

function addEdgeCases(directory: SimDirectory, now: number): void {
  directory.services.push(
    {
      name: 'svc:odd "name"',
      addrs: serviceAddrs(3),
      comment: 'line\nbreak and \\backslash',
      ports: ['do-not-validate'],
      tags: [],
    },
    { name: 'svc:no-addrs-yet', addrs: [], ports: [] },
  );
  directory.dns = {
    nameservers: [],
    magicDNS: false,
    searchPaths: [],
    splitDns: { 'cleared.example': null, 'ünïcødé.example': ['fd7a:115c:a1e0::53'] },
  };
  directory.settings = {
    ...directory.settings,
    aclsExternallyManagedOn: null,
    aclsExternalLink: undefined,
    devicesAutoUpdatesOn: null,
    devicesKeyDurationDays: 1,
    usersApprovalOn: null,
    usersRoleAllowedToJoinExternalTailnets: 'none',
  };
  directory.keys.push({
    id: stableId('k', 'key:quoted'),
    keyType: 'auth',
    description: 'say "hi" \\ ünïcødé',
    created: isoTime(now - DAY_MS),
    expires: isoTime(now + 3650 * DAY_MS),
    capabilities: { devices: { create: { reusable: false, ephemeral: false, preauthorized: false, tags: [] } } },
    userId: '',
  });
}
