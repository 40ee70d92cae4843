// Child process of bench/run.ts: hosts the simulated tailnet, so the simulator's own CPU work (device list
// JSON, 2,500 device answers) is not charged to the exporter's event loop, as in production where the
// control plane and the devices are other machines. The benchmark runs two: role `api` (the fake API
// only) and role `devices` (one client-metrics endpoint per scraped device on 127.0.0.N; its API is not
// used), so building the device list does not hold up the devices' answers either.
//
//   node dist/bench/sim-host.js <count> <deviceDelayMs> <api|devices> [churn]
//
// `churn` (default 0): the fraction 0..1 of the devices whose device-list entry changes before each device-list
// answer (startTailnet's churn, src/sim/tailscale/churn.ts); it matters to role `api` only.
//
// Messages: {type:'stats'} -> SimStats counters; {type:'close'}.
import { setMaxListeners } from 'node:events';
import { startTailnet, type SimTailnet } from '../src/sim/tailscale/index.js';
import { serveHelper } from './lib.js';

async function main(): Promise<void> {
  // The simulator's device servers park every delayed answer on one shared AbortSignal (device-fleet.ts
  // #wait), so more than 10 concurrent scrapes print a MaxListenersExceededWarning from this process.
  // Harmless here; silenced so it is not mistaken for a warning of the exporter.
  setMaxListeners(0);
  const count = Number(process.argv[2] ?? 1000);
  const deviceDelayMs = Number(process.argv[3] ?? 0);
  const role = process.argv[4] ?? 'devices';
  const churn = Number(process.argv[5] ?? 0);
  const started = performance.now();
  let sim: SimTailnet;
  try {
    sim = await startTailnet({
      scenario: { count, scrapedEvery: 4, seriesPerDevice: 30 },
      deviceDelayMs,
      serveDevices: role !== 'api',
      churn,
    });
  } catch (err) {
    process.send?.({ type: 'fatal', error: err instanceof Error ? err.message : String(err) });
    process.exit(1);
  }
  serveHelper(
    (msg) => {
      if (msg?.type === 'stats') {
        let scrapes = 0;
        for (const n of sim.stats.scrapes.values()) scrapes += n;
        return Promise.resolve({
          tokenRequests: sim.stats.tokenRequests,
          deviceListRequests: sim.stats.deviceListRequests,
          routeRequests: sim.stats.routeRequests,
          scrapes,
        });
      }
      return Promise.reject(new Error(`unknown message ${JSON.stringify(msg)}`));
    },
    () => sim.close(),
  );
  process.send?.({
    type: 'ready',
    apiUrl: sim.apiUrl,
    apiKey: sim.apiKey,
    tailnet: sim.tailnet,
    clientMetricsPort: sim.clientMetricsPort,
    devices: sim.devices.length,
    servingDevices: sim.devices.filter((d) => d.loopbackAddress !== null).length,
    startMs: performance.now() - started,
  });
}

void main();
