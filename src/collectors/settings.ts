import { boolValue, gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// Tailnet settings (GET /tailnet/{t}/settings, scope feature_settings:read). A setting the API reports as
// null (unknown, e.g. readable only with another scope) is absent, not 0.

const SNAKE = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/_on$/, '');

export const settingsCollector: ListCollector = {
  name: 'settings',
  stage: 'list',
  source: (d) => d.inventory.settings,
  collect({ inventory }) {
    const s = inventory.settings.data;
    if (s === undefined) return [];
    const enabled: Array<readonly [Labels, number]> = [];
    for (const [name, value] of Object.entries(s.booleans)) {
      if (value !== null) enabled.push([{ setting: SNAKE(name) }, boolValue(value)]);
    }
    return [
      gauge(
        'tailscale_tailnet_setting_enabled',
        '1 if the tailnet setting is on (devicesApprovalOn, usersApprovalOn, ...); absent when the API reports null.',
        enabled,
      ),
      gauge(
        'tailscale_tailnet_device_key_duration_seconds',
        'Lifetime of device keys in seconds (devicesKeyDurationDays × 86400).',
        s.devicesKeyDurationDays === undefined ? [] : [[{}, s.devicesKeyDurationDays * 86_400]],
      ),
      gauge(
        'tailscale_tailnet_settings_info',
        'Enumerated tailnet settings, value 1 (usersRoleAllowedToJoinExternalTailnets).',
        s.usersRoleAllowedToJoinExternalTailnets === undefined
          ? []
          : [[{ users_role_allowed_to_join_external_tailnets: s.usersRoleAllowedToJoinExternalTailnets }, 1]],
      ),
    ];
  },
};
