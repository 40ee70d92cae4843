import { createHmac } from 'node:crypto';

/**
 * REDACT_USER_EMAILS: a stable keyed hash in place of an e-mail or login name, so /metrics can be shared
 * without personal data while joins and per-user panels still work. Keyed (HMAC), because a plain hash of
 * an e-mail address is reversible by guessing addresses.
 */
export function userRedactor(key: string | undefined): (user: string) => string {
  if (key === undefined) return (user) => user;
  const cache = new Map<string, string>();
  return (user) => {
    if (user === '') return '';
    let v = cache.get(user);
    if (v === undefined) {
      v = `user-${createHmac('sha256', key).update(user.toLowerCase()).digest('hex').slice(0, 16)}`;
      if (cache.size > 100_000) cache.clear();
      cache.set(user, v);
    }
    return v;
  };
}
