// The mutable, non-device state behind the fake API: the directory (users, keys, services, DNS,
// settings), the policy file, what the OAuth client is granted, and the key-list quirk switches.
import type { DirectoryIds, SimDirectory } from './directory.js';
import { policyDocument, type PolicyDocument, type PolicyObject } from './policy.js';
import { checkScopes, DEFAULT_GRANTED_SCOPES } from './scopes.js';

export class ApiState {
  readonly directory: SimDirectory;
  readonly ids: DirectoryIds;
  /** `/keys` lists only `{id}` per key, so a client must fetch each key's details. */
  keyListIdsOnly = false;
  /** `/keys` also lists revoked and expired keys (with `invalid: true`). */
  keyListIncludesInvalid = true;
  /** Devices are listed without `connectedToControl` (the shape of servers that imitate the API). */
  devicesWithoutConnectedToControl = false;
  #policy: PolicyDocument;
  #granted: readonly string[] = DEFAULT_GRANTED_SCOPES;

  constructor(directory: SimDirectory, policy: PolicyObject | string, ids: DirectoryIds) {
    this.directory = directory;
    this.ids = ids;
    this.#policy = policyDocument(policy);
    this.#syncClientKey();
  }

  get policy(): PolicyDocument {
    return this.#policy;
  }

  setPolicy(policy: PolicyObject | string): void {
    this.#policy = policyDocument(policy);
  }

  get grantedScopes(): readonly string[] {
    return this.#granted;
  }

  /** `'all'` grants the `all` scope (every read and write scope); the default is `all:read`. */
  setGrantedScopes(scopes: readonly string[] | 'all'): void {
    this.#granted = scopes === 'all' ? ['all'] : checkScopes(scopes);
    this.#syncClientKey();
  }

  /** The OAuth client's key record shows the scopes it is granted. */
  #syncClientKey(): void {
    const client = this.directory.keys.find((k) => k.id === this.ids.clientId);
    if (client !== undefined) client.scopes = [...this.#granted];
  }
}
