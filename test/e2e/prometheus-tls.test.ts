import assert from 'node:assert/strict';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import bcrypt from 'bcryptjs';
import { makePki } from '../helpers/certs.js';
import { startExporter } from '../helpers/exporter.js';
import { sleep, startPrometheus, type PromTarget } from '../helpers/prometheus.js';

// A real Prometheus (Debian's package) scrapes the exporter over HTTPS: basic auth from the web config file,
// and mutual TLS with a CA made here with openssl. Wrong credentials fail with Prometheus' own words.

test(
  'a real Prometheus scrapes over HTTPS with basic auth and with mutual TLS; bad credentials are down for the right reason; a rotated certificate is served without a restart',
  { timeout: 110_000 },
  async (t) => {
    const pki = makePki(t);
    const server = pki.issue('server', { cn: 'tsmetrics', san: 'IP:127.0.0.1' });
    copyFileSync(server.cert, join(pki.dir, 'tls.crt'));
    copyFileSync(server.key, join(pki.dir, 'tls.key'));
    const client = pki.issue('prometheus', { cn: 'prometheus', san: 'DNS:prometheus' });
    const expired = pki.issue('expired', { cn: 'prometheus', san: 'DNS:prometheus', days: -1 });
    const stranger = pki.issue('stranger', { cn: 'stranger', san: 'DNS:stranger' });

    const basicFile = join(pki.dir, 'web-basic.yml');
    writeFileSync(
      basicFile,
      `tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync('correct horse', 4)}\n`,
    );
    const mtlsFile = join(pki.dir, 'web-mtls.yml');
    writeFileSync(
      mtlsFile,
      'tls_server_config:\n  cert_file: tls.crt\n  key_file: tls.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [prometheus]\n',
    );
    const basic = await startExporter(t, {
      TEST_DEVICES: 'gateway-1',
      WEB_CONFIG_FILE: basicFile,
      SCRAPE_INTERVAL: '1s',
    });
    const mtls = await startExporter(t, {
      TEST_DEVICES: 'gateway-1',
      WEB_CONFIG_FILE: mtlsFile,
      SCRAPE_INTERVAL: '1s',
    });
    basic.app.refresher.start();
    mtls.app.refresher.start();
    const job = (name: string, url: string, tls: string, extra: string[] = []): string[] => [
      `  - job_name: ${name}`,
      '    scheme: https',
      `    tls_config: { ca_file: '${pki.caCert}'${tls} }`,
      ...extra,
      `    static_configs: [{ targets: ['${new URL(url).host}'] }]`,
    ];
    const certOf = (c: { cert: string; key: string }): string => `, cert_file: '${c.cert}', key_file: '${c.key}'`;
    const { query, targets } = await startPrometheus(t, [
      ...job('basic-ok', basic.url, '', ['    basic_auth: { username: prometheus, password: correct horse }']),
      ...job('basic-wrong', basic.url, '', ['    basic_auth: { username: prometheus, password: wrong }']),
      ...job('mtls-ok', mtls.url, certOf(client)),
      ...job('mtls-none', mtls.url, ''),
      ...job('mtls-expired', mtls.url, certOf(expired)),
      ...job('mtls-other-san', mtls.url, certOf(stranger)),
    ]);
    const byJob = async (): Promise<Map<string, PromTarget>> =>
      new Map((await targets()).map((x) => [x.labels.job!, x]));
    let seen = new Map<string, PromTarget>();
    for (let i = 0; i < 40; i++) {
      seen = await byJob();
      if (seen.size === 6 && [...seen.values()].every((x) => x.health !== 'unknown')) break;
      await sleep(500);
    }
    const health = Object.fromEntries([...seen].map(([k, v]) => [k, v.health]));
    assert.deepEqual(health, {
      'basic-ok': 'up',
      'basic-wrong': 'down',
      'mtls-ok': 'up',
      'mtls-none': 'down',
      'mtls-expired': 'down',
      'mtls-other-san': 'down',
    });
    assert.equal((await query('up{job="basic-ok"}')).data.result[0]?.value[1], '1');
    assert.equal((await query('up{job="mtls-ok"}')).data.result[0]?.value[1], '1');
    assert.equal((await query('up{job="mtls-expired"}')).data.result[0]?.value[1], '0');
    assert.match(seen.get('basic-wrong')!.lastError, /401 Unauthorized/);
    assert.match(seen.get('mtls-none')!.lastError, /certificate required|bad certificate|handshake failure/);
    t.diagnostic(
      `reasons: ${[...seen]
        .filter(([, v]) => v.health === 'down')
        .map(([k, v]) => `${k}: ${v.lastError}`)
        .join('; ')}`,
    );
    // Node checks a presented certificate after the handshake and closes the connection without a TLS alert:
    // Prometheus sees a reset, not a 401 and not an HTTP answer (README, Securing the endpoint).
    assert.match(seen.get('mtls-expired')!.lastError, /connection reset by peer|EOF/);
    // A certificate from the right CA without an allowed SAN: the same.
    assert.match(seen.get('mtls-other-san')!.lastError, /connection reset by peer|EOF/);

    // Rotation: a new certificate in place of the old one, both exporters keep running.
    const servedSerial = (url: string, tls: Record<string, unknown> = {}): Promise<string> =>
      new Promise((resolve, reject) => {
        const s = tlsConnect(
          { host: '127.0.0.1', port: Number(new URL(url).port), ca: pki.read(pki.caCert), ...tls },
          () => {
            resolve(s.getPeerCertificate().serialNumber);
            s.end();
          },
        );
        s.on('error', reject);
      });
    const before = await servedSerial(basic.url);
    const rotated = pki.issue('rotated', { cn: 'tsmetrics', san: 'IP:127.0.0.1' });
    copyFileSync(rotated.cert, join(pki.dir, 'tls.crt'));
    copyFileSync(rotated.key, join(pki.dir, 'tls.key'));
    let after = before;
    for (let i = 0; i < 50 && after === before; i++) {
      await sleep(100);
      after = await servedSerial(basic.url);
    }
    assert.notEqual(after, before, 'the rotated certificate is served by the same process');
    // The other exporter polls on its own second: wait for it too.
    const viaClientCert = (): Promise<string> =>
      servedSerial(mtls.url, { cert: pki.read(client.cert), key: pki.read(client.key) });
    let mtlsServed = await viaClientCert();
    for (let i = 0; i < 50 && mtlsServed !== after; i++) {
      await sleep(100);
      mtlsServed = await viaClientCert();
    }
    assert.equal(mtlsServed, after);
    // Prometheus goes on scraping both through the new certificate.
    await sleep(3000);
    const fresh = await byJob();
    assert.equal(fresh.get('basic-ok')!.health, 'up', fresh.get('basic-ok')!.lastError);
    assert.equal(fresh.get('mtls-ok')!.health, 'up', fresh.get('mtls-ok')!.lastError);
    const recent = await query('min_over_time(up{job=~"basic-ok|mtls-ok"}[3s])');
    assert.deepEqual(
      recent.data.result.map((r) => r.value[1]),
      ['1', '1'],
      'no failed scrape across the rotation',
    );
  },
);
