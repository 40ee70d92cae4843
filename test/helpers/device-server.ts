import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * A stand-in device on 127.0.0.1:<ephemeral> answering with `handler`; its base URL (`http://127.0.0.1:port`).
 * Closed in t.after, open keep-alive connections included (the scraper's agent keeps one per device).
 */
export async function deviceServer(t: TestContext, handler: RequestListener): Promise<string> {
  return serveOnLoopback(t, createServer(handler));
}

/**
 * Listens with `server` (HTTP or HTTPS) on 127.0.0.1:<ephemeral> and closes it in t.after, open keep-alive
 * connections included; its base URL.
 */
export async function serveOnLoopback(
  t: TestContext,
  server: Server,
  scheme: 'http' | 'https' = 'http',
): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
