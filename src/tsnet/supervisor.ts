import type { ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { findTailscaleBinaries, type TailscaleBinaries } from './binaries.js';
import { TsnetError, TsnetStartError } from './errors.js';
import { LocalApiClient, type LocalStatus } from './localapi.js';
import { LoginReporter, runUp, waitForSocket, waitRunning, type LoginSettings, type UpHooks } from './login.js';
import { TsnetMachine, type Transition, type TsnetEvent, type TsnetState } from './machine.js';
import {
  abortable,
  describeExit,
  freeLoopbackPort,
  killChild,
  killGroup,
  lastLines,
  socksPortTaken,
  spawnProcess,
  stopGroup,
  type ExitInfo,
  type Spawned,
} from './process-group.js';
import { createSocksDispatcher, type ProxyTimeouts } from './proxy.js';
import { StateDir } from './state-dir.js';
import { checkTags } from './tags.js';

// tsnet mode. Node cannot embed Go's tsnet, so the exporter runs its own `tailscaled
// --tun=userspace-networking` as a child: a node of its own in the tailnet, reached by device scrapes
// through tailscaled's SOCKS5 server. This module starts it, logs it in, checks its tags, restarts it
// when it dies, and never leaves it behind: the Supervisor drives the state machine of machine.ts and does
// the I/O of each step through process-group.ts, state-dir.ts, login.ts and tags.ts.

export interface TsnetOptions {
  /** TAILSCALED_PATH; else `tailscaled` from PATH. */
  readonly tailscaledPath?: string | undefined;
  /** TAILSCALE_PATH; else `tailscale` from PATH. */
  readonly tailscalePath?: string | undefined;
  /** TSNET_STATE_DIR: created 0700; holds the socket, the state file and tailscaled's logs cache. */
  readonly stateDir: string;
  /** TSNET_HOSTNAME. */
  readonly hostname: string;
  /** TSNET_TAGS (with `tag:`): advertised with `tailscale up`, and required when requireExporterTag. */
  readonly tags: readonly string[];
  /** TS_AUTHKEY; without it the login URL is logged and the node waits for an interactive login. */
  readonly authKey?: string | undefined;
  /** REQUIRE_EXPORTER_TAG: the node must carry every TSNET_TAGS tag, or `tag:exporter` when there are none. */
  readonly requireExporterTag: boolean;
  /** TSNET_STATE_SECRET: keep the state in this Kubernetes Secret (`--state=kube:<name>`), not a file. */
  readonly stateSecret?: string | undefined;
  /** Called on every transition of isUp(). */
  readonly onStateChange?: ((up: boolean, reason: string) => void) | undefined;
  /** Timeouts of the requests made through the returned dispatcher (CLIENT_METRICS_TIMEOUT). */
  readonly proxyTimeouts?: ProxyTimeouts | undefined;
  /** Aborts a start that is still waiting (for a login, say): startTsnet then stops the child and rejects. */
  readonly signal?: AbortSignal | undefined;
  /** Environment of tailscaled and tailscale (and the PATH searched); process.env by default. */
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly timing?: Partial<TsnetTiming> | undefined;
}

export interface TsnetTiming {
  /** tailscaled must answer on its socket within this. */
  readonly socketWaitMs: number;
  /** `tailscale up --timeout` with an auth key. */
  readonly upTimeoutMs: number;
  /** After `tailscale up` succeeded, BackendState must be Running within this. */
  readonly runningWaitMs: number;
  /** Without an auth key: how long to wait for the interactive login; 0 = for ever. */
  readonly loginTimeoutMs: number;
  /** Status polls while starting. */
  readonly pollIntervalMs: number;
  /** Status polls while up (keeps isUp() and status() current). */
  readonly statusIntervalMs: number;
  /** Restart back-off: doubles from initial to max. */
  readonly backoffInitialMs: number;
  readonly backoffMaxMs: number;
  /** stop(): SIGTERM, then SIGKILL after this. */
  readonly stopTimeoutMs: number;
  readonly localApiTimeoutMs: number;
}

export const DEFAULT_TIMING: TsnetTiming = {
  socketWaitMs: 15_000,
  upTimeoutMs: 60_000,
  runningWaitMs: 30_000,
  loginTimeoutMs: 0,
  pollIntervalMs: 1_000,
  statusIntervalMs: 10_000,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
  stopTimeoutMs: 5_000,
  localApiTimeoutMs: 5_000,
};

export interface Tsnet {
  /** Pass to DeviceScraper: every connection goes through tailscaled's SOCKS5 server. Destroyed by stop(). */
  readonly dispatcher: Dispatcher;
  readonly localApi: LocalApiClient;
  readonly socketPath: string;
  /** tailscaled runs and its BackendState is Running. */
  isUp(): boolean;
  /** The last LocalAPI status seen (kept while down). */
  status(): LocalStatus | undefined;
  /** Fetches the status now (for a refresh cycle); never throws: undefined when tailscaled does not answer. */
  refreshStatus(): Promise<LocalStatus | undefined>;
  /** PID of the running tailscaled (its process group), if any. */
  pid(): number | undefined;
  /** The SOCKS5 port of the running tailscaled. */
  socksPort(): number;
  /** Restarts since start. */
  restarts(): number;
  /** SIGHUP: logged; the node, its state and a login in progress are kept (nothing in tsnet is reloadable). */
  reload(): void;
  /** SIGTERM, bounded wait, SIGKILL: tailscaled and anything it started are gone when this resolves. */
  stop(): Promise<void>;
}

/** Launches of one start or restart that may find their SOCKS5 port taken before another port is tried. */
const SOCKS_PORT_ATTEMPTS = 3;

/** One tailscaled process and what belongs to it. */
interface Generation {
  readonly daemon: Spawned;
  readonly socksPort: number;
  /** Aborts the launch of this generation (its daemon exited, or stop()). */
  readonly abort: AbortController;
  upProcess: ChildProcess | undefined;
}

/**
 * Starts tailscaled and resolves once the node is Running (and carries the required tags). Throws
 * TsnetBinaryNotFoundError / TsnetTagError (exit 2), TsnetStartError, or the signal's reason.
 */
export async function startTsnet(options: TsnetOptions, log: Logger): Promise<Tsnet> {
  const env = options.env ?? process.env;
  const binaries = findTailscaleBinaries({
    tailscaledPath: options.tailscaledPath,
    tailscalePath: options.tailscalePath,
    path: env.PATH,
  });
  const supervisor = new Supervisor(options, binaries, log);
  await supervisor.start();
  return supervisor.handle();
}

class Supervisor {
  readonly #o: TsnetOptions;
  readonly #t: TsnetTiming;
  readonly #bin: TailscaleBinaries;
  readonly #log: Logger;
  readonly #dir: StateDir;
  readonly #login: LoginSettings;
  readonly #reporter: LoginReporter;
  readonly #localApi: LocalApiClient;
  readonly #dispatcher: Dispatcher;
  readonly #machine: TsnetMachine;
  #gen: Generation | undefined;
  #status: LocalStatus | undefined;
  #socksPort = 0;
  #stopped: Promise<void> | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  readonly #onProcessExit = (): void => this.#killEverythingNow();

  constructor(options: TsnetOptions, binaries: TailscaleBinaries, log: Logger) {
    this.#o = options;
    this.#t = { ...DEFAULT_TIMING, ...options.timing };
    this.#bin = binaries;
    this.#log = log;
    this.#dir = new StateDir(options.stateDir);
    this.#login = {
      tailscale: binaries.tailscale,
      stateDir: this.#dir,
      hostname: options.hostname,
      tags: options.tags,
      authKey: options.authKey !== undefined && options.authKey !== '' ? options.authKey : undefined,
      env: options.env ?? process.env,
      upTimeoutMs: this.#t.upTimeoutMs,
      log,
    };
    this.#reporter = new LoginReporter(log, options.hostname);
    this.#localApi = new LocalApiClient({ socketPath: this.#dir.socketPath, timeoutMs: this.#t.localApiTimeoutMs });
    const timeouts = options.proxyTimeouts ?? { connectMs: 10_000, headersMs: 10_000, bodyMs: 10_000 };
    this.#dispatcher = createSocksDispatcher({ port: () => this.#socksPort, isUp: () => this.isUp(), timeouts });
    this.#machine = new TsnetMachine({ initialMs: this.#t.backoffInitialMs, maxMs: this.#t.backoffMaxMs });
  }

  handle(): Tsnet {
    return {
      dispatcher: this.#dispatcher,
      localApi: this.#localApi,
      socketPath: this.#dir.socketPath,
      isUp: () => this.isUp(),
      status: () => this.#status,
      refreshStatus: () => this.#poll(),
      pid: () => (this.#gen?.daemon.exit() === undefined ? this.#gen?.daemon.pid : undefined),
      socksPort: () => this.#socksPort,
      restarts: () => this.#machine.restarts,
      reload: () => {
        this.#send('reload', 'SIGHUP');
        this.#log.info({ state: this.#machine.state }, 'SIGHUP: the tsnet node keeps running as it is');
      },
      stop: () => this.stop(),
    };
  }

  isUp(): boolean {
    return this.#machine.state === 'up';
  }

  #is(...states: TsnetState[]): boolean {
    return states.includes(this.#machine.state);
  }

  /**
   * The only way the state changes. An event the table does not allow in the current state is a bug: it is
   * logged and changes nothing. Leaving or entering `up` is reported to onStateChange (stop() excepted).
   */
  #send(event: TsnetEvent, reason: string): Transition | undefined {
    const transition = this.#machine.send(event);
    if (transition === undefined) {
      this.#log.error({ state: this.#machine.state, event, reason }, 'tsnet: event not allowed in this state; ignored');
      return undefined;
    }
    const { from, to } = transition;
    if (from !== to) this.#log.debug({ from, to, event, reason }, 'tsnet state');
    if ((from === 'up') !== (to === 'up') && to !== 'stopping') {
      if (to !== 'up') this.#log.warn({ reason }, 'tsnet is down');
      try {
        this.#o.onStateChange?.(to === 'up', reason);
      } catch (err) {
        this.#log.error({ err }, 'tsnet onStateChange callback threw');
      }
    }
    return transition;
  }

  async start(): Promise<void> {
    this.#dir.prepare(this.#log);
    await this.#dir.reapLeftover(this.#t.stopTimeoutMs, this.#log);
    process.on('exit', this.#onProcessExit);
    try {
      this.#o.signal?.throwIfAborted();
      this.#send('start', 'start');
      await this.#launch(this.#o.signal);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#schedulePoll();
  }

  /**
   * Spawns tailscaled and brings it to Running, on a new SOCKS5 port while the chosen one turns out to be taken;
   * on failure the last generation is left for the caller to kill.
   */
  async #launch(outer: AbortSignal | undefined): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const gen = await this.#spawn();
      try {
        await this.#bringUp(gen, outer);
        return;
      } catch (err) {
        if (attempt >= SOCKS_PORT_ATTEMPTS || !(await this.#lostSocksPort(gen))) throw err;
        this.#log.warn(
          { socks_port: gen.socksPort, attempt },
          'the SOCKS5 port was taken before tailscaled could bind it; launching it again on another port',
        );
        await this.#killGeneration(gen);
        if (!this.#is('starting')) throw err;
        this.#send('retry', `SOCKS5 port ${gen.socksPort} was taken`);
      }
    }
  }

  /** Whether the generation's daemon exited while starting because its SOCKS5 port was taken. */
  async #lostSocksPort(gen: Generation): Promise<boolean> {
    if (!this.#is('starting') || gen.daemon.exit() === undefined) return false;
    // 'exit' can come before the last output lines: wait (bounded) for the streams to end.
    await abortable(gen.daemon.outputEnded, AbortSignal.timeout(1_000)).catch(() => undefined);
    return this.#is('starting') && socksPortTaken(gen.daemon.output);
  }

  async #bringUp(gen: Generation, outer: AbortSignal | undefined): Promise<void> {
    const signal = outer ? AbortSignal.any([outer, gen.abort.signal]) : gen.abort.signal;
    this.#status = await waitForSocket(this.#localApi, this.#t.socketWaitMs, gen.daemon.output, signal);
    await runUp(this.#login, signal, this.#upHooks(gen));
    signal.throwIfAborted();
    this.#send(
      'launched',
      this.#login.authKey === undefined ? '`tailscale up` waits for a login' : '`tailscale up` done',
    );
    const interactive = this.#login.authKey === undefined;
    const status = await waitRunning(
      this.#localApi,
      {
        interactive,
        limitMs: interactive ? this.#t.loginTimeoutMs : this.#t.runningWaitMs,
        pollIntervalMs: this.#t.pollIntervalMs,
      },
      this.#reporter,
      gen.daemon.output,
      signal,
      { get: () => this.#status, set: (s) => (this.#status = s) },
    );
    checkTags(status, {
      requireExporterTag: this.#o.requireExporterTag,
      tags: this.#o.tags,
      hostname: this.#o.hostname,
    });
    // tailscaled may have exited during the last await: then this generation is not up (and is restarted).
    signal.throwIfAborted();
    this.#send('running', 'tailscaled is Running');
    this.#log.info(
      {
        hostname: status.Self?.DNSName.replace(/\.$/, '') || this.#o.hostname,
        tailscale_ips: status.Self?.TailscaleIPs ?? [],
        tags: status.Self?.Tags ?? [],
        socks_port: gen.socksPort,
        pid: gen.daemon.pid,
      },
      'tsnet node is up',
    );
  }

  #upHooks(gen: Generation): UpHooks {
    return {
      started: (up) => (gen.upProcess = up),
      finished: (up) => {
        if (gen.upProcess === up) gen.upProcess = undefined;
      },
      // Interactive `tailscale up` failed while this generation still waits for its login: the launch fails.
      failed: (err) => {
        if (gen === this.#gen && gen.daemon.exit() === undefined && this.#is('starting', 'login')) gen.abort.abort(err);
      },
    };
  }

  async #spawn(): Promise<Generation> {
    const socksPort = await freeLoopbackPort();
    if (this.#is('stopping', 'stopped')) throw new TsnetError('TSM_TSNET_DOWN', 'tsnet is stopping', 1);
    this.#socksPort = socksPort;
    const args = [
      '--tun=userspace-networking',
      `--statedir=${this.#dir.path}`,
      ...(this.#o.stateSecret !== undefined && this.#o.stateSecret !== ''
        ? [`--state=kube:${this.#o.stateSecret}`]
        : []),
      `--socket=${this.#dir.socketPath}`,
      `--socks5-server=127.0.0.1:${socksPort}`,
      '--port=0',
    ];
    // eslint-disable-next-line prefer-const -- assigned below, after the exit handler that reads it is made
    let gen!: Generation;
    const daemon = spawnProcess(this.#bin.tailscaled, args, {
      env: this.#o.env ?? process.env,
      cwd: this.#dir.path,
      group: true,
      source: 'tailscaled',
      log: this.#log,
      onExit: (info) => this.#onDaemonExit(gen, info),
    });
    gen = { daemon, socksPort, abort: new AbortController(), upProcess: undefined };
    this.#gen = gen;
    if (daemon.pid !== undefined) this.#dir.writePid(daemon.pid);
    this.#log.debug({ pid: daemon.pid, args, socks_port: socksPort }, 'tailscaled started');
    return gen;
  }

  #onDaemonExit(gen: Generation, info: ExitInfo): void {
    const how = describeExit(info);
    gen.abort.abort(new TsnetStartError(`tailscaled ${how} before the node was up${lastLines(gen.daemon.output)}`));
    killGroup(gen.daemon.pid, 'SIGKILL'); // whatever it started goes with it
    killChild(gen.upProcess);
    // Only a daemon that had been up is restarted from here; a failed launch schedules its own retry.
    if (gen !== this.#gen || !this.#is('up', 'degraded')) return;
    const transition = this.#send('exited', `tailscaled ${how}`);
    this.#log.warn(
      { pid: gen.daemon.pid, exit: how, output: gen.daemon.output.slice(-5) },
      'tailscaled exited; restarting it',
    );
    this.#scheduleRestart(transition);
  }

  #scheduleRestart(transition: Transition | undefined): void {
    if (transition?.delayMs === undefined) return;
    this.#log.info(
      { delay_ms: transition.delayMs, attempt: transition.attempt },
      'restarting tailscaled after a back-off',
    );
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.#restart(), transition.delayMs);
  }

  async #restart(): Promise<void> {
    if (this.#send('restart', 'back-off elapsed') === undefined) return;
    try {
      await this.#launch(undefined);
    } catch (err) {
      if (this.#is('stopping', 'stopped')) return;
      this.#log.error({ err }, 'tailscaled restart failed');
      const transition = this.#send('failed', (err as Error).message);
      const gen = this.#gen;
      if (gen !== undefined) await this.#killGeneration(gen);
      if (this.#is('backoff')) this.#scheduleRestart(transition);
    }
  }

  #schedulePoll(): void {
    if (this.#is('stopping', 'stopped')) return;
    this.#pollTimer = setTimeout(() => {
      void this.#poll().finally(() => this.#schedulePoll());
    }, this.#t.statusIntervalMs);
  }

  /** While tailscaled runs: keeps status() current and, once it had been up, isUp() true only while Running. */
  async #poll(): Promise<LocalStatus | undefined> {
    const gen = this.#gen;
    if (this.#is('stopping', 'stopped') || gen === undefined || gen.daemon.exit() !== undefined) return undefined;
    try {
      const status = await this.#localApi.status();
      if (gen !== this.#gen || gen.daemon.exit() !== undefined) return status;
      this.#status = status;
      if (this.#is('up', 'degraded')) {
        if (status.BackendState === 'Running') {
          this.#reporter.running();
          this.#send('running', 'tailscaled is Running again');
        } else {
          this.#send('not-running', `BackendState is ${status.BackendState}`);
          this.#reporter.report(status);
        }
      }
      return status;
    } catch (err) {
      if (gen === this.#gen && gen.daemon.exit() === undefined && this.#is('up', 'degraded')) {
        this.#send('not-running', `LocalAPI does not answer: ${(err as Error).message}`);
      }
      return undefined;
    }
  }

  /** tailscaled, whatever it started and `tailscale up` are gone when this resolves (bounded, logged if not). */
  #killGeneration(gen: Generation): Promise<void> {
    return stopGroup(gen.daemon, gen.upProcess, this.#t.stopTimeoutMs, this.#log);
  }

  /** process 'exit': only synchronous work is possible, so the whole group gets SIGKILL. */
  #killEverythingNow(): void {
    const gen = this.#gen;
    if (gen === undefined) return;
    killChild(gen.upProcess);
    // An exited generation's group was killed when it exited; its PID may belong to someone else by now.
    if (gen.daemon.exit() === undefined) killGroup(gen.daemon.pid, 'SIGKILL');
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#send('stop', 'stop()');
      clearTimeout(this.#restartTimer);
      clearTimeout(this.#pollTimer);
      const gen = this.#gen;
      if (gen !== undefined) {
        gen.abort.abort(new TsnetError('TSM_TSNET_DOWN', 'tsnet is stopping', 1));
        await this.#killGeneration(gen);
      }
      this.#dir.removePid();
      await this.#dispatcher.destroy().catch(() => undefined);
      process.off('exit', this.#onProcessExit);
      this.#send('stopped', 'tailscaled and its process group are gone');
      this.#log.debug({ pid: gen?.daemon.pid }, 'tsnet stopped');
    })();
    return this.#stopped;
  }
}
