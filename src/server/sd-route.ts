import { hostPort } from '../util/host.js';
import type { Selection } from '../devices/targets.js';
import { sendJson, type Handler } from './server.js';

/**
 * Prometheus HTTP service discovery (`http_sd_configs`): the devices this exporter would scrape, with
 * their client-metrics address as the target, so Prometheus can scrape them directly (or via /probe).
 */
export function sdRoute(
  selections: () => readonly Selection[],
  port: number,
  userLabel: (user: string) => string,
): Handler {
  return (_req, res) => {
    const groups = selections()
      .filter((s) => s.target !== undefined)
      .map(({ device: d, target }) => ({
        targets: [hostPort(target!.address, port)],
        labels: {
          __meta_tailscale_device_id: d.id,
          __meta_tailscale_device_node_id: d.nodeId,
          __meta_tailscale_device_name: d.name,
          __meta_tailscale_device_hostname: d.hostname,
          __meta_tailscale_device_os: d.os,
          __meta_tailscale_device_client_version: d.clientVersion,
          // Comma-wrapped so a relabel regex can match one tag exactly: .*,tag:prod,.*
          __meta_tailscale_device_tags: d.tags.length === 0 ? '' : `,${d.tags.join(',')},`,
          __meta_tailscale_device_user: userLabel(d.user),
        },
      }));
    sendJson(res, 200, groups);
  };
}
