import { boolValue, gauge } from '../exposition/family.js';
import type { ListCollector } from './collector.js';

// DNS (GET /tailnet/{t}/dns/nameservers, /preferences, /searchpaths, /split-dns; scope dns:read).

export const dnsCollector: ListCollector = {
  name: 'dns',
  stage: 'list',
  source: (d) => d.inventory.dns,
  collect({ inventory }) {
    const dns = inventory.dns.data;
    if (dns === undefined) return [];
    return [
      gauge(
        'tailscale_dns_magic_dns',
        '1 if MagicDNS is on (preferences.magicDNS).',
        dns.magicDns === undefined ? [] : [[{}, boolValue(dns.magicDns)]],
      ),
      gauge(
        'tailscale_dns_nameserver_info',
        'Global nameserver of the tailnet (nameservers), value 1.',
        dns.nameservers.map((nameserver) => [{ nameserver }, 1] as const),
      ),
      gauge(
        'tailscale_dns_search_path_info',
        'DNS search path of the tailnet (searchpaths), value 1.',
        dns.searchPaths.map((search_path) => [{ search_path }, 1] as const),
      ),
      gauge(
        'tailscale_dns_split_dns_nameservers',
        'Number of nameservers of a split-DNS domain (split-dns).',
        Object.entries(dns.splitDns).map(([domain, servers]) => [{ domain }, servers.length] as const),
      ),
    ];
  },
};
