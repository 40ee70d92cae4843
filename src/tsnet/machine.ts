import { backoffDelayMs } from '../util/backoff.js';

// The supervisor's life as one state value and a table of the transitions allowed from each state. No I/O
// here: the supervisor sends events and acts on the transitions it gets back, so the table can be tested alone.
//
//   idle --start--> starting --launched--> login --running--> up <--running/not-running--> degraded
//                      ^  \retry (port taken)                  \exited              exited/
//                      |   `----failed (a restart that did not come up) ---> backoff <-----'
//                      `---------------------------restart---------------------'
//   any state --stop--> stopping --stopped--> stopped; reload (SIGHUP) keeps every state as it is.

export type TsnetState =
  /** Constructed, nothing spawned yet. */
  | 'idle'
  /** tailscaled is spawned: waiting for its LocalAPI socket, then `tailscale up`. */
  | 'starting'
  /** Waiting for BackendState Running: a login (URL logged), an approval, or the connection to control. */
  | 'login'
  /** Running and carrying the required tags: isUp(). */
  | 'up'
  /** tailscaled runs and had been up, but is not Running now or its LocalAPI does not answer. */
  | 'degraded'
  /** tailscaled exited (or a restart failed): waiting out the back-off before the next launch. */
  | 'backoff'
  | 'stopping'
  | 'stopped';

export type TsnetEvent =
  | 'start'
  /** The socket answered and `tailscale up` succeeded (or, without a key, is waiting for the login). */
  | 'launched'
  /** BackendState Running: the first time with the tags checked, later from a status poll. */
  | 'running'
  /** A status poll: BackendState is not Running, or the LocalAPI does not answer. */
  | 'not-running'
  /** The daemon of an up (or degraded) generation exited. */
  | 'exited'
  /** A restart did not come up (a failed first start is a stop: start() rejects). */
  | 'failed'
  /** tailscaled could not bind the SOCKS5 port chosen for it: the same launch again on a new port. */
  | 'retry'
  /** The back-off has elapsed. */
  | 'restart'
  | 'stop'
  /** The generation's whole process group is gone. */
  | 'stopped'
  /** SIGHUP: tsnet reads nothing that can be reloaded, and a reload must never restart or abort a login. */
  | 'reload';

const TRANSITIONS: Readonly<Record<TsnetState, Readonly<Partial<Record<TsnetEvent, TsnetState>>>>> = {
  idle: { start: 'starting', stop: 'stopping', reload: 'idle' },
  starting: { launched: 'login', retry: 'starting', failed: 'backoff', stop: 'stopping', reload: 'starting' },
  login: { running: 'up', failed: 'backoff', stop: 'stopping', reload: 'login' },
  up: { running: 'up', 'not-running': 'degraded', exited: 'backoff', stop: 'stopping', reload: 'up' },
  degraded: { running: 'up', 'not-running': 'degraded', exited: 'backoff', stop: 'stopping', reload: 'degraded' },
  backoff: { restart: 'starting', stop: 'stopping', reload: 'backoff' },
  stopping: { stop: 'stopping', stopped: 'stopped', reload: 'stopping' },
  stopped: { stop: 'stopped', reload: 'stopped' },
};

export interface Transition {
  readonly event: TsnetEvent;
  readonly from: TsnetState;
  readonly to: TsnetState;
  /** Entering backoff: the restart is due after this long, as restart number `attempt` of the back-off. */
  readonly delayMs?: number;
  readonly attempt?: number;
}

export class TsnetMachine {
  #state: TsnetState = 'idle';
  #attempt = 0;
  #restarts = 0;
  /** When the current generation first came up (undefined before it does). */
  #upSince: number | undefined;
  readonly #backoff: { readonly initialMs: number; readonly maxMs: number };
  readonly #now: () => number;

  constructor(backoff: { readonly initialMs: number; readonly maxMs: number }, now: () => number = Date.now) {
    this.#backoff = backoff;
    this.#now = now;
  }

  get state(): TsnetState {
    return this.#state;
  }

  /** Launches after a back-off (a port retry is not a restart). */
  get restarts(): number {
    return this.#restarts;
  }

  /** Applies the event; undefined (and the state unchanged) when the table does not allow it here. */
  send(event: TsnetEvent): Transition | undefined {
    const from = this.#state;
    const to = TRANSITIONS[from][event];
    if (to === undefined) return undefined;
    this.#state = to;
    if (event === 'restart') {
      this.#restarts++;
      this.#upSince = undefined; // a new daemon
    }
    if (to === 'up') this.#upSince ??= this.#now();
    if (to !== 'backoff' || from === 'backoff') return { event, from, to };
    // A daemon that stayed up longer than the longest back-off starts the back-off over (a failed restart was
    // never up, so it counts on).
    if (this.#upSince !== undefined && this.#now() - this.#upSince > this.#backoff.maxMs) this.#attempt = 0;
    this.#attempt++;
    const delayMs = backoffDelayMs({ ...this.#backoff, jitter: 0 }, this.#attempt);
    return { event, from, to, delayMs, attempt: this.#attempt };
  }
}
