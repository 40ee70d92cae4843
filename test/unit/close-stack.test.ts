import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloseStack } from '../../src/util/close-stack.js';

function recorder() {
  const errors: Array<[string, string]> = [];
  const log = {
    error: ({ stage, err }: { stage: string; err: unknown }) => errors.push([stage, (err as Error).message]),
  };
  const stack = new CloseStack(log, 50);
  return { stack, errors };
}

test('closes in reverse order of registration, each after the previous one finished', async () => {
  const { stack, errors } = recorder();
  const events: string[] = [];
  for (const name of ['api', 'tsnet', 'server']) {
    stack.push(name, async () => {
      events.push(`${name} start`);
      await new Promise((r) => setImmediate(r));
      events.push(`${name} end`);
    });
  }
  await stack.close();
  assert.deepEqual(events, ['server start', 'server end', 'tsnet start', 'tsnet end', 'api start', 'api end']);
  assert.deepEqual(errors, []);
});

test('a close that throws, rejects or hangs is reported by name and the others still close', async () => {
  const { stack, errors } = recorder();
  const closed: string[] = [];
  stack.push('first', () => closed.push('first'));
  stack.push('hangs', () => new Promise(() => {}));
  stack.push('rejects', () => Promise.reject(new Error('port busy')));
  stack.push('throws', () => {
    throw new Error('boom');
  });
  stack.push('last', () => closed.push('last'));
  await stack.close();
  assert.deepEqual(closed, ['last', 'first']);
  assert.deepEqual(errors, [
    ['throws', 'boom'],
    ['rejects', 'port busy'],
    ['hangs', 'hangs did not close within 50 ms'],
  ]);
});

test('closing twice is a no-op: every close runs once, and both calls wait for the same end', async () => {
  const { stack } = recorder();
  let runs = 0;
  stack.push('server', async () => {
    await new Promise((r) => setImmediate(r));
    runs++;
  });
  const first = stack.close();
  const second = stack.close();
  assert.equal(first, second);
  await second;
  assert.equal(runs, 1);
  await stack.close();
  assert.equal(runs, 1);
});

test('a close registered after closing began still runs', async () => {
  const { stack } = recorder();
  const closed: string[] = [];
  stack.push('a', () => closed.push('a'));
  await stack.close();
  let late!: () => void;
  const done = new Promise<void>((r) => (late = r));
  stack.push('late', () => {
    closed.push('late');
    late();
  });
  await done;
  assert.deepEqual(closed, ['a', 'late']);
});

test('a failed close is logged as "close failed" with its stage and the error itself', async () => {
  const logged: Array<{ fields: { stage: string; err: unknown }; message: string }> = [];
  const stack = new CloseStack({ error: (fields, message) => logged.push({ fields, message }) }, 50);
  const boom = new Error('boom');
  stack.push('server', () => Promise.reject(boom));
  await stack.close();
  assert.equal(logged.length, 1);
  assert.equal(logged[0]!.message, 'close failed');
  assert.equal(logged[0]!.fields.stage, 'server');
  assert.equal(logged[0]!.fields.err, boom);
});

test('a close that finishes in time leaves no timer behind to hold the process open', async () => {
  const failed: string[] = [];
  const stack = new CloseStack({ error: ({ stage }) => failed.push(stage) }, 30_000);
  const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
  stack.push('quick', () => undefined);
  stack.push('failing', () => Promise.reject(new Error('no')));
  const before = timers();
  await stack.close();
  assert.equal(timers(), before);
  assert.deepEqual(failed, ['failing']);
});
