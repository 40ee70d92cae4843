import { boolValue, counter, gauge, type Labels } from '../exposition/family.js';
import { samplesOf, type ListCollector } from './collector.js';
import type { LogStreamStatus } from '../control/monitoring.js';

// Log streaming to a SIEM (GET /tailnet/{t}/logging/{configuration|network}/stream/status, scope
// log_streaming:read), per log type. The counters are the API's own totals (they restart with Tailscale's
// publisher); the error text is never exported, only whether there is one and when tsmetrics saw it appear.

export const logstreamCollector: ListCollector = {
  name: 'logstream',
  stage: 'list',
  source: (d) => d.inventory.logstream,
  collect({ inventory }) {
    const streams = inventory.logstream.data;
    if (streams === undefined) return [];
    const ids = (s: LogStreamStatus): Labels => ({ log_type: s.logType });
    const live = streams.filter((s) => s.available);
    return [
      gauge(
        'tailscale_logstream_status_available',
        '1 if the API reported a log streaming status for the log type; 0 when it answered 404 (streaming not configured for it, or the OAuth client lacks log_streaming:read).',
        streams.map((s) => [ids(s), boolValue(s.available)] as const),
      ),
      counter(
        'tailscale_logstream_entries_sent_total',
        'Log entries streamed to the endpoint (numEntriesSent).',
        samplesOf(live, ids, (s) => s.entriesSent),
      ),
      counter(
        'tailscale_logstream_bytes_sent_total',
        'Bytes streamed to the endpoint (numBytesSent).',
        samplesOf(live, ids, (s) => s.bytesSent),
      ),
      counter(
        'tailscale_logstream_requests_total',
        'Requests made to the streaming endpoint (numTotalRequests).',
        samplesOf(live, ids, (s) => s.totalRequests),
      ),
      counter(
        'tailscale_logstream_failed_requests_total',
        'Requests to the streaming endpoint that failed (numFailedRequests).',
        samplesOf(live, ids, (s) => s.failedRequests),
      ),
      counter(
        'tailscale_logstream_spoofed_entries_total',
        'Entries that failed validation: no matching flow log from the other side (numSpoofedEntries).',
        samplesOf(live, ids, (s) => s.spoofedEntries),
      ),
      gauge(
        'tailscale_logstream_last_activity_timestamp_seconds',
        'Unix time of the most recent publishing activity (lastActivity).',
        samplesOf(live, ids, (s) => s.lastActivitySeconds),
      ),
      gauge(
        'tailscale_logstream_error',
        '1 if the API reports an error for the stream (lastError non-empty; the text is not exported).',
        live.map((s) => [ids(s), boolValue(s.erroring)] as const),
      ),
      gauge(
        'tailscale_logstream_last_error_timestamp_seconds',
        'Unix time tsmetrics last saw a new error: numFailedRequests rose or lastError changed (the API gives no time); absent until one is seen.',
        samplesOf(live, ids, (s) => s.lastErrorSeconds),
      ),
    ];
  },
};
