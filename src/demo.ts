import type { Logger } from 'pino';
import type { BackendName } from './config/backends.js';
import type { Config } from './config/load.js';
import type { SimHeadscale, StartHeadscaleOptions } from './sim/headscale/index.js';
import type { SimTailnet, StartTailnetOptions } from './sim/tailscale/index.js';
import type { CloseStack } from './util/close-stack.js';

// Simulator mode (--demo, TEST_DEVICES) for the composition root: starts the simulated control server and its
// devices on loopback and points the config at them, so the app gets ordinary endpoints and credentials and
// never knows. The simulator is loaded only in this mode: a real deployment does not carry it in memory.

export interface Demo {
  /** The config the app runs on: the one given, pointed at the simulator in simulator mode. */
  readonly config: Config;
  readonly tailnet: SimTailnet | undefined;
  /** BACKEND=headscale in simulator mode: the simulated Headscale. */
  readonly headscale: SimHeadscale | undefined;
}

/** Starts the simulator when the config asks for it (its close goes on `closes`); else passes the config through. */
export async function startDemo(config: Config, log: Logger, closes: CloseStack): Promise<Demo> {
  const mode = config.simulator;
  if (mode === undefined) return { config, tailnet: undefined, headscale: undefined };
  const scenario = 'scenario' in mode ? mode.scenario : { names: [...mode.names] };
  return SIMULATORS[config.backend](config, scenario, log, closes);
}

type Scenario = NonNullable<StartTailnetOptions>['scenario'] & NonNullable<StartHeadscaleOptions>['scenario'];

/** Each backend's simulator (the backend table's counterpart in simulator mode). */
const SIMULATORS: Readonly<
  Record<BackendName, (config: Config, scenario: Scenario, log: Logger, closes: CloseStack) => Promise<Demo>>
> = {
  async headscale(config, scenario, log, closes) {
    const { startHeadscale } = await import('./sim/headscale/index.js');
    const headscale = await startHeadscale({ scenario });
    closes.push('simulated Headscale', () => headscale.close());
    log.info(
      { headscale_url: headscale.url, nodes: headscale.nodes.length },
      'running on the built-in simulated Headscale',
    );
    return {
      config: {
        ...config,
        headscale: { url: headscale.url, apiKey: headscale.apiKey, ca: undefined },
        scrapeAllowedCidrs: ['127.0.0.0/8'],
        clientMetrics: { ...config.clientMetrics, port: headscale.clientMetricsPort },
      },
      tailnet: undefined,
      headscale,
    };
  },
  async tailscale(config, scenario, log, closes) {
    const { startTailnet } = await import('./sim/tailscale/index.js');
    const tailnet = await startTailnet({ scenario });
    closes.push('simulated tailnet', () => tailnet.close());
    log.info({ api_url: tailnet.apiUrl, devices: tailnet.devices.length }, 'running on the built-in simulated tailnet');
    // The simulated devices live on 127.0.0.N, one port for all, exactly as a tailnet's devices on :5252.
    return {
      config: {
        ...config,
        apiUrl: tailnet.apiUrl,
        tailnet: tailnet.tailnet,
        auth: { kind: 'oauth', clientId: tailnet.clientId, clientSecret: tailnet.clientSecret },
        scrapeAllowedCidrs: ['127.0.0.0/8'],
        clientMetrics: { ...config.clientMetrics, port: tailnet.clientMetricsPort },
      },
      tailnet,
      headscale: undefined,
    };
  },
};
