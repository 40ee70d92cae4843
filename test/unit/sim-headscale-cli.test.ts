// `main.js --headscale`: option parsing, and the standalone process serving with a fixed API key.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { parseHeadscaleOptions, wantsHeadscale } from '../../src/sim/headscale/cli.js';

const MAIN = fileURLToPath(new URL('../../src/sim/main.js', import.meta.url));

test('cli: --headscale selects the Headscale sim; options and env are parsed', () => {
  assert.equal(wantsHeadscale(['--scenario', 'demo']), false);
  assert.equal(wantsHeadscale(['--headscale']), true);
  const options = parseHeadscaleOptions(
    ['--headscale', '--tag-model', 'legacy', '--scenario', 'names:a,b', '--api-port', '0'],
    {
      TSMETRICS_SIM_HEADSCALE_API_KEY: 'abcdefg.secret',
    },
  );
  assert.deepEqual(options, {
    tagModel: 'legacy',
    scenario: { names: ['a', 'b'] },
    apiKey: 'abcdefg.secret',
    apiPort: 0,
  });
  assert.equal(parseHeadscaleOptions(['--headscale'], {}).tagModel, 'v028');
  assert.throws(() => parseHeadscaleOptions(['--headscale', '--tag-model', 'x'], {}), /unknown tag model/);
  assert.throws(
    () => parseHeadscaleOptions(['--headscale', '--scenario', 'count:3'], {}),
    /unknown Headscale scenario/,
  );
  assert.throws(() => parseHeadscaleOptions(['--headscale', '--metrics-port', '70000'], {}), /invalid port/);
});

test('cli: main.js --headscale prints one JSON line without secrets and serves until SIGTERM', async (t) => {
  const key = 'hskey-api-abcdefghijkl-0123456789012345678901234567890123456789012345678901234567890123';
  const child = spawn(process.execPath, [MAIN, '--headscale', '--tag-model', 'legacy'], {
    env: { ...process.env, TSMETRICS_SIM_HEADSCALE_API_KEY: key },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  while (!out.includes('\n')) {
    const [chunk] = (await once(child.stdout, 'data')) as [string];
    out += chunk;
  }
  assert.doesNotMatch(out, /hskey-api/);
  const info = JSON.parse(out) as {
    headscaleUrl: string;
    tagModel: string;
    nodes: number;
    users: number;
    clientMetricsPort: number;
  };
  assert.equal(info.tagModel, 'legacy');
  assert.equal(info.nodes, 8);
  assert.equal(info.users, 3);
  const reply = await fetch(`${info.headscaleUrl}/api/v1/node`, { headers: { authorization: `Bearer ${key}` } });
  assert.equal(reply.status, 200);
  const body = (await reply.json()) as { nodes: Array<{ forcedTags?: unknown }> };
  assert.ok(Array.isArray(body.nodes[0]?.forcedTags));
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code] = (await exited) as [number | null];
  assert.equal(code, 0);
});
