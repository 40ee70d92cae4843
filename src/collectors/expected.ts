import type { ExpectedDevices } from '../config/expected-devices.js';
import { deviceNameMatcher } from '../devices/names.js';
import { gauge, type Labels } from '../exposition/family.js';
import type { Device } from '../control/device.js';
import { deviceLabels, type ListCollector } from './collector.js';

// Expected inventory (EXPECTED_DEVICES_FILE): how many devices each selector wants and how many are there
// and online, and in strict mode the devices no selector accounts for.

function matcher(match: ExpectedDevices['selectors'][number]['match']): (d: Device) => boolean {
  const named = match.name === undefined ? undefined : deviceNameMatcher(match.name);
  return (d) => (named === undefined || named(d)) && (match.tag === undefined || d.tags.includes(match.tag));
}

export function makeExpectedCollector(current: () => ExpectedDevices | undefined): ListCollector {
  return {
    name: 'devices',
    stage: 'list',
    collect({ devices }) {
      const spec = current();
      if (spec === undefined || devices === undefined) return [];
      const wanted: Array<readonly [Labels, number]> = [];
      const present: Array<readonly [Labels, number]> = [];
      const matchers = spec.selectors.map((s) => ({ s, test: matcher(s.match) }));
      for (const { s, test } of matchers) {
        wanted.push([{ selector: s.name, severity: s.severity }, s.min]);
        present.push([{ selector: s.name, severity: s.severity }, devices.filter((d) => d.online && test(d)).length]);
      }
      const families = [
        gauge(
          'tsmetrics_expected_devices',
          'Minimum number of devices the selector of EXPECTED_DEVICES_FILE wants.',
          wanted,
        ),
        gauge('tsmetrics_expected_devices_present', 'Online devices matching the selector.', present),
      ];
      if (spec.strict) {
        families.push(
          gauge(
            'tailscale_device_unexpected',
            '1 if the device matches no selector of EXPECTED_DEVICES_FILE (strict mode).',
            devices.filter((d) => !matchers.some(({ test }) => test(d))).map((d) => [deviceLabels(d), 1] as const),
          ),
        );
      }
      return families;
    },
  };
}
