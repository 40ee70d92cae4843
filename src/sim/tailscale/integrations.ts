// The simulated tailnet's integrations and their health, as the API reports them: log streaming status
// (OpenAPI `LogstreamEndpointPublishingStatus`), posture integrations (`PostureIntegration`), the hosts of
// Tailscale Services (`ServiceHostInfo`) and webhook endpoints (`Webhook`). Plain data relative to `now`,
// plus the damaged variants the 'empty' and 'wrong-types' API faults serve.
import { HOUR_MS, isoTime } from '../shared/time.js';
import { stableId } from '../shared/ids.js';

type LogType = 'configuration' | 'network';

/** Every field the document marks required. */
interface SimLogStream {
  lastActivity: string;
  lastError: string;
  maxBodySize: number;
  numBytesSent: number;
  numEntriesSent: number;
  numSpoofedEntries: number;
  numTotalRequests: number;
  numFailedRequests: number;
  rateBytesSent: number;
  rateEntriesSent: number;
  rateTotalRequests: number;
  rateFailedRequests: number;
}

export interface SimPostureIntegration {
  id: string;
  /** The document lists falcon, intune, jamfpro, kandji, kolide, sentinelone (fleet and huntress exist too). */
  provider: string;
  cloudId: string;
  clientId: string;
  tenantId?: string;
  configUpdated: string;
  /** Absent until the first synchronization. */
  status?: {
    lastSync: string;
    error: string;
    providerHostCount: number;
    matchedCount: number;
    possibleMatchedCount: number;
  };
}

export interface SimServiceHost {
  stableNodeID: string;
  approvalLevel: 'not-approved' | 'approved:auto' | 'approved:manual';
  configured: string;
}

export interface SimWebhook {
  endpointId: string;
  /** May embed a secret (Slack and Discord URLs do). */
  endpointUrl: string;
  providerType?: 'slack' | 'mattermost' | 'googlechat' | 'discord';
  creatorLoginName: string;
  created: string;
  lastModified: string;
  subscriptions: string[];
}

export interface SimIntegrations {
  /** A log type without an entry answers 404 (streaming not configured). */
  logStreams: Partial<Record<LogType, SimLogStream>>;
  postureIntegrations: SimPostureIntegration[];
  /** Service name -> its hosts; a service without an entry has none. */
  serviceHosts: Record<string, SimServiceHost[]>;
  webhooks: SimWebhook[];
}

/** The secret parts of the standard webhook URLs, so tests can check they never leak. */
export const WEBHOOK_SECRETS: readonly string[] = ['XoXbSimulatedSlackSecret42', 's3cr3t-query-token', 'hook-password'];

export function standardIntegrations(nowMs: number): SimIntegrations {
  const at = (hoursAgo: number): string => isoTime(nowMs - hoursAgo * HOUR_MS);
  return {
    logStreams: {
      // A healthy configuration-log stream.
      configuration: {
        lastActivity: at(0.01),
        lastError: '',
        maxBodySize: 524_288,
        numBytesSent: 17_238_983,
        numEntriesSent: 8363,
        numSpoofedEntries: 0,
        numTotalRequests: 10_610,
        numFailedRequests: 0,
        rateBytesSent: 3.52,
        rateEntriesSent: 0.0086,
        rateTotalRequests: 0.0037,
        rateFailedRequests: 0,
      },
      // A network-log stream whose SIEM refuses requests.
      network: {
        lastActivity: at(0.02),
        lastError: 'POST https://siem.example.com/ingest?token=siem-secret: 503 Service Unavailable',
        maxBodySize: 1_048_576,
        numBytesSent: 912_004,
        numEntriesSent: 1200,
        numSpoofedEntries: 3,
        numTotalRequests: 5400,
        numFailedRequests: 4200,
        rateBytesSent: 0.5,
        rateEntriesSent: 0.001,
        rateTotalRequests: 0.02,
        rateFailedRequests: 0.018,
      },
    },
    postureIntegrations: [
      {
        id: stableId('p', 'posture:falcon'),
        provider: 'falcon',
        cloudId: 'us-1',
        clientId: 'falcon-client',
        configUpdated: at(24 * 30),
        status: { lastSync: at(0.1), error: '', providerHostCount: 98, matchedCount: 11, possibleMatchedCount: 16 },
      },
      {
        id: stableId('p', 'posture:intune'),
        provider: 'intune',
        cloudId: 'global',
        clientId: '93013672-b00c-4344-80ca-7ecf74f9dce1',
        tenantId: 'd1ae389b-5207-43a2-afca-2de6b03ac7e3',
        configUpdated: at(24 * 7),
        status: {
          lastSync: at(6),
          error: "Invalid Tenant ID.\nMicrosoft error: AADSTS90002: Tenant 'd1ae389b' not found.",
          providerHostCount: 0,
          matchedCount: 0,
          possibleMatchedCount: 0,
        },
      },
      // Configured an hour ago, never synchronized yet.
      {
        id: stableId('p', 'posture:kandji'),
        provider: 'kandji',
        cloudId: 'example.kandji.io',
        clientId: '',
        configUpdated: at(1),
      },
    ],
    serviceHosts: {},
    webhooks: [
      {
        endpointId: '123456',
        endpointUrl: `https://hooks.slack.com/services/T0000/B0000/${WEBHOOK_SECRETS[0]}`,
        providerType: 'slack',
        creatorLoginName: 'admin@example.com',
        created: at(24 * 90),
        lastModified: at(24 * 10),
        subscriptions: ['nodeCreated', 'nodeNeedsApproval', 'nodeKeyExpiringInOneDay', 'policyUpdate'],
      },
      {
        endpointId: '123457',
        endpointUrl: `https://ops:${WEBHOOK_SECRETS[2]}@hooks.example.com:8443/tailscale?token=${WEBHOOK_SECRETS[1]}`,
        creatorLoginName: '',
        created: at(24 * 20),
        lastModified: at(24 * 20),
        subscriptions: ['userNeedsApproval', 'subnetIPForwardingNotEnabled'],
      },
    ],
  };
}

/**
 * Hosts for the services, from the devices that exist: the first service is served by two approved,
 * ready devices; the second by one (a second is not approved); the third by none that is approved, so
 * nobody can reach it; later ones have no hosts.
 */
export function standardServiceHosts(
  services: readonly string[],
  nodeIds: readonly string[],
): Record<string, SimServiceHost[]> {
  const node = (i: number): string => nodeIds[i % Math.max(1, nodeIds.length)] ?? `n${i}CNTRL`;
  const plans: SimServiceHost[][] = [
    [
      { stableNodeID: node(0), approvalLevel: 'approved:auto', configured: 'ready' },
      { stableNodeID: node(1), approvalLevel: 'approved:manual', configured: 'ready' },
    ],
    [
      { stableNodeID: node(2), approvalLevel: 'approved:manual', configured: 'ready' },
      { stableNodeID: node(3), approvalLevel: 'not-approved', configured: 'ready' },
    ],
    [{ stableNodeID: node(4), approvalLevel: 'not-approved', configured: 'ready' }],
  ];
  const out: Record<string, SimServiceHost[]> = {};
  services.forEach((name, i) => {
    // Distinct node ids per service even on a small tailnet.
    out[name] = [...new Map((plans[i] ?? []).map((h) => [h.stableNodeID, h])).values()];
  });
  return out;
}

export function postureIntegrationJson(p: SimPostureIntegration): Record<string, unknown> {
  const out: Record<string, unknown> = { ...p };
  if (p.tenantId === undefined) delete out['tenantId'];
  if (p.status === undefined) delete out['status'];
  return out;
}

export function webhookJson(w: SimWebhook): Record<string, unknown> {
  const out: Record<string, unknown> = { ...w };
  if (w.providerType === undefined) delete out['providerType'];
  return out;
}
