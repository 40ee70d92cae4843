import type { TestContext } from 'node:test';
import { SnapshotStore } from '../../src/exposition/snapshot.js';
import { RefreshStatus } from '../../src/refresh/status.js';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server.js';
import { memoryLogger } from './log.js';

/** startServer on 127.0.0.1:<ephemeral> with an empty store and no debug routes unless `o` says otherwise; closed in t.after. */
export async function serve(
  t: TestContext,
  o: Partial<ServerOptions> = {},
): Promise<RunningServer & { lines: string[]; store: SnapshotStore; status: RefreshStatus }> {
  const { log, lines } = memoryLogger();
  const store = o.store ?? new SnapshotStore();
  const status = o.status ?? new RefreshStatus(Date.now());
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    store,
    status,
    version: 't',
    intervalMs: 30_000,
    debugConfig: undefined,
    log,
    ...o,
  });
  t.after(() => server.close());
  return Object.assign(server, { lines, store, status });
}
