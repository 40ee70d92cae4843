// The device list calls' recent past, as a value the refresher adds each call's outcome to: whether the API
// is up, when it last answered, how many refreshes failed, and how loudly to say so. An outage is logged
// at error level when it begins and at warn level while it lasts; its end once, at info.

/** What to log about this outcome: nothing, the API back after an outage, or a failure at this level. */
export type ApiNews = undefined | 'recovered' | 'error' | 'warn';

export class ApiHistory {
  #up = false;
  #lastSuccessSeconds: number | undefined;
  #failures = 0;
  #invalidDevices = 0;

  /** Whether the last call answered. */
  get up(): boolean {
    return this.#up;
  }
  /** Unix seconds of the last call that answered (when its cycle started). */
  get lastSuccessSeconds(): number | undefined {
    return this.#lastSuccessSeconds;
  }
  /** Calls that failed since the exporter started. */
  get failures(): number {
    return this.#failures;
  }
  /** Devices the answers held that could not be used, since the exporter started. */
  get invalidDevices(): number {
    return this.#invalidDevices;
  }

  /** Adds one call's outcome, at `nowSeconds` (the cycle's start). */
  add(
    outcome: { readonly ok: true; readonly invalidDevices: number } | { readonly ok: false },
    nowSeconds: number,
  ): ApiNews {
    if (outcome.ok) {
      const news = !this.#up && this.#lastSuccessSeconds !== undefined ? 'recovered' : undefined;
      this.#invalidDevices += outcome.invalidDevices;
      this.#up = true;
      this.#lastSuccessSeconds = nowSeconds;
      return news;
    }
    this.#failures++;
    const level = this.#up || this.#failures === 1 ? 'error' : 'warn';
    this.#up = false;
    return level;
  }
}
