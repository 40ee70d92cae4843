import { boolValue, gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// Users (GET /tailnet/{t}/users?type=all, scope users:read). Each label carries its own field.

export function makeUsersCollector(userLabel: (user: string) => string): ListCollector {
  return {
    name: 'users',
    stage: 'list',
    source: (d) => d.inventory.users,
    collect({ inventory }) {
      const users = inventory.users.data;
      if (users === undefined) return [];
      const ids = (u: (typeof users)[number]): Labels => ({ user_id: u.id, login_name: userLabel(u.loginName) });
      const info: Array<readonly [Labels, number]> = [];
      const lastSeen: Array<readonly [Labels, number]> = [];
      const created: Array<readonly [Labels, number]> = [];
      const connected: Array<readonly [Labels, number]> = [];
      const devices: Array<readonly [Labels, number]> = [];
      for (const u of users) {
        // Display names are personal data too: redacted like login names when redaction is on.
        info.push([
          { ...ids(u), display_name: userLabel(u.displayName), role: u.role, status: u.status, type: u.type },
          1,
        ]);
        if (u.lastSeenSeconds !== undefined) lastSeen.push([ids(u), u.lastSeenSeconds]);
        if (u.createdSeconds !== undefined) created.push([ids(u), u.createdSeconds]);
        if (u.currentlyConnected !== undefined) connected.push([ids(u), boolValue(u.currentlyConnected)]);
        if (u.deviceCount !== undefined) devices.push([ids(u), u.deviceCount]);
      }
      return [
        gauge(
          'tailscale_user_info',
          'User of the tailnet, value 1: role, status (active, idle, suspended, needs-approval, over-billing-limit) and type (member, shared).',
          info,
        ),
        gauge('tailscale_user_last_seen_timestamp_seconds', 'Unix time the user was last seen (lastSeen).', lastSeen),
        gauge('tailscale_user_created_timestamp_seconds', 'Unix time the user joined the tailnet (created).', created),
        gauge(
          'tailscale_user_currently_connected',
          '1 if the user has a device connected now (currentlyConnected).',
          connected,
        ),
        gauge('tailscale_user_devices', 'Number of devices of the user (deviceCount).', devices),
      ];
    },
  };
}
