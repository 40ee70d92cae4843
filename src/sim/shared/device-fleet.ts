// Client-metrics endpoints of the simulated devices: one http.Server per device on its own
// loopback address, all sharing one port, answering like tailscaled's web client `/metrics`.
import { setMaxListeners } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  clientFamilies,
  hugeChunk,
  hugeHeader,
  labelInjectionText,
  malformedText,
  manySeriesText,
  OPENMETRICS_CONTENT_TYPE,
  renderOpenMetrics,
  renderText,
  TEXT_CONTENT_TYPE,
} from './client-metrics.js';
import { increment } from './counters.js';
import type { SimDevice } from './device.js';
import { closeServer, drained, isAddressInUse, listen, PLAIN_TEXT_TYPE, sendNotFound, sendText } from './http.js';

export type DeviceFault =
  | { kind: 'hang' }
  | { kind: 'slow'; delayMs: number }
  /** A valid body sent one sample line every `intervalMs`: never idle long enough for an idle (body) timeout. */
  | { kind: 'trickle'; lines: number; intervalMs: number }
  | { kind: 'reset' }
  | { kind: 'status'; status: number }
  | { kind: 'huge'; bytes: number }
  | { kind: 'malformed' }
  | { kind: 'label-injection' }
  | { kind: 'many-series'; series: number }
  | { kind: 'flip' }
  | { kind: 'openmetrics' };

export interface DeviceFleetOptions {
  /** Fixed port; undefined picks a free ephemeral one. */
  readonly port: number | undefined;
  readonly delayMs: number;
  readonly now: () => number;
  /** Clock reading at which counters start from their base values. */
  readonly startedAt: number;
  /** Where the fleet counts its scrapes and the answers its faults shaped. */
  readonly stats: FleetStats;
}

/** What both simulators count about their devices (and, under `api:<kind>`, their API's faults). */
export interface FleetStats {
  /** `/metrics` requests that passed the Host check, per device nodeId (a Headscale node's decimal id). */
  readonly scrapes: Map<string, number>;
  /** Injected faults by `api:<kind>` or `device:<kind>` (one per answer a device fault shaped). */
  readonly faultsInjected: Map<string, number>;
}

interface FaultState {
  readonly fault: DeviceFault;
  answers: number;
}

const BIND_ATTEMPTS = 8;
/** Binds in parallel, but not thousands at once. */
const BIND_BATCH = 256;
const HUGE_LINES_PER_CHUNK = 1024;

/** Owns every device server; the only place that knows how `/metrics` answers. */
export class DeviceFleet {
  readonly #options: DeviceFleetOptions;
  readonly #servers = new Map<SimDevice, Server>();
  readonly #faults = new Map<SimDevice, FaultState>();
  /** Aborts pending delays on close so no timer outlives the fleet. */
  readonly #closing = new AbortController();
  #port = 0;

  private constructor(options: DeviceFleetOptions) {
    this.#options = options;
    // Every pending delay listens on this one signal: thousands at once are expected, not a leak.
    setMaxListeners(0, this.#closing.signal);
  }

  /** Starts servers for all `devices` that serve metrics. */
  static async start(devices: readonly SimDevice[], options: DeviceFleetOptions): Promise<DeviceFleet> {
    const fleet = new DeviceFleet(options);
    await fleet.#bindAll(devices.filter((d) => d.servesMetrics && d.loopbackAddress !== null));
    return fleet;
  }

  get port(): number {
    return this.#port;
  }

  /** Starts the server of a device added after start. Rejects (e.g. EADDRINUSE) without side effects. */
  async add(device: SimDevice): Promise<void> {
    if (!device.servesMetrics || device.loopbackAddress === null) return;
    const server = this.#serverFor(device);
    await listen(server, device.loopbackAddress, this.#port);
    if (this.#closing.signal.aborted) {
      await closeServer(server);
      throw new Error('device fleet closed while adding a device');
    }
    this.#servers.set(device, server);
  }

  async remove(device: SimDevice): Promise<void> {
    const server = this.#servers.get(device);
    this.#servers.delete(device);
    this.#faults.delete(device);
    if (server !== undefined) await closeServer(server);
  }

  setFault(device: SimDevice, fault: DeviceFault | null): void {
    if (!this.#servers.has(device)) throw new Error(`device ${device.nodeId} serves no client metrics`);
    if (fault === null) this.#faults.delete(device);
    else this.#faults.set(device, { fault, answers: 0 });
  }

  async close(): Promise<void> {
    this.#closing.abort();
    const servers = [...this.#servers.values()];
    this.#servers.clear();
    await Promise.all(servers.map(closeServer));
  }

  /**
   * With no fixed port, the first device binds port 0 and the rest reuse whatever port it got;
   * another process may already hold that port on a later address, so on EADDRINUSE start over.
   */
  async #bindAll(devices: readonly SimDevice[]): Promise<void> {
    const fixed = this.#options.port;
    const [first, ...rest] = devices;
    if (first === undefined) {
      this.#port = fixed ?? (await probePort());
      return;
    }
    for (let attempt = 1; ; attempt++) {
      const servers = new Map<SimDevice, Server>();
      try {
        this.#port = fixed ?? 0;
        this.#port = await this.#bindOne(first, servers);
        for (let i = 0; i < rest.length; i += BIND_BATCH) {
          await settleAll(rest.slice(i, i + BIND_BATCH).map((d) => this.#bindOne(d, servers)));
        }
        for (const [device, server] of servers) this.#servers.set(device, server);
        return;
      } catch (err) {
        await Promise.all([...servers.values()].map(closeServer));
        if (fixed !== undefined || !isAddressInUse(err) || attempt >= BIND_ATTEMPTS) throw err;
      }
    }
  }

  async #bindOne(device: SimDevice, into: Map<SimDevice, Server>): Promise<number> {
    const server = this.#serverFor(device);
    into.set(device, server);
    return listen(server, device.loopbackAddress ?? '', this.#port);
  }

  #serverFor(device: SimDevice): Server {
    const server = createServer((req, res) => {
      this.#handle(device, req, res).catch(() => res.destroy());
    });
    server.on('clientError', (_err, socket) => socket.destroy());
    // A real tailscaled keeps scrape connections open between cycles; Node's 5 s default would make every
    // benchmark cycle reconnect.
    server.keepAliveTimeout = 120_000;
    return server;
  }

  async #handle(device: SimDevice, req: IncomingMessage, res: ServerResponse): Promise<void> {
    req.resume();
    const hostPort = `${device.loopbackAddress}:${this.#port}`;
    if (req.headers.host !== hostPort) {
      // tailscaled's web client insists on the bare IP:port Host and redirects anything else.
      res.writeHead(301, { location: `http://${hostPort}/metrics`, 'content-length': 0 });
      res.end();
      return;
    }
    if ((req.url ?? '').split('?')[0] !== '/metrics') return sendNotFound(res);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return sendText(res, 405, 'method not allowed\n', PLAIN_TEXT_TYPE);
    increment(this.#options.stats.scrapes, device.nodeId);
    const fault = this.#takeFault(device);
    const delayMs = this.#options.delayMs + (fault?.kind === 'slow' ? fault.delayMs : 0);
    if (delayMs > 0 && !(await this.#wait(delayMs))) return;
    await this.#answer(device, fault, req, res);
  }

  /** The fault shaping this answer, with 'flip' resolved to malformed on every second answer. */
  #takeFault(device: SimDevice): DeviceFault | null {
    const state = this.#faults.get(device);
    if (state === undefined) return null;
    state.answers += 1;
    increment(this.#options.stats.faultsInjected, `device:${state.fault.kind}`);
    if (state.fault.kind !== 'flip') return state.fault;
    return state.answers % 2 === 0 ? { kind: 'malformed' } : null;
  }

  /** Sleeps unless the fleet closes first; false if it closed. */
  async #wait(ms: number): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  async #answer(
    device: SimDevice,
    fault: DeviceFault | null,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    switch (fault?.kind) {
      case 'hang':
        return; // never answered; close() cuts the connection
      case 'reset':
        req.socket.resetAndDestroy();
        return;
      case 'status':
        return sendText(res, fault.status, `simulated HTTP ${fault.status}\n`, PLAIN_TEXT_TYPE);
      case 'huge':
        return streamHuge(res, fault.bytes);
      case 'trickle':
        return this.#trickle(res, fault.lines, fault.intervalMs);
      case 'malformed':
        return sendText(res, 200, malformedText(), TEXT_CONTENT_TYPE);
      case 'label-injection':
        return sendText(res, 200, labelInjectionText(), TEXT_CONTENT_TYPE);
      case 'many-series':
        return sendText(res, 200, manySeriesText(fault.series), TEXT_CONTENT_TYPE);
      case 'openmetrics':
        return sendText(res, 200, renderOpenMetrics(this.#families(device)), OPENMETRICS_CONTENT_TYPE);
      default:
        return sendText(res, 200, renderText(this.#families(device)), TEXT_CONTENT_TYPE);
    }
  }

  /** Sends the header at once, then a sample line per interval; stops when the client hangs up or the fleet closes. */
  async #trickle(res: ServerResponse, lines: number, intervalMs: number): Promise<void> {
    const hungUp = new AbortController();
    res.once('close', () => hungUp.abort());
    const signal = AbortSignal.any([this.#closing.signal, hungUp.signal]);
    res.writeHead(200, { 'content-type': TEXT_CONTENT_TYPE });
    res.write(hugeHeader());
    for (let line = 0; line < lines; line++) {
      try {
        await sleep(intervalMs, undefined, { signal });
      } catch {
        res.destroy();
        return;
      }
      res.write(hugeChunk(line, 1));
    }
    res.end();
  }

  #families(device: SimDevice): ReturnType<typeof clientFamilies> {
    return clientFamilies(device, (this.#options.now() - this.#options.startedAt) / 1000);
  }
}

/** Like Promise.all, but waits for every bind to finish so a failure never leaves one listening unseen. */
async function settleAll(binds: Array<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(binds)).find((r) => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/** A currently free port, for a tailnet that starts with no metrics-serving device. */
async function probePort(): Promise<number> {
  const probe = createServer();
  const port = await listen(probe, '127.0.0.2', 0);
  await closeServer(probe);
  return port;
}

/** Streams at least `bytes` of valid-looking samples, respecting backpressure and client hang-ups. */
async function streamHuge(res: ServerResponse, bytes: number): Promise<void> {
  res.writeHead(200, { 'content-type': TEXT_CONTENT_TYPE });
  let written = Buffer.byteLength(hugeHeader());
  res.write(hugeHeader());
  for (let line = 0; written < bytes && !res.destroyed; line += HUGE_LINES_PER_CHUNK) {
    const chunk = hugeChunk(line, HUGE_LINES_PER_CHUNK);
    written += Buffer.byteLength(chunk);
    if (!res.write(chunk)) await drained(res);
  }
  if (!res.destroyed) res.end();
}
