import { BACKEND_INFO, type BackendInfo, type BackendName } from '../config/backends.js';
import type { Config } from '../config/load.js';
import { redactUrl } from '../config/redact.js';
import { connectHeadscale, connectTailscale, type ConnectDeps, type Connection } from '../control/connect.js';
import { HEADSCALE_UNSUPPORTED_FAMILIES } from '../control/headscale.js';
import type { ListCollector } from './collector.js';
import { dnsCollector } from './dns.js';
import {
  apiKeysCollector,
  headscaleHealthCollector,
  headscaleNodesCollector,
  makeHeadscaleUsersCollector,
  makePreAuthKeysCollector,
} from './headscale.js';
import { keysCollector } from './keys.js';
import { logstreamCollector } from './logstream.js';
import { policyCollector } from './policy.js';
import { postureIntegrationsCollector } from './posture-integrations.js';
import { serviceHostsCollector } from './service-hosts.js';
import { servicesCollector } from './services.js';
import { settingsCollector } from './settings.js';
import { makeUsersCollector } from './users.js';
import { webhooksCollector } from './webhooks.js';

// The backend table, blackbox_exporter's prober table in spirit: backend name -> its client factory, its own
// collectors and the families it cannot fill, with config/backends.ts's part (the collectors it can fill and the
// scope each needs; configuration comes first in the pipeline, so that part lives there). Nothing outside these two
// files and the simulator tells the backends apart.

export interface Backend {
  readonly info: BackendInfo;
  /** Its control plane and credentials, from the configuration. */
  readonly connect: (config: Config, deps: ConnectDeps) => Connection;
  /** What the status page shows as the monitored tailnet or server. */
  readonly shown: (config: Config) => string;
  /** Device families it has no data for: absent, never a made-up 0. */
  readonly unsupportedFamilies: ReadonlySet<string>;
  /** Its own collectors: families beside the shared device ones, and its inventory. */
  readonly collectors: (userLabel: (user: string) => string) => {
    readonly devices: readonly ListCollector[];
    readonly inventory: readonly ListCollector[];
  };
}

export const BACKENDS: Readonly<Record<BackendName, Backend>> = {
  tailscale: {
    info: BACKEND_INFO.tailscale,
    connect: connectTailscale,
    shown: (config) => config.tailnet,
    unsupportedFamilies: new Set(),
    collectors: (userLabel) => ({
      devices: [],
      inventory: [
        makeUsersCollector(userLabel),
        keysCollector,
        settingsCollector,
        dnsCollector,
        servicesCollector,
        policyCollector,
        logstreamCollector,
        postureIntegrationsCollector,
        serviceHostsCollector,
        webhooksCollector,
      ],
    }),
  },
  headscale: {
    info: BACKEND_INFO.headscale,
    connect: connectHeadscale,
    shown: (config) => redactUrl(config.headscale?.url ?? ''),
    unsupportedFamilies: HEADSCALE_UNSUPPORTED_FAMILIES,
    collectors: (userLabel) => ({
      devices: [headscaleNodesCollector, headscaleHealthCollector],
      inventory: [makeHeadscaleUsersCollector(userLabel), makePreAuthKeysCollector(userLabel), apiKeysCollector],
    }),
  },
};
