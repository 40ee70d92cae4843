// Per-client token buckets for the HTTP server. Hand-written: it is a dozen lines, and a library would
// bring a store abstraction we do not need. Buckets of clients idle for a minute are dropped, so a flood
// of source addresses cannot grow the map without bound.

export interface RateLimiter {
  /** 0 when the request may proceed, else the seconds to wait before retrying. */
  take(client: string): number;
}

const MAX_CLIENTS = 10_000;

export function createRateLimiter(ratePerSecond: number, burst: number, now: () => number = Date.now): RateLimiter {
  if (ratePerSecond <= 0) return { take: () => 0 };
  const buckets = new Map<string, { tokens: number; at: number }>();
  let lastSweep = now();
  return {
    take(client) {
      const t = now();
      if (t - lastSweep > 60_000 || buckets.size > MAX_CLIENTS) {
        for (const [k, b] of buckets) if (t - b.at > 60_000) buckets.delete(k);
        if (buckets.size > MAX_CLIENTS) buckets.clear();
        lastSweep = t;
      }
      const b = buckets.get(client) ?? { tokens: burst, at: t };
      b.tokens = Math.min(burst, b.tokens + ((t - b.at) / 1000) * ratePerSecond);
      b.at = t;
      buckets.set(client, b);
      if (b.tokens >= 1) {
        b.tokens -= 1;
        return 0;
      }
      return Math.max(1, Math.ceil((1 - b.tokens) / ratePerSecond));
    },
  };
}
