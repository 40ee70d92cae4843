import { gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// Tailscale Services (GET /tailnet/{t}/services, scope services:read).

export const servicesCollector: ListCollector = {
  name: 'services',
  stage: 'list',
  source: (d) => d.inventory.services,
  collect({ inventory }) {
    const services = inventory.services.data;
    if (services === undefined) return [];
    const info: Array<readonly [Labels, number]> = [];
    const addrs: Array<readonly [Labels, number]> = [];
    const ports: Array<readonly [Labels, number]> = [];
    for (const s of services) {
      info.push([{ service: s.name, comment: s.comment, tags: s.tags.length === 0 ? '' : `,${s.tags.join(',')},` }, 1]);
      for (const address of s.addrs) addrs.push([{ service: s.name, address }, 1]);
      for (const port of s.ports) ports.push([{ service: s.name, port }, 1]);
    }
    return [
      gauge('tailscale_service_info', 'Tailscale Service, value 1 (name, comment, tags as ,tag:a,tag:b,).', info),
      gauge('tailscale_service_address_info', 'Address of a Tailscale Service (addrs), value 1.', addrs),
      gauge('tailscale_service_port_info', 'Port of a Tailscale Service (ports, e.g. tcp:443), value 1.', ports),
    ];
  },
};
