import { request } from 'node:http';
import { BodyTooLargeError, readBody } from '../util/body.js';
import { z } from 'zod';
import { LocalApiError } from './errors.js';

// A client of tailscaled's LocalAPI over its unix socket (HTTP/1.1). Two rules of the server
// (ipn/localapi/localapi.go): the Host header must be `local-tailscaled.sock` (node:http would send
// `localhost`, which is answered with 403 "invalid localapi request"), and a request carrying Referer or
// Origin is refused as cross-site; none is ever sent here.

/** The only Host the LocalAPI accepts (tailscale client/tailscale/apitype LocalAPIHost). */
export const LOCALAPI_HOST = 'local-tailscaled.sock';

/** The fields of ipnstate.PeerStatus the exporter uses; JSON keys keep the Go names. */
export interface PeerStatus {
  /** Stable node ID (`n...CNTRL`): the API's `nodeId`. */
  readonly ID: string;
  readonly HostName: string;
  /** MagicDNS FQDN with a trailing dot. */
  readonly DNSName: string;
  readonly OS: string;
  readonly TailscaleIPs: readonly string[];
  readonly Tags: readonly string[];
  /** Connected to the control plane. */
  readonly Online: boolean;
  /** `ip:port` of the direct path; `""` when relayed or no path. */
  readonly CurAddr: string;
  /** DERP region code of the relay (e.g. `nyc`); `""` when unknown. */
  readonly Relay: string;
  readonly RxBytes: number;
  readonly TxBytes: number;
  /** RFC 3339 time; the zero time `0001-01-01T00:00:00Z` means never. */
  readonly LastHandshake: string;
  readonly ExitNode: boolean;
  /** Packets exchanged in about the last 2 minutes. */
  readonly Active: boolean;
}

interface SelfStatus {
  readonly ID: string;
  readonly HostName: string;
  readonly DNSName: string;
  readonly Tags: readonly string[];
  readonly TailscaleIPs: readonly string[];
  readonly Online: boolean;
}

/** The subset of ipnstate.Status (GET /localapi/v0/status) tsmetrics reads. */
export interface LocalStatus {
  /** NoState, NeedsLogin, NeedsMachineAuth, Stopped, Starting or Running. */
  readonly BackendState: string;
  /** The login URL while BackendState is NeedsLogin and an interactive login was started; else "". */
  readonly AuthURL: string;
  /** Undefined before the node has an identity. */
  readonly Self: SelfStatus | undefined;
  /** Keyed by node public key (`nodekey:...`). */
  readonly Peer: Readonly<Record<string, PeerStatus>>;
}

// Field by field tolerant: a missing, null or wrongly typed field gets its zero value (as Go's JSON
// encoder would have written it), so one odd field never hides the whole status. BackendState is the
// one field without which the answer is not a status at all.
const str = z.string().catch('');
const bool = z.boolean().catch(false);
const num = z.number().finite().catch(0);
const strings = z.array(z.string()).catch([]);

const peerSchema = z.object({
  ID: str,
  HostName: str,
  DNSName: str,
  OS: str,
  TailscaleIPs: strings,
  Tags: strings,
  Online: bool,
  CurAddr: str,
  Relay: str,
  RxBytes: num,
  TxBytes: num,
  LastHandshake: str,
  ExitNode: bool,
  Active: bool,
});

const selfSchema = z.object({
  ID: str,
  HostName: str,
  DNSName: str,
  Tags: strings,
  TailscaleIPs: strings,
  Online: bool,
});

const statusSchema = z.object({
  BackendState: z.string(),
  AuthURL: str,
  Self: selfSchema
    .nullish()
    .catch(undefined)
    .transform((s) => s ?? undefined),
  // A peer entry that is not an object is dropped, the others kept.
  Peer: z
    .record(z.string(), z.unknown())
    .nullish()
    .catch(undefined)
    .transform((peers) => {
      const out: Record<string, PeerStatus> = {};
      for (const [key, value] of Object.entries(peers ?? {})) {
        const parsed = peerSchema.safeParse(value);
        if (parsed.success) out[key] = parsed.data;
      }
      return out;
    }),
});

/** Validates a decoded /localapi/v0/status body; throws a zod error when BackendState is missing. */
export function parseStatus(json: unknown): LocalStatus {
  return statusSchema.parse(json);
}

export interface LocalApiOptions {
  readonly socketPath: string;
  /** Bound of one call, connect to last byte. */
  readonly timeoutMs?: number;
  /** Largest body accepted (a status of a large tailnet is a few MB). */
  readonly maxBytes?: number;
}

export class LocalApiClient {
  readonly socketPath: string;
  readonly #timeoutMs: number;
  readonly #maxBytes: number;

  constructor(options: LocalApiOptions) {
    this.socketPath = options.socketPath;
    this.#timeoutMs = options.timeoutMs ?? 5000;
    this.#maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  }

  /** GET /localapi/v0/status, validated. Throws LocalApiError (or the signal's reason when aborted). */
  async status(signal?: AbortSignal): Promise<LocalStatus> {
    const path = '/localapi/v0/status';
    const body = await this.get(path, signal);
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new LocalApiError(path, 'the body is not JSON', 200, { cause: err });
    }
    const parsed = statusSchema.safeParse(json);
    if (!parsed.success) throw new LocalApiError(path, 'the body is not an ipnstate.Status (no BackendState)', 200);
    return parsed.data;
  }

  /** A GET that must answer 200; returns the body. */
  async get(path: string, signal?: AbortSignal): Promise<Buffer> {
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      return await new Promise<Buffer>((resolve, reject) => {
        const req = request(
          {
            socketPath: this.socketPath,
            path,
            method: 'GET',
            // A fresh connection per call: calls are rare, and a pooled socket to a restarted daemon is dead.
            agent: false,
            headers: { Host: LOCALAPI_HOST, Accept: 'application/json', 'User-Agent': 'tsmetrics' },
            signal: combined,
          },
          (res) => {
            readBody(res, this.#maxBytes, res.headers['content-length']).then(
              (body) => {
                if (res.statusCode === 200) return resolve(body);
                const text = body.toString('utf8').trim().slice(0, 200);
                reject(new LocalApiError(path, `HTTP ${res.statusCode}${text ? `: ${text}` : ''}`, res.statusCode));
              },
              (err: unknown) =>
                reject(err instanceof BodyTooLargeError ? new LocalApiError(path, err.message, res.statusCode) : err),
            );
          },
        );
        req.on('error', reject);
        req.end();
      });
    } catch (err) {
      if (signal?.aborted === true) throw signal.reason;
      if (err instanceof LocalApiError) throw err;
      if (deadline.aborted)
        throw new LocalApiError(path, `no answer within ${this.#timeoutMs} ms`, undefined, { cause: err });
      const code = (err as { code?: unknown }).code;
      throw new LocalApiError(
        path,
        `${typeof code === 'string' ? `${code}: ` : ''}${(err as Error).message}`,
        undefined,
        { cause: err },
      );
    }
  }
}
