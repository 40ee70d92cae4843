import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import type { Logger } from 'pino';
import { ApiError, isTimeout, type ApiErrorReason } from '../errors.js';
import { background } from '../slicer.js';
import { BodyTooLargeError, readBody } from '../util/body.js';
import { sleep } from '../util/sleep.js';
import type { TokenSource } from './auth.js';
import { ArrayElementSplitter } from './json-scan.js';
import type { RequestStats } from './request-stats.js';
import { backoffMs, DEFAULT_RETRY, isRetryableStatus, parseRetryAfter, type RetryPolicy } from './retry.js';

// The one HTTP client under every control-plane backend (the Tailscale API, Headscale): a keep-alive pool, per-call
// timeouts, a body size cap, retries with back-off (a server's Retry-After wins), one token refresh after a 401, and
// per-endpoint request stats for the self-metrics. The backends build the paths; their callers never see one.

export interface TransportOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  /** Largest response body read, in bytes (a 10,000-device list with fields=all is ~30 MB). */
  readonly maxBodyBytes?: number;
  /** PEM of a private CA to trust (Headscale behind an internal CA). */
  readonly ca?: string | undefined;
}

export interface HttpClientOptions extends TransportOptions {
  readonly tokens: TokenSource;
  readonly stats: RequestStats;
  readonly log: Logger;
  readonly retry?: RetryPolicy;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The connection pool to share (with the OAuth token source); the client's own when absent. */
  readonly transport?: HttpTransport;
}

const DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024;

/**
 * The keep-alive pool under the client and the OAuth token source: connect, header and body timeouts, a deadline
 * per call, the body size cap. No auth, retries or stats: those are the caller's.
 */
export class HttpTransport {
  readonly #o: TransportOptions;
  readonly #agent: Agent;
  readonly #maxBodyBytes: number;
  #closed: Promise<void> | undefined;

  constructor(options: TransportOptions) {
    this.#o = options;
    this.#maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    this.#agent = new Agent({
      connect:
        options.ca === undefined ? { timeout: options.timeoutMs } : { timeout: options.timeoutMs, ca: options.ca },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      maxResponseSize: this.#maxBodyBytes,
      keepAliveTimeout: 30_000,
    });
  }

  /** The body size cap, in bytes. */
  get maxBodyBytes(): number {
    return this.#maxBodyBytes;
  }

  /** One request to `path` under the base URL, ended by `signal` or after `totalMs` (default: the call timeout). */
  send(
    path: string,
    init: { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
    signal?: AbortSignal,
    totalMs = this.#o.timeoutMs,
  ): Promise<Dispatcher.ResponseData> {
    const timeout = AbortSignal.timeout(totalMs);
    return request(`${this.#o.baseUrl}${path}`, {
      ...init,
      dispatcher: this.#agent,
      headers: { accept: 'application/json', 'user-agent': 'tsmetrics', ...init.headers },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  }

  /** A body's bytes within the size cap: one copy of them when the length is declared (undici's json() keeps two). */
  bytes(res: Dispatcher.ResponseData): Promise<Buffer> {
    return readBody(res.body, this.#maxBodyBytes, res.headers['content-length']);
  }

  /** Ends the connection pool; a second call waits for the same end (undici's Agent rejects one). */
  close(): Promise<void> {
    this.#closed ??= this.#agent.close();
    return this.#closed;
  }
}

/** The port a backend's resource readers use: one GET with auth, retries and timeouts; throws ApiError. */
export interface JsonSource {
  getJson(endpoint: string, path: string, signal?: AbortSignal): Promise<unknown>;
}

/** A body that is JSON but not the shape asked for: its message is the reason shown. */
export class ShapeError extends Error {}

export class HttpClient implements JsonSource {
  readonly #o: HttpClientOptions;
  readonly #transport: HttpTransport;
  readonly #ownsTransport: boolean;
  readonly #retry: RetryPolicy;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;

  constructor(options: HttpClientOptions) {
    this.#o = options;
    this.#retry = options.retry ?? DEFAULT_RETRY;
    this.#sleep = options.sleep ?? sleep;
    this.#ownsTransport = options.transport === undefined;
    this.#transport = options.transport ?? new HttpTransport(options);
  }

  getJson(endpoint: string, path: string, signal?: AbortSignal): Promise<unknown> {
    const read = async (res: Dispatcher.ResponseData): Promise<unknown> =>
      JSON.parse((await this.#transport.bytes(res)).toString('utf8')) as unknown;
    return this.get(endpoint, path, read, signal);
  }

  /**
   * A GET whose answer is an object with an array under `key` (the logs): each element's bytes go to
   * `onElement` as they arrive, never the whole body at once. A retried call delivers its elements again.
   * `totalMs` bounds the whole answer (the body timeout still bounds the wait for each piece).
   */
  streamArray(
    endpoint: string,
    path: string,
    key: string,
    onElement: (bytes: Buffer) => void,
    signal?: AbortSignal,
    totalMs?: number,
  ): Promise<void> {
    return this.get(endpoint, path, (res) => readArrayElements(res, key, onElement), signal, totalMs);
  }

  /** One GET with auth, retries and timeouts; `read` turns the 200 body into T (a throw = malformed). */
  async get<T>(
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
    signal: AbortSignal | undefined,
    totalMs: number,
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
      const headers = { authorization: `Bearer ${token}` };
      res = await this.#transport.send(path, { method: 'GET', headers }, signal, totalMs);
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
      const shown =
        err instanceof ShapeError || err instanceof BodyTooLargeError
          ? err.message
          : // The pool's own size limit (maxResponseSize) cut off a body without Content-Length before readBody's
            // count (the scraper's classify() tells it apart the same way).
            err instanceof undiciErrors.ResponseExceededMaxSizeError
            ? `body exceeds ${this.#transport.maxBodyBytes} bytes`
            : 'malformed JSON';
      return fail('invalid_response', shown, 200, err);
    }
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
    if (this.#ownsTransport) await this.#transport.close();
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

/** The elements of the array under `key`, each handed over as it is cut out; an answer without the key has none. */
async function readArrayElements(
  res: Dispatcher.ResponseData,
  key: string,
  onElement: (bytes: Buffer) => void,
): Promise<void> {
  const splitter = new ArrayElementSplitter(key, { onArrayStart: () => {}, onElement: (bytes) => onElement(bytes) });
  for await (const chunk of res.body as AsyncIterable<Buffer>) await background.run(() => splitter.push(chunk));
  if (splitter.end() === 'other') throw new ShapeError(`"${key}" is not an array`);
}
