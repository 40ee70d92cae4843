import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Checks `Authorization: Bearer <token>` in constant time. Both sides are hashed first so the comparison
 * takes the same time whatever the length of the guess.
 */
export function bearerChecker(token: string): (header: string | undefined) => boolean {
  const expected = createHash('sha256').update(token).digest();
  return (header) => {
    const m = /^Bearer (.+)$/i.exec(header ?? '');
    const given = createHash('sha256')
      .update(m?.[1] ?? '')
      .digest();
    return timingSafeEqual(given, expected) && m !== null;
  };
}
