import type { Selection, SelectionState } from '../devices/targets.js';

// Devices whose address is outside SCRAPE_ALLOWED_CIDRS, cycle after cycle: counted every cycle they are
// refused, reported (for the log) only in the cycle their refusal begins.

export class RefusalHistory {
  #lastStates = new Map<string, SelectionState>();
  #refusals = 0;

  /** Device selections refused for their address since the exporter started (one per device and cycle). */
  get refusals(): number {
    return this.#refusals;
  }

  /** Adds one cycle's selection; returns the devices refused now that were not refused in the last one. */
  add(selections: readonly Selection[]): Selection[] {
    const states = new Map<string, SelectionState>();
    const newly: Selection[] = [];
    for (const s of selections) {
      states.set(s.device.id, s.state);
      if (s.state !== 'address_refused') continue;
      this.#refusals++;
      if (this.#lastStates.get(s.device.id) !== 'address_refused') newly.push(s);
    }
    this.#lastStates = states;
    return newly;
  }
}
