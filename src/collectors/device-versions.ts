import { FamilyBuilder, gauge } from '../exposition/family.js';
import { compareVersions, parseClientVersion, type Version } from '../control/client-version.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Client version policy: fleet skew by major.minor, and devices below MIN_CLIENT_VERSION.
// Unparseable versions are counted, never guessed; external devices report no version at all.

export function makeDeviceVersionsCollector(minimum: string | undefined): ListCollector {
  const min: Version | undefined = minimum === undefined ? undefined : parseClientVersion(minimum);
  return {
    name: 'devices',
    stage: 'list',
    source: deviceListSource,
    ...stepwise(function* ({ devices }) {
      if (devices === undefined) return [];
      const info = new FamilyBuilder(
        'tailscale_device_client_version_info',
        'gauge',
        'Client version of the device as major.minor (clientVersion), value 1.',
      );
      const below = new FamilyBuilder(
        'tailscale_device_client_version_below_minimum',
        'gauge',
        '1 if the device client is older than MIN_CLIENT_VERSION (clientVersion).',
      );
      let unparseable = 0;
      for (let i = 0; i < devices.length; i++) {
        if (pauseBefore(i)) yield;
        const d = devices[i]!;
        if (d.clientVersion === '') continue;
        const v = parseClientVersion(d.clientVersion);
        if (v === undefined) {
          unparseable++;
          continue;
        }
        info.add({ ...deviceLabels(d), major_minor: `${v[0]}.${v[1]}` }, 1);
        if (min !== undefined) below.add(deviceLabels(d), compareVersions(v, min) < 0 ? 1 : 0);
      }
      const families = [
        info.build(),
        gauge(
          'tsmetrics_client_version_unparseable',
          'Devices whose clientVersion could not be parsed (not exported in the version families).',
          [[{}, unparseable]],
        ),
      ];
      if (min !== undefined) {
        families.push(below.build());
      }
      return families;
    }),
  };
}
