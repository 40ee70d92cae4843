// `node dist/src/sim/main.js --headscale [--tag-model legacy|v028] [--scenario demo|names:a,b]
// [--api-port N] [--metrics-port N]`: the standalone simulated Headscale. Prints one JSON line (no
// secrets) and runs until SIGTERM/SIGINT. A fixed API key can be given through
// TSMETRICS_SIM_HEADSCALE_API_KEY so a separately started exporter can authenticate.
import { parseArgs } from 'node:util';
import { startHeadscale, type HeadscaleScenario, type HeadscaleTagModel, type StartHeadscaleOptions } from './index.js';
import { closeOnSignal, namesScenario, parsePort } from '../shared/cli.js';

export const HEADSCALE_USAGE =
  'usage: main.js --headscale [--tag-model legacy|v028] [--scenario demo|names:a,b,c] [--api-port N] [--metrics-port N]';

/** True when argv asks for the Headscale simulator instead of the Tailscale one. */
export function wantsHeadscale(argv: readonly string[]): boolean {
  return argv.includes('--headscale');
}

export async function runHeadscaleCli(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const sim = await startHeadscale(parseHeadscaleOptions(argv, env));
  process.stdout.write(
    `${JSON.stringify({
      headscaleUrl: sim.url,
      tagModel: sim.tagModel,
      clientMetricsPort: sim.clientMetricsPort,
      nodes: sim.nodes.length,
      users: sim.users.length,
    })}\n`,
  );
  closeOnSignal(() => sim.close());
}

export function parseHeadscaleOptions(argv: string[], env: NodeJS.ProcessEnv): StartHeadscaleOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      headscale: { type: 'boolean', default: false },
      'tag-model': { type: 'string', default: 'v028' },
      scenario: { type: 'string', default: 'demo' },
      'api-port': { type: 'string' },
      'metrics-port': { type: 'string' },
    },
  });
  const options: StartHeadscaleOptions = {
    tagModel: parseTagModel(values['tag-model'] ?? 'v028'),
    scenario: parseScenario(values.scenario ?? 'demo'),
  };
  const apiKey = env['TSMETRICS_SIM_HEADSCALE_API_KEY'];
  if (apiKey) options.apiKey = apiKey;
  if (values['api-port'] !== undefined) options.apiPort = parsePort(values['api-port']);
  if (values['metrics-port'] !== undefined) options.clientMetricsPort = parsePort(values['metrics-port']);
  return options;
}

function parseTagModel(text: string): HeadscaleTagModel {
  if (text === 'legacy' || text === 'v028') return text;
  throw new Error(`unknown tag model "${text}" (legacy or v028)`);
}

function parseScenario(text: string): HeadscaleScenario {
  if (text === 'demo') return text;
  const names = namesScenario(text);
  if (names !== null) return names;
  throw new Error(`unknown Headscale scenario "${text}"`);
}
