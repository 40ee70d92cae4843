import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backendCollectors } from '../../src/config/backends.js';
import { COLLECTOR_NAMES, VARIABLES } from '../../src/config/schema.js';

// COLLECTORS' accepted values are written out in the configuration table (and so in the README and in the
// exit-2 message); the backend table is what the code runs. This keeps the text true to the table: every
// collector named once, under the backend(s) that fill it.

test("COLLECTORS' accepted text names each collector once, under the backends whose table has it", () => {
  const accepted = VARIABLES.find((v) => v.name === 'COLLECTORS')!.accepted;
  const match =
    /^all, or a comma-separated subset of (.+) \(Tailscale\), (.+) \(Headscale\), optionally with all$/.exec(accepted);
  assert.ok(match, accepted);
  const tailscaleText = match[1]!.split(', ');
  const headscaleOnlyText = match[2]!.split(', ');
  const tailscale = backendCollectors('tailscale');
  const headscale = backendCollectors('headscale');
  assert.deepEqual([...tailscaleText].sort(), [...tailscale].sort());
  // Headscale's own collectors are listed apart; the shared ones appear under Tailscale.
  assert.deepEqual([...headscaleOnlyText].sort(), headscale.filter((c) => !tailscale.includes(c)).sort());
  // Every name the schema accepts is filled by some backend, and every one the backends fill is accepted.
  assert.deepEqual([...new Set([...tailscale, ...headscale])].sort(), [...COLLECTOR_NAMES].sort());
});
