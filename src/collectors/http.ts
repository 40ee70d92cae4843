import { counter, gauge, type Labels } from '../exposition/family.js';
import type { CycleCollector } from './collector.js';

// The HTTP side of the exporter, in the convention promhttp set (requests by handler and code, requests in
// flight), plus what the connection limits refused. Read when each snapshot is built, so these figures are
// as fresh as the rest of /metrics: at most one SCRAPE_INTERVAL old.

/** What the server counts; src/server/http-stats.ts fills it. */
export interface HttpStatsView {
  /** `${handler}\u0000${code}` -> requests answered. */
  readonly requests: ReadonlyMap<string, number>;
  readonly inFlight: number;
  readonly openConnections: number;
  /** reason (per_address, max_connections) -> connections closed unanswered. */
  readonly refused: ReadonlyMap<string, number>;
  /** Connections closed because they sent no complete request headers within HTTP_HEADER_TIMEOUT. */
  readonly headerTimeouts: number;
  readonly webConfigReloadFailures: number;
}

export function makeHttpCollector(stats: HttpStatsView): CycleCollector {
  return {
    name: 'exporter',
    stage: 'cycle',
    collect() {
      const requests: Array<readonly [Labels, number]> = [...stats.requests.entries()].sort().map(([key, n]) => {
        const [handler, code] = key.split('\u0000') as [string, string];
        return [{ handler, code }, n] as const;
      });
      return [
        counter(
          'tsmetrics_http_requests_total',
          'HTTP requests answered, by handler and status code (429 rate limited, 503 over the in-flight limit included).',
          requests,
        ),
        gauge('tsmetrics_http_requests_in_flight', 'HTTP requests being handled when the snapshot was built.', [
          [{}, stats.inFlight],
        ]),
        gauge('tsmetrics_http_connections_open', 'Open HTTP connections when the snapshot was built.', [
          [{}, stats.openConnections],
        ]),
        counter(
          'tsmetrics_http_connections_refused_total',
          'Connections closed unanswered by a cap: per_address (HTTP_MAX_CONNECTIONS_PER_ADDRESS) or max_connections (HTTP_MAX_CONNECTIONS).',
          [...stats.refused.entries()].sort().map(([reason, n]) => [{ reason }, n] as const),
        ),
        counter(
          'tsmetrics_http_header_timeouts_total',
          'Connections closed because no complete request arrived within HTTP_HEADER_TIMEOUT.',
          [[{}, stats.headerTimeouts]],
        ),
        counter(
          'tsmetrics_web_config_reload_failures_total',
          'Re-reads of WEB_CONFIG_FILE or its certificates that failed; the previous settings stay in force.',
          [[{}, stats.webConfigReloadFailures]],
        ),
      ];
    },
  };
}
