import { FamilyBuilder } from '../exposition/family.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Timestamps in Unix seconds. A time the API does not have is an absent series, never 0: an alert on
// `tailscale_device_machine_key_expiry - time() < 14*86400` must not fire for keys that never expire.

export const deviceTimesCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  ...stepwise(function* ({ devices, nowSeconds }) {
    if (devices === undefined) return [];
    const lastSeen = new FamilyBuilder(
      'tailscale_device_last_seen_timestamp',
      'gauge',
      'Unix time the device was last connected to control (lastSeen); the refresh time while connected (connectedToControl).',
    );
    const expiry = new FamilyBuilder(
      'tailscale_device_machine_key_expiry',
      'gauge',
      'Unix time the node key expires (expires). Absent when key expiry is disabled.',
    );
    const created = new FamilyBuilder(
      'tailscale_device_created_timestamp',
      'gauge',
      'Unix time the device was added to the tailnet (created). Absent for external devices.',
    );
    for (let i = 0; i < devices.length; i++) {
      if (pauseBefore(i)) yield;
      const d = devices[i]!;
      // The API omits lastSeen while a device is connected: it is seen now, at this refresh.
      const seen = d.online ? nowSeconds : d.lastSeenSeconds;
      if (seen !== undefined) lastSeen.add(deviceLabels(d), seen);
      if (d.expiresSeconds !== undefined) expiry.add(deviceLabels(d), d.expiresSeconds);
      if (d.createdSeconds !== undefined) created.add(deviceLabels(d), d.createdSeconds);
    }
    return [lastSeen.build(), expiry.build(), created.build()];
  }),
};
