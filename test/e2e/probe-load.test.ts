import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { startTailnet } from '../../src/sim/tailscale/index.js';
import { startExporterWith } from '../helpers/exporter.js';
import { sleep, startPrometheus } from '../helpers/prometheus.js';

// The topology the README recommends, at the request rate of about 600 probed devices at a 30 s interval:
// Prometheus discovers 100 devices through /sd and probes each every 5 s (20 requests/s from one address),
// with the token, while scraping the exporter itself every second. Nothing of it may be throttled; an
// anonymous flood from the same address is, without touching the health check.

const TOKEN = 'probe-load-token-0123456789';
const BIN = join(process.cwd(), 'bin/tsmetrics.js');

test(
  'probe topology at 600 device-equivalents: no 429, the exporter stays up; an anonymous flood still gets 429',
  { timeout: 110_000 },
  async (t) => {
    const sim = await startTailnet({ scenario: { count: 400 } });
    t.after(() => sim.close());
    const ex = await startExporterWith(t, {
      TAILSCALE_API_KEY: sim.apiKey,
      TAILSCALE_API_URL: sim.apiUrl,
      CLIENT_METRICS_PORT: String(sim.clientMetricsPort),
      METRICS_TOKEN: TOKEN,
      RATE_LIMIT_RPS: '10',
      RATE_LIMIT_BURST: '20',
      SCRAPE_INTERVAL: '2s',
    });
    ex.app.refresher.start();
    const target = new URL(ex.app.url).host;
    const auth = `    authorization: { credentials: '${TOKEN}' }`;
    const { query, targets, log } = await startPrometheus(t, [
      '  - job_name: tsmetrics',
      '    scrape_interval: 2s',
      '    scrape_timeout: 2s',
      auth,
      `    static_configs: [{ targets: ['${target}'] }]`,
      '  - job_name: tailscale-probe',
      '    scrape_interval: 5s',
      '    scrape_timeout: 4s',
      '    metrics_path: /probe',
      auth,
      // Prometheus 2.42 leaves the type out of an http_sd authorization unless it is spelled out.
      `    http_sd_configs: [{ url: 'http://${target}/sd', refresh_interval: 5s, authorization: { type: Bearer, credentials: '${TOKEN}' } }]`,
      '    relabel_configs:',
      '      - { source_labels: [__meta_tailscale_device_id], target_label: __param_target }',
      '      - { source_labels: [__meta_tailscale_device_name], target_label: device_name }',
      `      - { target_label: __address__, replacement: '${target}' }`,
    ]);
    const probed = async (): Promise<number> =>
      Number((await query('count(up{job="tailscale-probe"} == 1)')).data.result[0]?.value[1] ?? 0);
    let up = 0;
    for (let i = 0; i < 30 && up < 100; i++) {
      await sleep(1000);
      up = await probed();
    }
    assert.equal(
      up,
      100,
      `every tagged device is probed through /probe: ${JSON.stringify((await targets()).slice(0, 3))} ${log()}`,
    );

    // An anonymous flood from the same address as Prometheus (loopback), for a few seconds, from another
    // process (the exporter runs in this one: a flood from here would slow it down as no real client can).
    const flood = promisify(execFile)(
      process.execPath,
      [
        '-e',
        `const codes = {}; const until = Date.now() + 4000; const latest = Date.now() + 20000;
      // At least 4 s, then on until the limiter has answered (a loaded machine sends fewer requests), within 20 s.
      const worker = async () => { while (Date.now() < until || (codes[429] === undefined && Date.now() < latest)) {
        const c = await fetch(process.argv[1], { signal: AbortSignal.timeout(5000) }).then(async (r) => { await r.arrayBuffer(); return r.status; }, () => 0);
        codes[c] = (codes[c] ?? 0) + 1;
      } };
      Promise.all(Array.from({ length: 20 }, worker)).then(() => console.log(JSON.stringify(codes)));`,
        `${ex.app.url}/metrics`,
      ],
      { encoding: 'utf8', timeout: 40_000 },
    );
    await sleep(1000);
    const cli = await promisify(execFile)(process.execPath, [BIN, '--health-check'], {
      env: { PATH: process.env.PATH ?? '', PORT: new URL(ex.app.url).port, BIND_HOST: '127.0.0.1' },
      encoding: 'utf8',
      timeout: 20_000,
    }).catch((err: { stdout?: string; code?: number }) =>
      assert.fail(`--health-check failed during the flood (exit ${err.code}): ${err.stdout}`),
    );
    assert.equal(cli.stdout.trim(), '200 ok', '--health-check passes during the flood');
    const codes = JSON.parse((await flood).stdout) as Record<string, number>;
    assert.ok((codes['429'] ?? 0) > 0, `the flood is limited: ${JSON.stringify(codes)}`);
    assert.equal(codes['200'] ?? 0, 0, 'anonymous requests never read /metrics');
    await sleep(12_000); // two more probe rounds and six self-scrapes after the flood

    const window = '25s';
    const selfUp = await query(`min_over_time(up{job="tsmetrics"}[${window}])`);
    const slowest = await query(`max_over_time(scrape_duration_seconds{job="tsmetrics"}[${window}])`);
    const self = (await targets()).find((x) => x.labels.job === 'tsmetrics');
    assert.equal(
      selfUp.data.result[0]?.value[1],
      '1',
      `the exporter's own scrape never failed (slowest ${slowest.data.result[0]?.value[1]} s, last error "${self?.lastError}")`,
    );
    const probeUp = await query(`count(min_over_time(up{job="tailscale-probe"}[${window}]) == 1)`);
    const failed = await query(`min_over_time(up{job="tailscale-probe"}[${window}]) == 0`);
    const answered = await query('sum by (handler, code) (tsmetrics_http_requests_total)');
    t.diagnostic(
      `answers: ${JSON.stringify(answered.data.result.map((r) => [r.metric.handler, r.metric.code, r.value[1]]))}`,
    );
    assert.equal(
      probeUp.data.result[0]?.value[1],
      '100',
      `no probe scrape failed: ${JSON.stringify(failed.data.result.slice(0, 3))} ${JSON.stringify(
        (await targets())
          .filter((x) => x.lastError !== '')
          .map((x) => x.lastError)
          .slice(0, 5),
      )}`,
    );
    const down = (await targets()).filter((x) => x.health !== 'up');
    assert.deepEqual(
      down.map((x) => x.lastError),
      [],
    );
    // The exporter's own count: 429s went to the anonymous flood only, none to /probe, /sd or the token's /metrics.
    const limited = await query('sum by (handler) (tsmetrics_http_requests_total{code="429"})');
    assert.deepEqual(
      limited.data.result.map((r) => r.metric.handler),
      ['/metrics'],
    );
    const probes = await query('sum(tsmetrics_http_requests_total{handler="/probe",code="200"})');
    assert.ok(Number(probes.data.result[0]?.value[1]) >= 300, `probes answered: ${probes.data.result[0]?.value[1]}`);
    const rate = await query('sum(rate(tsmetrics_http_requests_total{handler="/probe"}[20s]))');
    t.diagnostic(
      `probe requests/s seen by the exporter: ${rate.data.result[0]?.value[1]}; flood codes: ${JSON.stringify(codes)}`,
    );
  },
);
