import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { startApp } from './app.js';
import { loadConfig } from './config/load.js';
import { VARIABLES } from './config/schema.js';
import { ConfigError } from './errors.js';
import { missingNodeFlags } from './heap.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';
import { TsnetError } from './tsnet/errors.js';

const USAGE = `Usage: tsmetrics [options]

Prometheus exporter for Tailscale networks. Configured by environment variables (and a .env file in the
working directory when present); see README.md or .env.example for every variable.

Options:
  --demo           run on the built-in simulated tailnet (no credentials needed)
  --check-config   validate the configuration, print it (secrets redacted) and exit
  --health-check   query the local /health endpoint; exit 0 when healthy, 1 otherwise
  --version        print the version and exit
  --help           print this help and exit

Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or the port is in use.
`;

/** The only place that exits the process. */
async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        demo: { type: 'boolean' },
        'check-config': { type: 'boolean' },
        'health-check': { type: 'boolean' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`tsmetrics: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`tsmetrics ${VERSION} (node ${process.version})\n`);
    return 0;
  }
  if (existsSync('.env')) {
    // Values already in the environment win over the file.
    process.loadEnvFile('.env');
  }
  if (args['health-check']) return healthCheck();

  let config;
  try {
    config = loadConfig(process.env, { demo: args.demo === true, readFile: (p) => readFileSync(p, 'utf8') });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tsmetrics: invalid configuration: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (args['check-config']) {
    const { redactedConfig } = await import('./config/redact.js');
    process.stdout.write(`${JSON.stringify(redactedConfig(config), null, 2)}\n`);
    return 0;
  }

  const log = createLogger(config.log);
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });

  const missing = missingNodeFlags();
  if (missing.length > 0) {
    log.info({ missing_node_flags: missing }, 'node was started without the memory flags bin/tsmetrics.js passes; peak memory will be higher');
  }

  // Signals are handled from here on, so a SIGTERM while tsnet waits for a login still stops tailscaled.
  const starting = new AbortController();
  let stopRequested: string | undefined;
  const early = (signal: string): void => {
    stopRequested = signal;
    starting.abort(new Error(`${signal} during start-up`));
  };
  process.once('SIGTERM', () => early('SIGTERM'));
  process.once('SIGINT', () => early('SIGINT'));

  let app;
  try {
    app = await startApp(config, log, VERSION, { signal: starting.signal });
  } catch (err) {
    if (stopRequested !== undefined) {
      log.info({ signal: stopRequested }, 'stopped during start-up');
      return 0;
    }
    if (err instanceof TsnetError) {
      process.stderr.write(`tsmetrics: tsnet mode: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`tsmetrics: invalid configuration: ${err.message}\n`);
      return 2;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const what = code === 'EADDRINUSE' ? 'is already in use' : code === 'EACCES' ? 'is not permitted' : 'is not an address of this host';
      process.stderr.write(`tsmetrics: cannot listen on ${config.listenHost}:${config.port}: the address ${what} (set PORT or BIND_HOST)\n`);
      return 2;
    }
    log.fatal({ err }, 'start-up failed');
    return 1;
  }

  process.removeAllListeners('SIGTERM');
  process.removeAllListeners('SIGINT');
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'shutting down');
      // Bounded: whatever hangs, the process is gone within 5 s.
      setTimeout(() => resolve(1), 5000).unref();
      app.stop().then(
        () => resolve(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGHUP', () => app.reloadExpectedDevices());
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}

async function healthCheck(): Promise<number> {
  const port = process.env.PORT ?? VARIABLES.find((v) => v.name === 'PORT')!.default!;
  const bind = process.env.BIND_HOST;
  const host = bind === undefined || bind === '' || bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/health`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    const body = (await res.json()) as { status?: string };
    process.stdout.write(`${res.status} ${body.status ?? ''}\n`);
    return res.status === 200 ? 0 : 1;
  } catch (err) {
    process.stdout.write(`unreachable: ${(err as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tsmetrics: fatal: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);
