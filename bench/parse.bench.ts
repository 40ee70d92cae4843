// Micro-benchmark for src/devices/parse/: one realistic tailscaled client-metrics payload (30 series,
// the families of tailscale-facts §2.1, in tailscaled's own TYPE-then-HELP layout) parsed many times.
//
//   npm run build && node dist/bench/parse.bench.js [iterations]
//
// Budget: thousands of devices x ~30 series every 30 s; at 10 µs per payload, 5,000 devices cost 50 ms of
// parsing per refresh.

import { parseExposition } from '../src/devices/parse/index.js';

function payload(): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, series: [string, number][]): void => {
    out.push(`# TYPE ${name} ${type}\n# HELP ${name} ${help}\n`);
    for (const [labels, value] of series) out.push(`${name}${labels} ${value}\n`);
  };
  const paths = ['derp', 'direct_ipv4', 'direct_ipv6', 'peer_relay_ipv4', 'peer_relay_ipv6'];
  const byPath = (seed: number): [string, number][] => paths.map((p, i) => [`{path="${p}"}`, (seed * (i + 3)) % 99991]);
  family('tailscaled_advertised_routes', 'gauge', 'Number of advertised network routes (e.g. by a subnet router)', [
    ['', 2],
  ]);
  family('tailscaled_approved_routes', 'gauge', 'Number of approved network routes (e.g. by a subnet router)', [
    ['', 1],
  ]);
  family('tailscaled_health_messages', 'gauge', 'Number of health messages broken down by type.', [
    ['{type="warning"}', 1],
  ]);
  family('tailscaled_home_derp_region_id', 'gauge', "DERP region ID of this node's home relay server.", [['', 1]]);
  family(
    'tailscaled_inbound_bytes_total',
    'counter',
    'Counts the number of bytes received from other peers',
    byPath(13997076),
  );
  family(
    'tailscaled_inbound_dropped_packets_total',
    'counter',
    'Counts the number of dropped packets received by the node from other peers',
    [
      ['{reason="acl"}', 17],
      ['{reason="multicast"}', 3],
      ['{reason="link_local_unicast"}', 0],
      ['{reason="too_short"}', 0],
      ['{reason="unknown_protocol"}', 1],
    ],
  );
  family(
    'tailscaled_inbound_packets_total',
    'counter',
    'Counts the number of packets received from other peers',
    byPath(72229),
  );
  family(
    'tailscaled_outbound_bytes_total',
    'counter',
    'Counts the number of bytes sent to other peers',
    byPath(2681236),
  );
  family(
    'tailscaled_outbound_dropped_packets_total',
    'counter',
    'Counts the number of packets dropped while being sent to other peers',
    [['{reason="error"}', 0]],
  );
  family(
    'tailscaled_outbound_packets_total',
    'counter',
    'Counts the number of packets sent to other peers',
    byPath(27918),
  );
  return out.join('');
}

function main(): void {
  const iterations = Number(process.argv[2] ?? 10_000);
  const text = payload();
  const check = parseExposition(text);
  if (!check.ok) throw new Error(`benchmark payload does not parse: ${check.error.message}`);
  const series = check.families.reduce((n, f) => n + f.samples.length, 0);

  let sink = 0;
  for (let i = 0; i < 2_000; i++) sink += parseExposition(text).ok ? 1 : 0; // warm-up (JIT)
  const start = performance.now();
  for (let i = 0; i < iterations; i++) sink += parseExposition(text).ok ? 1 : 0;
  const elapsedMs = performance.now() - start;
  if (sink !== iterations + 2_000) throw new Error('unexpected parse failure');

  const nsPerOp = (elapsedMs * 1e6) / iterations;
  console.log(
    `parseExposition: ${series} series, ${text.length} chars, ${iterations} iterations: ` +
      `${nsPerOp.toFixed(0)} ns/op (${(nsPerOp / series) | 0} ns/series, ${((text.length * 1e3) / nsPerOp).toFixed(0)} MB/s)`,
  );
}

main();
