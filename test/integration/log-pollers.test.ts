import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { LogPoller, LogRecords, UNAVAILABLE_RETRY_MS, type LogKind } from '../../src/refresh/log-poller.js';
import { HttpTailscaleApi } from '../../src/control/api.js';
import { StaticToken } from '../../src/control/auth.js';
import { AuditTotals } from '../../src/control/audit-log.js';
import { FlowTotals, RX_BYTES, RX_PACKETS, TRAFFIC_KINDS, TX_BYTES, TX_PACKETS } from '../../src/control/flow-logs.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { trafficCounter, TRAFFIC_PATHS } from '../../src/sim/shared/client-metrics.js';
import { MAX_FLOW_DELAY_MS } from '../../src/sim/tailscale/flow-logs.js';
import { startTailnet, type SimTailnet } from '../../src/sim/tailscale/index.js';
import { memoryLogger } from '../helpers/log.js';
import { seriesValues, startExporterWith } from '../helpers/exporter.js';

// The log pollers against the simulator's logging endpoints, on a clock the test moves: every record the
// simulator served is counted exactly once, across overlapping windows, late records and a restarted
// poller; an unavailable log is quiet and visible in the self-metrics.

const MINUTE = 60_000;

/** A simulator and a poller sharing a clock that only the test moves. */
async function setup(t: TestContext, kind: LogKind, o: { count?: number; pairs?: number } = {}) {
  let nowMs = Math.floor(Date.now() / MINUTE) * MINUTE;
  const now = (): number => nowMs;
  const sim = await startTailnet({ scenario: { count: o.count ?? 12 }, now });
  t.after(() => sim.close());
  const { log, lines } = memoryLogger();
  const api = new HttpTailscaleApi({
    baseUrl: sim.apiUrl,
    tailnet: '-',
    timeoutMs: 10_000,
    tokens: new StaticToken(sim.apiKey),
    stats: new RequestStats(),
    log,
  });
  t.after(() => api.close());
  const flows = new FlowTotals(o.pairs ?? 0);
  const audit = new AuditTotals();
  const records = kind === 'flowlogs' ? new LogRecords('flowlogs', flows) : new LogRecords('audit', audit);
  const poller = (): LogPoller =>
    new LogPoller({ source: api, records, intervalMs: MINUTE, lagMs: 2 * MINUTE, lookbackMs: 5 * MINUTE, log, now });
  return { sim, flows, audit, records, poller, lines, advance: (ms: number) => (nowMs += ms), now };
}

/** The simulator's answers, record by record, with the poll that first returned each. */
function ledger(sim: SimTailnet, kind: 'flow' | 'audit') {
  const served = new Map<string, { record: Record<string, unknown>; firstPoll: number }>();
  let poll = 0;
  sim.logs.onServed = (k, record) => {
    if (k !== kind) return;
    const key = kind === 'flow' ? `${String(record.nodeId)}|${String(record.start)}` : String(record.eventGroupID);
    if (!served.has(key)) served.set(key, { record, firstPoll: poll });
  };
  return { served, nextPoll: () => poll++ };
}

/** Per nodeId, the totals a set of flow records adds up to (the same layout as FlowTotals). */
function sumRecords(records: Iterable<Record<string, unknown>>): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const r of records) {
    const counts = out.get(String(r.nodeId)) ?? new Array<number>(TRAFFIC_KINDS.length * 4).fill(0);
    out.set(String(r.nodeId), counts);
    const add = (k: number, list: unknown): void => {
      for (const e of (list as Array<Record<string, number>> | undefined) ?? []) {
        counts[k * 4 + TX_BYTES]! += e.txBytes ?? 0;
        counts[k * 4 + TX_PACKETS]! += e.txPkts ?? 0;
        counts[k * 4 + RX_BYTES]! += e.rxBytes ?? 0;
        counts[k * 4 + RX_PACKETS]! += e.rxPkts ?? 0;
      }
    };
    add(0, r.virtualTraffic);
    add(1, r.subnetTraffic);
    add(2, r.exitTraffic);
    for (const e of (r.physicalTraffic as Array<Record<string, unknown>>) ?? [])
      add(String(e.dst).startsWith('127.3.3.40:') ? 4 : 3, [e]);
  }
  return out;
}

const totalsOf = (flows: FlowTotals): Map<string, number[]> =>
  new Map([...flows.nodes].map(([k, n]) => [k, [...n.counts]]));

test('flow logs: the totals are the sum of the records served, over overlapping windows and late records; none is lost', async (t) => {
  const s = await setup(t, 'flowlogs');
  const { served, nextPoll } = ledger(s.sim, 'flow');
  const poller = s.poller();
  const windows: Array<{ start: number; end: number }> = [];
  const polls = 20;
  for (let i = 0; i < polls; i++) {
    const end = s.now() - 2 * MINUTE;
    windows.push({ start: end - 5 * MINUTE, end });
    nextPoll();
    await poller.pollOnce();
    assert.equal(poller.state, 'ok');
    s.advance(MINUTE);
  }
  const lastPoll = s.now() - MINUTE;
  assert.ok(served.size > 100, `records served: ${served.size}`);
  assert.deepEqual(
    totalsOf(s.flows),
    sumRecords([...served.values()].map((x) => x.record)),
    'no record counted twice, none left out',
  );
  assert.equal(s.records.records, served.size);
  assert.ok(s.records.duplicates > served.size, 'the windows overlapped: most records came back in later windows');
  // Late records: first served by a poll after an earlier window had already covered their start.
  const late = [...served.values()].filter(({ record, firstPoll }) => {
    const start = Date.parse(String(record.start));
    const firstCovering = windows.findIndex((w) => w.start <= start && start < w.end);
    return firstPoll > firstCovering;
  });
  assert.ok(late.length > 0, 'some records arrived in a window already read');
  // Nothing lost: every record the simulator made, logged in time for the windows, was served and counted.
  const made = s.sim.logs.flow.records(
    s.sim.devices,
    windows[0]!.start,
    lastPoll - MINUTE - MAX_FLOW_DELAY_MS,
    lastPoll,
  );
  assert.ok(made.length > 100);
  const missing = made.filter((r) => !served.has(`${r.nodeId}|${new Date(r.startMs).toISOString()}`));
  assert.deepEqual(
    missing.map((r) => `${r.nodeId} ${new Date(r.startMs).toISOString()}`),
    [],
  );
});

test('flow logs: the physical bytes of a device are what its own client-metric counters grew by', async (t) => {
  const s = await setup(t, 'flowlogs', { count: 4 });
  const { served } = ledger(s.sim, 'flow');
  const poller = s.poller();
  for (let i = 0; i < 12; i++) {
    await poller.pollOnce();
    s.advance(MINUTE);
  }
  const device = s.sim.devices[0]!;
  const records = [...served.values()].map((x) => x.record).filter((r) => r.nodeId === device.nodeId);
  const starts = records.map((r) => Date.parse(String(r.start))).sort((a, b) => a - b);
  const ends = records.map((r) => Date.parse(String(r.end))).sort((a, b) => a - b);
  // The records tile the time without gaps, so their sum is the counters' growth from first start to last end.
  for (let i = 1; i < starts.length; i++) assert.equal(starts[i], ends[i - 1]);
  const startedAt = s.now() - 12 * MINUTE;
  const grew = (dir: 'outBytes' | 'inBytes', path: (typeof TRAFFIC_PATHS)[number]): number =>
    trafficCounter(device.nodeId, dir, path, (ends.at(-1)! - startedAt) / 1000) -
    trafficCounter(device.nodeId, dir, path, (starts[0]! - startedAt) / 1000);
  const counts = s.flows.nodes.get(device.nodeId)!.counts;
  const direct = ['direct_ipv4', 'direct_ipv6', 'peer_relay_ipv4'] as const;
  assert.equal(
    counts[3 * 4 + TX_BYTES],
    direct.reduce((a, p) => a + grew('outBytes', p), 0),
    'direct tx = tailscaled_outbound_bytes_total{path!="derp"} growth',
  );
  assert.equal(
    counts[4 * 4 + RX_BYTES],
    grew('inBytes', 'derp'),
    'relayed rx = tailscaled_inbound_bytes_total{path="derp"} growth',
  );
  // Inside the tunnels the same bytes again: virtual + subnet + exit = physical.
  const inner = [0, 1, 2].reduce((a, k) => a + counts[k * 4 + TX_BYTES]!, 0);
  assert.equal(inner, counts[3 * 4 + TX_BYTES]! + counts[4 * 4 + TX_BYTES]!);
});

test('flow logs: a restarted poller reads its first window again and counts nothing twice', async (t) => {
  const s = await setup(t, 'flowlogs');
  const { served } = ledger(s.sim, 'flow');
  let poller = s.poller();
  for (let i = 0; i < 6; i++) {
    await poller.pollOnce();
    s.advance(MINUTE);
  }
  await poller.stop();
  const before = totalsOf(s.flows);
  const duplicatesBefore = s.records.duplicates;
  // A new poller (no window position) on the same records: its first window overlaps everything recent.
  poller = s.poller();
  s.advance(-MINUTE); // the same instant as the last poll: nothing new has been logged since
  await poller.pollOnce();
  assert.deepEqual(totalsOf(s.flows), before, 'the same records again: no change');
  assert.ok(s.records.duplicates > duplicatesBefore);
  for (let i = 0; i < 6; i++) {
    s.advance(MINUTE);
    await poller.pollOnce();
  }
  assert.deepEqual(totalsOf(s.flows), sumRecords([...served.values()].map((x) => x.record)));
  // The keys are forgotten once no window can return their records: memory stays bounded.
  assert.ok(s.records.dedup.size < served.size, `${s.records.dedup.size} keys held for ${served.size} records`);
});

test('audit log: each simulated change is counted once, with its kind, and the time of the last one', async (t) => {
  const s = await setup(t, 'audit');
  const { served } = ledger(s.sim, 'audit');
  const poller = s.poller();
  await poller.pollOnce();
  s.advance(MINUTE);
  s.sim.setPolicy({ acls: [{ action: 'accept', src: ['*'], dst: ['*:*'] }] });
  const policyAt = s.now();
  s.sim.keys.push({ ...s.sim.keys.find((k) => k.keyType === 'auth')!, id: 'kNewAuthKeyCNTRL' });
  const user = s.sim.users.find((u) => u.role === 'member')!;
  user.role = 'admin';
  await s.sim.addDevice({ hostname: 'new-box' });
  for (let i = 0; i < 10; i++) {
    s.advance(MINUTE);
    await poller.pollOnce();
  }
  const count = (action: string, type: string, property: string): number =>
    [...s.audit.events.values()]
      .filter(
        (e) => e.labels.action === action && e.labels.target_type === type && e.labels.target_property === property,
      )
      .reduce((a, e) => a + e.count, 0);
  // The policy change, and the history's change 6 minutes before the start (in the first window; the older history is not).
  assert.equal(count('UPDATE', 'TAILNET', 'ACL'), 2);
  assert.equal(count('CREATE', 'NODE', 'NONE'), 1);
  assert.equal(count('CREATE', 'API_KEY', 'NONE'), 1);
  assert.equal(count('UPDATE', 'USER', 'USER_ROLE'), 1);
  assert.equal(s.audit.lastEvent.get('UPDATE\u0000TAILNET\u0000ACL')?.seconds, policyAt / 1000);
  assert.equal(s.records.records, served.size);
  assert.ok(s.records.duplicates > 0);
});

test('unavailable logs: 404 and 403 are said once at warn level with the fix, retried rarely, and shown in the self-metrics', async (t) => {
  const s = await setup(t, 'flowlogs');
  const poller = s.poller();
  s.sim.logs.supported = false;
  for (let i = 0; i < 5; i++) await poller.pollOnce();
  assert.equal(poller.state, 'not_supported');
  assert.equal(poller.nextDelayMs(), UNAVAILABLE_RETRY_MS);
  const warnings = (): string[] => s.lines.filter((l) => (JSON.parse(l) as { level: number }).level >= 40);
  assert.equal(warnings().length, 1, warnings().join('\n'));
  assert.match(warnings()[0]!, /404.*Premium or Enterprise/);

  s.sim.logs.supported = true;
  for (let i = 0; i < 5; i++) await poller.pollOnce();
  assert.equal(poller.state, 'ok');
  assert.ok(
    s.lines.some((l) => /log readable again/.test(l)),
    'the recovery is said too (at info)',
  );
  assert.equal(poller.nextDelayMs(), MINUTE);

  s.sim.settings.networkFlowLoggingOn = false;
  for (let i = 0; i < 3; i++) await poller.pollOnce();
  assert.equal(poller.state, 'ok', 'without the setting known, an empty answer is just an empty answer');
  assert.equal(warnings().length, 1);
});

test('the exporter: flowlogs without the logs:network:read scope is collector_success 0 with reason missing_scope, one warning; audit keeps working', async (t) => {
  const sim = await startTailnet({ scenario: 'demo' });
  t.after(() => sim.close());
  sim.setGrantedScopes([
    'devices:core:read',
    'devices:routes:read',
    'feature_settings:read',
    'logs:configuration:read',
  ]);
  const ex = await startExporterWith(t, {
    OAUTH_CLIENT_ID: sim.clientId,
    OAUTH_CLIENT_SECRET: sim.clientSecret,
    TAILSCALE_API_URL: sim.apiUrl,
    COLLECTORS: 'devices,settings,flowlogs,audit',
    FLOW_LOGS_LAG: '0s',
    AUDIT_LOG_LOOKBACK: '1h',
  });
  // The pollers run on their own: wait (bounded) until both have answered.
  let v = new Map<string, number>();
  for (let i = 0; i < 50; i++) {
    await ex.app.refresher.runOnce();
    v = seriesValues(await ex.metrics());
    if (
      v.get('tsmetrics_log_poll_state{collector="flowlogs",state="pending"}') === 0 &&
      v.get('tsmetrics_log_poll_state{collector="audit",state="pending"}') === 0
    )
      break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(v.get('tsmetrics_collector_success{collector="flowlogs"}'), 0);
  assert.equal(v.get('tsmetrics_log_poll_state{collector="flowlogs",state="missing_scope"}'), 1);
  assert.equal(v.get('tsmetrics_collector_success{collector="audit"}'), 1);
  assert.ok((v.get('tsmetrics_log_records_total{collector="audit"}') ?? 0) > 0);
  const warned = ex.lines.filter(
    (l) => /logs:network:read/.test(l) && (JSON.parse(l) as { level: number }).level === 40,
  );
  assert.equal(warned.length, 1, warned.join('\n'));
  assert.ok(!ex.lines.some((l) => l.includes(sim.clientSecret)), 'no secret in the logs');
});

test('flow logging turned off in the settings: logging_off, said once, with the fix', async (t) => {
  const sim = await startTailnet({ scenario: 'demo' });
  t.after(() => sim.close());
  sim.settings.networkFlowLoggingOn = false;
  const ex = await startExporterWith(t, {
    OAUTH_CLIENT_ID: sim.clientId,
    OAUTH_CLIENT_SECRET: sim.clientSecret,
    TAILSCALE_API_URL: sim.apiUrl,
    COLLECTORS: 'devices,settings,flowlogs',
    FLOW_LOGS_LAG: '0s',
    FLOW_LOGS_INTERVAL: '1s',
  });
  let v = new Map<string, number>();
  for (let i = 0; i < 50; i++) {
    await ex.app.refresher.runOnce();
    v = seriesValues(await ex.metrics());
    if (v.get('tsmetrics_log_poll_state{collector="flowlogs",state="logging_off"}') === 1) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(v.get('tsmetrics_log_poll_state{collector="flowlogs",state="logging_off"}'), 1);
  assert.equal(v.get('tsmetrics_collector_success{collector="flowlogs"}'), 0);
  const warned = ex.lines.filter((l) => /flow logging is off/.test(l));
  assert.equal(warned.length, 1);
  assert.match(warned[0]!, /admin console/);
});

test('a log answer read slowly, piece by piece, is not cut off by API_TIMEOUT; a stalled one is', async (t) => {
  const { createServer } = await import('node:http');
  let stallAfter = Number.POSITIVE_INFINITY;
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"logs":[');
    let i = 0;
    const timer = setInterval(() => {
      if (i === stallAfter) return; // no more bytes: a stalled answer
      res.write(`${i === 0 ? '' : ','}{"n":${i}}`);
      if (++i === 12) {
        clearInterval(timer);
        res.end(']}');
      }
    }, 200);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => server.close(() => r())));
  const { port } = server.address() as { port: number };
  const { log } = memoryLogger();
  const api = new HttpTailscaleApi({
    baseUrl: `http://127.0.0.1:${port}`,
    tailnet: '-',
    timeoutMs: 1500,
    tokens: new StaticToken('k'),
    stats: new RequestStats(),
    log,
    retry: { attempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
  });
  t.after(() => api.close());
  const seen: number[] = [];
  // 12 pieces 200 ms apart: 2.4 s in all, more than API_TIMEOUT, each piece well within it.
  const window = { startMs: 0, endMs: MINUTE };
  await api.streamLogs('flowlogs', window, (b) => seen.push((JSON.parse(b.toString()) as { n: number }).n));
  assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  stallAfter = 3;
  await assert.rejects(
    api.streamLogs('flowlogs', window, () => {}),
    /timed out|timeout/i,
  );
});
