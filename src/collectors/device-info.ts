import { boolValue, family, gauge, type Labels } from '../exposition/family.js';
import type { Device } from '../tailscale/device.js';
import { deviceListSource, deviceLabels, type ListCollector } from './collector.js';

// Inventory and state flags of each device, from the device list (GET /tailnet/{t}/devices?fields=all).

const flag = (devices: readonly Device[], pick: (d: Device) => boolean): Array<readonly [Labels, number]> =>
  devices.map((d) => [deviceLabels(d), boolValue(pick(d))] as const);

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

export const makeDeviceInfoCollector = (o: DeviceInfoOptions): ListCollector => ({
  name: 'devices',
  stage: 'list',
    source: deviceListSource,
  collect({ devices }) {
    if (devices === undefined) return [];
    return [
      // The Go original's name; untyped because promtool reserves a _count suffix for histograms and summaries.
      family('tailscale_device_count', 'untyped', 'Number of devices in the tailnet (API device list).', [[{}, devices.length]]),
      gauge(
        'tailscale_device_info',
        'Device metadata, value 1. online from connectedToControl, os from os, version from clientVersion.',
        devices.map((d) => [{ ...deviceLabels(d), online: String(d.online), os: d.os, version: d.clientVersion, ...derivedLabels(d, o.labelsFromTags) }, 1] as const),
      ),
      gauge('tailscale_device_online', '1 if the device is connected to the control plane (connectedToControl).', flag(devices, (d) => d.online)),
      gauge('tailscale_device_authorized', '1 if the device is authorized (authorized).', flag(devices, (d) => d.authorized)),
      gauge(
        'tailscale_device_user',
        'Login name of the user who registered the device (user), value 1.',
        devices.map((d) => [{ ...deviceLabels(d), user_email: o.userLabel(d.user) }, 1] as const),
      ),
      gauge('tailscale_device_update_available', '1 if a client update is available (updateAvailable).', flag(devices, (d) => d.updateAvailable)),
      gauge('tailscale_device_external', '1 if the device is shared into the tailnet from another one (isExternal).', flag(devices, (d) => d.isExternal)),
      gauge(
        'tailscale_device_blocks_incoming_connections',
        '1 if the device blocks incoming connections, "shields up" (blocksIncomingConnections).',
        flag(devices, (d) => d.blocksIncomingConnections),
      ),
      gauge('tailscale_device_ephemeral', '1 if the device is an ephemeral node (isEphemeral).', flag(devices, (d) => d.isEphemeral)),
      gauge(
        'tailscale_device_multiple_connections',
        '1 if several live connections share this node key, i.e. copied state (multipleConnections).',
        flag(devices, (d) => d.multipleConnections),
      ),
      gauge(
        'tailscale_device_tailnet_lock_error',
        '1 if the device has a Tailnet Lock signature problem (tailnetLockError non-empty).',
        flag(devices, (d) => d.tailnetLockError !== ''),
      ),
      gauge('tailscale_device_key_expiry_disabled', '1 if the node key never expires (keyExpiryDisabled).', flag(devices, (d) => d.keyExpiryDisabled)),
      gauge(
        'tailscale_device_tags',
        'Tag of the device (tags), value 1 per tag.',
        devices.flatMap((d) => d.tags.map((tag) => [{ ...deviceLabels(d), tag }, 1] as const)),
      ),
    ];
  },
});

export const deviceInfoCollector: ListCollector = makeDeviceInfoCollector({ labelsFromTags: [], userLabel: (u) => u });
