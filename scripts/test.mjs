// `npm test`: installs what the tests need, builds, lints and runs the whole suite. One command on a fresh
// machine: npm packages (npm ci when node_modules is missing or stale) and Debian's packages via apt-get when
// missing: `prometheus` (promtool and the server, used by the real-parts tests), `microsocks` (the real SOCKS5
// server behind the tsnet tests' stand-in tailscaled), `chromium` (the headless browser of the status-page test) and
// `openssl` (the test CA and certificates of the TLS tests).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);

const run = (cmd, args, opts = {}) => {
  console.log(`> ${cmd} ${args.join(' ')}`);
  execFileSync(cmd, args, { stdio: 'inherit', ...opts });
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

// 1. npm packages
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules/.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 2. Debian packages: the commands each one provides, all of which must be on PATH
const debianPackages = {
  prometheus: ['promtool', 'prometheus'],
  microsocks: ['microsocks'],
  chromium: ['chromium'],
  openssl: ['openssl'],
};
const missing = Object.entries(debianPackages)
  .filter(([, commands]) => !commands.every(has))
  .map(([pkg]) => pkg);
if (missing.length > 0) {
  if (!has('apt-get')) {
    console.error(
      `${missing.join(', ')} missing and apt-get is not available: install them so ${missing.flatMap((p) => debianPackages[p]).join(', ')} are on PATH`,
    );
    process.exit(1);
  }
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const apt = (args) => (sudo.length ? run('sudo', ['apt-get', ...args]) : run('apt-get', args));
  apt(['update', '-q']);
  apt(['install', '-y', '-q', '--no-install-recommends', ...missing]);
  // The prometheus package starts a system Prometheus on :9090; the tests run their own on ephemeral ports.
  if (missing.includes('prometheus')) {
    spawnSync('sh', ['-c', 'systemctl stop prometheus 2>/dev/null || service prometheus stop 2>/dev/null || true'], {
      stdio: 'ignore',
    });
  }
}

// 3. build
// TypeScript 7 (native) compiles; the `typescript` package (6.0) is there for ESLint's type-aware rules only.
run(process.execPath, [join(root, 'node_modules/typescript-native/bin/tsc'), '-p', 'tsconfig.json']);

// 4. every *.test.js under dist/test, run after step 5
const tests = [];
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (e.name.endsWith('.test.js')) tests.push(p);
  }
};
walk(join(root, 'dist/test'));
tests.sort();
const filter = process.argv.slice(2);

// 5. lint (the whole suite only; before the tests, so the runner's summary stays the last lines): ESLint with
// type-checked rules, the formatter's check (Prettier, 120 columns) and knip, all at zero findings. The type check
// was the build above.
if (filter.length === 0) {
  for (const [what, bin, args] of [
    ['eslint', 'node_modules/eslint/bin/eslint.js', ['.']],
    ['prettier', 'node_modules/prettier/bin/prettier.cjs', ['--check', '--log-level=warn', '.']],
    ['knip', 'node_modules/knip/bin/knip.js', []],
  ]) {
    console.log(`> ${what}`);
    const lint = spawnSync(process.execPath, [join(root, bin), ...args], { stdio: 'inherit' });
    if (lint.status !== 0) {
      console.error(
        `${what} found problems (npm run lint shows them; npm run format fixes the formatting): fix them, or say in eslint.config.js / knip.json why not`,
      );
      process.exit(lint.status ?? 1);
    }
  }
}

const selected = filter.length ? tests.filter((t) => filter.some((f) => t.includes(f))) : tests;
// With no file named, node --test would discover files itself, Stryker's sandboxes and fixtures included.
if (selected.length === 0) {
  console.error(`no test file's path contains ${filter.map((f) => JSON.stringify(f)).join(' or ')}`);
  process.exit(2);
}
const result = spawnSync(process.execPath, ['--test', '--test-concurrency=4', '--test-timeout=120000', ...selected], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
