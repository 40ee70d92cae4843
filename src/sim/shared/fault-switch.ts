// A fault that applies to the next `times` matching requests (or until replaced or cleared), and the
// damage faults do to an answer that both simulated control servers share.

export interface CountedFault {
  readonly kind: string;
  readonly times?: number;
}

export class FaultSwitch<F extends CountedFault> {
  #fault: F | null = null;
  #remaining = 0;
  readonly #onInject: (fault: F) => void;

  constructor(onInject: (fault: F) => void) {
    this.#onInject = onInject;
  }

  set(fault: F | null): void {
    const remaining = fault?.times ?? Number.POSITIVE_INFINITY;
    this.#fault = fault !== null && remaining > 0 ? fault : null;
    this.#remaining = remaining;
  }

  get current(): F | null {
    return this.#fault;
  }

  /** Uses up one application of the fault if `applies` accepts it; returns the fault or null. */
  take(applies: (fault: F) => boolean): F | null {
    const fault = this.#fault;
    if (fault === null || !applies(fault)) return null;
    this.#remaining -= 1;
    if (this.#remaining <= 0) this.#fault = null;
    this.#onInject(fault);
    return fault;
  }
}

/** The 'malformed-json' fault: a JSON text cut in half, so it is certainly invalid but starts like the real answer. */
export function malformedJson(json: string): string {
  return json.slice(0, Math.max(1, Math.floor(json.length / 2)));
}
