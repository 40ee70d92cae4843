import { relabelFamilies } from '../collectors/client-metrics.js';
import type { ScrapeResult } from '../devices/scraper.js';
import type { Selection, ScrapeTarget } from '../devices/targets.js';
import { gauge, type MetricFamily } from '../exposition/family.js';
import { render } from '../exposition/render.js';
import { deviceNameMatcher } from '../devices/names.js';
import { send, type Handler } from './server.js';

export interface ProbeOptions {
  readonly selections: () => readonly Selection[];
  readonly scrape: (target: ScrapeTarget, signal?: AbortSignal) => Promise<ScrapeResult>;
  readonly maxConcurrent: number;
  /** How long a probe may wait for a free slot when Prometheus sends no scrape timeout. */
  readonly queueTimeoutMs: number;
}

/**
 * The multi-target pattern of blackbox_exporter: `/probe?target=<device id, node id or name>` scrapes that
 * one device now and answers its relabelled client metrics plus probe success and duration. Only devices
 * the selection rules make eligible can be probed, so this is never an open proxy.
 */
export function probeRoute(o: ProbeOptions): Handler {
  let inflight = 0;
  // Probes beyond maxConcurrent wait their turn until their deadline: Prometheus spreads its targets over
  // the interval, but short bursts above the limit are normal and must not fail scrapes. The wait is
  // bounded by the deadline and by HTTP_MAX_REQUESTS_IN_FLIGHT (a waiting probe is a request in flight).
  const waiting: Array<() => void> = [];
  const acquire = (signal: AbortSignal): Promise<boolean> => {
    if (inflight < o.maxConcurrent) {
      inflight++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const grant = (): void => {
        signal.removeEventListener('abort', give);
        inflight++;
        resolve(true);
      };
      const give = (): void => {
        waiting.splice(waiting.indexOf(grant), 1);
        resolve(false);
      };
      waiting.push(grant);
      signal.addEventListener('abort', give, { once: true });
    });
  };
  const release = (): void => {
    inflight--;
    waiting.shift()?.();
  };
  return async (req, res) => {
    const wanted = new URL(req.url ?? '/', 'http://x').searchParams.get('target');
    if (wanted === null || wanted === '')
      return send(res, 400, 'text/plain; charset=utf-8', 'missing ?target=<device id or name>\n');
    const named = deviceNameMatcher(wanted, { glob: false });
    const match = o.selections().find(({ device: d }) => d.id === wanted || d.nodeId === wanted || named(d));
    if (match?.target === undefined) {
      return send(
        res,
        404,
        'text/plain; charset=utf-8',
        `not an eligible device: ${match === undefined ? 'unknown' : match.state}\n`,
      );
    }
    const deadline = probeDeadline(req.headers['x-prometheus-scrape-timeout-seconds']);
    if (!(await acquire(deadline ?? AbortSignal.timeout(o.queueTimeoutMs)))) {
      res.setHeader('retry-after', '1');
      return send(res, 503, 'text/plain; charset=utf-8', 'too many probes in flight until the scrape deadline\n');
    }
    let result: ScrapeResult;
    try {
      result = await o.scrape(match.target, deadline);
    } finally {
      release();
    }
    const families: MetricFamily[] = result.ok
      ? relabelFamilies(result.families, match.target.deviceId, match.target.deviceName)
      : [];
    families.push(
      gauge('tsmetrics_probe_success', '1 if the device answered with valid client metrics.', [
        [{}, result.ok ? 1 : 0],
      ]),
      gauge('tsmetrics_probe_duration_seconds', 'Duration of the probe scrape.', [[{}, result.durationSeconds]]),
    );
    if (!result.ok)
      families.push(
        gauge('tsmetrics_probe_failure_info', 'Why the probe failed, value 1.', [[{ reason: result.reason }, 1]]),
      );
    send(res, 200, 'text/plain; version=0.0.4; charset=utf-8', render(families).text);
  };
}

/** Left of Prometheus' scrape timeout for the answer to travel back, as blackbox_exporter leaves. */
const PROBE_TIMEOUT_MARGIN_MS = 500;

/**
 * The deadline Prometheus gives the probe (`X-Prometheus-Scrape-Timeout-Seconds`) less a margin, so a slow
 * device yields `tsmetrics_probe_success 0` instead of a failed scrape. CLIENT_METRICS_TIMEOUT still applies
 * when it is shorter; no header, no extra deadline.
 */
function probeDeadline(header: string | string[] | undefined): AbortSignal | undefined {
  const seconds = Number(Array.isArray(header) ? header[0] : header);
  if (header === undefined || !Number.isFinite(seconds) || seconds <= 0) return undefined;
  return AbortSignal.timeout(Math.max(100, seconds * 1000 - PROBE_TIMEOUT_MARGIN_MS));
}
