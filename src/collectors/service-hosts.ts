import { gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// The hosts of each Tailscale Service (GET /tailnet/{t}/services/{svc}/devices, scopes services:read and
// devices:core:read; one call per service, so opt-in): how many by approval level and readiness, and how
// many can really serve it (approved and ready) — 0 means the service answers nobody.

const APPROVED = new Set(['approved:auto', 'approved:manual']);

export const serviceHostsCollector: ListCollector = {
  name: 'service_hosts',
  stage: 'list',
  source: (d) => d.inventory.serviceHosts,
  collect({ inventory }) {
    const data = inventory.serviceHosts.data;
    if (data === undefined) return [];
    const hosts: Array<readonly [Labels, number]> = [];
    const serving: Array<readonly [Labels, number]> = [];
    for (const { service, hosts: list } of data.services) {
      const counts = new Map<string, { approval_level: string; configured: string; n: number }>();
      for (const h of list) {
        const key = `${h.approvalLevel}\u0000${h.configured}`;
        const c = counts.get(key) ?? { approval_level: h.approvalLevel, configured: h.configured, n: 0 };
        c.n++;
        counts.set(key, c);
      }
      for (const c of counts.values())
        hosts.push([{ service, approval_level: c.approval_level, configured: c.configured }, c.n]);
      serving.push([{ service }, list.filter((h) => APPROVED.has(h.approvalLevel) && h.configured === 'ready').length]);
    }
    return [
      gauge(
        'tailscale_service_hosts',
        'Devices hosting the Tailscale Service, by approvalLevel (not-approved, approved:auto, approved:manual) and configured (ready, ...).',
        hosts,
      ),
      gauge(
        'tailscale_service_approved_ready_hosts',
        'Devices that can serve the Tailscale Service: approved (auto or manual) and configured "ready"; 0 means nobody can reach it.',
        serving,
      ),
    ];
  },
};
