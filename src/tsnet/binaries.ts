import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { TsnetBinaryNotFoundError } from './errors.js';

export interface TailscaleBinaries {
  readonly tailscaled: string;
  readonly tailscale: string;
}

export interface BinaryLookup {
  /** TAILSCALED_PATH: a path, or a bare name looked up in PATH. */
  readonly tailscaledPath?: string | undefined;
  /** TAILSCALE_PATH: a path, or a bare name looked up in PATH. */
  readonly tailscalePath?: string | undefined;
  /** The PATH to search; process.env.PATH by default. */
  readonly path?: string | undefined;
}

const INSTALL_HINT =
  'tsnet mode runs its own tailscaled and needs both Tailscale binaries, tailscaled (the daemon) and tailscale (the CLI): ' +
  'install them from https://tailscale.com/download (on Debian/Ubuntu the `tailscale` package from pkgs.tailscale.com ships both; ' +
  'the tailscale/tailscale image has them in /usr/local/bin), or point TAILSCALED_PATH and TAILSCALE_PATH at them';

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function locate(name: string, configured: string | undefined, searchPath: string): string | undefined {
  if (configured !== undefined && configured !== '') {
    if (configured.includes('/')) {
      const full = isAbsolute(configured) ? configured : resolve(configured);
      return isExecutableFile(full) ? full : undefined;
    }
    name = configured;
  }
  for (const dir of searchPath.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    if (isExecutableFile(candidate)) return resolve(candidate);
  }
  return undefined;
}

/** Finds tailscaled and tailscale; throws TsnetBinaryNotFoundError naming both when either is missing. */
export function findTailscaleBinaries(lookup: BinaryLookup = {}): TailscaleBinaries {
  const searchPath = lookup.path ?? process.env.PATH ?? '';
  const tailscaled = locate('tailscaled', lookup.tailscaledPath, searchPath);
  const tailscale = locate('tailscale', lookup.tailscalePath, searchPath);
  if (tailscaled !== undefined && tailscale !== undefined) return { tailscaled, tailscale };
  const where = (name: string, configured: string | undefined, variable: string): string =>
    configured !== undefined && configured !== ''
      ? `${name} not found at ${variable}=${JSON.stringify(configured)} (not an executable file)`
      : `${name} not found in PATH`;
  const problems = [
    ...(tailscaled === undefined ? [where('tailscaled', lookup.tailscaledPath, 'TAILSCALED_PATH')] : []),
    ...(tailscale === undefined ? [where('tailscale', lookup.tailscalePath, 'TAILSCALE_PATH')] : []),
  ];
  const missing = [
    ...(tailscaled === undefined ? ['tailscaled'] : []),
    ...(tailscale === undefined ? ['tailscale'] : []),
  ];
  throw new TsnetBinaryNotFoundError(`USE_TSNET=true: ${problems.join('; ')}. ${INSTALL_HINT}`, missing);
}
