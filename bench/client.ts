// Child process of bench/run.ts: the scrapers. A separate process, so the client's own work (reading
// megabytes per response) never runs on the exporter's event loop.
//
// Message {type:'run', url, requests, concurrency, gzip, warmup}: `concurrency` keep-alive connections
// (node:http Agent, one request in flight on each), `warmup` unrecorded requests first, then exactly
// `requests` recorded ones. Latency is from just before the request is written until the last body byte.
// With `untilStopped`, `requests` is only a cap: the run ends when a {type:'stop'} message arrives (used to
// measure over a fixed number of refresh cycles rather than a fixed number of requests). {type:'warmed'}
// answers once the current run's warm-up requests are done: its connections are open and its code is warm.
//
// Message {type:'openloop', url, periodMs, gzip, warmup}: open loop, for the churn benchmark (churn.ts). A request
// falls due every `periodMs` and is sent then, however many earlier ones are still unanswered (each on a
// connection of its own if need be), until {type:'stop'}; its latency runs from when it fell DUE to its last body
// byte, so a stall of the server (or of this process) counts in full for every request it held up, not once.
// The first `warmup` requests are not recorded; after them, only requests due after a {type:'record'} message.
import { Agent, get } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveHelper, summarize } from './lib.js';

interface RunMessage {
  url: string;
  requests: number;
  concurrency: number;
  gzip: boolean;
  warmup?: number;
  /** Also return every recorded latency (ms), in completion order. */
  raw?: boolean;
  untilStopped?: boolean;
}

let stopRequested = false;
/** Open loop: requests due from this time on are recorded ({type:'record'} sets it). */
let recordFrom = Number.POSITIVE_INFINITY;
/** Settles once the current run's warm-up requests have completed ({type:'warmed'} waits for it). */
let warmed: Promise<void> = Promise.resolve();
let onWarmed: () => void = () => undefined;

interface One {
  ms: number;
  bytes: number;
  status: number;
  encoding: string | undefined;
}

function once(agent: Agent, url: string, gzip: boolean): Promise<One> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = get(
      url,
      { agent, headers: gzip ? { 'accept-encoding': 'gzip' } : { 'accept-encoding': 'identity' } },
      (res) => {
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          bytes += c.length;
        });
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            ms: performance.now() - t0,
            bytes,
            status: res.statusCode ?? 0,
            encoding: res.headers['content-encoding'],
          }),
        );
      },
    );
    req.on('error', reject);
  });
}

async function run(m: RunMessage): Promise<Record<string, unknown>> {
  const agent = new Agent({ keepAlive: true, maxSockets: m.concurrency, maxFreeSockets: m.concurrency });
  const warmup = m.warmup ?? m.concurrency * 2;
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let bytes = 0;
  let gzipped = 0;
  let issued = 0;
  const total = warmup + m.requests;
  const t0 = performance.now();
  let measuredFrom = t0;
  stopRequested = false;
  warmed = new Promise((resolve) => (onWarmed = resolve));
  if (warmup === 0) onWarmed();
  const worker = async (): Promise<void> => {
    while (issued < total && !(m.untilStopped === true && stopRequested)) {
      const i = issued++;
      const r = await once(agent, m.url, m.gzip);
      if (i === warmup - 1) {
        measuredFrom = performance.now();
        onWarmed();
      }
      if (i < warmup) continue;
      latencies.push(r.ms);
      bytes = r.bytes;
      if (r.encoding === 'gzip') gzipped++;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  };
  try {
    await Promise.all(Array.from({ length: m.concurrency }, worker));
  } finally {
    agent.destroy();
  }
  const wallMs = performance.now() - measuredFrom;
  return {
    latency: summarize(latencies),
    bytes,
    gzipped,
    statuses: Object.fromEntries(statuses),
    wallMs,
    requestsPerSecond: (latencies.length * 1000) / wallMs,
    ...(m.raw === true ? { latencies } : {}),
  };
}

interface OpenLoopMessage {
  url: string;
  periodMs: number;
  gzip: boolean;
  warmup?: number;
}

async function openLoop(m: OpenLoopMessage): Promise<Record<string, unknown>> {
  // No cap on sockets: a request due while others are out gets a connection of its own, as independent scrapers
  // would, rather than a place in a queue of this process. An idle one is closed here after 2 s, before the
  // exporter's 5 s idle timeout can close it under a request just being sent (an ECONNRESET that is no fault of it).
  const agent = new Agent({ keepAlive: true, timeout: 2000 });
  const warmup = m.warmup ?? 10;
  const latencies: number[] = [];
  /** How late this process sent each recorded request (its own timer and event loop): a bound on its error. */
  const sendLag: number[] = [];
  const statuses = new Map<number, number>();
  let errors = 0;
  const errorCodes = new Map<string, number>();
  let bytes = 0;
  let gzipped = 0;
  let done = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  stopRequested = false;
  recordFrom = Number.POSITIVE_INFINITY;
  warmed = new Promise((resolve) => (onWarmed = resolve));
  if (warmup === 0) onWarmed();
  const out = new Set<Promise<void>>();
  const start = performance.now();
  try {
    for (let i = 0; !stopRequested; i++) {
      const due = start + i * m.periodMs;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      if (stopRequested) break;
      const recorded = i >= warmup && due >= recordFrom;
      const sent = performance.now();
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const p = once(agent, m.url, m.gzip).then(
        (r) => {
          if (recorded) {
            latencies.push(sent - due + r.ms);
            sendLag.push(sent - due);
            bytes = r.bytes;
            if (r.encoding === 'gzip') gzipped++;
            statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          }
        },
        (err: unknown) => {
          if (!recorded) return;
          errors++;
          const code = (err as { code?: string }).code ?? String(err);
          errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1);
        },
      );
      const tracked = p.finally(() => {
        inFlight--;
        out.delete(tracked);
        if (++done === warmup) onWarmed();
      });
      out.add(tracked);
    }
    await Promise.all(out);
  } finally {
    agent.destroy();
  }
  return {
    latency: summarize(latencies),
    sendLag: summarize(sendLag),
    bytes,
    gzipped,
    errors,
    errorCodes: Object.fromEntries(errorCodes),
    maxInFlight,
    statuses: Object.fromEntries(statuses),
  };
}

serveHelper(
  async (msg) => {
    if (msg?.type === 'run') return run(msg as RunMessage);
    if (msg?.type === 'openloop') return openLoop(msg as OpenLoopMessage);
    if (msg?.type === 'record') {
      recordFrom = performance.now();
      return {};
    }
    if (msg?.type === 'warmed') {
      await warmed;
      return {};
    }
    if (msg?.type === 'stop') {
      stopRequested = true;
      return {};
    }
    throw new Error(`unknown message ${JSON.stringify(msg)}`);
  },
  async () => {},
);
process.send?.({ type: 'ready' });
