import { boolValue, FamilyBuilder } from '../exposition/family.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Connectivity as the control plane saw it (clientConnectivity, fields=all) and device posture.

export const deviceConnectivityCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  ...stepwise(function* ({ devices }) {
    if (devices === undefined) return [];
    // Filled sample by sample: no [labels, value] pair per series to copy into a sample afterwards.
    const latency = new FamilyBuilder(
      'tailscale_device_latency_ms',
      'gauge',
      'Latency from the device to a DERP region in milliseconds (clientConnectivity.latency); preferred="true" marks the home region.',
    );
    // These two keep the Go original's names; they are counts that can go down, so they are not typed
    // as counters (untyped also keeps promtool's "_total on a gauge" lint quiet).
    const endpoints = new FamilyBuilder(
      'tailscale_device_endpoints_total',
      'untyped',
      'Number of UDP endpoints the device reported (clientConnectivity.endpoints).',
    );
    const supports = new FamilyBuilder(
      'tailscale_device_client_supports',
      'gauge',
      '1 if the device network supports the feature (clientConnectivity.clientSupports); features the client does not report are absent.',
    );
    const serials = new FamilyBuilder(
      'tailscale_device_posture_serial_numbers_total',
      'untyped',
      'Number of serial numbers in the device posture identity (postureIdentity.serialNumbers); absent when the device did not opt in.',
    );
    for (let i = 0; i < devices.length; i++) {
      if (pauseBefore(i)) yield;
      const d = devices[i]!;
      const c = d.clientConnectivity;
      if (c !== undefined) {
        for (const l of c.latency) {
          latency.add({ ...deviceLabels(d), derp_region: l.region, preferred: String(l.preferred) }, l.latencyMs);
        }
        endpoints.add(deviceLabels(d), c.endpoints.length);
        for (const feature of Object.keys(c.clientSupports).sort()) {
          supports.add({ ...deviceLabels(d), feature }, boolValue(c.clientSupports[feature]));
        }
      }
      if (d.postureSerialNumbers !== undefined) serials.add(deviceLabels(d), d.postureSerialNumbers.length);
    }
    return [latency.build(), endpoints.build(), supports.build(), serials.build()];
  }),
};
