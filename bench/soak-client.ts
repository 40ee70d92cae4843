// A scraping client for the soak test, in its own process so its parsing never shares the exporter's
// event loop. Usage: node dist/bench/soak-client.js <url> <seconds> <concurrency>; prints one JSON line.
import { request, Agent } from 'undici';
import { gunzipSync } from 'node:zlib';
import { parseExposition } from '../src/devices/parse/index.js';

const [url, secondsText, concurrencyText] = process.argv.slice(2);
const until = performance.now() + Number(secondsText) * 1000;
const agent = new Agent({ connections: Number(concurrencyText), keepAliveTimeout: 10_000 });
const latencies: number[] = [];
const statuses = new Map<number, number>();
let unparsed = 0;
let errors = 0;
let bytes = 0;

async function worker(id: number): Promise<void> {
  let n = 0;
  while (performance.now() < until) {
    const gzip = (n++ + id) % 2 === 0;
    const started = performance.now();
    try {
      const res = await request(url!, {
        dispatcher: agent,
        headers: gzip ? { 'accept-encoding': 'gzip' } : {},
        headersTimeout: 10_000,
        bodyTimeout: 10_000,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      latencies.push(performance.now() - started);
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode === 200) {
        const text = (res.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString('utf8');
        bytes += body.length;
        if (!parseExposition(text, { maxSeries: 1_000_000 }).ok) unparsed++;
      }
    } catch {
      errors++;
    }
  }
}

await Promise.all(Array.from({ length: Number(concurrencyText) }, (_, i) => worker(i)));
await agent.close();
latencies.sort((a, b) => a - b);
const q = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
process.stdout.write(
  `${JSON.stringify({ requests: latencies.length, statuses: Object.fromEntries(statuses), errors, unparsed, bytes, p50: q(0.5), p99: q(0.99), max: latencies.at(-1) ?? 0 })}\n`,
);
