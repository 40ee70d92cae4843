// OAuth access tokens handed out by the fake token endpoint, expiring on the injected clock.
import { randomBytes } from 'node:crypto';

export const TOKEN_LIFETIME_SECONDS = 3600;
const PRUNE_THRESHOLD = 1024;

interface TokenEntry {
  readonly expiresAt: number;
  /** Issue order; lets an 'expire-tokens' fault tell tokens issued before it from fresh ones. */
  readonly serial: number;
  /** The scopes the token was issued with. */
  readonly scopes: readonly string[];
  /** The federated identity's key id, for tokens from the token exchange; null for the OAuth client's. */
  readonly federatedKeyId: string | null;
}

export interface IssuedToken {
  readonly serial: number;
  readonly scopes: readonly string[];
  readonly federatedKeyId: string | null;
}

export class TokenStore {
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #now: () => number;
  #serial = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  issue(scopes: readonly string[], federatedKeyId: string | null = null): string {
    if (this.#tokens.size >= PRUNE_THRESHOLD) this.#pruneExpired();
    const token = `tskey-api-${randomBytes(6).toString('hex')}-${randomBytes(16).toString('hex')}`;
    this.#serial += 1;
    this.#tokens.set(token, {
      expiresAt: this.#now() + TOKEN_LIFETIME_SECONDS * 1000,
      serial: this.#serial,
      scopes: [...scopes],
      federatedKeyId,
    });
    return token;
  }

  /** The token's issue serial and scopes if it is known and unexpired, else null. */
  lookup(token: string): IssuedToken | null {
    const entry = this.#tokens.get(token);
    if (entry === undefined) return null;
    if (this.#now() >= entry.expiresAt) {
      this.#tokens.delete(token);
      return null;
    }
    return { serial: entry.serial, scopes: entry.scopes, federatedKeyId: entry.federatedKeyId };
  }

  /** Serial of the newest token issued so far (0 before the first). */
  get lastSerial(): number {
    return this.#serial;
  }

  revoke(token: string): void {
    this.#tokens.delete(token);
  }

  #pruneExpired(): void {
    const now = this.#now();
    for (const [token, entry] of this.#tokens) if (now >= entry.expiresAt) this.#tokens.delete(token);
  }
}
