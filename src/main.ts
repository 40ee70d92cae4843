import { readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { startApp, type App } from './app.js';
import { loadConfig } from './config/load.js';
import { VARIABLES } from './config/schema.js';
import { ConfigError, errorCode } from './errors.js';
import { startDemo } from './demo.js';
import { missingNodeFlags, tuneHeapGrowth } from './heap.js';
import { createLogger } from './log.js';
import { VERSION } from './version.js';
import { TsnetError } from './tsnet/errors.js';
import { CloseStack } from './util/close-stack.js';

const USAGE = `Usage: tsmetrics [options]

Prometheus exporter for Tailscale networks. Configured by environment variables (and a .env file in the
working directory when present); see README.md or .env.example for every variable.

Options:
  --demo           run on the built-in simulated tailnet (no credentials needed)
  --check-config   validate the configuration, print it (secrets redacted) and exit
  --health-check   query the local /livez endpoint (liveness); exit 0 when it answers 200, 1 otherwise
  --web.config.file=FILE  exporter-toolkit web config (TLS, basic auth); same as WEB_CONFIG_FILE
  --version        print the version and exit
  --help           print this help and exit

Exit codes: 0 ok, 1 runtime failure, 2 bad configuration or the port is in use.
`;

/**
 * How long a stop may take before the process exits anyway: the HTTP server's 2 s grace for open scrapes, then
 * tailscaled's 3 s to stop plus its kill, inside Docker's default 10 s before SIGKILL.
 */
const STOP_BUDGET_MS = 8_000;

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
        'web.config.file': { type: 'string' },
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
  // Signals are handled from here on, before anything starts: a SIGHUP or SIGTERM while tsnet waits for a
  // login must neither kill the process (Node's default for SIGHUP) nor leave tailscaled behind.
  const signals = new SignalRouter();
  const envFile = statSync('.env', { throwIfNoEntry: false });
  if (envFile !== undefined) {
    try {
      if (!envFile.isFile())
        throw Object.assign(new Error('not a file'), { code: envFile.isDirectory() ? 'EISDIR' : 'not a regular file' });
      // Values already in the environment win over the file.
      process.loadEnvFile('.env');
    } catch (err) {
      process.stderr.write(
        `tsmetrics: cannot read .env in ${process.cwd()}: ${errorCode(err) ?? (err as Error).message}; it must be a readable file of NAME=value lines\n`,
      );
      return 2;
    }
  }
  // The flag wins over the environment, as flags do in node_exporter.
  if (args['web.config.file'] !== undefined) process.env.WEB_CONFIG_FILE = args['web.config.file'];
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
  signals.log = log;
  process.on('unhandledRejection', (reason) => log.error({ err: reason }, 'unhandled promise rejection'));
  process.on('uncaughtException', (err) => {
    log.fatal({ err }, 'uncaught exception; exiting');
    process.exit(1);
  });
  // Node prints warnings as free text on stderr; here they join the structured log. Known experimental
  // APIs we use on purpose (undici's SOCKS5 agent in tsnet mode) are debug-level noise, not warnings.
  process.removeAllListeners('warning');
  process.on('warning', (w) =>
    log[w.name === 'ExperimentalWarning' ? 'debug' : 'warn']({ warning: w.name, detail: w.message }, 'node warning'),
  );

  const missing = missingNodeFlags();
  if (missing.length > 0) {
    log.info(
      { missing_node_flags: missing },
      'node was started without the memory flags bin/tsmetrics.js passes; peak memory will be higher',
    );
  }

  // A process-wide V8 setting: the process's to choose, before anything allocates for the app.
  tuneHeapGrowth();

  // One stack for everything started from here on: app.stop() closes it, last started first.
  const closes = new CloseStack(log);
  let app: App;
  try {
    // Simulator mode: the simulated tailnet starts first and the app runs on its endpoints, as on a real one.
    const demo = await startDemo(config, log, closes);
    app = await startApp(demo.config, log, VERSION, { signal: signals.starting.signal, closes });
  } catch (err) {
    if (signals.stopRequested !== undefined) {
      log.info({ signal: signals.stopRequested }, 'stopped during start-up');
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
    const code = errorCode(err);
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      const what =
        code === 'EADDRINUSE'
          ? 'is already in use'
          : code === 'EACCES'
            ? 'is not permitted'
            : 'is not an address of this host';
      process.stderr.write(
        `tsmetrics: cannot listen on ${config.listenHost}:${config.port}: the address ${what} (set PORT or BIND_HOST)\n`,
      );
      return 2;
    }
    log.fatal({ err }, 'start-up failed');
    return 1;
  }
  return signals.run(app, log);
}

/**
 * Owns SIGTERM, SIGINT and SIGHUP for the whole life of the process. During start-up a stop aborts the start
 * and a reload is held until the app is running; once running, a stop is bounded in time.
 */
class SignalRouter {
  readonly starting = new AbortController();
  stopRequested: NodeJS.Signals | undefined;
  log: Logger | undefined;
  #app: App | undefined;
  #reloadHeld = false;
  #stop: ((signal: NodeJS.Signals) => void) | undefined;

  constructor() {
    process.on('SIGTERM', (s) => this.#onStop(s));
    process.on('SIGINT', (s) => this.#onStop(s));
    process.on('SIGHUP', () => this.#onReload());
  }

  #onStop(signal: NodeJS.Signals): void {
    if (this.#stop !== undefined) return this.#stop(signal);
    if (this.stopRequested !== undefined) return;
    this.stopRequested = signal;
    this.starting.abort(new Error(`${signal} during start-up`));
    // Nothing has started yet (config check, health check): nothing to clean up.
    if (this.log === undefined) process.exit(0);
  }

  #onReload(): void {
    if (this.#app !== undefined) return this.#app.reloadExpectedDevices();
    if (this.stopRequested !== undefined || this.#reloadHeld) return;
    this.#reloadHeld = true;
    this.log?.info({ signal: 'SIGHUP' }, 'SIGHUP during start-up: the reload runs once start-up has finished');
  }

  /** Serves until SIGTERM or SIGINT; resolves with the exit code. */
  run(app: App, log: Logger): Promise<number> {
    this.#app = app;
    if (this.#reloadHeld) app.reloadExpectedDevices();
    return new Promise<number>((resolve) => {
      this.#stop = (signal) => {
        if (this.stopRequested !== undefined) return;
        this.stopRequested = signal;
        log.info({ signal }, 'shutting down');
        // Bounded: whatever hangs, the process is gone within STOP_BUDGET_MS.
        setTimeout(() => resolve(1), STOP_BUDGET_MS).unref();
        app.stop().then(
          () => resolve(0),
          (err: unknown) => {
            log.error({ err }, 'shutdown failed');
            resolve(1);
          },
        );
      };
      // A signal that arrived between the end of start-up and now.
      if (this.stopRequested !== undefined) {
        const early = this.stopRequested;
        this.stopRequested = undefined;
        this.#stop(early);
      }
    });
  }
}

/**
 * `--health-check` for container HEALTHCHECKs: liveness, like the Kubernetes probes. It asks /livez (the process
 * answers HTTP), not /health, which turns 503 during an API outage while the exporter still serves its last good
 * data: restarting the container then would lose that data and fix nothing.
 */
async function healthCheck(): Promise<number> {
  const port = process.env.PORT ?? VARIABLES.find((v) => v.name === 'PORT')!.default!;
  const bind = process.env.BIND_HOST;
  const host = bind === undefined || bind === '' || bind === '0.0.0.0' ? '127.0.0.1' : bind === '::' ? '::1' : bind;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/livez`;
  // With TLS on (WEB_CONFIG_FILE), the same check over https.
  const { checkHealth } = await import('./server/health-check.js');
  const result = await checkHealth(url, process.env.WEB_CONFIG_FILE || undefined);
  process.stdout.write(`${result.line}\n`);
  return result.ok ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`tsmetrics: fatal: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
