import { boolValue, FamilyBuilder } from '../exposition/family.js';
import { EXIT_ROUTES } from '../control/device.js';
import { deviceListSource, deviceLabels, pauseBefore, stepwise, type ListCollector } from './collector.js';

// Subnet routes and exit nodes, from advertisedRoutes/enabledRoutes (fields=all, or the per-device
// routes endpoint). A route works only when it is both advertised and enabled (approved).

const hasExitRoute = (routes: readonly string[] | undefined): boolean =>
  routes?.some((r) => EXIT_ROUTES.has(r)) ?? false;

export const deviceRoutesCollector: ListCollector = {
  name: 'devices',
  stage: 'list',
  source: deviceListSource,
  ...stepwise(function* ({ devices }) {
    if (devices === undefined) return [];
    const advertised = new FamilyBuilder(
      'tailscale_device_routes_advertised',
      'gauge',
      'Route advertised by the device (advertisedRoutes), value 1 per CIDR.',
    );
    const enabled = new FamilyBuilder(
      'tailscale_device_routes_enabled',
      'gauge',
      'Route approved for the device (enabledRoutes), value 1 per CIDR.',
    );
    const exitNode = new FamilyBuilder(
      'tailscale_device_exit_node',
      'gauge',
      '1 if the device is an approved exit node (enabledRoutes holds 0.0.0.0/0 or ::/0).',
    );
    const exitOption = new FamilyBuilder(
      'tailscale_device_exit_node_option',
      'gauge',
      '1 if the device offers itself as an exit node (advertisedRoutes holds 0.0.0.0/0 or ::/0).',
    );
    const subnetRouter = new FamilyBuilder(
      'tailscale_device_subnet_router',
      'gauge',
      '1 if the device routes at least one subnet that is advertised and approved (exit routes excluded).',
    );
    for (let i = 0; i < devices.length; i++) {
      if (pauseBefore(i)) yield;
      const d = devices[i]!;
      // Devices whose routes are unknown (no fields=all data, routes call failed) get no route series.
      if (d.advertisedRoutes === undefined) continue;
      const labels = deviceLabels(d);
      const approved = d.enabledRoutes ?? [];
      for (const route of d.advertisedRoutes) advertised.add({ ...labels, route }, 1);
      for (const route of approved) enabled.add({ ...labels, route }, 1);
      exitNode.add(labels, boolValue(hasExitRoute(approved) && hasExitRoute(d.advertisedRoutes)));
      exitOption.add(labels, boolValue(hasExitRoute(d.advertisedRoutes)));
      subnetRouter.add(labels, boolValue(d.advertisedRoutes.some((r) => !EXIT_ROUTES.has(r) && approved.includes(r))));
    }
    return [advertised.build(), enabled.build(), exitNode.build(), exitOption.build(), subnetRouter.build()];
  }),
};
