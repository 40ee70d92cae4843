// `node dist/src/sim/main.js [--scenario demo] [--api-port N] [--metrics-port N]
// [--granted-scopes devices:core:read,users:read|all] [--key-list-ids-only]`: the standalone simulated tailnet.
// Prints one JSON line (no secrets) and runs until SIGTERM/SIGINT. Fixed credentials can be given
// through TSMETRICS_SIM_CLIENT_ID, TSMETRICS_SIM_CLIENT_SECRET and TSMETRICS_SIM_API_KEY, so a
// separately started exporter can authenticate without the secret ever being printed.
import { parseArgs } from 'node:util';
import { closeOnSignal, namesScenario, parsePort } from '../shared/cli.js';
import type { Scenario } from './scenarios.js';
import { startTailnet, type StartTailnetOptions } from './index.js';

export const TAILSCALE_USAGE =
  'usage: main.js [--scenario demo|edge-cases|count:N|names:a,b,c] [--api-port N] [--metrics-port N]' +
  ' [--granted-scopes a,b|all] [--key-list-ids-only]';

export async function runTailscaleCli(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const options = parseOptions(argv, env);
  const sim = await startTailnet(options);
  process.stdout.write(
    `${JSON.stringify({
      apiUrl: sim.apiUrl,
      tailnet: sim.tailnet,
      clientId: sim.clientId,
      clientMetricsPort: sim.clientMetricsPort,
      devices: sim.devices.length,
    })}\n`,
  );
  closeOnSignal(() => sim.close());
}

function parseOptions(argv: string[], env: NodeJS.ProcessEnv): StartTailnetOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string', default: 'demo' },
      'api-port': { type: 'string' },
      'metrics-port': { type: 'string' },
      'granted-scopes': { type: 'string' },
      'key-list-ids-only': { type: 'boolean', default: false },
    },
  });
  const options: StartTailnetOptions = {
    scenario: parseScenario(values.scenario ?? 'demo'),
    credentials: {
      ...(env['TSMETRICS_SIM_CLIENT_ID'] ? { clientId: env['TSMETRICS_SIM_CLIENT_ID'] } : {}),
      ...(env['TSMETRICS_SIM_CLIENT_SECRET'] ? { clientSecret: env['TSMETRICS_SIM_CLIENT_SECRET'] } : {}),
      ...(env['TSMETRICS_SIM_API_KEY'] ? { apiKey: env['TSMETRICS_SIM_API_KEY'] } : {}),
    },
  };
  if (values['api-port'] !== undefined) options.apiPort = parsePort(values['api-port']);
  if (values['metrics-port'] !== undefined) options.clientMetricsPort = parsePort(values['metrics-port']);
  const scopes = values['granted-scopes'];
  if (scopes !== undefined)
    options.grantedScopes = scopes === 'all' ? 'all' : scopes.split(/[\s,]+/).filter((s) => s !== '');
  options.keyListIdsOnly = values['key-list-ids-only'] ?? false;
  return options;
}

function parseScenario(text: string): Scenario {
  if (text === 'demo' || text === 'edge-cases') return text;
  if (text.startsWith('count:')) return { count: Number(text.slice('count:'.length)) };
  const names = namesScenario(text);
  if (names !== null) return names;
  throw new Error(`unknown scenario "${text}"`);
}
