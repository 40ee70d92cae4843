import { boolValue, gauge, type Labels } from '../exposition/family.js';
import { samplesOf, type ListCollector } from './collector.js';
import type { PostureIntegration } from '../control/monitoring.js';

// Device posture integrations with MDM/EDR providers (GET /tailnet/{t}/posture/integrations, scope
// feature_settings:read): when each last synchronized, whether it failed, and how many of the provider's
// hosts it matched. The error text is never exported (it quotes provider answers and tenant ids).

export const postureIntegrationsCollector: ListCollector = {
  name: 'posture_integrations',
  stage: 'list',
  source: (d) => d.inventory.postureIntegrations,
  collect({ inventory }) {
    const data = inventory.postureIntegrations.data;
    if (data === undefined) return [];
    const list = data.integrations;
    const ids = (p: PostureIntegration): Labels => ({ integration_id: p.id, provider: p.provider });
    const synced = list.filter((p) => p.lastSyncSeconds !== undefined);
    return [
      gauge(
        'tailscale_posture_integration_info',
        'Posture integration, value 1 (provider, cloudId).',
        list.map((p) => [{ ...ids(p), cloud_id: p.cloudId }, 1] as const),
      ),
      gauge(
        'tailscale_posture_integration_config_updated_timestamp_seconds',
        'Unix time the integration was last configured (configUpdated).',
        samplesOf(list, ids, (p) => p.configUpdatedSeconds),
      ),
      gauge(
        'tailscale_posture_integration_last_sync_timestamp_seconds',
        'Unix time of the last synchronization with the provider (status.lastSync); absent before the first.',
        samplesOf(list, ids, (p) => p.lastSyncSeconds),
      ),
      gauge(
        'tailscale_posture_integration_error',
        '1 if the last synchronization failed (status.error non-empty; the text is not exported); absent before the first.',
        synced.map((p) => [ids(p), boolValue(p.erroring)] as const),
      ),
      gauge(
        'tailscale_posture_integration_provider_hosts',
        'Devices the provider knows (status.providerHostCount).',
        samplesOf(list, ids, (p) => p.providerHostCount),
      ),
      gauge(
        'tailscale_posture_integration_matched_hosts',
        'Tailscale devices matched with the provider (status.matchedCount).',
        samplesOf(list, ids, (p) => p.matchedCount),
      ),
      gauge(
        'tailscale_posture_integration_possible_matched_hosts',
        'Tailscale devices with identifiers the provider could match (status.possibleMatchedCount).',
        samplesOf(list, ids, (p) => p.possibleMatchedCount),
      ),
    ];
  },
};
