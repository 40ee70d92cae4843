import type { CollectorName } from './schema.js';

// The control-plane backends as configuration sees them: which collectors each can fill and the credential or OAuth
// scope each needs (the README's "Collectors and OAuth scopes" table), what it is called, and which credential it
// takes. collectors/backends.ts adds each one's client and collectors to this; nothing else tells them apart.

export const BACKEND_NAMES = ['tailscale', 'headscale'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export interface BackendInfo {
  /** What the status page calls the thing it monitors. */
  readonly title: string;
  /** Its credential: the Tailscale OAuth client or API key (TAILSCALE_* / OAUTH_*), or HEADSCALE_URL and key. */
  readonly credential: 'tailscale' | 'headscale-api-key';
  /** The collectors it can fill, in README order, each with what it needs (least privilege). */
  readonly collectors: Readonly<Partial<Record<CollectorName, string>>>;
  /** The API as log messages name it. */
  readonly apiName: string;
  /** What a 404 for a collector can mean there, given what the collector needs. */
  readonly notFoundHint: (needs: string) => string;
  /** The fix for a 403 to a collector, given what the collector needs. */
  readonly forbiddenHint: (needs: string) => string;
}

const DEVICE_SCRAPES = 'none (reaches devices on tcp:5252)';
const HEADSCALE_KEY = 'a Headscale API key';

export const BACKEND_INFO: Readonly<Record<BackendName, BackendInfo>> = {
  tailscale: {
    title: 'Tailnet',
    credential: 'tailscale',
    collectors: {
      devices: 'devices:core:read (and devices:routes:read, devices:posture_attributes:read)',
      client_metrics: DEVICE_SCRAPES,
      users: 'users:read',
      keys: 'auth_keys:read, api_access_tokens:read, oauth_keys:read, federated_keys:read (each adds its key type)',
      settings: 'feature_settings:read',
      dns: 'dns:read',
      services: 'services:read',
      policy: 'policy_file:read',
      logstream: 'log_streaming:read',
      posture_integrations: 'feature_settings:read',
      service_hosts: 'services:read and devices:core:read',
      webhooks: 'webhooks:read',
      flowlogs: 'logs:network:read',
      audit: 'logs:configuration:read',
    },
    apiName: 'the Tailscale API',
    notFoundHint: (needs) => `not configured, not on this plan, or the OAuth client lacks ${needs}`,
    forbiddenHint: (needs) => `grant the OAuth client ${needs} or all:read`,
  },
  headscale: {
    title: 'Headscale',
    credential: 'headscale-api-key',
    collectors: {
      devices: HEADSCALE_KEY,
      client_metrics: DEVICE_SCRAPES,
      users: HEADSCALE_KEY,
      preauthkeys: HEADSCALE_KEY,
      apikeys: HEADSCALE_KEY,
    },
    apiName: 'the Headscale API',
    // A Headscale API key is all-or-nothing: a refusal is a bad key, and a 404 a server too old for the endpoint.
    notFoundHint: () => 'this Headscale version does not serve it',
    forbiddenHint: () => 'check that HEADSCALE_API_KEY is a valid, unexpired API key',
  },
};

/** The collectors a backend can fill: `COLLECTORS=all` means these but the opt-in ones; naming another is an error. */
export const backendCollectors = (backend: BackendName): CollectorName[] =>
  Object.keys(BACKEND_INFO[backend].collectors) as CollectorName[];
