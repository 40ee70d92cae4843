import { counter, gauge, type Labels } from '../exposition/family.js';
import { POLL_STATES, type LogPollView } from '../control/log-window.js';
import type { ListCollector } from './collector.js';

/** A log collector's source: its poller's last answer (none yet: not a failure). */
export function pollSource(poll: LogPollView | undefined): { ok: boolean | undefined; durationSeconds: number } {
  return {
    ok: poll === undefined || poll.state === 'pending' ? undefined : poll.state === 'ok',
    durationSeconds: poll?.durationSeconds ?? 0,
  };
}

// Self-metrics of the flow-log and audit-log pollers: whether each log can be read (and why not), how far
// behind its data is, and what the exactly-once bookkeeping did.

export function makeLogPollersCollector(pollers: () => ReadonlyArray<readonly [string, LogPollView]>): ListCollector {
  return {
    name: 'exporter',
    stage: 'list',
    collect() {
      const rows = pollers();
      const per = (value: (p: LogPollView) => number | undefined): Array<readonly [Labels, number]> =>
        rows.flatMap(([collector, p]) => {
          const v = value(p);
          return v === undefined ? [] : [[{ collector }, v] as const];
        });
      return [
        gauge(
          'tsmetrics_log_poll_state',
          '1 for the state the log poller is in: ok, pending (not asked yet), not_supported (404: plan or deployment), missing_scope (403), logging_off (flow logging turned off), error (other failures, retried next interval).',
          rows.flatMap(([collector, p]) =>
            POLL_STATES.map((state) => [{ collector, state }, p.state === state ? 1 : 0] as const),
          ),
        ),
        counter(
          'tsmetrics_log_polls_total',
          'Log windows asked for, by result (ok or the state the poll ended in).',
          rows.flatMap(([collector, p]) => [...p.polls].map(([result, n]) => [{ collector, result }, n] as const)),
        ),
        counter(
          'tsmetrics_log_records_total',
          'Log records counted (each once).',
          per((p) => p.records),
        ),
        counter(
          'tsmetrics_log_duplicate_records_total',
          'Log records seen again in an overlapping window and not counted again.',
          per((p) => p.duplicates),
        ),
        counter(
          'tsmetrics_log_invalid_records_total',
          'Log entries that were not records (malformed JSON, no time, no device).',
          per((p) => p.invalid),
        ),
        gauge(
          'tsmetrics_log_dedup_keys',
          'Keys of counted records held to recognize them in later windows.',
          per((p) => p.dedupKeys),
        ),
        counter(
          'tsmetrics_log_dedup_evictions_total',
          'Keys evicted because the key cap was reached (a record could then be counted twice).',
          per((p) => p.dedupEvictions),
        ),
        counter(
          'tsmetrics_log_skipped_seconds_total',
          'Seconds of log no window covered, after an outage longer than one window (1h).',
          per((p) => p.skippedSeconds),
        ),
        gauge(
          'tsmetrics_log_window_end_timestamp_seconds',
          'End of the last log window read whole (now minus the lag): how far behind the log data is.',
          per((p) => p.windowEndSeconds),
        ),
        gauge(
          'tsmetrics_log_newest_record_timestamp_seconds',
          'Time of the newest record counted (flow logs: its start, not when it was logged; audit: eventTime).',
          per((p) => p.newestRecordSeconds),
        ),
      ];
    },
  };
}
