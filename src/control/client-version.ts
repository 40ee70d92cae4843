// Tailscale client versions as the API reports them: `1.80.2-t62b8bf6a0-g3c35ee987`, `1.76.1`, `1.62.0-dev2024...`.
// Only the leading major.minor.patch is compared; anything that does not start that way is unparseable
// and reported as such, never guessed.

export type Version = readonly [major: number, minor: number, patch: number];

const VERSION = /^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:[-+._].*)?$/;

export function parseClientVersion(text: string): Version | undefined {
  const m = VERSION.exec(text.trim());
  return m === null ? undefined : [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}

export function compareVersions(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/** Client metrics (`tailscaled_*` on :5252) exist from 1.78 on. */
export const CLIENT_METRICS_MIN_VERSION: Version = [1, 78, 0];
