import { Agent, request } from 'undici';
import { ApiError, isTimeout } from '../errors.js';
import type { RequestStats } from './request-stats.js';
import { tokenSchema } from './schemas.js';

/** Supplies the bearer token for API calls. */
export interface TokenSource {
  token(signal?: AbortSignal): Promise<string>;
  /** Drop a cached token after a 401 so the next call fetches a fresh one. */
  invalidate(): void;
}

export class StaticToken implements TokenSource {
  readonly #key: string;
  constructor(key: string) {
    this.#key = key;
  }
  token(): Promise<string> {
    return Promise.resolve(this.#key);
  }
  invalidate(): void {}
}

export interface OAuthOptions {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly timeoutMs: number;
  readonly stats: RequestStats;
  readonly now?: () => number;
}

/** Refresh this long before the token's own expiry, so no call goes out with a token about to lapse. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/** OAuth2 client credentials (`POST /api/v2/oauth/token`), cached until shortly before expiry. */
export class OAuthTokenSource implements TokenSource {
  readonly #o: OAuthOptions;
  readonly #now: () => number;
  readonly #agent: Agent;
  #cached: { token: string; refreshAtMs: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(options: OAuthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#agent = new Agent({ connect: { timeout: options.timeoutMs }, headersTimeout: options.timeoutMs, bodyTimeout: options.timeoutMs });
  }

  token(signal?: AbortSignal): Promise<string> {
    if (this.#cached !== undefined && this.#now() < this.#cached.refreshAtMs) return Promise.resolve(this.#cached.token);
    // Concurrent callers share one token request.
    this.#inflight ??= this.#fetch(signal).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  invalidate(): void {
    this.#cached = undefined;
  }

  async #fetch(signal?: AbortSignal): Promise<string> {
    const started = performance.now();
    const record = (reason?: string): void => this.#o.stats.record('oauth_token', (performance.now() - started) / 1000, reason);
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    let res;
    try {
      res = await request(`${this.#o.baseUrl}/api/v2/oauth/token`, {
        method: 'POST',
        dispatcher: this.#agent,
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'tsmetrics' },
        body: new URLSearchParams({ client_id: this.#o.clientId, client_secret: this.#o.clientSecret, grant_type: 'client_credentials' }).toString(),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const timedOut = isTimeout(err);
      record(timedOut ? 'timeout' : 'network');
      throw new ApiError('oauth_token', timedOut ? 'timeout' : 'network', `token request failed: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      const reason = res.statusCode === 401 || res.statusCode === 403 ? 'auth' : res.statusCode === 429 ? 'rate_limited' : 'http_status';
      record(reason);
      const hint = reason === 'auth' ? ' (check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET)' : '';
      throw new ApiError('oauth_token', reason, `HTTP ${res.statusCode}${hint}`, res.statusCode);
    }
    const parsed = tokenSchema.safeParse(await res.body.json().catch(() => undefined));
    if (!parsed.success) {
      record('invalid_response');
      throw new ApiError('oauth_token', 'invalid_response', 'token response has no access_token', 200);
    }
    record();
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 10);
    this.#cached = { token: parsed.data.access_token, refreshAtMs: this.#now() + lifetimeMs - margin };
    return parsed.data.access_token;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
