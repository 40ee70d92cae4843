// The one abortable sleep: rejects with the signal's own reason, so a caller's `catch` sees the error it aborted
// with (node:timers/promises would wrap it in an AbortError).

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as unknown);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as unknown);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
