import { createHash } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { bearerChecker } from './bearer.js';

// Who may read the data routes: METRICS_TOKEN (a bearer token) and the web config's basic_auth_users (bcrypt
// hashes). Either credential is accepted when both are set. bcryptjs: a maintained, dependency-free bcrypt in
// plain JavaScript (no native build); its async compare yields to the event loop while it works.

/** Compared against when the user is unknown, so an unknown user costs the same time as a wrong password. */
const DUMMY_HASH = '$2b$10$gIQPo7RYkuOBi5SHX7osqu3hgTmMZlwShhEd9ipx1KHL7YLb0/ciC';

/** Successful verifications remembered, so Prometheus does not pay bcrypt's cost at every scrape (exporter-toolkit does the same). */
const CACHE_LIMIT = 1024;

/** Distinct bcrypt checks at once; the same credentials arriving together share one check. */
const MAX_HASHING = 4;

export interface Authenticator {
  /** True when some credential is configured: data routes then need one. */
  readonly required: boolean;
  /** Cheap checks only: the bearer token, or basic credentials verified before. */
  quick(header: string | undefined): boolean;
  /** Whether a basic-auth check (bcrypt) is worth doing for this header. */
  needsSlowCheck(header: string | undefined): boolean;
  /**
   * The bcrypt check of basic credentials; remembers a success. `busy` when MAX_HASHING checks of other
   * credentials are running already (each costs tens of milliseconds of CPU).
   */
  verify(header: string | undefined): Promise<boolean | 'busy'>;
  /** WWW-Authenticate values for a 401. */
  challenges(): string[];
}

export function createAuthenticator(
  token: string | undefined,
  users: () => ReadonlyMap<string, string>,
): Authenticator {
  const bearer = token === undefined ? undefined : bearerChecker(token);
  const verified = new Set<string>();
  const hashing = new Map<string, Promise<boolean>>();
  const parse = (header: string | undefined): { user: string; password: string } | undefined => {
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
    if (m === null) return undefined;
    const text = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    return colon < 0 ? undefined : { user: text.slice(0, colon), password: text.slice(colon + 1) };
  };
  // The hash is part of the key: a changed file (another hash) invalidates what was verified against the old one.
  const cacheKey = (user: string, password: string, hash: string): string =>
    createHash('sha256').update(`${user}\u0000${password}\u0000${hash}`).digest('base64');
  return {
    get required() {
      return bearer !== undefined || users().size > 0;
    },
    quick(header) {
      if (bearer?.(header) === true) return true;
      const c = parse(header);
      const hash = c === undefined ? undefined : users().get(c.user);
      return c !== undefined && hash !== undefined && verified.has(cacheKey(c.user, c.password, hash));
    },
    needsSlowCheck(header) {
      return users().size > 0 && parse(header) !== undefined;
    },
    async verify(header) {
      const c = parse(header);
      if (c === undefined) return false;
      const hash = users().get(c.user);
      const key = cacheKey(c.user, c.password, hash ?? DUMMY_HASH);
      let check = hashing.get(key);
      if (check === undefined) {
        if (hashing.size >= MAX_HASHING) return 'busy';
        check = bcrypt.compare(c.password, hash ?? DUMMY_HASH).then((ok) => ok && hash !== undefined);
        hashing.set(key, check);
        check.finally(() => hashing.delete(key)).catch(() => undefined);
      }
      const ok = await check;
      if (ok) {
        if (verified.size >= CACHE_LIMIT) verified.clear();
        verified.add(key);
      }
      return ok;
    },
    challenges() {
      return [
        ...(users().size > 0 ? ['Basic realm="tsmetrics"'] : []),
        ...(bearer !== undefined ? ['Bearer realm="tsmetrics"'] : []),
      ];
    },
  };
}
