import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { gauge } from '../../src/exposition/family.js';
import { render } from '../../src/exposition/render.js';
import { PLAIN_DEMAND_MS, SnapshotBuilder, SnapshotStore } from '../../src/exposition/snapshot.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import { startServer } from '../../src/server/server.js';
import { memoryLogger } from '../helpers/log.js';

// /metrics serves gzip from the snapshot, plain by inflating it once, and remembers that plain is wanted.

const FAMILIES = [
  gauge(
    'tailscale_device_online',
    'h',
    Array.from({ length: 300 }, (_, i) => [{ device_id: String(i), device_name: `d${i}` }, i % 2] as const),
  ),
];

function get(
  url: string,
  headers: Record<string, string>,
  method = 'GET',
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('plain, gzip and HEAD from a snapshot built without its plain body; plain demand is remembered', async (t) => {
  let now = 5_000_000;
  // As for a large tailnet: the plain body is held only on demand.
  const store = new SnapshotStore({ plainAlwaysUpToBytes: 0 });
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    store,
    status: new RefreshStatus(now),
    version: 't',
    intervalMs: 30_000,
    debugConfig: undefined,
    log: memoryLogger().log,
    now: () => now,
  });
  t.after(() => server.close());
  const expected = render(FAMILIES).text;
  const builder = new SnapshotBuilder({ keepPlain: store.plainWanted(now) });
  await builder.add(FAMILIES);
  const snapshot = await builder.finish(now);
  assert.equal(snapshot.plainBody, undefined, 'nobody asked for plain yet');
  store.swap(snapshot);

  const gz = await get(`${server.url}/metrics`, { 'accept-encoding': 'gzip' });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gunzipSync(gz.body).toString('utf8'), expected);
  assert.equal(store.plainWanted(now), false, 'gzip requests do not ask for plain');

  const head = await get(`${server.url}/metrics`, {}, 'HEAD');
  assert.equal(
    Number(head.headers['content-length']),
    Buffer.byteLength(expected),
    'HEAD knows the plain length without inflating',
  );
  assert.equal(snapshot.plainBody, undefined);

  const plain = await get(`${server.url}/metrics`, {});
  assert.equal(plain.headers['content-encoding'], undefined);
  assert.equal(Number(plain.headers['content-length']), plain.body.length);
  assert.equal(plain.body.toString('utf8'), expected);
  assert.notEqual(snapshot.plainBody, undefined, 'inflated once and kept for this snapshot');
  assert.equal(store.plainWanted(now), true, 'the next snapshots are built with their plain body');
  now += PLAIN_DEMAND_MS;
  assert.equal(store.plainWanted(now), true);
  now += 1;
  assert.equal(store.plainWanted(now), false, 'forgotten after PLAIN_DEMAND_MS without a plain request');
});

test('a small exposition always holds its plain body, from the second snapshot on; a large one only on demand', async () => {
  const build = async (store: SnapshotStore, now: number) => {
    const builder = new SnapshotBuilder({ keepPlain: store.plainWanted(now) });
    await builder.add(FAMILIES);
    const snapshot = await builder.finish(now);
    store.swap(snapshot);
    return snapshot;
  };
  const plainLength = Buffer.byteLength(render(FAMILIES).text);
  const small = new SnapshotStore({ plainAlwaysUpToBytes: plainLength });
  assert.equal((await build(small, 0)).plainBody, undefined, 'the first snapshot: its size is not known yet');
  assert.equal((await build(small, 1)).plainBody?.length, plainLength, 'no plain request, yet held: it is small');
  const large = new SnapshotStore({ plainAlwaysUpToBytes: plainLength - 1 });
  await build(large, 0);
  assert.equal((await build(large, 1)).plainBody, undefined, 'one byte over: only on demand');
});
