// Renders a device the way the Tailscale API does, including its omission quirks.
import type { DeviceRecord } from '../shared/device.js';

export type FieldSet = 'default' | 'all';

type Field = keyof DeviceRecord;

/** Exactly the fields `fields=default` returns (tailscale-facts §1.3). */
export const DEFAULT_FIELDS: readonly Field[] = [
  'addresses',
  'id',
  'nodeId',
  'user',
  'name',
  'hostname',
  'clientVersion',
  'updateAvailable',
  'os',
  'created',
  'connectedToControl',
  'lastSeen',
  'keyExpiryDisabled',
  'expires',
  'authorized',
  'isExternal',
  'machineKey',
  'nodeKey',
  'blocksIncomingConnections',
  'tailnetLockKey',
  'tailnetLockError',
  'tags',
  'isEphemeral',
];

/** Added by `fields=all`. */
export const ALL_ONLY_FIELDS: readonly Field[] = [
  'enabledRoutes',
  'advertisedRoutes',
  'clientConnectivity',
  'postureIdentity',
  'sshEnabled',
  'distro',
  'multipleConnections',
];

/**
 * `withoutConnectedToControl`: the shape of control servers that imitate the API (Headscale's /api/v2, older
 * API versions): no `connectedToControl`, `lastSeen` still only for devices that are not connected.
 */
export function deviceJson(
  device: DeviceRecord,
  fields: FieldSet,
  options: { withoutConnectedToControl?: boolean } = {},
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = fields === 'all' ? [...DEFAULT_FIELDS, ...ALL_ONLY_FIELDS] : DEFAULT_FIELDS;
  for (const name of names) {
    if (name === 'connectedToControl' && options.withoutConnectedToControl === true) continue;
    if (isSent(device, name)) out[name] = device[name];
  }
  return out;
}

function isSent(device: DeviceRecord, name: Field): boolean {
  switch (name) {
    case 'lastSeen':
      return !device.connectedToControl && device.lastSeen !== undefined;
    case 'multipleConnections':
      return device.multipleConnections === true;
    case 'tailnetLockError':
      return typeof device.tailnetLockError === 'string' && device.tailnetLockError !== '';
    case 'tags':
      return !device.isExternal && Array.isArray(device.tags) && device.tags.length > 0;
    default:
      return device[name] !== undefined;
  }
}

/**
 * Corrupts every other device in a rendered list, cycling through the damage a careless or changed
 * API could do: wrong primitive types, missing required ids, nulls where arrays belong.
 */
export function withWrongTypes(devices: Record<string, unknown>[]): Record<string, unknown>[] {
  return devices.map((device, i) => (i % 2 === 0 ? corrupt(device, (i / 2) % CORRUPTIONS.length) : device));
}

const CORRUPTIONS: ReadonlyArray<(d: Record<string, unknown>) => void> = [
  (d) => {
    d['authorized'] = 'yes';
    delete d['id'];
  },
  (d) => {
    d['addresses'] = null;
    d['connectedToControl'] = 'true';
  },
  (d) => {
    d['expires'] = 1_767_225_600;
    d['tags'] = 'tag:exporter';
    delete d['nodeId'];
  },
  (d) => {
    d['name'] = 42;
    d['lastSeen'] = false;
    d['clientConnectivity'] = 'unknown';
  },
];

function corrupt(device: Record<string, unknown>, which: number): Record<string, unknown> {
  const copy = { ...device };
  CORRUPTIONS[which]?.(copy);
  return copy;
}
