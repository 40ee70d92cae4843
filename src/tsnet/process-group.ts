import { errorCode } from '../errors.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { sleep } from '../util/sleep.js';

// Processes of tsnet mode: tailscaled runs in a process group of its own, so it and whatever it starts can be
// signalled at once and waited for until every member is gone; `tailscale up` is an ordinary child.

const OUTPUT_LINES_KEPT = 20;

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly error?: Error;
}

/** A spawned process, its exit, and the last lines it wrote (kept for error messages). */
export interface Spawned {
  readonly child: ChildProcess;
  readonly pid: number | undefined;
  readonly exited: Promise<ExitInfo>;
  /** Set when it has exited (or could not be started). */
  exit(): ExitInfo | undefined;
  readonly output: readonly string[];
  /** Resolves when both output streams have ended (the last lines are in `output`). */
  readonly outputEnded: Promise<void>;
}

export interface SpawnOptions {
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  /** Its own process group (tailscaled), so killGroup reaches it and anything it started. */
  readonly group: boolean;
  /** Names the process in the debug log of its output. */
  readonly source: string;
  readonly log: Logger;
  /** Called once, synchronously, when it exits or cannot be started. */
  readonly onExit?: ((info: ExitInfo) => void) | undefined;
}

export function spawnProcess(command: string, args: readonly string[], options: SpawnOptions): Spawned {
  const child = spawn(command, args, {
    detached: options.group,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: options.env,
    cwd: options.cwd,
  });
  const output: string[] = [];
  let exit: ExitInfo | undefined;
  const exited = new Promise<ExitInfo>((resolveExit) => {
    const done = (info: ExitInfo): void => {
      if (exit !== undefined) return;
      exit = info;
      resolveExit(info);
      options.onExit?.(info);
    };
    child.once('exit', (code, sig) => done({ code, signal: sig }));
    child.once('error', (error) => done({ code: null, signal: null, error }));
  });
  const ends: Array<Promise<void>> = [];
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    const lines = createInterface({ input: stream, crlfDelay: Infinity });
    ends.push(new Promise((resolveEnd) => lines.once('close', () => resolveEnd())));
    lines.on('line', (raw) => {
      const line = raw.length > 500 ? `${raw.slice(0, 500)}...` : raw;
      output.push(line);
      if (output.length > OUTPUT_LINES_KEPT) output.shift();
      options.log.debug({ source: options.source, line }, 'tsnet child output');
    });
  }
  return {
    child,
    pid: child.pid,
    exited,
    exit: () => exit,
    output,
    outputEnded: Promise.all(ends).then(() => undefined),
  };
}

export function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: already gone.
  }
}

/** SIGKILL to a child still running (ChildProcess.kill never signals a PID that was already reaped). */
export function killChild(child: ChildProcess | undefined): void {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    child.kill('SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * SIGTERM to the group, bounded wait, SIGKILL; resolves when the group leader, whatever it started and `extra`
 * (`tailscale up`) are gone, or the bounded waits ran out, which is logged.
 */
export async function stopGroup(
  leader: Spawned,
  extra: ChildProcess | undefined,
  stopTimeoutMs: number,
  log: Logger,
): Promise<void> {
  killChild(extra);
  if (leader.exit() === undefined) {
    killGroup(leader.pid, 'SIGTERM');
    const exited = await abortable(leader.exited, AbortSignal.timeout(stopTimeoutMs)).then(
      () => true,
      () => false,
    );
    if (!exited) {
      log.warn({ pid: leader.pid, timeout_ms: stopTimeoutMs }, 'tailscaled ignored SIGTERM; killing it');
      killGroup(leader.pid, 'SIGKILL');
      await abortable(leader.exited, AbortSignal.timeout(2_000)).catch(() => undefined);
    }
  }
  // Anything left in its process group (helpers it started) goes too. A signal is only delivered when
  // its target next runs, which on a loaded machine can be a while after tailscaled's own exit: wait
  // for the group to be empty, so a rejected start or a resolved stop() never leaves a helper running.
  killGroup(leader.pid, 'SIGKILL');
  const bound = AbortSignal.timeout(2_000);
  while (leader.pid !== undefined && groupHasLiveMember(leader.pid) && !bound.aborted) await sleep(10);
  if (extra !== undefined) await abortable(childExited(extra), bound).catch(() => undefined);
  if (bound.aborted)
    log.warn({ pid: leader.pid }, "processes of tailscaled's group or `tailscale up` still ran 2 s after SIGKILL");
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function processExists(pid: number): boolean {
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
    return errorCode(err) === 'EPERM';
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

export function describeExit(info: ExitInfo): string {
  if (info.error !== undefined) return `could not be started (${info.error.message})`;
  return info.signal !== null ? `was killed by ${info.signal}` : `exited with code ${info.code}`;
}

export function lastLines(lines: readonly string[]): string {
  const tail = lines.slice(-5).join(' | ');
  return tail === '' ? '' : `; last output: ${tail}`;
}

/** Resolves with the promise, or rejects with the signal's reason when it aborts first. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
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

// --- SOCKS5 ---------------------------------------------------------------------------------------

/**
 * A free TCP port on 127.0.0.1 for tailscaled's SOCKS5 server (chosen again on every launch). tailscaled takes
 * an address, not a socket, so the port is free again between this and tailscaled's bind: another process
 * may take it meanwhile, which socksPortTaken recognises so the launch is retried on a new port.
 */
export function freeLoopbackPort(): Promise<number> {
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

/**
 * Whether tailscaled's output says its SOCKS5 listener could not bind: tailscaled logs `SOCKS5 listener: listen
 * tcp 127.0.0.1:N: bind: address already in use` and exits (microsocks, behind the tests' stand-in, says
 * `Address already in use`).
 */
export function socksPortTaken(output: readonly string[]): boolean {
  return output.some((line) => /address already in use/i.test(line));
}
