import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { HttpStats } from './http-stats.js';

export interface ConnectionLimits {
  readonly maxConnections: number;
  readonly maxConnectionsPerAddress: number;
  /** A connection that has not sent complete request headers within this is closed (TLS handshake included). */
  readonly headerTimeoutMs: number;
}

/**
 * Caps connections per client address and closes connections that stay silent. Node's own headersTimeout
 * only starts with the first byte and is checked on an interval; this timer runs from the moment the TCP
 * connection is accepted, until the first request's headers are in.
 */
export function guardConnections(
  server: Server,
  limits: ConnectionLimits,
  stats: HttpStats,
): { requestStarted(socket: Socket): void } {
  const perAddress = new Map<string, number>();
  // Keyed by the peer's address and port: a TLS request's socket is not the raw socket, but shares both.
  const waiting = new Map<string, NodeJS.Timeout>();
  const keyOf = (s: Socket): string => `${s.remoteAddress}|${s.remotePort}`;
  server.maxConnections = limits.maxConnections;
  server.on('drop', () => stats.countRefused('max_connections'));
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? '';
    const open = perAddress.get(address) ?? 0;
    if (open >= limits.maxConnectionsPerAddress) {
      stats.countRefused('per_address');
      socket.destroy();
      return;
    }
    perAddress.set(address, open + 1);
    stats.openConnections++;
    const key = keyOf(socket);
    const timer = setTimeout(() => {
      if (waiting.get(key) === timer) waiting.delete(key);
      stats.headerTimeouts++;
      socket.destroy();
    }, limits.headerTimeoutMs);
    timer.unref();
    waiting.set(key, timer);
    socket.once('close', () => {
      stats.openConnections--;
      const n = (perAddress.get(address) ?? 1) - 1;
      if (n <= 0) perAddress.delete(address);
      else perAddress.set(address, n);
      clearTimeout(timer);
      // A new connection may already reuse this address and port: leave its timer alone.
      if (waiting.get(key) === timer) waiting.delete(key);
    });
  });
  return {
    requestStarted(socket) {
      if (waiting.size === 0) return;
      const key = keyOf(socket);
      const t = waiting.get(key);
      if (t !== undefined) {
        clearTimeout(t);
        waiting.delete(key);
      }
    },
  };
}
