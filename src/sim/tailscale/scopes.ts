// OAuth scopes as the Tailscale API applies them (tailscale-facts §1.2; per-operation scopes from the
// OpenAPI spec). Pure functions: which scopes exist, which scope covers which, and what a client may grant.

/** Granular scopes; each also exists with a `:read` suffix. */
const GRANULAR = [
  'devices:core',
  'devices:routes',
  'devices:posture_attributes',
  'device_invites',
  'users',
  'user_invites',
  'auth_keys',
  'api_access_tokens',
  'oauth_keys',
  'federated_keys',
  'feature_settings',
  'networking_settings',
  'account_settings',
  'dns',
  'services',
  'policy_file',
  'logs:network',
  'logs:configuration',
  'log_streaming',
  'webhooks',
] as const;

/**
 * Pre-2025 coarse scopes and the granular ones they stand for. Old clients keep them; a client
 * created with granular scopes cannot grant them (adinhodovic/tailscale-exporter#34), so here only a
 * client granted `all` can.
 */
const LEGACY: ReadonlyMap<string, readonly string[]> = new Map([
  ['devices', ['devices:core', 'devices:routes', 'devices:posture_attributes']],
  ['devices:read', ['devices:core:read', 'devices:routes:read', 'devices:posture_attributes:read']],
  ['routes', ['devices:routes']],
  ['routes:read', ['devices:routes:read']],
  ['acl', ['policy_file']],
  ['acl:read', ['policy_file:read']],
]);

const KNOWN_SCOPES: ReadonlySet<string> = new Set([
  'all',
  'all:read',
  ...GRANULAR,
  ...GRANULAR.map((s) => `${s}:read`),
  ...LEGACY.keys(),
]);

/** What the simulated OAuth client is granted unless a test says otherwise: a read-only client. */
export const DEFAULT_GRANTED_SCOPES: readonly string[] = ['all:read'];

/** The scopes that let a caller see each key type in `/keys` (OpenAPI listTailnetKeys). */
export const KEY_TYPE_SCOPES = {
  auth: 'auth_keys:read',
  api: 'api_access_tokens:read',
  client: 'oauth_keys:read',
  federated: 'federated_keys:read',
} as const;

/** True if holding `have` lets a caller act with scope `need`. */
export function covers(have: readonly string[], need: string): boolean {
  const isRead = need.endsWith(':read');
  const writeForm = isRead ? need.slice(0, -':read'.length) : null;
  for (const scope of have) {
    if (scope === need || scope === 'all') return true;
    if (isRead && (scope === 'all:read' || scope === writeForm)) return true;
    const expanded = LEGACY.get(scope);
    if (expanded !== undefined && (expanded.includes(need) || (writeForm !== null && expanded.includes(writeForm))))
      return true;
  }
  return false;
}

/** True if a caller holding `have` passes a check that accepts any of `anyOf`. */
export function coversAny(have: readonly string[], anyOf: readonly string[]): boolean {
  return anyOf.some((need) => covers(have, need));
}

/** True if an OAuth client granted `granted` may put `requested` into an access token. */
export function canGrant(granted: readonly string[], requested: string): boolean {
  if (!KNOWN_SCOPES.has(requested)) return false;
  if (LEGACY.has(requested)) return granted.includes('all') || granted.includes(requested);
  return covers(granted, requested);
}

/** Splits a space-separated `scope` form value; empty means "not given". */
export function parseScopeList(text: string | null): string[] {
  return (text ?? '').split(/\s+/).filter((s) => s !== '');
}

/** Validates a list a test hands to setGrantedScopes. */
export function checkScopes(scopes: readonly string[]): string[] {
  const unknown = scopes.filter((s) => !KNOWN_SCOPES.has(s));
  if (unknown.length > 0) throw new RangeError(`unknown OAuth scope(s): ${unknown.join(', ')}`);
  if (scopes.length === 0) throw new RangeError('an OAuth client needs at least one scope');
  return [...new Set(scopes)];
}
