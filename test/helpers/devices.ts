import type { Device } from '../../src/control/device.js';

/** A fully-populated device for collector and selection tests; override what the test is about. */
export function device(overrides: Partial<Device> = {}): Device {
  return {
    id: '1001',
    nodeId: 'nAbc1CNTRL',
    name: 'gateway-1.tail1234.ts.net',
    hostname: 'gateway-1',
    user: 'alice@example.com',
    addresses: ['100.101.102.103', 'fd7a:115c:a1e0::1'],
    os: 'linux',
    clientVersion: '1.80.2-t62b8bf6a0-g3c35ee987',
    tags: ['tag:exporter'],
    online: true,
    authorized: true,
    updateAvailable: false,
    isExternal: false,
    isEphemeral: false,
    blocksIncomingConnections: false,
    multipleConnections: false,
    keyExpiryDisabled: false,
    tailnetLockError: '',
    createdSeconds: 1_700_000_000,
    lastSeenSeconds: undefined,
    expiresSeconds: 1_800_000_000,
    advertisedRoutes: [],
    enabledRoutes: [],
    clientConnectivity: undefined,
    postureSerialNumbers: undefined,
    sshEnabled: false,
    ...overrides,
  };
}
