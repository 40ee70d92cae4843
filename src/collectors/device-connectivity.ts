import { boolValue, family, gauge, type Labels } from '../exposition/family.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Connectivity as the control plane saw it (clientConnectivity, fields=all) and device posture.

export const deviceConnectivityCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  ...stepwise(function* ({ devices }) {
    if (devices === undefined) return [];
    const latency: Array<readonly [Labels, number]> = [];
    const endpoints: Array<readonly [Labels, number]> = [];
    const supports: Array<readonly [Labels, number]> = [];
    const serials: Array<readonly [Labels, number]> = [];
    for (let i = 0; i < devices.length; i++) {
      if (pauseBefore(i)) yield;
      const d = devices[i]!;
      const c = d.clientConnectivity;
      if (c !== undefined) {
        for (const l of c.latency) {
          latency.push([{ ...deviceLabels(d), derp_region: l.region, preferred: String(l.preferred) }, l.latencyMs]);
        }
        endpoints.push([deviceLabels(d), c.endpoints.length]);
        for (const feature of Object.keys(c.clientSupports).sort()) {
          supports.push([{ ...deviceLabels(d), feature }, boolValue(c.clientSupports[feature])]);
        }
      }
      if (d.postureSerialNumbers !== undefined) serials.push([deviceLabels(d), d.postureSerialNumbers.length]);
    }
    return [
      gauge(
        'tailscale_device_latency_ms',
        'Latency from the device to a DERP region in milliseconds (clientConnectivity.latency); preferred="true" marks the home region.',
        latency,
      ),
      // These two keep the Go original's names; they are counts that can go down, so they are not typed
      // as counters (untyped also keeps promtool's "_total on a gauge" lint quiet).
      family(
        'tailscale_device_endpoints_total',
        'untyped',
        'Number of UDP endpoints the device reported (clientConnectivity.endpoints).',
        endpoints,
      ),
      gauge(
        'tailscale_device_client_supports',
        '1 if the device network supports the feature (clientConnectivity.clientSupports); features the client does not report are absent.',
        supports,
      ),
      family(
        'tailscale_device_posture_serial_numbers_total',
        'untyped',
        'Number of serial numbers in the device posture identity (postureIdentity.serialNumbers); absent when the device did not opt in.',
        serials,
      ),
    ];
  }),
};
