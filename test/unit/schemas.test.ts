import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Device } from '../../src/control/device.js';
import { apiDeviceSchema, onlineFromClock, parseEntries, toDevice } from '../../src/control/schemas.js';

// The API's device JSON to the exporter's Device: every field, absent kept apart from zero or false.

const NOW = Date.UTC(2026, 0, 2, 0, 0, 0) / 1000;
const convert = (raw: unknown): Device => toDevice(apiDeviceSchema.parse(raw), NOW);

test('toDevice: a device with every field set gives every field, latencies sorted, features lower-cased', () => {
  const raw = {
    id: 'd1',
    nodeId: 'n1',
    name: 'host.tail.ts.net.',
    hostname: 'host',
    user: 'alice@example.com',
    addresses: ['100.64.0.1', 'fd7a::1'],
    os: 'linux',
    clientVersion: '1.80.0',
    tags: ['tag:a', 'tag:b', 'tag:a'],
    connectedToControl: false,
    authorized: true,
    updateAvailable: true,
    isExternal: true,
    isEphemeral: true,
    blocksIncomingConnections: true,
    multipleConnections: true,
    keyExpiryDisabled: false,
    tailnetLockError: 'bad key',
    created: '2026-01-01T00:00:00Z',
    lastSeen: '2026-01-01T23:59:00Z',
    expires: '2026-07-01T00:00:00Z',
    advertisedRoutes: ['10.0.0.0/8', '10.0.0.0/8'],
    enabledRoutes: ['10.0.0.0/8'],
    clientConnectivity: {
      endpoints: ['1.2.3.4:41641'],
      derp: 'fra',
      mappingVariesByDestIP: true,
      latency: {
        nyc: { latencyMs: 80 },
        ams: { latencyMs: 12.5, preferred: false },
        fra: { latencyMs: 10, preferred: true },
        bad: { latencyMs: 'x' },
        lhr: { latencyMs: 20 },
      },
      clientSupports: { UDP: true, IPv6: false, hairPinning: null, PMP: 'x' },
    },
    postureIdentity: { serialNumbers: ['SN1'], disabled: false },
    sshEnabled: false,
  };
  assert.deepEqual(convert(raw), {
    id: 'd1',
    nodeId: 'n1',
    name: 'host.tail.ts.net',
    hostname: 'host',
    user: 'alice@example.com',
    addresses: ['100.64.0.1', 'fd7a::1'],
    os: 'linux',
    clientVersion: '1.80.0',
    tags: ['tag:a', 'tag:b'],
    online: false,
    authorized: true,
    updateAvailable: true,
    isExternal: true,
    isEphemeral: true,
    blocksIncomingConnections: true,
    multipleConnections: true,
    keyExpiryDisabled: false,
    tailnetLockError: 'bad key',
    createdSeconds: Date.UTC(2026, 0, 1) / 1000,
    lastSeenSeconds: NOW - 60,
    expiresSeconds: Date.UTC(2026, 6, 1) / 1000,
    advertisedRoutes: ['10.0.0.0/8'],
    enabledRoutes: ['10.0.0.0/8'],
    clientConnectivity: {
      endpoints: ['1.2.3.4:41641'],
      latency: [
        { region: 'ams', latencyMs: 12.5, preferred: false },
        { region: 'fra', latencyMs: 10, preferred: true },
        { region: 'lhr', latencyMs: 20, preferred: false },
        { region: 'nyc', latencyMs: 80, preferred: false },
      ],
      clientSupports: { udp: true, ipv6: false },
      mappingVariesByDestIP: true,
    },
    postureSerialNumbers: ['SN1'],
    sshEnabled: false,
  });
});

test('toDevice: only id and name: empty texts and lists, false flags, absent times, routes and connectivity', () => {
  assert.deepEqual(convert({ id: 'd2', name: 'bare' }), {
    id: 'd2',
    nodeId: '',
    name: 'bare',
    hostname: '',
    user: '',
    addresses: [],
    os: '',
    clientVersion: '',
    tags: [],
    online: true,
    authorized: false,
    updateAvailable: false,
    isExternal: false,
    isEphemeral: false,
    blocksIncomingConnections: false,
    multipleConnections: false,
    keyExpiryDisabled: false,
    tailnetLockError: '',
    createdSeconds: undefined,
    lastSeenSeconds: undefined,
    expiresSeconds: undefined,
    advertisedRoutes: undefined,
    enabledRoutes: undefined,
    clientConnectivity: undefined,
    postureSerialNumbers: undefined,
    sshEnabled: undefined,
  });
});

test('toDevice: empty connectivity, posture without serials, disabled posture, expiry disabled, wrong types absent', () => {
  const d = convert({
    id: 'd3',
    name: 'odd',
    hostname: 7,
    authorized: 'yes',
    keyExpiryDisabled: true,
    expires: '2026-07-01T00:00:00Z',
    clientConnectivity: {},
    postureIdentity: {},
  });
  assert.deepEqual(
    [d.hostname, d.authorized, d.keyExpiryDisabled, d.expiresSeconds, d.clientConnectivity, d.postureSerialNumbers],
    [
      '',
      false,
      true,
      undefined,
      { endpoints: [], latency: [], clientSupports: {}, mappingVariesByDestIP: undefined },
      [],
    ],
  );
  assert.equal(
    convert({ id: 'd4', name: 'p', postureIdentity: { serialNumbers: ['S'], disabled: true } }).postureSerialNumbers,
    undefined,
  );
});

test('toDevice: without connectedToControl, online while lastSeen is at most 5 minutes old; onlineFromClock says so', () => {
  const at = (secondsAgo: number): unknown => ({
    id: 'd',
    name: 'n',
    lastSeen: new Date((NOW - secondsAgo) * 1000).toISOString(),
  });
  assert.deepEqual(
    [0, 299, 300, 301].map((s) => convert(at(s)).online),
    [true, true, true, false],
  );
  assert.equal(onlineFromClock(apiDeviceSchema.parse(at(10))), true);
  assert.equal(onlineFromClock(apiDeviceSchema.parse({ ...(at(10) as object), connectedToControl: true })), false);
  assert.equal(onlineFromClock(apiDeviceSchema.parse({ id: 'd', name: 'n' })), false);
});

test('parseEntries: anything but a list is no entries; malformed and repeated entries are dropped', () => {
  const schema = apiDeviceSchema;
  for (const notList of [undefined, null, {}, 'x', 3])
    assert.deepEqual(
      parseEntries(notList, schema, (d) => d.id),
      [],
    );
  assert.deepEqual(
    parseEntries(
      [{ id: 'a', name: 'A' }, { id: '', name: 'B' }, { name: 'C' }, { id: 'a', name: 'A2' }, { id: 'b', name: 'B' }],
      schema,
      (d) => d.id,
    ).map((d) => d.name),
    ['A', 'B'],
  );
});
