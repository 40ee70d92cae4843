import { BlockList, isIP } from 'node:net';
import { hostPort } from '../util/host.js';
import type { Device } from '../control/device.js';
import { deviceNameMatcher } from './names.js';
import { inShard, type Shard } from './shard.js';
import { CLIENT_METRICS_MIN_VERSION, compareVersions, parseClientVersion } from '../control/client-version.js';

// Which devices are scraped, and at which address. This is the only producer of ScrapeTarget, so it is
// also the SSRF gate: an address outside the allowed ranges never reaches the scraper.

export interface SelectionRules {
  readonly scrapeTag: string;
  readonly requireExporterTag: boolean;
  readonly targetDevices: readonly string[];
  readonly excludeDevices: readonly string[];
  readonly deviceTags: readonly string[];
  readonly allowedCidrs: readonly string[];
  readonly port: number;
  /** Replicas split the scraped devices; undefined = this process scrapes them all. */
  readonly shard?: Shard;
}

export interface ScrapeTarget {
  readonly deviceId: string;
  readonly deviceName: string;
  readonly address: string;
  readonly url: string;
}

/** Why a device is or is not scraped (bounded: these are label values). */
export type SelectionState =
  'eligible' | 'offline' | 'untagged' | 'excluded' | 'address_refused' | 'other_shard' | 'client_too_old';

export interface Selection {
  readonly device: Device;
  readonly state: SelectionState;
  readonly target?: ScrapeTarget;
}

function buildBlockList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [ip, bits] = cidr.split('/') as [string, string];
    list.addSubnet(ip, Number(bits), isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** The device's first Tailscale IPv4 address, else its first IPv6 address. */
export function scrapeAddress(device: Device): string | undefined {
  return device.addresses.find((a) => isIP(a) === 4) ?? device.addresses.find((a) => isIP(a) === 6);
}

export function makeSelector(rules: SelectionRules): (devices: readonly Device[]) => Selection[] {
  const targets = rules.targetDevices.map((t) => deviceNameMatcher(t));
  const excludes = rules.excludeDevices.map((t) => deviceNameMatcher(t));
  const allowed = buildBlockList(rules.allowedCidrs);
  const matches = (patterns: ReadonlyArray<(d: Device) => boolean>, d: Device): boolean => patterns.some((p) => p(d));

  const decide = (d: Device): Selection => {
    if (rules.shard !== undefined && !inShard(d.id, rules.shard)) return { device: d, state: 'other_shard' };
    if (matches(excludes, d)) return { device: d, state: 'excluded' };
    const tagged = d.tags.includes(rules.scrapeTag);
    const named = targets.length > 0 && matches(targets, d);
    if (targets.length > 0 && !named) return { device: d, state: 'excluded' };
    if (rules.deviceTags.length > 0 && !rules.deviceTags.some((t) => d.tags.includes(t)))
      return { device: d, state: 'excluded' };
    if (!tagged && (rules.requireExporterTag || !named)) return { device: d, state: 'untagged' };
    if (!d.online) return { device: d, state: 'offline' };
    // A known-old client cannot serve client metrics; an unparseable version is given the benefit of the doubt.
    const version = parseClientVersion(d.clientVersion);
    if (version !== undefined && compareVersions(version, CLIENT_METRICS_MIN_VERSION) < 0)
      return { device: d, state: 'client_too_old' };
    const address = scrapeAddress(d);
    const family = address === undefined ? 0 : isIP(address);
    if (address === undefined || !allowed.check(address, family === 6 ? 'ipv6' : 'ipv4')) {
      return { device: d, state: 'address_refused' };
    }
    // Scrape by IP: the web client answers any other Host with a 301 to its IP.
    const target = {
      deviceId: d.id,
      deviceName: d.name,
      address,
      url: `http://${hostPort(address, rules.port)}/metrics`,
    };
    return { device: d, state: 'eligible', target };
  };
  // The rules are fixed and a Device object never changes: the device list hands back the same object for an
  // entry that did not change, so most devices are decided once, not at every refresh.
  const decided = new WeakMap<Device, Selection>();
  return (devices) =>
    devices.map((d) => {
      let s = decided.get(d);
      if (s === undefined) decided.set(d, (s = decide(d)));
      return s;
    });
}
