import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** Lint findings promtool reports on purpose: the Go original's metric name, kept as a migration contract. */
const ACCEPTED_LINT = ['tailscale_device_latency_ms metric names should not contain abbreviated units'];

/** Runs the real `promtool check metrics`; fails on a parse error, returns lint findings not accepted above. */
export function promtoolCheck(text: string): string[] {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  assert.ok(r.error === undefined, `promtool could not run (npm test installs it): ${r.error?.message}`);
  const findings = `${r.stdout}${r.stderr}`
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // Exit 1 = parse error; 3 = lint findings only.
  assert.ok(r.status === 0 || r.status === 3, `promtool failed (${r.status}): ${findings.join(' | ')}`);
  return findings.filter((f) => !ACCEPTED_LINT.includes(f));
}
