import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { MetricFamily } from './family.js';
import { renderAsync, type RenderStats } from './render.js';

const gzipAsync = promisify(gzip);

/** What /metrics serves: rendered and compressed once per refresh, never per request. */
export interface Snapshot {
  readonly body: Buffer;
  readonly gzipBody: Buffer;
  readonly createdAtMs: number;
  readonly stats: RenderStats;
}

export async function buildSnapshot(families: readonly MetricFamily[], createdAtMs: number): Promise<Snapshot> {
  const { body, stats } = await renderAsync(families);
  // Off the event loop (libuv pool): a 30 MB exposition must not stall concurrent /metrics requests.
  // Level 1: twice as fast as 6 for about 6% more bytes; the refresh cycle pays it, scrapers barely notice.
  const gzipBody = await gzipAsync(body, { level: 1 });
  return Object.freeze({ body, gzipBody, createdAtMs, stats });
}

/** Holds the current snapshot; the refresher swaps, the server reads. */
export class SnapshotStore {
  #current: Snapshot | undefined;
  current(): Snapshot | undefined {
    return this.#current;
  }
  swap(next: Snapshot): void {
    this.#current = next;
  }
}
