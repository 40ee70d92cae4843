import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeAuditCollector } from '../../src/collectors/audit.js';
import type { CollectorOf, RefreshData } from '../../src/collectors/collector.js';
import { CollectorResults, runCollectors } from '../../src/collectors/index.js';
import { makeLogPollersCollector, pollSource } from '../../src/collectors/log-pollers.js';
import type { AuditView } from '../../src/control/audit-log.js';
import { pollView } from '../helpers/tailnet-api.js';
import { render } from '../../src/exposition/render.js';
import { refreshData } from '../helpers/refresh-data.js';

// The collectors of the opt-in logs (audit) and of their pollers' self-metrics, on fixed poller and audit
// views: what /metrics shows (HELP, TYPE, series; absent where a value is not known yet) and how the
// collectors' success follows the poller's last answer.

/** The exposition text of what the collector gives, one line per element. */
const lines = (c: Pick<CollectorOf<RefreshData>, 'collect'>): string[] =>
  render(c.collect(refreshData([])))
    .text.split('\n')
    .filter((l) => l !== '');

const AUDIT: AuditView = {
  events: new Map([
    [
      'a',
      {
        labels: {
          action: 'UPDATE',
          target_type: 'TAILNET',
          target_property: 'DNS',
          origin: 'ADMIN_CONSOLE',
          actor_type: 'USER',
        },
        count: 3,
      },
    ],
    [
      'b',
      {
        labels: { action: 'CREATE', target_type: 'KEY', target_property: 'NONE', origin: 'API', actor_type: 'OAUTH' },
        count: 1,
      },
    ],
  ]),
  lastEvent: new Map([
    ['a', { labels: { action: 'UPDATE', target_type: 'TAILNET', target_property: 'DNS' }, seconds: 1_749_999_000 }],
    ['b', { labels: { action: 'CREATE', target_type: 'KEY', target_property: 'NONE' }, seconds: 1_749_998_000 }],
  ]),
};

test('audit: events by kind and the time of the latest of each kind', () => {
  const collector = makeAuditCollector(() => ({ audit: AUDIT, poll: pollView() }));
  assert.deepEqual(lines(collector), [
    '# HELP tailscale_audit_events_total Configuration audit log events since the exporter started, by action, target.type, target.property (NONE: no property), origin and actor.type; values the API documents no longer are kept up to 10 per label, then OTHER.',
    '# TYPE tailscale_audit_events_total counter',
    'tailscale_audit_events_total{action="UPDATE",target_type="TAILNET",target_property="DNS",origin="ADMIN_CONSOLE",actor_type="USER"} 3',
    'tailscale_audit_events_total{action="CREATE",target_type="KEY",target_property="NONE",origin="API",actor_type="OAUTH"} 1',
    '# HELP tailscale_audit_last_event_timestamp_seconds Unix time (eventTime) of the latest audit log event of this action, target type and property seen since the exporter started.',
    '# TYPE tailscale_audit_last_event_timestamp_seconds gauge',
    'tailscale_audit_last_event_timestamp_seconds{action="UPDATE",target_type="TAILNET",target_property="DNS"} 1749999000',
    'tailscale_audit_last_event_timestamp_seconds{action="CREATE",target_type="KEY",target_property="NONE"} 1749998000',
  ]);
});

test('audit: no families and a successful, zero-time source when the audit log is not polled', () => {
  const collector = makeAuditCollector(() => undefined);
  assert.deepEqual(collector.collect(refreshData([])), []);
  assert.deepEqual(collector.source!(refreshData([])), { ok: undefined, durationSeconds: 0 });
  const results = new CollectorResults();
  results.run(collector, refreshData([]), () => {});
  assert.deepEqual(
    results.outcomes().map(({ collector: name, ok }) => ({ name, ok })),
    [{ name: 'audit', ok: true }],
  );
});

test("audit: the collector fails when its poller's last poll did, and takes the poll's duration", () => {
  const poll = pollView({ state: 'missing_scope', durationSeconds: 2.5 });
  const collector = makeAuditCollector(() => ({ audit: AUDIT, poll }));
  assert.deepEqual(collector.source!(refreshData([])), { ok: false, durationSeconds: 2.5 });
  const results = new CollectorResults();
  results.run(collector, refreshData([]), () => {});
  assert.deepEqual(
    results.outcomes().map(({ collector: name, ok, error }) => ({ name, ok, error })),
    [{ name: 'audit', ok: false, error: 'its data could not be fetched' }],
  );
});

test("a log poller's source: no answer yet or pending is no failure, ok a success, any other state a failure; with the poll's duration", () => {
  assert.deepEqual(pollSource(undefined), { ok: undefined, durationSeconds: 0 });
  assert.deepEqual(pollSource(pollView({ state: 'pending' })), { ok: undefined, durationSeconds: 0 });
  assert.deepEqual(pollSource(pollView({ state: 'ok', durationSeconds: 1.25 })), { ok: true, durationSeconds: 1.25 });
  assert.deepEqual(pollSource(pollView({ state: 'error', durationSeconds: 30 })), { ok: false, durationSeconds: 30 });
});

test('log pollers: state, polls, record bookkeeping and times per poller; times absent until known', () => {
  const flow = pollView({
    state: 'ok',
    polls: new Map([
      ['ok', 5],
      ['error', 1],
    ]),
    records: 120,
    duplicates: 7,
    invalid: 2,
    dedupKeys: 40,
    dedupEvictions: 3,
    windowEndSeconds: 1_749_999_880,
    skippedSeconds: 600,
    newestRecordSeconds: 1_749_999_870,
  });
  const audit = pollView({ state: 'pending' });
  const collector = makeLogPollersCollector(() => [
    ['flowlogs', flow],
    ['audit', audit],
  ]);
  const counter = (name: string, help: string, flowValue: number): string[] => [
    `# HELP ${name} ${help}`,
    `# TYPE ${name} counter`,
    `${name}{collector="flowlogs"} ${flowValue}`,
    `${name}{collector="audit"} 0`,
  ];
  assert.deepEqual(lines(collector), [
    '# HELP tsmetrics_log_dedup_evictions_total Keys evicted because the key cap was reached (a record could then be counted twice).',
    '# TYPE tsmetrics_log_dedup_evictions_total counter',
    'tsmetrics_log_dedup_evictions_total{collector="flowlogs"} 3',
    'tsmetrics_log_dedup_evictions_total{collector="audit"} 0',
    '# HELP tsmetrics_log_dedup_keys Keys of counted records held to recognize them in later windows.',
    '# TYPE tsmetrics_log_dedup_keys gauge',
    'tsmetrics_log_dedup_keys{collector="flowlogs"} 40',
    'tsmetrics_log_dedup_keys{collector="audit"} 0',
    ...counter(
      'tsmetrics_log_duplicate_records_total',
      'Log records seen again in an overlapping window and not counted again.',
      7,
    ),
    ...counter(
      'tsmetrics_log_invalid_records_total',
      'Log entries that were not records (malformed JSON, no time, no device).',
      2,
    ),
    '# HELP tsmetrics_log_newest_record_timestamp_seconds Time of the newest record counted (flow logs: its start, not when it was logged; audit: eventTime).',
    '# TYPE tsmetrics_log_newest_record_timestamp_seconds gauge',
    'tsmetrics_log_newest_record_timestamp_seconds{collector="flowlogs"} 1749999870',
    '# HELP tsmetrics_log_poll_state 1 for the state the log poller is in: ok, pending (not asked yet), not_supported (404: plan or deployment), missing_scope (403), logging_off (flow logging turned off), error (other failures, retried next interval).',
    '# TYPE tsmetrics_log_poll_state gauge',
    'tsmetrics_log_poll_state{collector="flowlogs",state="pending"} 0',
    'tsmetrics_log_poll_state{collector="flowlogs",state="ok"} 1',
    'tsmetrics_log_poll_state{collector="flowlogs",state="not_supported"} 0',
    'tsmetrics_log_poll_state{collector="flowlogs",state="missing_scope"} 0',
    'tsmetrics_log_poll_state{collector="flowlogs",state="logging_off"} 0',
    'tsmetrics_log_poll_state{collector="flowlogs",state="error"} 0',
    'tsmetrics_log_poll_state{collector="audit",state="pending"} 1',
    'tsmetrics_log_poll_state{collector="audit",state="ok"} 0',
    'tsmetrics_log_poll_state{collector="audit",state="not_supported"} 0',
    'tsmetrics_log_poll_state{collector="audit",state="missing_scope"} 0',
    'tsmetrics_log_poll_state{collector="audit",state="logging_off"} 0',
    'tsmetrics_log_poll_state{collector="audit",state="error"} 0',
    '# HELP tsmetrics_log_polls_total Log windows asked for, by result (ok or the state the poll ended in).',
    '# TYPE tsmetrics_log_polls_total counter',
    'tsmetrics_log_polls_total{collector="flowlogs",result="ok"} 5',
    'tsmetrics_log_polls_total{collector="flowlogs",result="error"} 1',
    ...counter('tsmetrics_log_records_total', 'Log records counted (each once).', 120),
    ...counter(
      'tsmetrics_log_skipped_seconds_total',
      'Seconds of log no window covered, after an outage longer than one window (1h).',
      600,
    ),
    '# HELP tsmetrics_log_window_end_timestamp_seconds End of the last log window read whole (now minus the lag): how far behind the log data is.',
    '# TYPE tsmetrics_log_window_end_timestamp_seconds gauge',
    'tsmetrics_log_window_end_timestamp_seconds{collector="flowlogs"} 1749999880',
  ]);
});

test("the log pollers' self-metrics are the exporter collector's: its success covers them", () => {
  const collector = makeLogPollersCollector(() => [['audit', pollView({ state: 'error' })]]);
  const success = runCollectors(refreshData([]), [collector]).find((f) => f.name === 'tsmetrics_collector_success');
  assert.deepEqual(
    success?.samples.map((s) => [s.labels, s.value]),
    [[{ collector: 'exporter' }, 1]],
  );
});
