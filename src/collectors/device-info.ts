import { boolValue, family, FamilyBuilder } from '../exposition/family.js';
import type { Device } from '../control/device.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Inventory and state flags of each device, from the device list (GET /tailnet/{t}/devices?fields=all).

export interface DeviceInfoOptions {
  /** DEVICE_LABELS_FROM_TAGS: extra labels on tailscale_device_info, from the first matching tag. */
  readonly labelsFromTags: ReadonlyArray<{ readonly label: string; readonly pattern: RegExp }>;
  /** REDACT_USER_EMAILS: how a user's login name appears in labels. */
  readonly userLabel: (user: string) => string;
}

/** Every device gets every derived label ("" when no tag matches), so the label set stays fixed. */
function derivedLabels(d: Device, rules: DeviceInfoOptions['labelsFromTags']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { label, pattern } of rules) {
    out[label] = '';
    for (const tag of d.tags) {
      const m = pattern.exec(tag);
      if (m !== null) {
        out[label] = m.slice(1).find((g) => g !== undefined) ?? '';
        break;
      }
    }
  }
  return out;
}

const FLAGS: ReadonlyArray<readonly [name: string, help: string, pick: (d: Device) => boolean]> = [
  [
    'tailscale_device_online',
    '1 if the device is connected to the control plane (connectedToControl; when the API omits that field: lastSeen absent or at most 5 minutes old).',
    (d) => d.online,
  ],
  ['tailscale_device_authorized', '1 if the device is authorized (authorized).', (d) => d.authorized],
  [
    'tailscale_device_update_available',
    '1 if a client update is available (updateAvailable).',
    (d) => d.updateAvailable,
  ],
  [
    'tailscale_device_external',
    '1 if the device is shared into the tailnet from another one (isExternal).',
    (d) => d.isExternal,
  ],
  [
    'tailscale_device_blocks_incoming_connections',
    '1 if the device blocks incoming connections, "shields up" (blocksIncomingConnections).',
    (d) => d.blocksIncomingConnections,
  ],
  ['tailscale_device_ephemeral', '1 if the device is an ephemeral node (isEphemeral).', (d) => d.isEphemeral],
  [
    'tailscale_device_multiple_connections',
    '1 if several live connections share this node key, i.e. copied state (multipleConnections).',
    (d) => d.multipleConnections,
  ],
  [
    'tailscale_device_tailnet_lock_error',
    '1 if the device has a Tailnet Lock signature problem (tailnetLockError non-empty).',
    (d) => d.tailnetLockError !== '',
  ],
  [
    'tailscale_device_key_expiry_disabled',
    '1 if the node key never expires (keyExpiryDisabled).',
    (d) => d.keyExpiryDisabled,
  ],
];

export const makeDeviceInfoCollector = (o: DeviceInfoOptions): ListCollector => ({
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  ...stepwise(function* ({ devices }) {
    if (devices === undefined) return [];
    const info = new FamilyBuilder(
      'tailscale_device_info',
      'gauge',
      'Device metadata, value 1. online from connectedToControl, os from os, version from clientVersion.',
    );
    const user = new FamilyBuilder(
      'tailscale_device_user',
      'gauge',
      'Login name of the user who registered the device (user), value 1.',
    );
    const tags = new FamilyBuilder('tailscale_device_tags', 'gauge', 'Tag of the device (tags), value 1 per tag.');
    const flags = FLAGS.map(([name, help, pick]) => ({ family: new FamilyBuilder(name, 'gauge', help), pick }));
    for (let i = 0; i < devices.length; i++) {
      if (pauseBefore(i)) yield;
      const d = devices[i]!;
      const labels = deviceLabels(d);
      info.add(
        {
          ...labels,
          online: String(d.online),
          os: d.os,
          version: d.clientVersion,
          ...derivedLabels(d, o.labelsFromTags),
        },
        1,
      );
      user.add({ ...labels, user_email: o.userLabel(d.user) }, 1);
      for (const f of flags) f.family.add(labels, boolValue(f.pick(d)));
      for (const tag of d.tags) tags.add({ ...labels, tag }, 1);
    }
    return [
      // The Go original's name; untyped because promtool reserves a _count suffix for histograms and summaries.
      family('tailscale_device_count', 'untyped', 'Number of devices in the tailnet (API device list).', [
        [{}, devices.length],
      ]),
      info.build(),
      user.build(),
      ...flags.map((f) => f.family.build()),
      tags.build(),
    ];
  }),
});

export const deviceInfoCollector: ListCollector = makeDeviceInfoCollector({ labelsFromTags: [], userLabel: (u) => u });
