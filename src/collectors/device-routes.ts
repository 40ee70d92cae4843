import { boolValue, gauge, type Labels } from '../exposition/family.js';
import { EXIT_ROUTES, type Device } from '../tailscale/device.js';
import { deviceListSource, deviceLabels, type ListCollector } from './collector.js';

// Subnet routes and exit nodes, from advertisedRoutes/enabledRoutes (fields=all, or the per-device
// routes endpoint). A route works only when it is both advertised and enabled (approved).

const hasExitRoute = (routes: readonly string[] | undefined): boolean => routes?.some((r) => EXIT_ROUTES.has(r)) ?? false;

export const deviceRoutesCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
    source: deviceListSource,
  collect({ devices }) {
    if (devices === undefined) return [];
    // Devices whose routes are unknown (no fields=all data, routes call failed) get no route series.
    const known = devices.filter((d): d is Device & { advertisedRoutes: readonly string[] } => d.advertisedRoutes !== undefined);
    const advertised: Array<readonly [Labels, number]> = [];
    const enabled: Array<readonly [Labels, number]> = [];
    for (const d of known) {
      for (const route of d.advertisedRoutes) advertised.push([{ ...deviceLabels(d), route }, 1]);
      for (const route of d.enabledRoutes ?? []) enabled.push([{ ...deviceLabels(d), route }, 1]);
    }
    const isSubnetRouter = (d: Device): boolean => {
      const approved = new Set(d.enabledRoutes ?? []);
      return (d.advertisedRoutes ?? []).some((r) => !EXIT_ROUTES.has(r) && approved.has(r));
    };
    return [
      gauge('tailscale_device_routes_advertised', 'Route advertised by the device (advertisedRoutes), value 1 per CIDR.', advertised),
      gauge('tailscale_device_routes_enabled', 'Route approved for the device (enabledRoutes), value 1 per CIDR.', enabled),
      gauge(
        'tailscale_device_exit_node',
        '1 if the device is an approved exit node (enabledRoutes holds 0.0.0.0/0 or ::/0).',
        known.map((d) => [deviceLabels(d), boolValue(hasExitRoute(d.enabledRoutes) && hasExitRoute(d.advertisedRoutes))] as const),
      ),
      gauge(
        'tailscale_device_exit_node_option',
        '1 if the device offers itself as an exit node (advertisedRoutes holds 0.0.0.0/0 or ::/0).',
        known.map((d) => [deviceLabels(d), boolValue(hasExitRoute(d.advertisedRoutes))] as const),
      ),
      gauge(
        'tailscale_device_subnet_router',
        '1 if the device routes at least one subnet that is advertised and approved (exit routes excluded).',
        known.map((d) => [deviceLabels(d), boolValue(isSubnetRouter(d))] as const),
      ),
    ];
  },
};
