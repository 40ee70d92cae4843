import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TsnetMachine, type TsnetEvent, type TsnetState } from '../../src/tsnet/machine.js';

// The tsnet supervisor's state machine on its own: no process, no timer, a clock the test moves.

const BACKOFF = { initialMs: 1_000, maxMs: 30_000 };

function machine(now: () => number = () => 0): TsnetMachine {
  return new TsnetMachine(BACKOFF, now);
}

/** Sends the events in order; each one must be allowed. */
function drive(m: TsnetMachine, events: readonly TsnetEvent[]): void {
  for (const event of events) {
    const from = m.state;
    assert.ok(m.send(event), `${event} is allowed in ${from}`);
  }
}

/** From idle to each state, by the events the supervisor sends. */
const PATHS: Readonly<Record<TsnetState, readonly TsnetEvent[]>> = {
  idle: [],
  starting: ['start'],
  login: ['start', 'launched'],
  up: ['start', 'launched', 'running'],
  degraded: ['start', 'launched', 'running', 'not-running'],
  backoff: ['start', 'launched', 'running', 'exited'],
  stopping: ['start', 'stop'],
  stopped: ['start', 'stop', 'stopped'],
};

test('start -> waiting for the login -> up -> the daemon exits -> back-off -> restart -> up again', () => {
  const m = machine();
  assert.equal(m.state, 'idle');
  assert.deepEqual(m.send('start'), { event: 'start', from: 'idle', to: 'starting' });
  assert.deepEqual(m.send('launched'), { event: 'launched', from: 'starting', to: 'login' });
  assert.deepEqual(m.send('running'), { event: 'running', from: 'login', to: 'up' });
  assert.deepEqual(m.send('running'), { event: 'running', from: 'up', to: 'up' }, 'a status poll keeps it up');
  // The daemon exits: back-off, the first restart after the initial delay.
  assert.deepEqual(m.send('exited'), { event: 'exited', from: 'up', to: 'backoff', delayMs: 1_000, attempt: 1 });
  assert.equal(m.restarts, 0);
  assert.deepEqual(m.send('restart'), { event: 'restart', from: 'backoff', to: 'starting' });
  assert.equal(m.restarts, 1);
  drive(m, ['launched', 'running']);
  assert.equal(m.state, 'up');
  // Not Running for a while (a poll), then Running again; a second exit from there backs off longer.
  assert.deepEqual(m.send('not-running'), { event: 'not-running', from: 'up', to: 'degraded' });
  assert.deepEqual(m.send('not-running'), { event: 'not-running', from: 'degraded', to: 'degraded' });
  assert.deepEqual(m.send('running'), { event: 'running', from: 'degraded', to: 'up' });
  drive(m, ['not-running']);
  assert.deepEqual(m.send('exited'), { event: 'exited', from: 'degraded', to: 'backoff', delayMs: 2_000, attempt: 2 });
});

test('restarts that fail back off exponentially up to the maximum; a retry on a new port is not a restart', () => {
  const m = machine();
  drive(m, ['start', 'launched', 'running', 'exited', 'restart']);
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    // A failure while starting or while waiting for Running (alternately): both back off.
    if (i % 2 === 1) drive(m, ['launched']);
    const failed = m.send('failed');
    assert.equal(failed?.to, 'backoff');
    delays.push(failed.delayMs!);
    drive(m, ['restart']);
  }
  assert.deepEqual(delays, [2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  assert.equal(m.restarts, 8);
  assert.deepEqual(m.send('retry'), { event: 'retry', from: 'starting', to: 'starting' });
  assert.equal(m.restarts, 8);
});

test('a daemon that stayed up longer than the longest back-off starts the back-off over', () => {
  let now = 0;
  const m = machine(() => now);
  drive(m, ['start', 'launched', 'running', 'exited', 'restart', 'failed', 'restart', 'launched']);
  now = 100_000;
  drive(m, ['running']);
  // Degraded and back again keeps the time it first came up.
  drive(m, ['not-running']);
  now += 25_000;
  drive(m, ['running']);
  now += 10_000; // up 35 s > 30 s
  assert.equal(m.send('exited')?.delayMs, 1_000);
  // Up counts from Running, not from the restart: a slow login does not count as time up.
  drive(m, ['restart', 'launched']);
  now += 40_000;
  drive(m, ['running']);
  now += 30_000; // up exactly the maximum: not longer
  assert.equal(m.send('exited')?.delayMs, 2_000);
  // The time up belongs to one daemon: a restart that fails after a long-lived one keeps counting.
  drive(m, ['restart']);
  now += 60_000;
  assert.equal(m.send('failed')?.delayMs, 4_000);
});

test('stop is allowed from every state and ends in stopped; nothing starts again after it', () => {
  for (const [state, path] of Object.entries(PATHS) as Array<[TsnetState, readonly TsnetEvent[]]>) {
    const m = machine();
    drive(m, path);
    assert.equal(m.state, state);
    assert.equal(m.send('stop')?.to, state === 'stopped' ? 'stopped' : 'stopping', `stop from ${state}`);
    if (state !== 'stopped') assert.equal(m.send('stopped')?.to, 'stopped');
    assert.equal(m.send('stop')?.to, 'stopped', 'a second stop is harmless');
    for (const event of ['start', 'restart', 'launched', 'running', 'exited', 'failed', 'retry'] as const) {
      assert.equal(m.send(event), undefined, `${event} after stop`);
      assert.equal(m.state, 'stopped');
    }
  }
});

test('SIGHUP (reload) keeps every state, and the back-off and restart counts, as they are', () => {
  for (const [state, path] of Object.entries(PATHS) as Array<[TsnetState, readonly TsnetEvent[]]>) {
    const m = machine();
    drive(m, path);
    const restarts = m.restarts;
    assert.deepEqual(m.send('reload'), { event: 'reload', from: state, to: state });
    assert.equal(m.restarts, restarts);
  }
  // The back-off attempt is not reset by a reload during the back-off.
  const m = machine();
  drive(m, ['start', 'launched', 'running', 'exited', 'reload', 'restart', 'reload', 'failed']);
  assert.equal(m.state, 'backoff');
  const next = (() => {
    drive(m, ['restart']);
    return m.send('failed');
  })();
  assert.equal(next?.delayMs, 4_000);
});

test('events the table does not allow change nothing', () => {
  const illegal: Array<[TsnetState, TsnetEvent]> = [
    ['idle', 'running'], // never up without a launch
    ['idle', 'restart'],
    ['starting', 'running'], // Running is only accepted once the login wait began
    ['starting', 'exited'], // an exit while starting fails the launch instead
    ['login', 'exited'],
    ['login', 'retry'], // the socket answered: the port was bound
    ['up', 'failed'],
    ['up', 'restart'],
    ['backoff', 'running'], // a late poll cannot make a dead daemon up
    ['backoff', 'not-running'],
    ['backoff', 'exited'],
    ['stopping', 'running'],
    ['stopping', 'restart'],
    ['stopping', 'failed'],
  ];
  for (const [state, event] of illegal) {
    const m = machine();
    drive(m, PATHS[state]);
    const restarts = m.restarts;
    assert.equal(m.send(event), undefined, `${event} in ${state}`);
    assert.equal(m.state, state);
    assert.equal(m.restarts, restarts);
  }
});
