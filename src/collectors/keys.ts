import { boolValue, gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// Auth keys, API access tokens, OAuth clients and federated identities (GET /tailnet/{t}/keys?all=true).
// A key that never expires has no expiry series: never 0, never negative.

export const keysCollector: ListCollector = {
  name: 'keys',
  stage: 'list',
  source: (d) => d.inventory.keys,
  collect({ inventory, nowSeconds }) {
    const keys = inventory.keys.data;
    if (keys === undefined) return [];
    const info: Array<readonly [Labels, number]> = [];
    const created: Array<readonly [Labels, number]> = [];
    const expiry: Array<readonly [Labels, number]> = [];
    const expiresIn: Array<readonly [Labels, number]> = [];
    const revoked: Array<readonly [Labels, number]> = [];
    const invalid: Array<readonly [Labels, number]> = [];
    for (const k of keys) {
      const ids = { key_id: k.id, key_type: k.keyType };
      info.push([{ ...ids, description: k.description, user_id: k.userId }, 1]);
      if (k.createdSeconds !== undefined) created.push([ids, k.createdSeconds]);
      if (k.expiresSeconds !== undefined) {
        expiry.push([ids, k.expiresSeconds]);
        if (!k.revoked) expiresIn.push([ids, k.expiresSeconds - nowSeconds]);
      }
      revoked.push([ids, boolValue(k.revoked)]);
      invalid.push([ids, boolValue(k.invalid)]);
    }
    return [
      gauge(
        'tailscale_key_info',
        'Key of the tailnet, value 1; key_type is auth, api, client (OAuth client) or federated.',
        info,
      ),
      gauge('tailscale_key_created_timestamp_seconds', 'Unix time the key was created (created).', created),
      gauge(
        'tailscale_key_expiry_timestamp_seconds',
        'Unix time the key expires (expires); absent for keys that never expire.',
        expiry,
      ),
      gauge(
        'tailscale_key_expires_in_seconds',
        'Seconds until the key expires, negative once expired; absent for keys that never expire or are revoked.',
        expiresIn,
      ),
      gauge('tailscale_key_revoked', '1 if the key was revoked (revoked).', revoked),
      gauge('tailscale_key_invalid', '1 if the key can no longer be used: revoked or expired (invalid).', invalid),
    ];
  },
};
