// Per-endpoint request accounting for the API client: counts, errors by reason and a latency histogram.
// Written by the client, read by the exporter collector when a snapshot is rendered.

export const API_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const;

export interface EndpointStats {
  requests: number;
  errors: Map<string, number>;
  durationSum: number;
  /** Requests per bucket of API_DURATION_BUCKETS, not cumulative (the exporter collector sums them up). */
  bucketCounts: number[];
}

export class RequestStats {
  readonly #byEndpoint = new Map<string, EndpointStats>();

  record(endpoint: string, seconds: number, errorReason?: string): void {
    let s = this.#byEndpoint.get(endpoint);
    if (s === undefined) {
      s = { requests: 0, errors: new Map(), durationSum: 0, bucketCounts: API_DURATION_BUCKETS.map(() => 0) };
      this.#byEndpoint.set(endpoint, s);
    }
    s.requests++;
    s.durationSum += seconds;
    const i = API_DURATION_BUCKETS.findIndex((b) => seconds <= b);
    if (i >= 0) s.bucketCounts[i]!++;
    if (errorReason !== undefined) s.errors.set(errorReason, (s.errors.get(errorReason) ?? 0) + 1);
  }

  /** A copy, endpoints sorted by name. */
  snapshot(): ReadonlyArray<readonly [string, Readonly<EndpointStats>]> {
    return [...this.#byEndpoint.entries()]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, s]) => [k, { ...s, errors: new Map(s.errors), bucketCounts: [...s.bucketCounts] }] as const);
  }
}
