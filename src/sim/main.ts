// The standalone simulators: `node dist/src/sim/main.js [options]` runs the simulated tailnet (tailscale/cli.ts),
// `node dist/src/sim/main.js --headscale [options]` the simulated Headscale (headscale/cli.ts). Bad options: the
// message and the usage on stderr, exit code 2.
import { HEADSCALE_USAGE, runHeadscaleCli, wantsHeadscale } from './headscale/cli.js';
import { runTailscaleCli, TAILSCALE_USAGE } from './tailscale/cli.js';

const argv = process.argv.slice(2);
const headscale = wantsHeadscale(argv);
(headscale ? runHeadscaleCli(argv, process.env) : runTailscaleCli(argv, process.env)).catch((err: unknown) => {
  process.stderr.write(
    `${err instanceof Error ? err.message : String(err)}\n${headscale ? HEADSCALE_USAGE : TAILSCALE_USAGE}\n`,
  );
  process.exitCode = 2;
});
