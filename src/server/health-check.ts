import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import { loadWebConfig, readTlsMaterial } from '../config/web-config.js';

/** How long `--health-check` waits for the whole answer (a Docker HEALTHCHECK's own timeout is longer). */
export const HEALTH_CHECK_TIMEOUT_MS = 5000;

/**
 * `--health-check`: GET the local URL and say in one line what came back: the HTTP status and the start of
 * the body, whatever it is (a limit's plain-text answer included). With TLS on (the web config), it speaks
 * https to localhost without verifying the certificate, and presents the server's own certificate in case
 * client certificates are requested (that works when one CA signs both).
 */
export async function checkHealth(
  url: string,
  webConfigFile: string | undefined,
  timeoutMs = HEALTH_CHECK_TIMEOUT_MS,
): Promise<{ ok: boolean; line: string }> {
  let target = url;
  let dispatcher: Agent | undefined;
  try {
    const web = webConfigFile === undefined ? undefined : loadWebConfig(webConfigFile, (p) => readFileSync(p, 'utf8'));
    if (web?.tls !== undefined) {
      target = url.replace(/^http:/, 'https:');
      const m = readTlsMaterial(web, (p) => readFileSync(p, 'utf8'));
      dispatcher = new Agent({
        connect: {
          rejectUnauthorized: false,
          ...(web.tls.clientAuthType === 'NoClientCert' ? {} : { cert: m.cert, key: m.key }),
        },
      });
    }
    const res = await fetch(target, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(dispatcher === undefined ? {} : { dispatcher }),
    });
    const body = (await res.text()).trim().slice(0, 200);
    return { ok: res.status === 200, line: `${res.status} ${body}` };
  } catch (err) {
    const cause = (err as { cause?: { message?: string } }).cause?.message;
    return { ok: false, line: `unreachable: ${(err as Error).message}${cause === undefined ? '' : ` (${cause})`}` };
  } finally {
    await dispatcher?.close();
  }
}
