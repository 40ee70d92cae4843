import type { HttpStatsView } from '../collectors/http.js';

/** Counters of the HTTP server, read by the self-metrics collector at each snapshot. */
export class HttpStats implements HttpStatsView {
  readonly requests = new Map<string, number>();
  readonly refused = new Map<string, number>([
    ['max_connections', 0],
    ['per_address', 0],
  ]);
  inFlight = 0;
  openConnections = 0;
  headerTimeouts = 0;
  webConfigReloadFailures = 0;

  countRequest(handler: string, code: number): void {
    const key = `${handler}\u0000${code}`;
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  countRefused(reason: 'max_connections' | 'per_address'): void {
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
  }
}
