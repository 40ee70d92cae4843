import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Logger } from 'pino';
import { sleep } from '../util/sleep.js';
import { TsnetStartError } from './errors.js';
import { killGroup, processExists } from './process-group.js';

// TSNET_STATE_DIR: mode 0700, the home of tailscaled's state, its LocalAPI socket, the PID file of our tailscaled
// and, for a moment, the auth key file of `tailscale up`.

/** Unix socket paths are limited to 107 bytes on Linux (sun_path). */
const MAX_SOCKET_PATH = 107;
const KEY_FILE_PREFIX = '.authkey-';

export class StateDir {
  readonly path: string;
  readonly socketPath: string;
  /** PID of our tailscaled (its process group), so a start after an unclean exit can end a leftover one. */
  readonly #pidFile: string;
  readonly #configured: string;

  constructor(configured: string) {
    this.#configured = configured;
    this.path = resolve(configured);
    this.socketPath = join(this.path, 'tailscaled.sock');
    this.#pidFile = join(this.path, 'tsmetrics-tailscaled.pid');
  }

  /** Checks the socket path, creates the directory 0700 and removes auth key files a dead run left behind. */
  prepare(log: Logger): void {
    if (Buffer.byteLength(this.socketPath) > MAX_SOCKET_PATH) {
      throw new TsnetStartError(
        `TSNET_STATE_DIR=${JSON.stringify(this.#configured)} is too long: the LocalAPI socket path ${this.socketPath} exceeds ${MAX_SOCKET_PATH} bytes`,
      );
    }
    mkdirSync(this.path, { recursive: true, mode: 0o700 });
    try {
      chmodSync(this.path, 0o700);
    } catch (err) {
      log.warn({ err, dir: this.path }, 'cannot restrict the tsnet state directory to mode 0700');
    }
    // Auth key files of a run that died between writing and removing one.
    for (const name of readdirSync(this.path)) {
      if (name.startsWith(KEY_FILE_PREFIX)) rmSync(join(this.path, name), { force: true });
    }
  }

  /** The auth key in a new 0600 file (never on a command line, where `ps` shows it); the caller removes it. */
  writeKeyFile(authKey: string): string {
    const file = join(this.path, `${KEY_FILE_PREFIX}${randomBytes(8).toString('hex')}`);
    writeFileSync(file, authKey, { mode: 0o600, flag: 'wx' });
    return file;
  }

  writePid(pid: number): void {
    writeFileSync(this.#pidFile, `${pid}\n`, { mode: 0o600 });
  }

  removePid(): void {
    rmSync(this.#pidFile, { force: true });
  }

  /**
   * A tailscaled of ours that outlived its exporter (killed with SIGKILL, so no 'exit' handler ran) would
   * share the state and the socket with the new one. It is ended, but only when the PID file's process
   * still is a tailscaled serving our socket (checked in /proc, so a reused PID is never signalled).
   */
  async reapLeftover(stopTimeoutMs: number, log: Logger): Promise<void> {
    let pid: number;
    try {
      pid = Number(readFileSync(this.#pidFile, 'utf8').trim());
    } catch {
      return;
    }
    this.removePid();
    if (!Number.isInteger(pid) || pid <= 1) return;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      return; // gone, or no /proc to confirm it is ours
    }
    if (!cmdline.split('\0').includes(`--socket=${this.socketPath}`)) return;
    log.warn({ pid }, 'ending a tailscaled left over from an earlier run of the exporter');
    killGroup(pid, 'SIGTERM');
    const deadline = Date.now() + stopTimeoutMs;
    while (Date.now() < deadline && processExists(pid)) await sleep(50);
    killGroup(pid, 'SIGKILL');
  }
}
