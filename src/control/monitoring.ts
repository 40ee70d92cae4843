import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ApiError } from '../errors.js';
import type { TailnetJson } from './inventory.js';
import { tailnetPath } from './inventory.js';
import { eachLimited } from '../util/pool.js';
import { listOf, parseEntries, timestampSeconds, uniq } from './schemas.js';

// Health the API reports about the tailnet's integrations (tailscale-facts §6.1, §6.3): log streaming,
// posture integrations, the hosts of Tailscale Services, webhook endpoints. Fetched on INVENTORY_INTERVAL
// like the rest of the inventory. The live API often answers 404, not 403, when the OAuth client lacks
// the scope, and also when the feature is not configured or not on the plan: a 404 is "nothing to
// report" (`available: false`), never a failure.

const optString = z.string().optional().catch(undefined);
const optCount = z.number().int().nonnegative().optional().catch(undefined);

/** The answer, or undefined when the API says 404. */
async function unless404(api: TailnetJson, endpoint: string, path: string, signal?: AbortSignal): Promise<unknown> {
  try {
    return await api.getJson(endpoint, path, signal);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return undefined;
    throw err;
  }
}

// ---------------------------------------------------------------------------------------- log streaming

const LOG_TYPES = ['configuration', 'network'] as const;
type LogType = (typeof LOG_TYPES)[number];

export interface LogStreamStatus {
  readonly logType: LogType;
  /** false when the API answered 404: streaming not configured for this log type, or no access. */
  readonly available: boolean;
  readonly entriesSent: number | undefined;
  readonly bytesSent: number | undefined;
  readonly totalRequests: number | undefined;
  readonly failedRequests: number | undefined;
  readonly spoofedEntries: number | undefined;
  readonly lastActivitySeconds: number | undefined;
  /** lastError is non-empty. Its text is never exported (it may quote the SIEM's URL). */
  readonly erroring: boolean;
  /**
   * Unix time tsmetrics last saw a new error: the failed-request count rose, or lastError changed to a
   * non-empty text (the API gives no time of its own). Undefined until one is seen.
   */
  readonly lastErrorSeconds: number | undefined;
  /** A digest of lastError ("" when none), to notice a new error without keeping its text. */
  readonly errorDigest: string;
}

const logStreamSchema = z.object({
  lastActivity: optString,
  lastError: optString,
  numBytesSent: optCount,
  numEntriesSent: optCount,
  numSpoofedEntries: optCount,
  numTotalRequests: optCount,
  numFailedRequests: optCount,
});

export async function fetchLogStreams(
  api: TailnetJson,
  signal: AbortSignal | undefined,
  nowSeconds: number,
  previous?: readonly LogStreamStatus[],
): Promise<LogStreamStatus[]> {
  return Promise.all(
    LOG_TYPES.map(async (logType): Promise<LogStreamStatus> => {
      const body = await unless404(
        api,
        'logstream_status',
        tailnetPath(api, `/logging/${logType}/stream/status`),
        signal,
      );
      if (body === undefined) {
        return {
          logType,
          available: false,
          entriesSent: undefined,
          bytesSent: undefined,
          totalRequests: undefined,
          failedRequests: undefined,
          spoofedEntries: undefined,
          lastActivitySeconds: undefined,
          erroring: false,
          lastErrorSeconds: undefined,
          errorDigest: '',
        };
      }
      const parsed = logStreamSchema.safeParse(body);
      if (!parsed.success)
        throw new ApiError('logstream_status', 'invalid_response', 'log streaming status is not an object', 200);
      const s = parsed.data;
      const before = previous?.find((p) => p.logType === logType);
      const lastError = s.lastError ?? '';
      const errorDigest = lastError === '' ? '' : createHash('sha256').update(lastError).digest('hex').slice(0, 16);
      const newFailures =
        before?.failedRequests !== undefined &&
        s.numFailedRequests !== undefined &&
        s.numFailedRequests > before.failedRequests;
      const newError = before !== undefined && errorDigest !== '' && errorDigest !== before.errorDigest;
      return {
        logType,
        available: true,
        entriesSent: s.numEntriesSent,
        bytesSent: s.numBytesSent,
        totalRequests: s.numTotalRequests,
        failedRequests: s.numFailedRequests,
        spoofedEntries: s.numSpoofedEntries,
        lastActivitySeconds: timestampSeconds(s.lastActivity),
        erroring: lastError !== '',
        lastErrorSeconds: newFailures || newError ? nowSeconds : before?.lastErrorSeconds,
        errorDigest,
      };
    }),
  );
}

// ---------------------------------------------------------------------------------- posture integrations

export interface PostureIntegration {
  readonly id: string;
  readonly provider: string;
  readonly cloudId: string;
  readonly configUpdatedSeconds: number | undefined;
  /** Undefined until the integration has synchronized once (no `status`). */
  readonly lastSyncSeconds: number | undefined;
  /** status.error is non-empty; the text is never exported (it quotes provider responses and tenant ids). */
  readonly erroring: boolean;
  readonly providerHostCount: number | undefined;
  readonly matchedCount: number | undefined;
  readonly possibleMatchedCount: number | undefined;
}

export interface PostureIntegrations {
  /** false when the API answered 404 (missing feature_settings:read, or not on this plan). */
  readonly available: boolean;
  readonly integrations: readonly PostureIntegration[];
}

const postureSchema = z.object({
  id: z.string().min(1),
  provider: optString,
  cloudId: optString,
  configUpdated: optString,
  status: z
    .object({
      lastSync: optString,
      error: optString,
      providerHostCount: optCount,
      matchedCount: optCount,
      possibleMatchedCount: optCount,
    })
    .nullable()
    .optional()
    .catch(undefined),
});

export async function fetchPostureIntegrations(api: TailnetJson, signal?: AbortSignal): Promise<PostureIntegrations> {
  const body = await unless404(api, 'posture_integrations', tailnetPath(api, '/posture/integrations'), signal);
  if (body === undefined) return { available: false, integrations: [] };
  const integrations = parseEntries(
    listOf('posture_integrations', body, 'integrations'),
    postureSchema,
    (p) => p.id,
  ).map((p) => ({
    id: p.id,
    provider: p.provider ?? '',
    cloudId: p.cloudId ?? '',
    configUpdatedSeconds: timestampSeconds(p.configUpdated),
    lastSyncSeconds: timestampSeconds(p.status?.lastSync),
    erroring: (p.status?.error ?? '') !== '',
    providerHostCount: p.status?.providerHostCount,
    matchedCount: p.status?.matchedCount,
    possibleMatchedCount: p.status?.possibleMatchedCount,
  }));
  return { available: true, integrations };
}

// ----------------------------------------------------------------------------- Tailscale Services hosts

interface ServiceHost {
  readonly nodeId: string;
  /** not-approved, approved:auto or approved:manual. */
  readonly approvalLevel: string;
  /** "ready" when the host serves the service; other values as the API sends them. */
  readonly configured: string;
}

export interface ServiceHosts {
  readonly available: boolean;
  readonly services: ReadonlyArray<{ readonly service: string; readonly hosts: readonly ServiceHost[] }>;
}

const hostSchema = z.object({ stableNodeID: z.string().min(1), approvalLevel: optString, configured: optString });
const serviceNameSchema = z.object({ name: z.string().min(1) });

/** Service host lists fetched at once: one call per service, so a few at a time, not hundreds. */
const SERVICE_HOSTS_CONCURRENCY = 4;

/** One call for the list of services, then one per service (hence opt-in). */
export async function fetchServiceHosts(api: TailnetJson, signal?: AbortSignal): Promise<ServiceHosts> {
  const body = await unless404(api, 'services', tailnetPath(api, '/services'), signal);
  if (body === undefined) return { available: false, services: [] };
  const names = parseEntries(listOf('services', body, 'vipServices'), serviceNameSchema, (s) => s.name).map(
    (s) => s.name,
  );
  const services: Array<{ service: string; hosts: ServiceHost[] } | undefined> = names.map(() => undefined);
  await eachLimited(names, SERVICE_HOSTS_CONCURRENCY, async (service, i) => {
    const hosts = await unless404(
      api,
      'service_hosts',
      tailnetPath(api, `/services/${encodeURIComponent(service)}/devices`),
      signal,
    );
    // 404: the service went away between the two calls.
    if (hosts === undefined) return;
    const list = parseEntries(listOf('service_hosts', hosts, 'hosts'), hostSchema, (h) => h.stableNodeID);
    services[i] = {
      service,
      hosts: list.map((h) => ({
        nodeId: h.stableNodeID,
        approvalLevel: h.approvalLevel ?? '',
        configured: h.configured ?? '',
      })),
    };
  });
  return { available: true, services: services.filter((s) => s !== undefined) };
}

// -------------------------------------------------------------------------------------------- webhooks

export interface Webhook {
  readonly endpointId: string;
  readonly providerType: string;
  /** Scheme and host of endpointUrl only: its path, query and user info may hold a secret (Slack, Discord). */
  readonly destination: string;
  readonly subscriptions: readonly string[];
}

export interface Webhooks {
  /** false when the API answered 404 (missing webhooks:read, or not available). */
  readonly available: boolean;
  readonly webhooks: readonly Webhook[];
}

const webhookSchema = z.object({
  endpointId: z.string().min(1),
  endpointUrl: optString,
  providerType: optString,
  subscriptions: z.array(z.string()).nullable().optional().catch(undefined),
});

/** `https://hooks.slack.com` of `https://hooks.slack.com/services/T0/B0/secret`; "" when it is no URL. */
export function urlDestination(url: string | undefined): string {
  if (url === undefined) return '';
  try {
    const u = new URL(url);
    return u.host === '' ? '' : `${u.protocol}//${u.host}`;
  } catch {
    return '';
  }
}

export async function fetchWebhooks(api: TailnetJson, signal?: AbortSignal): Promise<Webhooks> {
  const body = await unless404(api, 'webhooks', tailnetPath(api, '/webhooks'), signal);
  if (body === undefined) return { available: false, webhooks: [] };
  const webhooks = parseEntries(listOf('webhooks', body, 'webhooks'), webhookSchema, (w) => w.endpointId).map((w) => ({
    endpointId: w.endpointId,
    providerType: w.providerType ?? '',
    destination: urlDestination(w.endpointUrl),
    subscriptions: uniq(w.subscriptions ?? []) ?? [],
  }));
  return { available: true, webhooks };
}
