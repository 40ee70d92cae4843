import { statSync, readFileSync } from 'node:fs';
import type { Server as TlsServer, TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import {
  loadWebConfig,
  readTlsMaterial,
  secureContextOptions,
  type ClientAuthType,
  type TlsSettings,
  type WebConfig,
} from '../config/web-config.js';

/** How often the web config file and its certificates are checked for changes. */
const WEB_CONFIG_POLL_MS = 1000;

/** Node's requestCert/rejectUnauthorized for each exporter-toolkit client_auth_type; the rest is checked after the handshake. */
function clientAuthOptions(type: ClientAuthType): { requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    requestCert: type !== 'NoClientCert',
    // OpenSSL then refuses a missing, expired or foreign certificate with a TLS alert the client can name.
    rejectUnauthorized: type === 'RequireAndVerifyClientCert',
  };
}

export function tlsServerOptions(web: WebConfig): Record<string, unknown> {
  const tls = web.tls!;
  return {
    ...secureContextOptions(
      tls,
      readTlsMaterial(web, (p) => readFileSync(p, 'utf8')),
    ),
    ...clientAuthOptions(tls.clientAuthType),
  };
}

/** Whether a TLS connection passes the client-certificate rules Node does not apply itself. */
export function clientCertAccepted(tls: TlsSettings, socket: TLSSocket): boolean {
  const peer = socket.getPeerCertificate();
  const hasCert = peer !== null && typeof peer === 'object' && Object.keys(peer).length > 0;
  if (tls.clientAuthType === 'RequireAnyClientCert' && !hasCert) return false;
  if (tls.clientAuthType === 'VerifyClientCertIfGiven' && hasCert && !socket.authorized) return false;
  if (tls.clientAllowedSans.length > 0 && tls.clientAuthType !== 'NoClientCert') {
    // "DNS:a, IP Address:127.0.0.1, email:x@y, URI:spiffe://..." -> the values; exporter-toolkit compares them exactly.
    const sans = (hasCert ? (peer.subjectaltname ?? '') : '').split(', ').map((s) => s.slice(s.indexOf(':') + 1));
    if (!tls.clientAllowedSans.some((allowed) => sans.includes(allowed))) return false;
  }
  return true;
}

/** Files whose change means a re-read: the config itself and every certificate and key it names. */
function signature(web: WebConfig): string {
  const files = [web.file, web.tls?.certFile, web.tls?.keyFile, web.tls?.clientCaFile].filter(
    (f): f is string => f !== undefined,
  );
  return files
    .map((f) => {
      try {
        const s = statSync(f);
        return `${f}:${s.mtimeMs}:${s.size}:${s.ino}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('|');
}

/**
 * Polls the web config file and its certificates; on a change, re-reads them and hands the new settings on
 * (certificate rotation without a restart). A bad new file is logged and counted; the old settings stay.
 */
export function watchWebConfig(
  initial: WebConfig,
  apply: (next: WebConfig) => void,
  onFailure: (message: string) => void,
  log: Logger,
  pollMs = WEB_CONFIG_POLL_MS,
): { stop(): void } {
  let current = initial;
  let seen = signature(initial);
  const timer = setInterval(() => {
    const now = signature(current);
    if (now === seen) return;
    seen = now;
    try {
      const next = loadWebConfig(current.file, (p) => readFileSync(p, 'utf8'));
      if ((next.tls === undefined) !== (current.tls === undefined))
        throw new Error('switching TLS on or off needs a restart');
      apply(next);
      current = next;
      seen = signature(next);
      log.info({ file: next.file }, 'web config reloaded');
    } catch (err) {
      onFailure((err as Error).message);
    }
  }, pollMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** Puts new TLS settings into force on a running server: new connections get them, open ones keep theirs. */
export function applyTls(server: TlsServer, web: WebConfig): void {
  server.setSecureContext(
    secureContextOptions(
      web.tls!,
      readTlsMaterial(web, (p) => readFileSync(p, 'utf8')),
    ),
  );
  // tls.Server reads these for every new connection.
  Object.assign(server, clientAuthOptions(web.tls!.clientAuthType));
}
