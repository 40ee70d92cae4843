import { readFile } from 'node:fs/promises';
import { ApiError, isTimeout, errorCode } from '../errors.js';
import { HttpTransport } from './http.js';
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
  /** Nothing to close: alike with OAuthTokenSource for whoever owns it. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

interface OAuthCommon {
  readonly baseUrl: string;
  readonly clientId: string;
  readonly timeoutMs: number;
  readonly stats: RequestStats;
  readonly now?: () => number;
  /** The API client's connection pool, shared; the source's own when absent. */
  readonly transport?: HttpTransport;
}

/**
 * One credential kind per source: an OAuth client secret (client credentials), or an OIDC ID token file
 * (workload identity federation), exchanged for the same kind of bearer token.
 */
export type OAuthOptions = OAuthCommon &
  (
    | { readonly clientSecret: string; readonly idTokenFile?: undefined }
    | {
        readonly idTokenFile: string;
        readonly clientSecret?: undefined;
        /** Reads the ID token; default: the file, as text. */
        readonly readIdToken?: (path: string) => Promise<string>;
      }
  );

/** What to check when the token exchange answers its uniform `400 invalid request` (tailscale-facts §6.2). */
export const TOKEN_EXCHANGE_HINT =
  'the ID token in OAUTH_ID_TOKEN_FILE was refused: check that its audience (aud) is the one the federated identity ' +
  'expects (by convention api.tailscale.com/<OAUTH_CLIENT_ID>), that its issuer (iss) and subject (sub) match the ' +
  "identity's issuer and subject, that it has not expired, and that OAUTH_CLIENT_ID is the federated identity's client ID";

/** Refresh this long before the token's own expiry, so no call goes out with a token about to lapse. */
const EXPIRY_MARGIN_MS = 5 * 60_000;

/**
 * OAuth2 client credentials (`POST /api/v2/oauth/token`) or workload identity federation
 * (`POST /api/v2/oauth/token-exchange` with an OIDC ID token), cached until shortly before expiry.
 */
export class OAuthTokenSource implements TokenSource {
  readonly #o: OAuthOptions;
  readonly #now: () => number;
  readonly #transport: HttpTransport;
  readonly #ownsTransport: boolean;
  #cached: { token: string; refreshAtMs: number } | undefined;
  #inflight: Promise<string> | undefined;

  constructor(options: OAuthOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#ownsTransport = options.transport === undefined;
    this.#transport = options.transport ?? new HttpTransport(options);
  }

  token(signal?: AbortSignal): Promise<string> {
    if (this.#cached !== undefined && this.#now() < this.#cached.refreshAtMs)
      return Promise.resolve(this.#cached.token);
    // Concurrent callers share one token request.
    this.#inflight ??= this.#fetch(signal).finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  invalidate(): void {
    this.#cached = undefined;
  }

  /** The endpoint and its form: the ID token is read anew each time (projected tokens rotate). */
  async #form(): Promise<{ path: string; body: URLSearchParams }> {
    const o = this.#o;
    if (o.idTokenFile === undefined) {
      return {
        path: '/api/v2/oauth/token',
        body: new URLSearchParams({
          client_id: o.clientId,
          client_secret: o.clientSecret,
          grant_type: 'client_credentials',
        }),
      };
    }
    let jwt: string;
    try {
      jwt = (await (o.readIdToken ?? ((p: string) => readFile(p, 'utf8')))(o.idTokenFile)).trim();
    } catch (err) {
      const code = errorCode(err) ?? 'unreadable';
      throw new ApiError(
        'oauth_token_exchange',
        'auth',
        `cannot read OAUTH_ID_TOKEN_FILE=${JSON.stringify(o.idTokenFile)} (${code})`,
        undefined,
        { cause: err },
      );
    }
    if (jwt === '')
      throw new ApiError(
        'oauth_token_exchange',
        'auth',
        `OAUTH_ID_TOKEN_FILE=${JSON.stringify(o.idTokenFile)} is empty`,
      );
    return {
      path: '/api/v2/oauth/token-exchange',
      body: new URLSearchParams({ client_id: o.clientId, jwt }),
    };
  }

  async #fetch(signal?: AbortSignal): Promise<string> {
    const started = performance.now();
    const exchange = this.#o.idTokenFile !== undefined;
    const name = exchange ? 'oauth_token_exchange' : 'oauth_token';
    const record = (reason?: string): void => this.#o.stats.record(name, (performance.now() - started) / 1000, reason);
    let form;
    try {
      form = await this.#form();
    } catch (err) {
      record('auth');
      throw err;
    }
    let res;
    try {
      const headers = { 'content-type': 'application/x-www-form-urlencoded' };
      res = await this.#transport.send(form.path, { method: 'POST', headers, body: form.body.toString() }, signal);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      const timedOut = isTimeout(err);
      record(timedOut ? 'timeout' : 'network');
      throw new ApiError(
        name,
        timedOut ? 'timeout' : 'network',
        `token request failed: ${err instanceof Error ? err.message : String(err)}`,
        undefined,
        { cause: err },
      );
    }
    if (res.statusCode !== 200) {
      await res.body.dump();
      // The exchange answers every refusal with the same 400: a bad token is an auth problem there.
      const refused = res.statusCode === 401 || res.statusCode === 403 || (exchange && res.statusCode === 400);
      const reason = refused ? 'auth' : res.statusCode === 429 ? 'rate_limited' : 'http_status';
      record(reason);
      const hint = !refused
        ? ''
        : exchange
          ? `: ${TOKEN_EXCHANGE_HINT}`
          : ' (check OAUTH_CLIENT_ID and OAUTH_CLIENT_SECRET)';
      throw new ApiError(name, reason, `HTTP ${res.statusCode}${hint}`, res.statusCode);
    }
    const body = await this.#transport
      .bytes(res)
      .then((bytes) => JSON.parse(bytes.toString('utf8')) as unknown)
      .catch(() => undefined);
    const parsed = tokenSchema.safeParse(body);
    if (!parsed.success) {
      record('invalid_response');
      throw new ApiError(name, 'invalid_response', 'token response has no access_token', 200);
    }
    record();
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    const margin = Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 10);
    this.#cached = { token: parsed.data.access_token, refreshAtMs: this.#now() + lifetimeMs - margin };
    return parsed.data.access_token;
  }

  async close(): Promise<void> {
    if (this.#ownsTransport) await this.#transport.close();
  }
}
