import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import type { Logger } from 'pino';
import { sleep } from '../util/sleep.js';
import { TsnetStartError } from './errors.js';
import type { LocalApiClient, LocalStatus } from './localapi.js';
import { abortable, describeExit, killChild, lastLines, spawnProcess } from './process-group.js';
import type { StateDir } from './state-dir.js';

// Bringing a freshly spawned tailscaled to BackendState Running: wait for its LocalAPI socket, run `tailscale
// up` (with the auth key from a 0600 file, or interactively), then wait for Running, logging the login URL.

export interface LoginSettings {
  /** The tailscale CLI. */
  readonly tailscale: string;
  readonly stateDir: StateDir;
  readonly hostname: string;
  /** Advertised with --advertise-tags. */
  readonly tags: readonly string[];
  /** TS_AUTHKEY (a key or `file:<path>`); undefined for an interactive login. */
  readonly authKey: string | undefined;
  readonly env: NodeJS.ProcessEnv;
  readonly upTimeoutMs: number;
  readonly log: Logger;
}

/** What the launch that runs `tailscale up` needs to know of it. */
export interface UpHooks {
  /** `tailscale up` runs: it must be killed with the generation. */
  started(up: ChildProcess): void;
  /** `tailscale up` has exited. */
  finished(up: ChildProcess): void;
  /** Interactive login only: `tailscale up` failed (the launch decides whether it still matters). */
  failed(err: TsnetStartError): void;
}

/** Polls the LocalAPI until tailscaled answers on its socket; its first status is returned. */
export async function waitForSocket(
  localApi: LocalApiClient,
  timeoutMs: number,
  output: readonly string[],
  signal: AbortSignal,
): Promise<LocalStatus> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    try {
      return await localApi.status(signal);
    } catch (err) {
      signal.throwIfAborted();
      lastError = err;
    }
    await sleep(100, signal);
  }
  throw new TsnetStartError(
    `tailscaled did not answer on ${localApi.socketPath} within ${timeoutMs} ms (${(lastError as Error | undefined)?.message ?? 'no socket'})${lastLines(output)}`,
  );
}

/** `tailscale up`: with an auth key it must succeed; without one it runs on, waiting for the login. */
export async function runUp(s: LoginSettings, signal: AbortSignal, hooks: UpHooks): Promise<void> {
  const authKey = s.authKey;
  const timeoutSeconds = authKey === undefined ? 0 : Math.max(1, Math.ceil(s.upTimeoutMs / 1000));
  let keyFile: string | undefined;
  let keyArg: string[] = [];
  if (authKey !== undefined) {
    if (authKey.startsWith('file:')) {
      keyArg = [`--auth-key=${authKey}`];
    } else {
      keyFile = s.stateDir.writeKeyFile(authKey);
      keyArg = [`--auth-key=file:${keyFile}`];
    }
  }
  const args = [
    `--socket=${s.stateDir.socketPath}`,
    'up',
    // Every setting not named here goes back to its default: the node is entirely ours.
    '--reset',
    ...keyArg,
    `--hostname=${s.hostname}`,
    ...(s.tags.length > 0 ? [`--advertise-tags=${s.tags.join(',')}`] : []),
    '--accept-dns=false',
    `--timeout=${timeoutSeconds}s`,
  ];
  try {
    const up = spawnProcess(s.tailscale, args, {
      env: s.env,
      cwd: s.stateDir.path,
      group: false,
      source: 'tailscale up',
      log: s.log,
    });
    hooks.started(up.child);
    if (authKey === undefined) {
      // Interactive login: `tailscale up` starts it and waits for it; the login URL is read from the status.
      void up.exited.then((info) => {
        hooks.finished(up.child);
        if (info.code !== 0)
          hooks.failed(new TsnetStartError(`tailscale up ${describeExit(info)}${lastLines(up.output)}`));
      });
      return;
    }
    const bound = AbortSignal.timeout(s.upTimeoutMs + 5_000);
    const info = await abortable(up.exited, AbortSignal.any([signal, bound])).catch((err: unknown) => {
      killChild(up.child);
      if (bound.aborted && !signal.aborted)
        throw new TsnetStartError(`tailscale up did not finish within ${s.upTimeoutMs} ms${lastLines(up.output)}`);
      throw err;
    });
    hooks.finished(up.child);
    if (info.code !== 0) throw new TsnetStartError(`tailscale up ${describeExit(info)}${lastLines(up.output)}`);
  } finally {
    if (keyFile !== undefined) rmSync(keyFile, { force: true });
  }
}

export interface RunningWait {
  /** Without an auth key the wait is for a person opening the login URL. */
  readonly interactive: boolean;
  /** 0 = for ever. */
  readonly limitMs: number;
  readonly pollIntervalMs: number;
}

/** The supervisor's last status: what status() returns, and what a timed-out wait names. */
export interface StatusStore {
  get(): LocalStatus | undefined;
  set(status: LocalStatus): void;
}

/** Polls the status until BackendState is Running; every status seen is stored. */
export async function waitRunning(
  localApi: LocalApiClient,
  wait: RunningWait,
  reporter: LoginReporter,
  output: readonly string[],
  signal: AbortSignal,
  statuses: StatusStore,
): Promise<LocalStatus> {
  const deadline = wait.limitMs > 0 ? Date.now() + wait.limitMs : Infinity;
  for (;;) {
    signal.throwIfAborted();
    try {
      const status = await localApi.status(signal);
      statuses.set(status);
      if (status.BackendState === 'Running') return status;
      reporter.report(status);
    } catch (err) {
      signal.throwIfAborted();
      reporter.log.debug({ err }, 'LocalAPI status failed while waiting for Running');
    }
    if (Date.now() >= deadline) {
      const state = statuses.get()?.BackendState ?? 'unknown';
      throw new TsnetStartError(
        wait.interactive
          ? `the tsnet node was not logged in within ${wait.limitMs} ms (BackendState ${state}); set TS_AUTHKEY or open the login URL logged above`
          : `tailscaled did not reach BackendState Running within ${wait.limitMs} ms (it is ${state})${lastLines(output)}`,
      );
    }
    await sleep(wait.pollIntervalMs, signal);
  }
}

/** Logs the login URL once per URL, and other waiting states once per state, at warn level. */
export class LoginReporter {
  #loggedAuthUrl = '';
  #loggedNotRunning = '';

  constructor(
    readonly log: Logger,
    readonly hostname: string,
  ) {}

  report(status: LocalStatus): void {
    if (status.AuthURL !== '' && status.AuthURL !== this.#loggedAuthUrl) {
      this.#loggedAuthUrl = status.AuthURL;
      this.log.warn(
        { auth_url: status.AuthURL, hostname: this.hostname },
        `tsnet node "${this.hostname}" needs a login: open ${status.AuthURL} to add it to the tailnet (or set TS_AUTHKEY)`,
      );
      return;
    }
    if (status.BackendState === 'NeedsMachineAuth' && this.#loggedNotRunning !== status.BackendState) {
      this.#loggedNotRunning = status.BackendState;
      this.log.warn(
        { hostname: this.hostname },
        `tsnet node "${this.hostname}" waits for approval: approve it in the admin console (Machines)`,
      );
    }
  }

  /** Running again: a later wait for approval is logged again. */
  running(): void {
    this.#loggedNotRunning = '';
  }
}
