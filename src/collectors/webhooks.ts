import { gauge, type Labels } from '../exposition/family.js';
import type { ListCollector } from './collector.js';
import type { Webhook } from '../control/monitoring.js';

// Webhook endpoints (GET /tailnet/{t}/webhooks, scope webhooks:read). The endpoint URL often carries its
// secret in the path or query (Slack, Discord): only its scheme and host are exported.

export const webhooksCollector: ListCollector = {
  name: 'webhooks',
  stage: 'list',
  source: (d) => d.inventory.webhooks,
  collect({ inventory }) {
    const data = inventory.webhooks.data;
    if (data === undefined) return [];
    const ids = (w: Webhook): Labels => ({ endpoint_id: w.endpointId });
    return [
      gauge(
        'tailscale_webhook_endpoints',
        'Webhook endpoints of the tailnet.',
        data.available ? [[{}, data.webhooks.length]] : [],
      ),
      gauge(
        'tailscale_webhook_info',
        'Webhook endpoint, value 1 (providerType; destination: scheme and host of endpointUrl, never its path or query).',
        data.webhooks.map(
          (w) => [{ ...ids(w), provider_type: w.providerType, destination: w.destination }, 1] as const,
        ),
      ),
      gauge(
        'tailscale_webhook_subscriptions',
        'Events the endpoint subscribes to (subscriptions).',
        data.webhooks.map((w) => [ids(w), w.subscriptions.length] as const),
      ),
      gauge(
        'tailscale_webhook_subscription_info',
        'Event the endpoint subscribes to (subscriptions), value 1.',
        data.webhooks.flatMap((w) => w.subscriptions.map((event) => [{ ...ids(w), event }, 1] as const)),
      ),
    ];
  },
};
