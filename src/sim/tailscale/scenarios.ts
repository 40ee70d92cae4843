// Named tailnets as data. Each entry lists only what differs from buildDevice()'s defaults
// (an online, authorized Linux device); times are relative to the simulation's start.
import { EXIT_ROUTES, EXPORTER_TAG, MAGICDNS_SUFFIX, type Distro, type SimDeviceSpec } from '../shared/device.js';
import { DAY_MS, HOUR_MS, isoTime } from '../shared/time.js';

export type Scenario =
  'demo' | 'edge-cases' | { names: string[] } | { count: number; scrapedEvery?: number; seriesPerDevice?: number };

export type DevicePartial = Partial<SimDeviceSpec>;

const UBUNTU: Distro = { name: 'ubuntu', version: '24.04', codeName: 'Noble Numbat' };
const DEBIAN: Distro = { name: 'debian', version: '12', codeName: 'bookworm' };
const MAX_COUNT = 100_000;

export function scenarioDevices(scenario: Scenario, nowMs: number): DevicePartial[] {
  if (scenario === 'demo') return demo(nowMs);
  if (scenario === 'edge-cases') return edgeCases(nowMs);
  if ('names' in scenario) return scenario.names.map(namedDevice);
  return counted(scenario, nowMs);
}

/** A metrics-serving exporter-tagged Linux server, the TEST_DEVICES shape. */
function namedDevice(hostname: string): DevicePartial {
  return { hostname, tags: [EXPORTER_TAG], servesMetrics: true, sshEnabled: true, distro: UBUNTU };
}

function demo(now: number): DevicePartial[] {
  return [
    {
      hostname: 'gateway-1',
      user: 'ops@example.com',
      tags: [EXPORTER_TAG, 'tag:gateway'],
      servesMetrics: true,
      advertisedRoutes: ['10.20.0.0/16', '192.168.10.0/24'],
      enabledRoutes: ['10.20.0.0/16'],
      sshEnabled: true,
      distro: UBUNTU,
      clientMetrics: { homeDerpRegionId: 1, healthWarnings: 1 },
    },
    {
      hostname: 'gateway-2',
      user: 'ops@example.com',
      tags: [EXPORTER_TAG, 'tag:gateway'],
      servesMetrics: true,
      advertisedRoutes: ['172.16.0.0/20'],
      enabledRoutes: ['172.16.0.0/20'],
      keyExpiryDisabled: true,
      distro: DEBIAN,
      clientMetrics: { homeDerpRegionId: 4, healthWarnings: 0 },
    },
    {
      hostname: 'exit-node-1',
      user: 'ops@example.com',
      tags: [EXPORTER_TAG, 'tag:exit-node'],
      servesMetrics: true,
      advertisedRoutes: [...EXIT_ROUTES],
      enabledRoutes: [...EXIT_ROUTES],
      distro: UBUNTU,
      clientMetrics: { homeDerpRegionId: 4, healthWarnings: 0 },
    },
    {
      hostname: 'db-1',
      user: 'ops@example.com',
      tags: [EXPORTER_TAG, 'tag:server'],
      servesMetrics: true,
      sshEnabled: true,
      distro: DEBIAN,
      clientMetrics: { homeDerpRegionId: 8, healthWarnings: 0 },
    },
    {
      hostname: 'ci-runner-7f3a',
      user: 'ops@example.com',
      tags: [EXPORTER_TAG, 'tag:ci'],
      servesMetrics: true,
      isEphemeral: true,
      created: isoTime(now - 2 * HOUR_MS),
      distro: UBUNTU,
      clientMetrics: { homeDerpRegionId: 2, healthWarnings: 0 },
    },
    {
      hostname: 'alice-macbook',
      os: 'macOS',
      user: 'alice@example.com',
      multipleConnections: true,
      postureIdentity: { serialNumbers: ['C02XL0GYJGH5'] },
    },
    {
      hostname: 'bob-desktop',
      os: 'windows',
      user: 'bob@example.com',
      connectedToControl: false,
      expires: isoTime(now - 3 * DAY_MS),
      lastSeen: isoTime(now - 3 * DAY_MS),
      postureIdentity: { serialNumbers: ['5CD1234XYZ'] },
    },
    {
      hostname: 'alice-iphone',
      os: 'iOS',
      user: 'alice@example.com',
      connectedToControl: false,
      lastSeen: isoTime(now - 5 * HOUR_MS),
    },
    {
      hostname: 'carol-pixel',
      os: 'android',
      user: 'carol@example.com',
      clientVersion: '1.62.0-t2b9a9e6c1-g8e4a52e6b',
      updateAvailable: true,
    },
    {
      hostname: 'nas-1',
      user: 'ops@example.com',
      tags: ['tag:storage'],
      tailnetLockError: 'tailnet-lock: node signature invalid: key not trusted',
      distro: { name: 'synology', version: '7.2', codeName: '' },
    },
    {
      hostname: 'dave-laptop',
      name: 'dave-laptop.tail9876.ts.net',
      os: 'macOS',
      user: 'dave@partner.example',
      isExternal: true,
      keyExpiryDisabled: true,
    },
    {
      hostname: 'lobby-kiosk',
      os: 'windows',
      user: 'ops@example.com',
      tags: ['tag:kiosk'],
      blocksIncomingConnections: true,
    },
  ];
}

function edgeCases(now: number): DevicePartial[] {
  const served = (hostname: string, extra: DevicePartial = {}): DevicePartial => ({
    hostname,
    tags: [EXPORTER_TAG],
    servesMetrics: true,
    ...extra,
  });
  return [
    served('say "hi"', { name: `say-"hi".${MAGICDNS_SUFFIX}`, user: '"quoted"@example.com' }),
    served('back\\slash\\', { name: `back\\slash.${MAGICDNS_SUFFIX}`, tags: [EXPORTER_TAG, 'tag:a\\b'] }),
    served('line\nbreak', { name: `line\nbreak.${MAGICDNS_SUFFIX}`, os: 'linux\nplus' }),
    served('ünïcødé-日本-😀', { name: `ünïcødé-日本-😀.${MAGICDNS_SUFFIX}`, user: 'jürgen@exämple.com' }),
    served('dup'),
    served('dup', { name: `dup-1.${MAGICDNS_SUFFIX}` }),
    served('h'.repeat(200)),
    // Not tagged, so a tag-requiring exporter must leave it alone although it answers.
    { hostname: 'untagged-metrics', servesMetrics: true },
    { hostname: 'ipv6-only', addresses: ['fd7a:115c:a1e0::dead:beef'], tags: ['tag:server'] },
    // Addresses outside the tailnet ranges: an exporter must refuse to scrape them (SSRF).
    { hostname: 'metadata-ssrf', addresses: ['169.254.169.254'], tags: [EXPORTER_TAG] },
    { hostname: 'private-ssrf', addresses: ['10.1.2.3', 'fd7a:115c:a1e0::bad:1'], tags: [EXPORTER_TAG] },
    {
      hostname: 'bare-minimum',
      user: '',
      authorized: false,
      connectedToControl: false,
      enabledRoutes: undefined,
      advertisedRoutes: undefined,
      clientConnectivity: undefined,
      postureIdentity: undefined,
      sshEnabled: undefined,
      distro: undefined,
    },
    { hostname: 'empty-expiry', keyExpiryDisabled: true, expires: '' },
    { hostname: 'far-future', expires: isoTime(now + 3650 * DAY_MS), clientVersion: '1.999.0-tdeadbeef-gdeadbeef' },
  ];
}

function counted(
  scenario: { count: number; scrapedEvery?: number; seriesPerDevice?: number },
  now: number,
): DevicePartial[] {
  const { count, scrapedEvery = 4, seriesPerDevice = 30 } = scenario;
  if (!Number.isInteger(count) || count < 0 || count > MAX_COUNT) throw new RangeError(`count must be 0..${MAX_COUNT}`);
  if (!Number.isInteger(scrapedEvery) || scrapedEvery < 1)
    throw new RangeError('scrapedEvery must be a positive integer');
  const width = String(count).length;
  const devices: DevicePartial[] = [];
  for (let i = 0; i < count; i++) {
    const hostname = `node-${String(i).padStart(width, '0')}`;
    devices.push(i % scrapedEvery === 0 ? scrapedNode(hostname, i, seriesPerDevice) : plainNode(hostname, i, now));
  }
  return devices;
}

const REGION_IDS = [1, 2, 4, 7, 8, 9];
const OS_MIX = ['linux', 'windows', 'macOS', 'iOS', 'android', 'linux'];

function scrapedNode(hostname: string, i: number, seriesPerDevice: number): DevicePartial {
  return {
    hostname,
    tags: [EXPORTER_TAG, 'tag:server'],
    servesMetrics: true,
    distro: UBUNTU,
    clientMetrics: {
      homeDerpRegionId: REGION_IDS[i % REGION_IDS.length] ?? 4,
      healthWarnings: i % 17 === 0 ? 1 : 0,
      seriesPerDevice,
    },
  };
}

function plainNode(hostname: string, i: number, now: number): DevicePartial {
  const online = i % 10 !== 1;
  return {
    hostname,
    os: OS_MIX[i % OS_MIX.length] ?? 'linux',
    user: `user${i % 97}@example.com`,
    connectedToControl: online,
    ...(online ? {} : { lastSeen: isoTime(now - (i % 48) * HOUR_MS - 60_000) }),
  };
}
