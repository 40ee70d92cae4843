import { counter, gauge, type Labels, type MetricFamily } from '../exposition/family.js';
import type { AuditView } from '../control/audit-log.js';
import type { LogPollView } from '../control/log-window.js';
import type { ListCollector } from './collector.js';
import { pollSource } from './log-pollers.js';

// Configuration changes from the audit log (opt-in `audit`): how many events of each kind, made how and by
// what type of actor (never who), and when the last one of each kind happened (by eventTime).

export function makeAuditCollector(
  view: () => { readonly audit: AuditView; readonly poll: LogPollView } | undefined,
): ListCollector {
  return {
    name: 'audit',
    stage: 'list',
    source: () => pollSource(view()?.poll),
    collect() {
      const v = view();
      if (v === undefined) return [];
      const events: Array<readonly [Labels, number]> = [...v.audit.events.values()].map(
        (e) => [e.labels, e.count] as const,
      );
      const last: Array<readonly [Labels, number]> = [...v.audit.lastEvent.values()].map(
        (e) => [e.labels, e.seconds] as const,
      );
      const families: MetricFamily[] = [
        counter(
          'tailscale_audit_events_total',
          'Configuration audit log events since the exporter started, by action, target.type, target.property (NONE: no property), origin and actor.type; values the API documents no longer are kept up to 10 per label, then OTHER.',
          events,
        ),
        gauge(
          'tailscale_audit_last_event_timestamp_seconds',
          'Unix time (eventTime) of the latest audit log event of this action, target type and property seen since the exporter started.',
          last,
        ),
      ];
      return families;
    },
  };
}
