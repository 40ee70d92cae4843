// What the two standalone simulators (tailscale/cli.ts, headscale/cli.ts) parse and do alike.

/** `names:a,b,c`: a scenario of the named devices; null for any other text. */
export function namesScenario(text: string): { names: string[] } | null {
  if (!text.startsWith('names:')) return null;
  return {
    names: text
      .slice('names:'.length)
      .split(',')
      .filter((n) => n !== ''),
  };
}

export function parsePort(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port "${text}"`);
  return port;
}

/** Closes on the first SIGTERM or SIGINT (the process then ends by itself). */
export function closeOnSignal(close: () => Promise<void>): void {
  const stop = (): void => {
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    void close();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
