// Device churn: before each device-list answer, a fixed fraction of the devices change the way a real tailnet's
// devices change between two refreshes (tailscale-facts §1.3), and nothing else about them does:
// - a device that is not connected to control connects again (`connectedToControl` true, so `lastSeen` is no
//   longer sent);
// - a connected device measures new DERP latencies (`clientConnectivity.latency[*].latencyMs`, fields=all), or,
//   one of its own changes in DISCONNECT_EVERY, loses its control connection (`connectedToControl` false, `lastSeen` = now).
// Latencies are sent with fields=all only (what the exporter asks for): with fields=default, only the changes of
// connection show.
// The devices are taken in turn (a rotating cursor, no randomness), so runs are repeatable and consecutive
// requests change different devices until the rotation comes round. Churn 0 changes nothing: the list stays
// byte-identical between requests.
import type { SimDevice } from '../shared/device.js';
import { isoTime } from '../shared/time.js';

/** Latency offsets from a device's first measured latencies, in ms: all distinct, multiples of 0.25 (exact in JSON). */
const JITTER_MS = [-1.5, -1, -0.5, -0.25, 0.25, 0.75, 1.25, 2] as const;
/** One change of a device in this many disconnects it (when connected) instead of moving its latencies. */
const DISCONNECT_EVERY = 5;

/** What the churn remembers of a device. */
interface Churned {
  /** Changes made to this device so far. */
  changes: number;
  /** Where in its DISCONNECT_EVERY changes the device disconnects: from its id, so devices do not drop together. */
  readonly phase: number;
  /** The latencies the device had before its first latency change, by region name. */
  base?: ReadonlyMap<string, number>;
  /** Index into JITTER_MS of the current offsets; the region at position r uses `(step + r) % JITTER_MS.length`. */
  step: number;
}

export class DeviceChurn {
  readonly #fraction: number;
  readonly #now: () => number;
  /** The next device to change, by position in the list. */
  #cursor = 0;
  /** Changes due but not yet made: a fraction of a device carries over to the next request. */
  #owed = 0;
  readonly #churned = new WeakMap<SimDevice, Churned>();

  /** `fraction` of the devices (0..1) change on each device-list request. */
  constructor(fraction: number, now: () => number) {
    if (!(fraction >= 0 && fraction <= 1)) throw new RangeError(`churn must be between 0 and 1, not ${fraction}`);
    this.#fraction = fraction;
    this.#now = now;
  }

  /** Changes the next `fraction × devices.length` devices in turn (rounded down, the remainder carried over). */
  step(devices: readonly SimDevice[]): void {
    const count = devices.length;
    if (this.#fraction === 0 || count === 0) return;
    this.#owed += this.#fraction * count;
    // The small epsilon keeps 0.07 × 100 (7.000000000000001 or 6.999999999999999) at 7.
    const due = Math.min(count, Math.floor(this.#owed + 1e-9));
    this.#owed = Math.max(0, this.#owed - due);
    for (let j = 0; j < due; j++) this.#change(devices[(this.#cursor + j) % count]!);
    this.#cursor = (this.#cursor + due) % count;
  }

  #change(device: SimDevice): void {
    let state = this.#churned.get(device);
    if (state === undefined) {
      state = { changes: 0, phase: idPhase(device.id), step: 0 };
      this.#churned.set(device, state);
    }
    const change = state.changes++;
    if (!device.connectedToControl) {
      device.connectedToControl = true;
      return;
    }
    const connectivity = device.clientConnectivity;
    if (
      (change + state.phase) % DISCONNECT_EVERY === DISCONNECT_EVERY - 1 ||
      connectivity === undefined ||
      Object.keys(connectivity.latency).length === 0
    ) {
      device.connectedToControl = false;
      device.lastSeen = isoTime(this.#now());
      return;
    }
    const latency = connectivity.latency;
    if (state.base === undefined)
      state.base = new Map(Object.entries(latency).map(([region, l]) => [region, l.latencyMs]));
    else state.step = (state.step + 1) % JITTER_MS.length;
    const { base, step } = state;
    // A new object, never an edit of the old one: a scenario may share its connectivity between devices.
    const moved = Object.fromEntries(
      Object.entries(latency).map(([region, l], r) => [
        region,
        { ...l, latencyMs: (base.get(region) ?? l.latencyMs) + JITTER_MS[(step + r) % JITTER_MS.length]! },
      ]),
    );
    device.clientConnectivity = { ...connectivity, latency: moved };
  }
}

/** 0..DISCONNECT_EVERY-1 from the device's id (a string hash: the same on every run). */
function idPhase(id: string): number {
  let h = 0;
  for (let i = 0; i < id.length; i++) h = (h * 31 + id.charCodeAt(i)) >>> 0;
  return h % DISCONNECT_EVERY;
}
