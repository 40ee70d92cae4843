import { HttpTailscaleApi } from '../../src/control/api.js';
import { StaticToken } from '../../src/control/auth.js';
import type { Device } from '../../src/control/device.js';
import { RequestStats } from '../../src/control/request-stats.js';
import { makeSelector, type Selection } from '../../src/devices/targets.js';
import type { SimTailnet } from '../../src/sim/tailscale/index.js';
import { memoryLogger } from './log.js';

/** The simulated tailnet's devices as the exporter sees them (through the real API client), and their selection. */
export async function selectSimDevices(
  sim: SimTailnet,
): Promise<{ devices: readonly Device[]; selections: readonly Selection[] }> {
  const api = new HttpTailscaleApi({
    baseUrl: sim.apiUrl,
    tailnet: '-',
    timeoutMs: 5000,
    tokens: new StaticToken(sim.apiKey),
    stats: new RequestStats(),
    log: memoryLogger().log,
  });
  const { devices } = await api.listDevices();
  await api.close();
  // The defaults: exporter-tagged devices only, client metrics on the simulator's port over loopback.
  const selections = makeSelector({
    scrapeTag: 'tag:exporter',
    requireExporterTag: true,
    targetDevices: [],
    excludeDevices: [],
    deviceTags: [],
    allowedCidrs: ['127.0.0.0/8'],
    port: sim.clientMetricsPort,
  })(devices);
  return { devices, selections };
}
