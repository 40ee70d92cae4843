// Time as the simulated control servers write it. Tailscale's resources carry RFC 3339 times in whole
// seconds; its log endpoints keep milliseconds; Go's zero time stands for "never" in both servers' answers.

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/** Go's zero `time.Time` as RFC 3339 (Tailscale's "no expiry", protojson's zero Timestamp). */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** RFC 3339 in whole seconds, e.g. "2026-09-01T12:00:00Z". */
export function isoTime(ms: number): string {
  return isoTimeMillis(ms).replace(/\.\d{3}Z$/, 'Z');
}

/** RFC 3339 with milliseconds, e.g. "2026-09-01T12:00:00.000Z". */
export function isoTimeMillis(ms: number): string {
  return new Date(ms).toISOString();
}
