import { createHash } from 'node:crypto';
import { Agent, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { ApiError, isTimeout, type ApiErrorReason } from '../errors.js';
import type { Device } from './device.js';
import { sleep } from '../util/sleep.js';
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, type RetryPolicy } from './retry.js';
import type { RequestStats } from './request-stats.js';
import { apiDeviceSchema, onlineFromClock, routesSchema, toDevice } from './schemas.js';
import { ArrayElementSplitter } from './json-scan.js';
import { background } from '../slicer.js';
import type { TokenSource } from './auth.js';

/** The narrow port the refresher needs from the Tailscale API. */
export interface TailscaleApi {
  /** Every device of the tailnet with `fields=all`; throws ApiError when the list cannot be had. */
  listDevices(signal?: AbortSignal): Promise<DeviceList>;
  /** One GET with auth, retries and timeouts; throws ApiError. `path` starts with /api/v2/. */
  getJson(endpoint: string, path: string, signal?: AbortSignal): Promise<unknown>;
  readonly tailnet: string;
  close(): Promise<void>;
}

export interface DeviceList {
  readonly devices: readonly Device[];
  /** Entries dropped because they lacked an id or a name. */
  readonly invalidDevices: number;
}

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
  /** PEM of a private CA to trust (Headscale behind an internal CA). */
  readonly ca?: string | undefined;
  /** Clock in ms, for devices whose online state comes from lastSeen; default Date.now. */
  readonly now?: () => number;
}

const ROUTE_LOOKUP_CONCURRENCY = 4;
/** The longest a whole log answer may take to read (each piece still within API_TIMEOUT). */
const LOG_STREAM_TIMEOUT_MS = 10 * 60_000;

/** Tailscale API v2 over undici (keep-alive pool, per-call timeouts, bounded bodies). */
export class HttpTailscaleApi implements TailscaleApi {
  readonly #o: HttpTailscaleApiOptions;
  readonly #agent: Agent;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The last device list's entries by SHA-1 of their bytes: an unchanged entry is not converted again. */
  #converted = new Map<string, Device>();

  get tailnet(): string {
    return this.#o.tailnet;
  }

  constructor(options: HttpTailscaleApiOptions) {
    this.#o = options;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#sleep = options.sleep ?? sleep;
    this.#agent = new Agent({
      connect:
        options.ca === undefined ? { timeout: options.timeoutMs } : { timeout: options.timeoutMs, ca: options.ca },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      maxResponseSize: options.maxBodyBytes ?? 256 * 1024 * 1024,
      keepAliveTimeout: 30_000,
    });
  }

  async listDevices(signal?: AbortSignal): Promise<DeviceList> {
    const path = `/api/v2/tailnet/${encodeURIComponent(this.#o.tailnet)}/devices?fields=all`;
    // Most entries are byte for byte what they were last time: their Device is taken over as the entry
    // streams in, not parsed, validated and built again (10,000 of them are 200 ms of CPU and ~100 MB of
    // short-lived objects); only the changed ones are kept as bytes until they are converted below.
    const previous = this.#converted;
    const entries = await this.#get('devices', path, (res) => readDeviceEntries(res, previous), signal);
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
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < missing.length) {
        const [device, index] = missing[next++]!;
        try {
          const id = device.nodeId !== '' ? device.nodeId : device.id;
          const body = await this.getJson('device_routes', `/api/v2/device/${encodeURIComponent(id)}/routes`, signal);
          const routes = routesSchema.parse(body);
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
      }
    };
    await Promise.all(Array.from({ length: Math.min(ROUTE_LOOKUP_CONCURRENCY, missing.length) }, worker));
    return devices;
  }

  getJson(endpoint: string, path: string, signal?: AbortSignal): Promise<unknown> {
    return this.#get(endpoint, path, readJson, signal);
  }

  /**
   * A GET whose answer is an object with an array under `key` (the logs): each element's bytes go to
   * `onElement` as they arrive, never the whole body at once. A retried call delivers its elements again.
   */
  streamArray(
    endpoint: string,
    path: string,
    key: string,
    onElement: (bytes: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void> {
    // A log answer can be tens of megabytes read at the pace of its records: API_TIMEOUT bounds the wait for
    // each piece (undici's body timeout), this the whole answer.
    return this.#get(
      endpoint,
      path,
      (res) => readArrayElements(res, key, onElement),
      signal,
      Math.max(this.#o.timeoutMs, LOG_STREAM_TIMEOUT_MS),
    );
  }

  /** One GET with auth, retries and timeouts; `read` turns the 200 body into T (a throw = malformed). */
  async #get<T>(
    endpoint: string,
    path: string,
    read: (res: Dispatcher.ResponseData) => Promise<T>,
    signal?: AbortSignal,
    totalMs = this.#o.timeoutMs,
  ): Promise<T> {
    let refreshedAfter401 = false;
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.#attempt(endpoint, path, read, signal, totalMs);
      if (outcome.ok) return outcome.value;
      const { error } = outcome;
      if (error.status === 401 && !refreshedAfter401) {
        // An expired or revoked token: get a fresh one once (not counted as a retry), then fail loudly.
        refreshedAfter401 = true;
        this.#o.tokens.invalidate();
        attempt--;
        continue;
      }
      const retryable =
        error.reason === 'network' ||
        error.reason === 'timeout' ||
        (error.status !== undefined && isRetryableStatus(error.status));
      if (!retryable || attempt >= this.#retry.attempts) throw error;
      // A Retry-After longer than one call's timeout is not waited out inside this cycle.
      if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > this.#o.timeoutMs) throw error;
      await this.#sleep(outcome.retryAfterMs ?? backoffMs(this.#retry, attempt), signal);
    }
  }

  /** One request. Never throws except when the caller aborts; every outcome is recorded in the stats. */
  async #attempt<T>(
    endpoint: string,
    path: string,
    read: (res: Dispatcher.ResponseData) => Promise<T>,
    signal?: AbortSignal,
    totalMs = this.#o.timeoutMs,
  ): Promise<{ ok: true; value: T } | { ok: false; error: ApiError; retryAfterMs?: number }> {
    const started = performance.now();
    const fail = (reason: ApiErrorReason, message: string, status?: number, cause?: unknown, retryAfterMs?: number) => {
      this.#record(endpoint, started, path, reason, message);
      const error = new ApiError(endpoint, reason, message, status, cause === undefined ? undefined : { cause });
      return retryAfterMs === undefined ? { ok: false as const, error } : { ok: false as const, error, retryAfterMs };
    };
    let res: Dispatcher.ResponseData;
    try {
      const token = await this.#o.tokens.token(signal);
      res = await this.#send(path, token, signal, totalMs);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (err instanceof ApiError) return fail(err.reason, err.message, err.status, err); // from the token source
      return fail(isTimeout(err) ? 'timeout' : 'network', describe(err), undefined, err);
    }
    if (res.statusCode !== 200) {
      const message = await errorMessage(res);
      const status = res.statusCode;
      const reason: ApiErrorReason =
        status === 429 ? 'rate_limited' : status === 401 || status === 403 ? 'auth' : 'http_status';
      const header = res.headers['retry-after'];
      const retryAfterMs = parseRetryAfter(Array.isArray(header) ? header[0] : header, Date.now());
      return fail(reason, `HTTP ${status}${message ? `: ${message}` : ''}`, status, undefined, retryAfterMs);
    }
    try {
      const value = await read(res);
      this.#record(endpoint, started, path);
      return { ok: true, value };
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (isTimeout(err)) return fail('timeout', 'response body timed out', 200, err);
      return fail('invalid_response', err instanceof DeviceListShapeError ? err.message : 'malformed JSON', 200, err);
    }
  }

  #send(
    path: string,
    token: string,
    signal: AbortSignal | undefined,
    totalMs: number,
  ): Promise<Dispatcher.ResponseData> {
    const timeout = AbortSignal.timeout(totalMs);
    return request(`${this.#o.baseUrl}${path}`, {
      method: 'GET',
      dispatcher: this.#agent,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'tsmetrics' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  }

  #record(endpoint: string, started: number, path: string, reason?: string, detail?: string): void {
    const seconds = (performance.now() - started) / 1000;
    this.#o.stats.record(endpoint, seconds, reason);
    // The path and the outcome only: the token is in a header, never logged.
    this.#o.log.debug(
      {
        endpoint,
        path,
        duration_ms: Math.round(seconds * 1000),
        outcome: reason ?? 'ok',
        ...(detail === undefined ? {} : { detail }),
      },
      'api request',
    );
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/**
 * The error's own words: `message` (Tailscale, grpc-gateway), or `detail`, else `title`, of an RFC 9457
 * application/problem+json answer (Headscale 0.30's /api/v1).
 */
async function errorMessage(res: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = (await res.body.text()).slice(0, 1024);
    const parsed = JSON.parse(text) as { message?: unknown; detail?: unknown; title?: unknown };
    const words = [parsed.message, parsed.detail, parsed.title].find((w) => typeof w === 'string' && w !== '');
    return typeof words === 'string' ? words.slice(0, 200) : '';
  } catch {
    return '';
  }
}

/** An error as one line without credentials (undici errors never carry headers in their message). */
export function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}

/**
 * The body's bytes, one copy of them when the length is declared: undici's json() keeps the chunks and
 * their concatenation at once (the users or keys of a large tailnet are megabytes too).
 */
async function readBytes(res: Dispatcher.ResponseData): Promise<Buffer> {
  const declared = Number(res.headers['content-length']);
  if (Number.isSafeInteger(declared) && declared > 0) {
    const bytes = Buffer.allocUnsafe(declared);
    let length = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      if (length + chunk.length > declared) throw new SyntaxError('body longer than its Content-Length');
      length += chunk.copy(bytes, length);
    }
    return bytes.subarray(0, length);
  }
  const chunks: Buffer[] = [];
  for await (const chunk of res.body as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function readJson(res: Dispatcher.ResponseData): Promise<unknown> {
  return JSON.parse((await readBytes(res)).toString('utf8'));
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
      const digest = createHash('sha1').update(bytes).digest('base64');
      const device = previous.get(digest);
      // The chunk the bytes lie in is not kept: a changed entry is copied until it is converted.
      entries.push(device !== undefined ? { digest, device } : { digest, bytes: Buffer.from(bytes) });
    },
  });
  for await (const chunk of res.body as AsyncIterable<Buffer>) await background.run(() => splitter.push(chunk));
  const found = splitter.end();
  if (found !== 'array') throw new DeviceListShapeError('response has no "devices" array');
  return entries;
}

class DeviceListShapeError extends Error {}

/** The elements of the array under `key`, each handed over as it is cut out; an answer without the key has none. */
async function readArrayElements(
  res: Dispatcher.ResponseData,
  key: string,
  onElement: (bytes: Buffer) => void,
): Promise<void> {
  const splitter = new ArrayElementSplitter(key, { onArrayStart: () => {}, onElement: (bytes) => onElement(bytes) });
  for await (const chunk of res.body as AsyncIterable<Buffer>) await background.run(() => splitter.push(chunk));
  if (splitter.end() === 'other') throw new DeviceListShapeError(`"${key}" is not an array`);
}

/** The narrow port the log pollers need: one streamed GET. */
export interface LogSource {
  readonly tailnet: string;
  streamArray(
    endpoint: string,
    path: string,
    key: string,
    onElement: (bytes: Buffer) => void,
    signal?: AbortSignal,
  ): Promise<void>;
}
