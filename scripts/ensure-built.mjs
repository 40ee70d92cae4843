// Compiles the TypeScript sources when dist/ is missing or older than a source file, so `npm start` and
// `npm run demo` work straight after `npm install` on a fresh clone.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const newest = (dir) => {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    t = Math.max(t, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
};
const entry = join(root, 'dist/src/main.js');
if (!existsSync(join(root, 'node_modules'))) {
  console.error('tsmetrics: dependencies are missing: run `npm install` first');
  process.exit(2);
}
const sources = Math.max(
  ...['src', 'bench', 'test'].filter((d) => existsSync(join(root, d))).map((d) => newest(join(root, d))),
);
if (!existsSync(entry) || statSync(entry).mtimeMs < sources) {
  execFileSync(
    process.execPath,
    [join(root, 'node_modules/typescript-native/bin/tsc'), '-p', join(root, 'tsconfig.json')],
    { stdio: 'inherit' },
  );
}
