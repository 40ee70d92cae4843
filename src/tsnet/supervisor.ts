import { spawn, type ChildProcess } from 'node:child_process';
import { backoffDelayMs } from '../util/backoff.js';
import { sleep } from '../util/sleep.js';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import type { Dispatcher } from 'undici';
import { findTailscaleBinaries } from './binaries.js';
import { TsnetError, TsnetStartError, TsnetTagError } from './errors.js';
import { LocalApiClient, type LocalStatus } from './localapi.js';
import { createSocksDispatcher, type ProxyTimeouts } from './proxy.js';

// tsnet mode. Node cannot embed Go's tsnet, so the exporter runs its own `tailscaled
// --tun=userspace-networking` as a child: a node of its own in the tailnet, reached by device scrapes
// through tailscaled's SOCKS5 server. This module starts it, logs it in, checks its tags, restarts it
// when it dies, and never leaves it behind.

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
  /** SIGTERM, bounded wait, SIGKILL: tailscaled and anything it started are gone when this resolves. */
  stop(): Promise<void>;
}

/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
const MAX_SOCKET_PATH = 107;
const OUTPUT_LINES_KEPT = 20;

interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** One tailscaled process and what belongs to it. */
interface Generation {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly socksPort: number;
  readonly exited: Promise<ExitInfo>;
  readonly abort: AbortController;
  readonly output: string[];
  exit: ExitInfo | undefined;
  upProcess: ChildProcess | undefined;
  upSince: number | undefined;
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
  readonly #bin: { tailscaled: string; tailscale: string };
  readonly #log: Logger;
  readonly #stateDir: string;
  readonly #socketPath: string;
  /** PID of our tailscaled (its process group), so a start after an unclean exit can end a leftover one. */
  readonly #pidFile: string;
  readonly #localApi: LocalApiClient;
  readonly #dispatcher: Dispatcher;
  #gen: Generation | undefined;
  #up = false;
  #status: LocalStatus | undefined;
  #stopping = false;
  #stopped: Promise<void> | undefined;
  #attempt = 0;
  #restarts = 0;
  #socksPort = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #loggedAuthUrl = '';
  #loggedNotRunning = '';
  readonly #onProcessExit = (): void => this.#killEverythingNow();

  constructor(options: TsnetOptions, binaries: { tailscaled: string; tailscale: string }, log: Logger) {
    this.#o = options;
    this.#t = { ...DEFAULT_TIMING, ...options.timing };
    this.#bin = binaries;
    this.#log = log;
    this.#stateDir = resolve(options.stateDir);
    this.#socketPath = join(this.#stateDir, 'tailscaled.sock');
    this.#pidFile = join(this.#stateDir, 'tsmetrics-tailscaled.pid');
    this.#localApi = new LocalApiClient({ socketPath: this.#socketPath, timeoutMs: this.#t.localApiTimeoutMs });
    const timeouts = options.proxyTimeouts ?? { connectMs: 10_000, headersMs: 10_000, bodyMs: 10_000 };
    this.#dispatcher = createSocksDispatcher({ port: () => this.#socksPort, isUp: () => this.isUp(), timeouts });
  }

  handle(): Tsnet {
    return {
      dispatcher: this.#dispatcher,
      localApi: this.#localApi,
      socketPath: this.#socketPath,
      isUp: () => this.isUp(),
      status: () => this.#status,
      refreshStatus: () => this.#poll(),
      pid: () => (this.#gen?.exit === undefined ? this.#gen?.pid : undefined),
      socksPort: () => this.#socksPort,
      restarts: () => this.#restarts,
      stop: () => this.stop(),
    };
  }

  isUp(): boolean {
    return this.#up && this.#gen !== undefined && this.#gen.exit === undefined;
  }

  async start(): Promise<void> {
    if (Buffer.byteLength(this.#socketPath) > MAX_SOCKET_PATH) {
      throw new TsnetStartError(
        `TSNET_STATE_DIR=${JSON.stringify(this.#o.stateDir)} is too long: the LocalAPI socket path ${this.#socketPath} exceeds ${MAX_SOCKET_PATH} bytes`,
      );
    }
    mkdirSync(this.#stateDir, { recursive: true, mode: 0o700 });
    try {
      chmodSync(this.#stateDir, 0o700);
    } catch (err) {
      this.#log.warn({ err, dir: this.#stateDir }, 'cannot restrict the tsnet state directory to mode 0700');
    }
    this.#removeStaleKeyFiles();
    await this.#reapLeftover();
    process.on('exit', this.#onProcessExit);
    try {
      this.#o.signal?.throwIfAborted();
      await this.#launch(this.#o.signal);
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.#schedulePoll();
  }

  /** Auth key files of a run that died between writing and removing one. */
  #removeStaleKeyFiles(): void {
    for (const name of readdirSync(this.#stateDir)) {
      if (name.startsWith('.authkey-')) rmSync(join(this.#stateDir, name), { force: true });
    }
  }

  /**
   * A tailscaled of ours that outlived its exporter (killed with SIGKILL, so no 'exit' handler ran) would
   * share the state and the socket with the new one. It is ended, but only when the PID file's process
   * still is a tailscaled serving our socket (checked in /proc, so a reused PID is never signalled).
   */
  async #reapLeftover(): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.#pidFile, 'utf8').trim());
    } catch {
      return;
    }
    rmSync(this.#pidFile, { force: true });
    if (!Number.isInteger(pid) || pid <= 1) return;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return; // gone, or no /proc to confirm it is ours
    }
    if (!cmdline.split('\0').includes(`--socket=${this.#socketPath}`)) return;
    this.#log.warn({ pid }, 'ending a tailscaled left over from an earlier run of the exporter');
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + this.#t.stopTimeoutMs;
    while (Date.now() < deadline && processExists(pid)) await sleep(50);
    killGroup(pid, 'SIGKILL');
  }

  /** Spawns tailscaled and brings it to Running; on failure the generation is left for the caller to kill. */
  async #launch(outer: AbortSignal | undefined): Promise<void> {
    const gen = await this.#spawn();
    const signal = outer ? AbortSignal.any([outer, gen.abort.signal]) : gen.abort.signal;
    await this.#waitForSocket(gen, signal);
    await this.#runUp(gen, signal);
    const status = await this.#waitRunning(gen, signal);
    this.#checkTags(status);
    // tailscaled may have exited during the last await: then this generation is not up (and is restarted).
    signal.throwIfAborted();
    gen.upSince = Date.now();
    this.#setUp(true, 'tailscaled is Running');
    this.#log.info(
      {
        hostname: status.Self?.DNSName.replace(/\.$/, '') || this.#o.hostname,
        tailscale_ips: status.Self?.TailscaleIPs ?? [],
        tags: status.Self?.Tags ?? [],
        socks_port: gen.socksPort,
        pid: gen.pid,
      },
      'tsnet node is up',
    );
  }

  async #spawn(): Promise<Generation> {
    const socksPort = await freeLoopbackPort();
    if (this.#stopping) throw new TsnetError('TSM_TSNET_DOWN', 'tsnet is stopping', 1);
    this.#socksPort = socksPort;
    const args = [
      '--tun=userspace-networking',
      `--statedir=${this.#stateDir}`,
      ...(this.#o.stateSecret !== undefined && this.#o.stateSecret !== ''
        ? [`--state=kube:${this.#o.stateSecret}`]
        : []),
      `--socket=${this.#socketPath}`,
      `--socks5-server=127.0.0.1:${socksPort}`,
      '--port=0',
    ];
    // Its own process group, so stop() can signal tailscaled and anything it started at once.
    const child = spawn(this.#bin.tailscaled, args, {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: this.#o.env ?? process.env,
      cwd: this.#stateDir,
    });
    const output: string[] = [];
    const abort = new AbortController();
    // eslint-disable-next-line prefer-const -- assigned below, after the exit promise that reads it is made
    let gen!: Generation;
    const exited = new Promise<ExitInfo>((resolveExit) => {
      const done = (info: ExitInfo): void => {
        if (gen.exit !== undefined) return;
        gen.exit = info;
        resolveExit(info);
        this.#onChildExit(gen, info);
      };
      child.once('exit', (code, sig) => done({ code, signal: sig }));
      child.once('error', (error) => done({ code: null, signal: null, error }));
    });
    gen = {
      child,
      pid: child.pid,
      socksPort,
      exited,
      abort,
      output,
      exit: undefined,
      upProcess: undefined,
      upSince: undefined,
    };
    this.#gen = gen;
    if (child.pid !== undefined) writeFileSync(this.#pidFile, `${child.pid}\n`, { mode: 0o600 });
    this.#pipeOutput(child, 'tailscaled', output);
    this.#log.debug({ pid: child.pid, args, socks_port: socksPort }, 'tailscaled started');
    return gen;
  }

  #pipeOutput(child: ChildProcess, source: string, kept: string[]): void {
    for (const stream of [child.stdout, child.stderr]) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Infinity }).on('line', (raw) => {
        const line = raw.length > 500 ? `${raw.slice(0, 500)}...` : raw;
        kept.push(line);
        if (kept.length > OUTPUT_LINES_KEPT) kept.shift();
        this.#log.debug({ source, line }, 'tsnet child output');
      });
    }
  }

  #onChildExit(gen: Generation, info: ExitInfo): void {
    const how = describeExit(info);
    gen.abort.abort(new TsnetStartError(`tailscaled ${how} before the node was up${lastLines(gen.output)}`));
    killGroup(gen.pid, 'SIGKILL'); // whatever it started goes with it
    killChild(gen.upProcess);
    if (this.#stopping || gen !== this.#gen) return;
    const wasUp = this.#up;
    this.#setUp(false, `tailscaled ${how}`);
    // Only a daemon that had been up is restarted from here; a failed launch schedules its own retry.
    if (wasUp || gen.upSince !== undefined) {
      this.#log.warn({ pid: gen.pid, exit: how, output: gen.output.slice(-5) }, 'tailscaled exited; restarting it');
      if (gen.upSince !== undefined && Date.now() - gen.upSince > this.#t.backoffMaxMs) this.#attempt = 0;
      this.#scheduleRestart();
    }
  }

  #scheduleRestart(): void {
    if (this.#stopping) return;
    this.#attempt++;
    const delay = backoffDelayMs(
      { initialMs: this.#t.backoffInitialMs, maxMs: this.#t.backoffMaxMs, jitter: 0 },
      this.#attempt,
    );
    this.#log.info({ delay_ms: delay, attempt: this.#attempt }, 'restarting tailscaled after a back-off');
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => void this.#restart(), delay);
  }

  async #restart(): Promise<void> {
    if (this.#stopping) return;
    this.#restarts++;
    try {
      await this.#launch(undefined);
    } catch (err) {
      if (this.#stopping) return;
      this.#log.error({ err }, 'tailscaled restart failed');
      const gen = this.#gen;
      if (gen !== undefined) await this.#killGeneration(gen);
      this.#scheduleRestart();
    }
  }

  async #waitForSocket(gen: Generation, signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.#t.socketWaitMs;
    let lastError: unknown;
    while (Date.now() < deadline) {
      signal.throwIfAborted();
      try {
        this.#status = await this.#localApi.status(signal);
        return;
      } catch (err) {
        signal.throwIfAborted();
        lastError = err;
      }
      await sleep(100, signal);
    }
    throw new TsnetStartError(
      `tailscaled did not answer on ${this.#socketPath} within ${this.#t.socketWaitMs} ms (${(lastError as Error | undefined)?.message ?? 'no socket'})${lastLines(gen.output)}`,
    );
  }

  /** `tailscale up`: with an auth key it must succeed; without one it runs on, waiting for the login. */
  async #runUp(gen: Generation, signal: AbortSignal): Promise<void> {
    const authKey = this.#o.authKey !== undefined && this.#o.authKey !== '' ? this.#o.authKey : undefined;
    const timeoutSeconds = authKey === undefined ? 0 : Math.max(1, Math.ceil(this.#t.upTimeoutMs / 1000));
    let keyFile: string | undefined;
    let keyArg: string[] = [];
    if (authKey !== undefined) {
      if (authKey.startsWith('file:')) {
        keyArg = [`--auth-key=${authKey}`];
      } else {
        // Never on the command line, where `ps` shows it to every user: a 0600 file, removed after.
        keyFile = join(this.#stateDir, `.authkey-${randomBytes(8).toString('hex')}`);
        writeFileSync(keyFile, authKey, { mode: 0o600, flag: 'wx' });
        keyArg = [`--auth-key=file:${keyFile}`];
      }
    }
    const args = [
      `--socket=${this.#socketPath}`,
      'up',
      // Every setting not named here goes back to its default: the node is entirely ours.
      '--reset',
      ...keyArg,
      `--hostname=${this.#o.hostname}`,
      ...(this.#o.tags.length > 0 ? [`--advertise-tags=${this.#o.tags.join(',')}`] : []),
      '--accept-dns=false',
      `--timeout=${timeoutSeconds}s`,
    ];
    const output: string[] = [];
    try {
      const up = spawn(this.#bin.tailscale, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: this.#o.env ?? process.env,
        cwd: this.#stateDir,
      });
      gen.upProcess = up;
      this.#pipeOutput(up, 'tailscale up', output);
      const exited = new Promise<ExitInfo>((done) => {
        up.once('exit', (code, sig) => done({ code, signal: sig }));
        up.once('error', (error) => done({ code: null, signal: null, error }));
      });
      if (authKey === undefined) {
        // Interactive login: `tailscale up` starts it and waits for it; the login URL is read from the status.
        void exited.then((info) => {
          if (gen.upProcess === up) gen.upProcess = undefined;
          if (info.code !== 0 && !this.#stopping && gen.exit === undefined && !this.#up) {
            gen.abort.abort(new TsnetStartError(`tailscale up ${describeExit(info)}${lastLines(output)}`));
          }
        });
        return;
      }
      const bound = AbortSignal.timeout(this.#t.upTimeoutMs + 5_000);
      const info = await abortable(exited, AbortSignal.any([signal, bound])).catch((err: unknown) => {
        killChild(up);
        if (bound.aborted && !signal.aborted)
          throw new TsnetStartError(`tailscale up did not finish within ${this.#t.upTimeoutMs} ms${lastLines(output)}`);
        throw err;
      });
      if (gen.upProcess === up) gen.upProcess = undefined;
      if (info.code !== 0) throw new TsnetStartError(`tailscale up ${describeExit(info)}${lastLines(output)}`);
    } finally {
      if (keyFile !== undefined) rmSync(keyFile, { force: true });
    }
  }

  async #waitRunning(gen: Generation, signal: AbortSignal): Promise<LocalStatus> {
    const interactive = this.#o.authKey === undefined || this.#o.authKey === '';
    const limitMs = interactive ? this.#t.loginTimeoutMs : this.#t.runningWaitMs;
    const deadline = limitMs > 0 ? Date.now() + limitMs : Infinity;
    for (;;) {
      signal.throwIfAborted();
      try {
        const status = await this.#localApi.status(signal);
        this.#status = status;
        if (status.BackendState === 'Running') return status;
        this.#reportNotRunning(status);
      } catch (err) {
        signal.throwIfAborted();
        this.#log.debug({ err }, 'LocalAPI status failed while waiting for Running');
      }
      if (Date.now() >= deadline) {
        const state = this.#status?.BackendState ?? 'unknown';
        throw new TsnetStartError(
          interactive
            ? `the tsnet node was not logged in within ${limitMs} ms (BackendState ${state}); set TS_AUTHKEY or open the login URL logged above`
            : `tailscaled did not reach BackendState Running within ${limitMs} ms (it is ${state})${lastLines(gen.output)}`,
        );
      }
      await sleep(this.#t.pollIntervalMs, signal);
    }
  }

  /** Logs the login URL once per URL, and other waiting states once per state, at warn level. */
  #reportNotRunning(status: LocalStatus): void {
    if (status.AuthURL !== '' && status.AuthURL !== this.#loggedAuthUrl) {
      this.#loggedAuthUrl = status.AuthURL;
      this.#log.warn(
        { auth_url: status.AuthURL, hostname: this.#o.hostname },
        `tsnet node "${this.#o.hostname}" needs a login: open ${status.AuthURL} to add it to the tailnet (or set TS_AUTHKEY)`,
      );
      return;
    }
    if (status.BackendState === 'NeedsMachineAuth' && this.#loggedNotRunning !== status.BackendState) {
      this.#loggedNotRunning = status.BackendState;
      this.#log.warn(
        { hostname: this.#o.hostname },
        `tsnet node "${this.#o.hostname}" waits for approval: approve it in the admin console (Machines)`,
      );
    }
  }

  #checkTags(status: LocalStatus): void {
    if (!this.#o.requireExporterTag) return;
    const required = this.#o.tags.length > 0 ? [...this.#o.tags] : ['tag:exporter'];
    const actual = status.Self?.Tags ?? [];
    const missing = required.filter((t) => !actual.includes(t));
    if (missing.length === 0) return;
    throw new TsnetTagError(
      `REQUIRE_EXPORTER_TAG=true: the tsnet node ${status.Self?.DNSName.replace(/\.$/, '') || this.#o.hostname} carries ` +
        `${actual.length > 0 ? `the tags ${actual.join(',')}` : 'no tags'} but must carry ${required.join(',')} (missing ${missing.join(',')}): ` +
        "use an auth key created with these tags, allow them in the policy's tagOwners, or set REQUIRE_EXPORTER_TAG=false",
      required,
      actual,
    );
  }

  #setUp(up: boolean, reason: string): void {
    if (this.#up === up) return;
    this.#up = up;
    if (!up) this.#log.warn({ reason }, 'tsnet is down');
    try {
      this.#o.onStateChange?.(up, reason);
    } catch (err) {
      this.#log.error({ err }, 'tsnet onStateChange callback threw');
    }
  }

  #schedulePoll(): void {
    if (this.#stopping) return;
    this.#pollTimer = setTimeout(() => {
      void this.#poll().finally(() => this.#schedulePoll());
    }, this.#t.statusIntervalMs);
  }

  /** While tailscaled runs and is not starting: keeps status() current and isUp() true only while Running. */
  async #poll(): Promise<LocalStatus | undefined> {
    const gen = this.#gen;
    if (this.#stopping || gen === undefined || gen.exit !== undefined) return undefined;
    try {
      const status = await this.#localApi.status();
      if (gen !== this.#gen || gen.exit !== undefined) return status;
      this.#status = status;
      if (gen.upSince !== undefined) {
        if (status.BackendState === 'Running') {
          this.#loggedNotRunning = '';
          this.#setUp(true, 'tailscaled is Running again');
        } else {
          this.#setUp(false, `BackendState is ${status.BackendState}`);
          this.#reportNotRunning(status);
        }
      }
      return status;
    } catch (err) {
      if (gen === this.#gen && gen.upSince !== undefined && gen.exit === undefined) {
        this.#setUp(false, `LocalAPI does not answer: ${(err as Error).message}`);
      }
      return undefined;
    }
  }

  /**
   * SIGTERM to the group, bounded wait, SIGKILL; resolves when tailscaled, whatever it started and `tailscale
   * up` are gone (or the bounded waits ran out, which is logged).
   */
  async #killGeneration(gen: Generation): Promise<void> {
    const up = gen.upProcess;
    killChild(up);
    if (gen.exit === undefined) {
      killGroup(gen.pid, 'SIGTERM');
      const bound = AbortSignal.timeout(this.#t.stopTimeoutMs);
      const exited = await abortable(gen.exited, bound).then(
        () => true,
        () => false,
      );
      if (!exited) {
        this.#log.warn({ pid: gen.pid, timeout_ms: this.#t.stopTimeoutMs }, 'tailscaled ignored SIGTERM; killing it');
        killGroup(gen.pid, 'SIGKILL');
        await abortable(gen.exited, AbortSignal.timeout(2_000)).catch(() => undefined);
      }
    }
    // Anything left in its process group (helpers it started) goes too. A signal is only delivered when
    // its target next runs, which on a loaded machine can be a while after tailscaled's own exit: wait
    // for the group to be empty, so a rejected start or a resolved stop() never leaves a helper running.
    killGroup(gen.pid, 'SIGKILL');
    const bound = AbortSignal.timeout(2_000);
    while (gen.pid !== undefined && groupHasLiveMember(gen.pid) && !bound.aborted) await sleep(10);
    if (up !== undefined) await abortable(childExited(up), bound).catch(() => undefined);
    if (bound.aborted)
      this.#log.warn({ pid: gen.pid }, "processes of tailscaled's group or `tailscale up` still ran 2 s after SIGKILL");
  }

  /** process 'exit': only synchronous work is possible, so the whole group gets SIGKILL. */
  #killEverythingNow(): void {
    const gen = this.#gen;
    if (gen === undefined) return;
    killChild(gen.upProcess);
    // An exited generation's group was killed when it exited; its PID may belong to someone else by now.
    if (gen.exit === undefined) killGroup(gen.pid, 'SIGKILL');
  }

  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      clearTimeout(this.#restartTimer);
      clearTimeout(this.#pollTimer);
      const gen = this.#gen;
      if (gen !== undefined) {
        gen.abort.abort(new TsnetError('TSM_TSNET_DOWN', 'tsnet is stopping', 1));
        await this.#killGeneration(gen);
      }
      this.#up = false;
      rmSync(this.#pidFile, { force: true });
      await this.#dispatcher.destroy().catch(() => undefined);
      process.off('exit', this.#onProcessExit);
      this.#log.debug({ pid: gen?.pid }, 'tsnet stopped');
    })();
    return this.#stopped;
  }
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** True while the process exists and is not a zombie waiting to be reaped. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Whether a process of the group still runs (a zombie waiting to be reaped does not). /proc tells
 * zombies apart; without it, any member the kernel still knows counts.
 */
function groupHasLiveMember(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return true;
  }
  for (const name of entries) {
    const code = name.charCodeAt(0);
    if (code < 48 || code > 57) continue; // not a PID
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses, so fields count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (Number(fields[2]) === pgid && fields[0] !== 'Z' && fields[0] !== 'X') return true;
  }
  return false;
}

/** Resolves when the child has exited (at once if it already has). */
function childExited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveExit) => {
    child.once('exit', () => resolveExit());
    child.once('error', () => resolveExit());
  });
}

/** SIGKILL to a child still running (ChildProcess.kill never signals a PID that was already reaped). */
function killChild(child: ChildProcess | undefined): void {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not be started (${info.error.message})`;
  return info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

function lastLines(lines: readonly string[]): string {
  const tail = lines.slice(-5).join(' | ');
  return tail === '' ? '' : `; last output: ${tail}`;
}

/** Resolves with the promise, or rejects with the signal's reason when it aborts first. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolvePromise, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolvePromise(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** A free TCP port on 127.0.0.1 for tailscaled's SOCKS5 server (chosen again on every restart). */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}
