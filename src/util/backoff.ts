// The one exponential back-off: the API client's retries and the tsnet supervisor's restarts. Jitter (±25 % by
// default) keeps replicas that failed together from retrying together.

export interface Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  /** Fraction of the delay drawn at random either side; 0 for a fixed schedule. */
  readonly jitter?: number;
}

/** Delay before retry number `retry` (1 = first retry): initial × 2^(retry−1), capped, then jittered. */
export function backoffDelayMs(policy: Backoff, retry: number, random: () => number = Math.random): number {
  const exp = Math.min(policy.maxMs, policy.initialMs * 2 ** (retry - 1));
  const jitter = policy.jitter ?? 0.25;
  return Math.round(exp * (1 - jitter + random() * 2 * jitter));
}
