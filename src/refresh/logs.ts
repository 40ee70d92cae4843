import type { Logger } from 'pino';
import type { LogViews } from '../collectors/index.js';
import type { LogPolling } from '../config/load.js';
import type { LogSource } from '../control/control.js';
import { AuditTotals } from '../control/audit-log.js';
import { FlowTotals } from '../control/flow-logs.js';
import { LogPoller, LogRecords } from './log-poller.js';

// The opt-in log collectors' pollers, each on its own interval beside the refresh cycle: built from the
// configuration, read by the collectors when a snapshot is built, stopped with the app.

export interface LogPollers {
  views(): LogViews;
  start(): void;
  stop(): Promise<void>;
}

export function makeLogPollers(o: {
  source: LogSource;
  collectors: readonly string[];
  flow: LogPolling & { readonly pairs: number };
  audit: LogPolling;
  log: Logger;
  /** The tailnet setting networkFlowLoggingOn, when the settings collector has read it. */
  flowLoggingOn: () => boolean | undefined;
}): LogPollers | undefined {
  const pollers: LogPoller[] = [];
  let flow: LogViews['flow'];
  let audit: LogViews['audit'];
  if (o.collectors.includes('flowlogs')) {
    const flows = new FlowTotals(o.flow.pairs);
    const poll = new LogPoller({
      source: o.source,
      records: new LogRecords('flowlogs', flows),
      ...o.flow,
      log: o.log,
      loggingOn: o.flowLoggingOn,
    });
    pollers.push(poll);
    flow = { flows, poll };
  }
  if (o.collectors.includes('audit')) {
    const totals = new AuditTotals();
    const poll = new LogPoller({ source: o.source, records: new LogRecords('audit', totals), ...o.audit, log: o.log });
    pollers.push(poll);
    audit = { audit: totals, poll };
  }
  if (pollers.length === 0) return undefined;
  const views: LogViews = { ...(flow === undefined ? {} : { flow }), ...(audit === undefined ? {} : { audit }) };
  return {
    views: () => views,
    start: () => pollers.forEach((p) => p.start()),
    stop: async () => {
      await Promise.all(pollers.map((p) => p.stop()));
    },
  };
}
