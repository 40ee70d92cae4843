// Child process of bench/run.ts: the scrapers. A separate process, so the client's own work (reading
// megabytes per response) never runs on the exporter's event loop.
//
// Message {type:'run', url, requests, concurrency, gzip, warmup}: `concurrency` keep-alive connections
// (node:http Agent, one request in flight on each), `warmup` unrecorded requests first, then exactly
// `requests` recorded ones. Latency is from just before the request is written until the last body byte.
// With `untilStopped`, `requests` is only a cap: the run ends when a {type:'stop'} message arrives (used to
// measure over a fixed number of refresh cycles rather than a fixed number of requests). {type:'warmed'}
// answers once the current run's warm-up requests are done: its connections are open and its code is warm.
import { Agent, get } from 'node:http';
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

serveHelper(
  async (msg) => {
    if (msg?.type === 'run') return run(msg as RunMessage);
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
