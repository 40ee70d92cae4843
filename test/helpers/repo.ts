import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The project root: the nearest ancestor of this file with package.json and tsconfig.json (dist/test/helpers -> root). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`project root not found above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const ROOT = findRoot();
export const repoPath = (relative: string): string => join(ROOT, relative);
export const readRepo = (relative: string): string => readFileSync(repoPath(relative), 'utf8');

/**
 * A file of the steering material beside the checkout (`../shared/reference/<name>`), as CI lays it out;
 * TSMETRICS_SHARED_DIR names it elsewhere (npm run mutate tests a copy of the checkout in a sandbox).
 */
export const sharedReference = (name: string): string =>
  join(process.env.TSMETRICS_SHARED_DIR ?? join(ROOT, '..', 'shared'), 'reference', name);
