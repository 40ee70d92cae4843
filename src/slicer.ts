// Background work (converting the device list, parsing device answers, rendering) runs on the same event
// loop that answers /metrics. It is handed to one scheduler in small synchronous pieces; they share one
// time budget, and once it is spent the rest waits for a later turn of the loop, after the poll phase has
// served sockets. However many device answers arrive at once, /metrics responses keep moving.

export class Slicer {
  readonly #budgetMs: number;
  /** When the current budget window began: the last drain, or -Infinity before any. */
  #sliceStart = Number.NEGATIVE_INFINITY;
  readonly #queue: Array<() => void> = [];
  #head = 0;
  #scheduled = false;

  constructor(budgetMs: number) {
    this.#budgetMs = budgetMs;
  }

  /** Runs `work` now if the budget allows and nothing is waiting, else in turn; settles with its result. */
  run<T>(work: () => T): Promise<T> {
    if (this.#head === this.#queue.length && performance.now() - this.#sliceStart < this.#budgetMs) {
      try {
        return Promise.resolve(work());
      } catch (err) {
        return Promise.reject(err);
      }
    }
    return new Promise<T>((resolve, reject) => {
      this.#queue.push(() => {
        try {
          resolve(work());
        } catch (err) {
          reject(err);
        }
      });
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#drain);
  }

  readonly #drain = (): void => {
    this.#scheduled = false;
    this.#sliceStart = performance.now();
    // At least one piece per turn, so even a zero budget makes progress.
    do {
      const piece = this.#queue[this.#head]!;
      this.#queue[this.#head++] = undefined as never;
      piece();
    } while (this.#head < this.#queue.length && performance.now() - this.#sliceStart < this.#budgetMs);
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else this.#schedule();
  };
}

/** The exporter's background work: about 4 ms of it at a time between turns of the event loop. */
export const background = new Slicer(4);
