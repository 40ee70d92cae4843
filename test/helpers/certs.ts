import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface TestPki {
  readonly dir: string;
  /** Signs a new key's certificate with the test CA; returns the paths of the PEM files. */
  issue(name: string, options: { cn: string; san?: string; days?: number }): { cert: string; key: string };
  readonly caCert: string;
  read(path: string): string;
}

/** A throw-away CA made with the openssl command line, in a temporary directory removed in t.after. */
export function makePki(t: TestContext): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'tsmetrics-pki-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  openssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=tsmetrics test CA', '-days', '2');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    read: (path) => readFileSync(path, 'utf8'),
    issue(name, { cn, san, days = 1 }) {
      // Without a SAN, a certificate with its subject alone, as old tooling makes them.
      if (san !== undefined) writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${san}\n`);
      openssl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      // days -1: notAfter before now, an expired certificate.
      openssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        String(days),
        ...(san === undefined ? [] : ['-extfile', `${name}.ext`]),
      );
      return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
    },
  };
}
