import { hash } from 'node:crypto';
import type { Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { ApiError } from '../errors.js';
import type { Device } from './device.js';
import { eachLimited } from '../util/pool.js';
import type { RetryPolicy } from './retry.js';
import type { RequestStats } from './request-stats.js';
import { apiDeviceSchema, onlineFromClock, routesSchema, shaped, toDevice } from './schemas.js';
import { ArrayElementSplitter } from './json-scan.js';
import { background } from '../slicer.js';
import type { TokenSource } from './auth.js';
import type { ControlPlane, DeviceList, LogKind, LogSource, ResourceReaders } from './control.js';
import { describe, HttpClient, ShapeError, type HttpTransport } from './http.js';
import {
  fetchDns,
  fetchKeys,
  fetchPolicy,
  fetchServices,
  fetchSettings,
  fetchUsers,
  type TailnetJson,
} from './inventory.js';
import { fetchLogStreams, fetchPostureIntegrations, fetchServiceHosts, fetchWebhooks } from './monitoring.js';

export interface HttpTailscaleApiOptions {
  readonly baseUrl: string;
  readonly tailnet: string;
  readonly timeoutMs: number;
  readonly tokens: TokenSource;
  readonly stats: RequestStats;
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Largest response body read, in bytes (a 10,000-device list with fields=all is ~30 MB). */
  readonly maxBodyBytes?: number;
  /** Clock in ms, for devices whose online state comes from lastSeen; default Date.now. */
  readonly now?: () => number;
  /** The connection pool shared with the OAuth token source; the client's own when absent. */
  readonly transport?: HttpTransport;
}

const ROUTE_LOOKUP_CONCURRENCY = 4;
/** The longest a whole log answer may take to read (each piece still within API_TIMEOUT). */
const LOG_STREAM_TIMEOUT_MS = 10 * 60_000;

/** The Tailscale API v2 as a control plane: devices, the inventory resources and the logs, over the one HTTP client. */
export class HttpTailscaleApi implements ControlPlane, LogSource, TailnetJson {
  readonly #o: HttpTailscaleApiOptions;
  readonly #http: HttpClient;
  /** The last device list's entries by SHA-1 of their bytes: an unchanged entry is not converted again. */
  #converted = new Map<string, Device>();
  readonly resources = tailscaleResources(this);
  readonly logs: LogSource = this;

  get tailnet(): string {
    return this.#o.tailnet;
  }

  constructor(options: HttpTailscaleApiOptions) {
    this.#o = options;
    this.#http = new HttpClient(options);
  }

  async listDevices(signal?: AbortSignal): Promise<DeviceList> {
    const path = `/api/v2/tailnet/${encodeURIComponent(this.#o.tailnet)}/devices?fields=all`;
    // Most entries are byte for byte what they were last time: their Device is taken over as the entry
    // streams in, not parsed, validated and built again (10,000 of them are 200 ms of CPU and ~100 MB of
    // short-lived objects); only the changed ones are kept as bytes until they are converted below.
    const previous = this.#converted;
    const entries = await this.#http.get('devices', path, (res) => readDeviceEntries(res, previous), signal);
    const devices: Device[] = [];
    const seen = new Set<string>();
    let invalidDevices = 0;
    const converted = new Map<string, Device>();
    const nowSeconds = (this.#o.now ?? Date.now)() / 1000;
    const convert = (from: number, to: number): void => {
      for (let i = from; i < to; i++) {
        const entry = entries[i]!;
        let device = entry.device;
        // An entry whose online state depends on the clock is converted anew every time, never reused.
        let reusable = true;
        if (entry.bytes !== undefined) {
          let raw: unknown;
          try {
            raw = JSON.parse(entry.bytes.toString('utf8'));
          } catch (err) {
            throw new ApiError('devices', 'invalid_response', 'malformed JSON', 200, { cause: err });
          }
          const parsed = apiDeviceSchema.safeParse(raw);
          if (parsed.success) {
            device = toDevice(parsed.data, nowSeconds);
            reusable = !onlineFromClock(parsed.data);
          }
        }
        // A device listed twice would export every series twice: the first entry wins.
        if (device !== undefined && !seen.has(device.id)) {
          seen.add(device.id);
          if (reusable) converted.set(entry.digest, device);
          devices.push(device);
        } else invalidDevices++;
      }
    };
    // Converting 10,000 devices takes a while: 32 at a time, between /metrics requests and device answers.
    for (let i = 0; i < entries.length; i += 32)
      await background.run(() => convert(i, Math.min(i + 32, entries.length)));
    this.#converted = converted;
    if (invalidDevices > 0) {
      this.#o.log.warn(
        { invalid_devices: invalidDevices },
        'device list entries without id or name, or repeated, were skipped',
      );
    }
    return { devices: await this.#fillMissingRoutes(devices, signal), invalidDevices };
  }

  /** fields=all carries routes; older API versions or odd entries may not, so ask per device then. */
  async #fillMissingRoutes(devices: Device[], signal?: AbortSignal): Promise<Device[]> {
    const missing = devices
      .map((d, i) => [d, i] as const)
      .filter(([d]) => d.advertisedRoutes === undefined && !d.isExternal);
    await eachLimited(missing, ROUTE_LOOKUP_CONCURRENCY, async ([device, index]) => {
      try {
        const id = device.nodeId !== '' ? device.nodeId : device.id;
        const body = await this.getJson('device_routes', `/api/v2/device/${encodeURIComponent(id)}/routes`, signal);
        const routes = shaped('device_routes', body, routesSchema, 'is not a routes object');
        devices[index] = {
          ...device,
          advertisedRoutes: routes.advertisedRoutes ?? [],
          enabledRoutes: routes.enabledRoutes ?? [],
        };
      } catch (err) {
        if (signal?.aborted) throw err;
        // Routes stay unknown for this device; the list itself is still good.
        this.#o.log.warn({ device_id: device.id, err: describe(err) }, 'could not read device routes');
      }
    });
    return devices;
  }

  getJson(endpoint: string, path: string, signal?: AbortSignal): Promise<unknown> {
    return this.#http.getJson(endpoint, path, signal);
  }

  streamLogs(
    kind: LogKind,
    window: { readonly startMs: number; readonly endMs: number },
    onRecord: (bytes: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    const { path, endpoint } = LOG_PATHS[kind];
    const query = `start=${iso(window.startMs)}&end=${iso(window.endMs)}`;
    // A log answer can be tens of megabytes read at the pace of its records: API_TIMEOUT bounds the wait for
    // each piece (undici's body timeout), this the whole answer.
    return this.#http.streamArray(
      endpoint,
      `/api/v2/tailnet/${encodeURIComponent(this.tailnet)}/${path}?${query}`,
      'logs',
      onRecord,
      signal,
      Math.max(this.#o.timeoutMs, LOG_STREAM_TIMEOUT_MS),
    );
  }

  close(): Promise<void> {
    return this.#http.close();
  }
}

/** Where each log is read, and its name in the request stats. */
const LOG_PATHS: Readonly<Record<LogKind, { readonly path: string; readonly endpoint: string }>> = {
  flowlogs: { path: 'logging/network', endpoint: 'logging_network' },
  audit: { path: 'logging/configuration', endpoint: 'logging_configuration' },
};

/** RFC 3339 in UTC, milliseconds kept. */
const iso = (ms: number): string => new Date(ms).toISOString();

/** The Tailscale API's inventory resources, read through `api`. */
export function tailscaleResources(api: TailnetJson): ResourceReaders {
  return {
    users: (signal) => fetchUsers(api, signal),
    keys: (signal, now) => fetchKeys(api, signal, now),
    settings: (signal) => fetchSettings(api, signal),
    dns: (signal) => fetchDns(api, signal),
    services: (signal) => fetchServices(api, signal),
    policy: (signal) => fetchPolicy(api, signal),
    logstream: (signal, now, previous) => fetchLogStreams(api, signal, now, previous),
    postureIntegrations: (signal) => fetchPostureIntegrations(api, signal),
    serviceHosts: (signal) => fetchServiceHosts(api, signal),
    webhooks: (signal) => fetchWebhooks(api, signal),
  };
}

/** A device-list entry: the Device it gave last time, or its bytes (a copy) when it changed. */
interface DeviceEntry {
  readonly digest: string;
  readonly device?: Device;
  readonly bytes?: Buffer;
}

/**
 * The device list's entries, cut out of the body as it arrives (never the whole 12 MB of a 10,000-device
 * list at once), each known by the SHA-1 of its bytes. Throws when the body is not a whole device list:
 * a list cut short is never part of a list.
 */
async function readDeviceEntries(
  res: Dispatcher.ResponseData,
  previous: ReadonlyMap<string, Device>,
): Promise<DeviceEntry[]> {
  let entries: DeviceEntry[] = [];
  const splitter = new ArrayElementSplitter('devices', {
    onArrayStart: () => (entries = []),
    onElement: (bytes) => {
      // The one-shot hash: about half the CPU of a Hash object per entry (10,000 entries each refresh).
      const digest = hash('sha1', bytes, 'base64');
      const device = previous.get(digest);
      // The chunk the bytes lie in is not kept: a changed entry is copied until it is converted.
      entries.push(device !== undefined ? { digest, device } : { digest, bytes: Buffer.from(bytes) });
    },
  });
  for await (const chunk of res.body as AsyncIterable<Buffer>) await background.run(() => splitter.push(chunk));
  const found = splitter.end();
  if (found !== 'array') throw new ShapeError('response has no "devices" array');
  return entries;
}
