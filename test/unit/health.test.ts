import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SnapshotStore, buildSnapshot } from '../../src/exposition/snapshot.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import { startServer, STALE_INTERVALS } from '../../src/server/server.js';
import { memoryLogger } from '../helpers/log.js';

// /health turns unhealthy only after the documented threshold: no good device list for 3 intervals.

test('health follows the age of the last good device list, with a fake clock', async (t) => {
  let now = 1_000_000;
  const interval = 30_000;
  const status = new RefreshStatus(now);
  const store = new SnapshotStore();
  let tsnetUp = true;
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    store,
    status,
    version: 't',
    intervalMs: interval,
    debugConfig: undefined,
    log: memoryLogger().log,
    now: () => now,
    tsnetUp: () => tsnetUp,
  });
  t.after(() => server.close());
  const health = async () => {
    const r = await fetch(`${server.url}/health`);
    return [r.status, ((await r.json()) as { status: string }).status] as const;
  };
  const ready = async () => (await fetch(`${server.url}/readyz`)).status;
  assert.deepEqual(await health(), [200, 'starting']);
  assert.equal(await ready(), 503, 'no snapshot yet');
  assert.equal((await fetch(`${server.url}/startupz`)).status, 503);
  now += STALE_INTERVALS * interval + 1;
  assert.deepEqual(await health(), [503, 'unhealthy'], 'never a good refresh within 3 intervals of the start');
  status.record(
    {
      startedAt: '',
      durationSeconds: 0,
      scrapeDurationSeconds: 0,
      apiOk: true,
      devicesDiscovered: 1,
      devicesEligible: 0,
      devicesScraped: 0,
      scrapeFailures: 0,
    },
    now,
  );
  store.swap(await buildSnapshot([], now));
  assert.deepEqual(await health(), [200, 'healthy']);
  assert.equal(await ready(), 200);
  assert.equal((await fetch(`${server.url}/startupz`)).status, 200);
  tsnetUp = false;
  assert.deepEqual(await health(), [200, 'degraded']);
  assert.equal(await ready(), 200, 'fresh API data is still served while tsnet is down');
  tsnetUp = true;
  now += STALE_INTERVALS * interval;
  assert.deepEqual(await health(), [200, 'healthy'], 'exactly at the threshold: still healthy');
  now += 1;
  assert.deepEqual(await health(), [503, 'unhealthy']);
  assert.equal(await ready(), 503);
});
