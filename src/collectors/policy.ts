import { gauge } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// The policy file (GET /tailnet/{t}/acl, scope policy_file:read): a content hash and the size of each
// part, never the text itself (it names people, hosts and networks).

export const policyCollector: ListCollector = {
  name: 'policy',
  stage: 'list',
  source: (d) => d.inventory.policy,
  collect({ inventory }) {
    const state = inventory.policy;
    const p = state.data;
    if (p === undefined) return [];
    return [
      gauge(
        'tailscale_policy_info',
        'Policy file, value 1; sha256 is the first 16 hex digits of the hash of its canonical JSON.',
        [[{ sha256: p.hash }, 1]],
      ),
      gauge(
        'tailscale_policy_entries',
        'Entries in each part of the policy file (part: acls, grants, groups, tag_owners, tests, ssh, postures, auto_approvers).',
        Object.entries(p.counts).map(([part, n]) => [{ part }, n] as const),
      ),
      gauge(
        'tailscale_policy_last_change_timestamp_seconds',
        'Unix time tsmetrics last saw the policy change (its first fetch counts as a change).',
        state.changedAtSeconds === undefined ? [] : [[{}, state.changedAtSeconds]],
      ),
    ];
  },
};
