// The one bounded worker pool: the API client's per-device route lookups, key details and service hosts, and the
// device scraper. Workers take the next index in turn (no queue object per item), so a slow item holds one worker,
// never the others. Hand-written rather than p-limit: a dozen lines on the scrape path, no closures per item.

/**
 * Runs `fn` over `items` with at most `limit` calls in flight and resolves when every started call has. Rejects with
 * the first error (the other workers finish the call they are in and start no new one); `stop` ends the pool early
 * without an error (an aborted cycle).
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
  stop: () => boolean = () => false,
): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed && !stop()) {
      const i = next++;
      try {
        await fn(items[i]!, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
