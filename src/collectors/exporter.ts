import { counter, gauge, type Labels, type MetricFamily, type Sample } from '../exposition/family.js';
import { API_DURATION_BUCKETS } from '../control/request-stats.js';
import type { CycleCollector } from './collector.js';

// tsmetrics_* self-metrics: is the exporter itself healthy, and how fresh is what it serves.

export const exporterCollector: CycleCollector = {
  name: 'exporter',
  stage: 'cycle',
  collect(data) {
    const { api, errors, scrapes, selections, cycle } = data;
    const families: MetricFamily[] = [
      gauge('tsmetrics_build_info', 'Build information, value 1.', [
        [{ version: data.version, node_version: process.version }, 1],
      ]),
      gauge(
        'tsmetrics_simulated',
        '1 when the data comes from the built-in simulated tailnet (--demo or TEST_DEVICES), 0 for a real control server.',
        [[{}, data.simulated === true ? 1 : 0]],
      ),
      gauge('tsmetrics_api_up', '1 if the last Tailscale API device list call succeeded.', [[{}, api.up ? 1 : 0]]),
      gauge(
        'tsmetrics_last_successful_refresh_timestamp_seconds',
        'Unix time of the last successful device list from the API; the age of the API data served.',
        api.lastSuccessSeconds === undefined ? [] : [[{}, api.lastSuccessSeconds]],
      ),
      gauge('tsmetrics_refresh_duration_seconds', 'Duration of the last refresh cycle (API and device scrapes).', [
        [{}, cycle.durationSeconds],
      ]),
      gauge('tsmetrics_scrape_cycle_duration_seconds', 'Duration of the device scrapes of the last refresh cycle.', [
        [{}, cycle.scrapeDurationSeconds],
      ]),
      counter('tsmetrics_api_refresh_failures_total', 'Refresh cycles whose device list call failed.', [
        [{}, errors.apiRefreshFailures],
      ]),
      counter('tsmetrics_api_invalid_devices_total', 'Device list entries skipped because they had no id or name.', [
        [{}, errors.invalidApiDevices],
      ]),
      counter('tsmetrics_scrape_cycle_overruns_total', 'Refresh cycles that took longer than SCRAPE_INTERVAL.', [
        [{}, errors.cycleOverruns],
      ]),
      counter(
        'tsmetrics_scrape_address_refused_total',
        'Device scrapes refused because the address is outside SCRAPE_ALLOWED_CIDRS.',
        [[{}, errors.addressRefusals]],
      ),
      counter(
        'tsmetrics_exposition_dropped_series_total',
        'Series dropped while rendering (invalid names, duplicates, TYPE conflicts).',
        [[{}, errors.renderDropped]],
      ),
      counter(
        'tsmetrics_client_metrics_type_conflicts_total',
        'Device families dropped because another device declared the same family with another TYPE.',
        [[{}, errors.typeConflicts]],
      ),
      gauge('tsmetrics_devices_discovered', 'Devices in the last good API device list.', [
        [{}, data.devices?.length ?? 0],
      ]),
      gauge('tsmetrics_devices_eligible', 'Devices selected for client-metrics scraping.', [
        [{}, selections.filter((s) => s.state === 'eligible').length],
      ]),
      gauge('tsmetrics_devices_scraped', 'Devices scraped successfully in the last cycle.', [
        [{}, [...scrapes.values()].filter((s) => s.last.ok).length],
      ]),
      gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds.', [
        [{}, data.process.startSeconds],
      ]),
      gauge('process_resident_memory_bytes', 'Resident memory size in bytes.', [[{}, data.process.rssBytes]]),
      gauge('nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', [[{}, data.process.heapBytes]]),
    ];

    const requests: Array<readonly [Labels, number]> = [];
    const apiErrors: Array<readonly [Labels, number]> = [];
    const histogram: Sample[] = [];
    for (const [endpoint, s] of api.stats.snapshot()) {
      requests.push([{ endpoint }, s.requests]);
      for (const [reason, n] of [...s.errors.entries()].sort()) apiErrors.push([{ endpoint, reason }, n]);
      let cumulative = 0;
      API_DURATION_BUCKETS.forEach((le, i) => {
        cumulative += s.bucketCounts[i]!;
        histogram.push({
          name: 'tsmetrics_api_request_duration_seconds_bucket',
          labels: { endpoint, le: String(le) },
          value: cumulative,
        });
      });
      histogram.push({
        name: 'tsmetrics_api_request_duration_seconds_bucket',
        labels: { endpoint, le: '+Inf' },
        value: s.requests,
      });
      histogram.push({
        name: 'tsmetrics_api_request_duration_seconds_sum',
        labels: { endpoint },
        value: s.durationSum,
      });
      histogram.push({ name: 'tsmetrics_api_request_duration_seconds_count', labels: { endpoint }, value: s.requests });
    }
    families.push(
      counter(
        'tsmetrics_api_requests_total',
        'Tailscale API requests by endpoint (oauth_token, devices, device_routes), retries included.',
        requests,
      ),
      counter(
        'tsmetrics_api_errors_total',
        'Failed Tailscale API requests by endpoint and reason (timeout, network, http_status, rate_limited, auth, invalid_response).',
        apiErrors,
      ),
      {
        name: 'tsmetrics_api_request_duration_seconds',
        type: 'histogram',
        help: 'Duration of Tailscale API requests by endpoint.',
        samples: histogram,
      },
    );

    const up: Array<readonly [Labels, number]> = [];
    const duration: Array<readonly [Labels, number]> = [];
    const lastSuccess: Array<readonly [Labels, number]> = [];
    const byId = new Map<string, { device_id: string; device_name: string }>();
    for (const s of [...scrapes.values()].sort((a, b) =>
      a.last.target.deviceName < b.last.target.deviceName ? -1 : 1,
    )) {
      const labels = { device_id: s.last.target.deviceId, device_name: s.last.target.deviceName };
      byId.set(labels.device_id, labels);
      up.push([labels, s.last.ok ? 1 : 0]);
      duration.push([labels, s.last.durationSeconds]);
      if (s.lastSuccessSeconds !== undefined) lastSuccess.push([labels, s.lastSuccessSeconds]);
    }
    const scrapeErrors: Array<readonly [Labels, number]> = [];
    for (const [key, n] of [...errors.deviceScrapeErrors.entries()].sort()) {
      const [id, reason] = key.split('\u0000') as [string, string];
      const labels = byId.get(id);
      if (labels !== undefined) scrapeErrors.push([{ ...labels, reason }, n]);
    }
    families.push(
      gauge('tsmetrics_device_scrape_up', '1 if the last scrape of the device client metrics succeeded.', up),
      gauge(
        'tsmetrics_device_scrape_duration_seconds',
        'Duration of the last scrape of the device client metrics.',
        duration,
      ),
      gauge(
        'tsmetrics_device_last_scrape_success_timestamp_seconds',
        'Unix time of the last successful scrape of the device.',
        lastSuccess,
      ),
      counter(
        'tsmetrics_device_scrape_errors_total',
        'Failed device scrapes by reason (timeout, connect, http_status, too_large, parse, too_many_series).',
        scrapeErrors,
      ),
    );
    return families;
  },
};
