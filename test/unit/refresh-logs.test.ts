import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { LogKind, LogSource } from '../../src/control/control.js';
import { AuditTotals } from '../../src/control/audit-log.js';
import { FlowTotals } from '../../src/control/flow-logs.js';
import { LogPoller } from '../../src/refresh/log-poller.js';
import { makeLogPollers } from '../../src/refresh/logs.js';
import { memoryLogger } from '../helpers/log.js';

// Which log pollers the configuration builds, what the collectors see of them, and that start and stop reach
// every one; the polling itself is test/integration/log-pollers.test.ts.

const MINUTE = 60_000;

/** A log source that answers every window with no record, noting the kinds asked for. */
function emptySource(): LogSource & { kinds: LogKind[] } {
  const kinds: LogKind[] = [];
  return {
    kinds,
    streamLogs: (kind) => {
      kinds.push(kind);
      return Promise.resolve();
    },
  };
}

function pollers(collectors: readonly string[], flowLoggingOn: () => boolean | undefined = () => undefined) {
  const source = emptySource();
  const polling = { intervalMs: MINUTE, lagMs: 2 * MINUTE, lookbackMs: 5 * MINUTE };
  const made = makeLogPollers({
    source,
    collectors,
    flow: { ...polling, pairs: 0 },
    audit: polling,
    log: memoryLogger().log,
    flowLoggingOn,
  });
  return { made, source };
}

test('no log collector enabled: no pollers at all', () => {
  assert.equal(pollers([]).made, undefined);
  assert.equal(pollers(['devices', 'users', 'settings']).made, undefined);
});

test('flowlogs alone: a flow view only, its poller reading flow logs', () => {
  const { made } = pollers(['devices', 'flowlogs']);
  const views = made!.views();
  assert.deepEqual(Object.keys(views), ['flow']);
  assert.ok(views.flow!.flows instanceof FlowTotals);
  assert.ok(views.flow!.poll instanceof LogPoller);
  assert.equal(views.flow!.poll.kind, 'flowlogs');
  assert.equal(views.flow!.poll.state, 'pending');
});

test('audit alone: an audit view only, its poller reading the audit log', () => {
  const { made } = pollers(['audit']);
  const views = made!.views();
  assert.deepEqual(Object.keys(views), ['audit']);
  assert.ok(views.audit!.audit instanceof AuditTotals);
  assert.ok(views.audit!.poll instanceof LogPoller);
  assert.equal(views.audit!.poll.kind, 'audit');
});

test('both: both views, the same object on every call', () => {
  const { made } = pollers(['audit', 'flowlogs']);
  assert.deepEqual(Object.keys(made!.views()).sort(), ['audit', 'flow']);
  assert.equal(made!.views(), made!.views());
});

test('start polls every log once at once; stop ends them; the flow poller hears whether flow logging is on', async () => {
  let asked = 0;
  const { made, source } = pollers(['flowlogs', 'audit'], () => {
    asked++;
    return false;
  });
  made!.start();
  await made!.stop();
  assert.deepEqual([...source.kinds].sort(), ['audit', 'flowlogs']);
  const views = made!.views();
  assert.equal(asked, 1, 'asked by the flow poller only');
  assert.equal(views.flow!.poll.state, 'logging_off');
  assert.equal(views.audit!.poll.state, 'ok');
});
