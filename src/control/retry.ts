// Pure retry timing for the API client. Backoff is exponential with ±25% jitter so replicas that failed
// together do not retry together; a server's Retry-After wins when it is present, because it knows best.

import { backoffDelayMs } from '../util/backoff.js';

export interface RetryPolicy {
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 500, maxDelayMs: 10_000 };

/** Delay before retry number `retry` (1 = first retry). */
export function backoffMs(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  return backoffDelayMs({ initialMs: policy.baseDelayMs, maxMs: policy.maxDelayMs }, retry, random);
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date; undefined when absent or unusable. */
export function parseRetryAfter(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  if (!Number.isFinite(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** Network errors, 429 and 5xx are worth another try; other 4xx are not. */
export const isRetryableStatus = (status: number): boolean => status === 429 || status >= 500;
