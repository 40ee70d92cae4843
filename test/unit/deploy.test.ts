// Deployment artefacts that need no external tool: Dockerfile, .dockerignore, docker compose, systemd,
// Makefile and the CI workflow, plus one cross-check: every environment variable that deploy/ sets is one
// the exporter reads (a typo such as TSNET_STATEDIR would otherwise be silently ignored).
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

import { repoPath, readRepo } from '../helpers/repo.js';

/** Environment variables the exporter reads (the Go original's contract plus this port's additions). */
const SECRET_VARIABLES = ['OAUTH_CLIENT_SECRET', 'TAILSCALE_API_KEY', 'TS_AUTHKEY', 'METRICS_TOKEN'];
/** The README's configuration table, the user manual's list of every variable: `| \`NAME\` | default | ...`. */
const README_VARIABLES = [
  ...readRepo('README.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| [^|]* \| [^|]* \| (.*) \|$/gm),
].flatMap((m) => [m[1]!, ...[...m[2]!.matchAll(/also `([A-Z][A-Z0-9_]*_FILE)`/g)].map((f) => f[1]!)]);
const KNOWN_VARIABLES = new Set([
  'OAUTH_CLIENT_ID',
  'OAUTH_CLIENT_SECRET',
  'TAILSCALE_API_KEY',
  'TAILNET_NAME',
  'PORT',
  'ENV',
  'BIND_HOST',
  'USE_TSNET',
  'TSNET_HOSTNAME',
  'TSNET_STATE_DIR',
  'TSNET_TAGS',
  'TS_AUTHKEY',
  'SCRAPE_TAG',
  'REQUIRE_EXPORTER_TAG',
  'TARGET_DEVICES',
  'EXCLUDE_DEVICES',
  'DEVICE_TAGS',
  'CLIENT_METRICS_PORT',
  'CLIENT_METRICS_TIMEOUT',
  'MAX_CONCURRENT_SCRAPES',
  'SCRAPE_INTERVAL',
  'LOG_LEVEL',
  'LOG_FORMAT',
  'METRICS_TOKEN',
  ...SECRET_VARIABLES.map((name) => `${name}_FILE`),
  ...README_VARIABLES,
]);
/**
 * Set by deploy/ for the runtime rather than for the exporter's configuration. POD_NAME (downward API) is
 * where SHARD_INDEX=auto reads the StatefulSet ordinal from, before HOSTNAME.
 */
const RUNTIME_VARIABLES = new Set(['NODE_ENV', 'HOME', 'POD_NAME']);

test('the README configuration table is parsed (the source of the known variables)', () => {
  for (const name of [
    'SHARD_COUNT',
    'SHARD_INDEX',
    'SHARD_API_METRICS',
    'COLLECTORS',
    'METRICS_TOKEN',
    'METRICS_TOKEN_FILE',
  ]) {
    assert.ok(README_VARIABLES.includes(name), `README.md's configuration table lacks ${name}`);
  }
});

function assertKnownVariables(where: string, names: Iterable<string>): void {
  const unknown = [...names].filter((n) => !KNOWN_VARIABLES.has(n) && !RUNTIME_VARIABLES.has(n));
  assert.deepEqual(unknown, [], `${where} sets variables the exporter does not read`);
}

// ----------------------------------------------------------------------------------------------- Dockerfile

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (current === '' && (line === '' || line.startsWith('#'))) continue;
    if (line.startsWith('#')) continue; // comment inside a continued instruction
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    logical.push(current);
    current = '';
  }
  return logical.map((l) => {
    const space = l.search(/\s/);
    return { keyword: l.slice(0, space).toUpperCase(), args: l.slice(space + 1).trim() };
  });
}

interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: Instruction[];
}

function dockerStages(instructions: Instruction[]): Stage[] {
  const args = new Map<string, string>();
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && stages.length === 0) {
      const [name, value] = ins.args.split('=', 2);
      if (name !== undefined && value !== undefined) args.set(name, value);
    } else if (ins.keyword === 'FROM') {
      const parts = ins.args.replace(/--platform=\S+\s+/, '').split(/\s+/);
      const image = (parts[0] ?? '').replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_m, a: string | undefined, b: string | undefined) => args.get(a ?? b ?? '') ?? '',
      );
      const name = parts[1]?.toUpperCase() === 'AS' ? parts[2] : undefined;
      stages.push({ image, name, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return stages;
}

const dockerfile = parseDockerfile(readRepo('Dockerfile'));
const stages = dockerStages(dockerfile);
const finalStage = stages.at(-1)!;

test('Dockerfile: multi-stage build on a Node LTS image >= 22', () => {
  assert.ok(stages.length >= 2, 'expected a multi-stage build');
  const nodeStages = stages.filter((s) => /^(docker\.io\/)?(library\/)?node:/.test(s.image));
  assert.ok(
    nodeStages.length >= 2,
    `expected node build and runtime stages, got ${stages.map((s) => s.image).join(', ')}`,
  );
  for (const s of nodeStages) {
    const major = Number(/^(?:docker\.io\/)?(?:library\/)?node:(\d+)/.exec(s.image)?.[1]);
    assert.ok(major >= 22, `${s.image}: Node major must be >= 22`);
    assert.equal(major % 2, 0, `${s.image}: odd Node majors are never LTS`);
  }
  assert.match(finalStage.image, /^node:\d+-(bookworm-slim|alpine)/, 'the runtime stage is a slim Node image');
});

test('Dockerfile: the build compiles with tsc and the runtime installs production dependencies only', () => {
  const runs = stages.flatMap((s) => s.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args));
  assert.ok(
    runs.some((r) => /\bnpm ci\b/.test(r) && !/--omit=dev/.test(r)),
    'a build stage runs npm ci with dev dependencies',
  );
  assert.ok(
    runs.some((r) => /\bnpm run build\b/.test(r)),
    'a build stage runs npm run build (TypeScript 7)',
  );
  assert.ok(
    runs.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)),
    'a stage runs npm ci --omit=dev',
  );
  const copies = finalStage.instructions.filter((i) => i.keyword === 'COPY').map((i) => i.args);
  assert.ok(
    copies.some((c) => /--from=\S+\s+\/app\/dist\b/.test(c)),
    'the runtime copies the compiled dist/',
  );
  assert.ok(
    copies.some((c) => /--from=\S+\s+\/app\/node_modules\b/.test(c)),
    'the runtime copies node_modules',
  );
  assert.ok(
    copies.some((c) => /^package\.json\b/.test(c)),
    'the runtime has package.json (the version is read from it)',
  );
});

test('Dockerfile: non-root uid 65534, health check without curl, state volume, port 9100', () => {
  const users = finalStage.instructions.filter((i) => i.keyword === 'USER');
  assert.ok(users.length > 0, 'the runtime stage sets USER');
  assert.match(users.at(-1)!.args, /^65534(:65534)?$/);

  const health = finalStage.instructions.filter((i) => i.keyword === 'HEALTHCHECK');
  assert.equal(health.length, 1, 'one HEALTHCHECK in the runtime stage');
  assert.match(health[0]!.args, /bin\/tsmetrics\.js"?,?\s*"?--health-check/);
  // --health-check is liveness (/livez): test/e2e/cli.test.ts proves it stays healthy while /health is 503.
  assert.doesNotMatch(health[0]!.args, /\b(curl|wget)\b/, 'the image has no curl or wget');

  const volumes = finalStage.instructions
    .filter((i) => i.keyword === 'VOLUME')
    .map((i) => i.args)
    .join(' ');
  assert.match(volumes, /\/var\/lib\/tsmetrics/);
  const env = finalStage.instructions
    .filter((i) => i.keyword === 'ENV')
    .map((i) => i.args)
    .join(' ');
  assert.match(env, /TSNET_STATE_DIR=\/var\/lib\/tsmetrics/);
  assert.match(env, /\bENV=production\b/, 'ENV=production so that the server listens on 0.0.0.0');

  assert.ok(finalStage.instructions.some((i) => i.keyword === 'EXPOSE' && /\b9100\b/.test(i.args)));
  const entry = finalStage.instructions
    .filter((i) => i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD')
    .map((i) => i.args)
    .join(' ');
  assert.match(
    entry,
    /"node",\s*(?:"--[^"]+",\s*)*"[^"]*bin\/tsmetrics\.js"/,
    'the image starts node bin/tsmetrics.js (exec form)',
  );
});

test('Dockerfile: tailscale and tailscaled come from the official tailscale/tailscale:stable image', () => {
  const tsStage = stages.find((s) => s.image === 'tailscale/tailscale:stable');
  assert.ok(tsStage?.name, 'a named stage FROM tailscale/tailscale:stable');
  const copy = finalStage.instructions.find(
    (i) => i.keyword === 'COPY' && i.args.startsWith(`--from=${tsStage.name} `),
  );
  assert.ok(copy, `the runtime copies from the ${tsStage.name} stage`);
  assert.match(copy.args, /\/usr\/local\/bin\/tailscale\b(?!d)/);
  assert.match(copy.args, /\/usr\/local\/bin\/tailscaled\b/);
});

test('.dockerignore keeps node_modules, dist, .git and test output out, but not what the build copies', () => {
  const patterns = readRepo('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const p of ['node_modules', 'dist', '.git', 'coverage'])
    assert.ok(patterns.includes(p), `.dockerignore lacks ${p}`);
  // Sources the build context must provide: plain COPY (no --from) arguments but the destination.
  const sources = stages
    .flatMap((s) => s.instructions)
    .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--'))
    .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
  assert.ok(sources.length > 0);
  for (const src of sources) {
    assert.ok(existsSync(repoPath(src)), `COPY ${src}: not in the repository`);
    assert.ok(!patterns.includes(src) && !patterns.includes(`/${src}`), `COPY ${src}: excluded by .dockerignore`);
  }
});

// --------------------------------------------------------------------------------------------- compose

test('docker compose: standalone and tsnet services, secrets as files, hardened', () => {
  const compose = parse(readRepo('deploy/docker-compose.yaml'), { merge: true }) as {
    services: Record<string, Record<string, unknown>>;
    secrets: Record<string, { file: string }>;
    volumes: Record<string, unknown>;
  };
  const standalone = compose.services.tsmetrics;
  const tsnet = compose.services['tsmetrics-tsnet'];
  assert.ok(standalone && tsnet, 'services tsmetrics and tsmetrics-tsnet');

  for (const [name, svc] of Object.entries(compose.services)) {
    const env = svc.environment as Record<string, string>;
    assert.equal(svc.user, '65534:65534', `${name}: user`);
    assert.equal(svc.read_only, true, `${name}: read-only root filesystem`);
    assert.deepEqual(svc.cap_drop, ['ALL'], `${name}: cap_drop`);
    assert.equal(env.ENV, 'production', `${name}: ENV=production listens on 0.0.0.0`);
    assert.ok(Array.isArray(svc.env_file) && svc.env_file.length > 0, `${name}: non-secret settings from env_file`);
    assertKnownVariables(`compose service ${name}`, Object.keys(env));
    // Secrets only as *_FILE pointing at a secret this service mounts.
    const mounted = new Set(svc.secrets as string[]);
    for (const secret of SECRET_VARIABLES)
      assert.equal(env[secret], undefined, `${name}: ${secret} must come from a file`);
    for (const [key, value] of Object.entries(env).filter(([k]) => k.endsWith('_FILE'))) {
      const secret = /^\/run\/secrets\/(.+)$/.exec(value)?.[1];
      assert.ok(secret !== undefined && mounted.has(secret), `${name}: ${key}=${value} is not a mounted secret`);
      assert.ok(compose.secrets[secret], `${name}: secret ${secret} is not declared`);
    }
  }

  const tsnetEnv = tsnet.environment as Record<string, string>;
  assert.equal(tsnetEnv.USE_TSNET, 'true');
  assert.ok(tsnetEnv.TS_AUTHKEY_FILE, 'tsnet registers with an auth key');
  const volumes = tsnet.volumes as string[];
  assert.ok(
    volumes.some((v) => v.split(':')[1] === (tsnetEnv.TSNET_STATE_DIR ?? '/var/lib/tsmetrics')),
    'tsnet state on a volume',
  );
  const namedVolume = volumes
    .map((v) => v.split(':')[0])
    .find((v) => v !== undefined && !v.startsWith('.') && !v.startsWith('/'));
  assert.ok(namedVolume !== undefined && namedVolume in compose.volumes, 'the state volume is a declared named volume');
  assert.equal((standalone.environment as Record<string, string>).USE_TSNET, 'false');
});

// --------------------------------------------------------------------------------------------- systemd

/** systemd unit file: section -> key -> values (keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(current && eq > 0, `not a unit file line: ${line}`);
    const key = line.slice(0, eq);
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

test('systemd unit: hardened service with a dynamic user and a state directory', () => {
  const unit = parseUnit(readRepo('deploy/systemd/tsmetrics.service'));
  const service = unit.get('Service');
  assert.ok(service && unit.get('Unit') && unit.get('Install'), '[Unit], [Service] and [Install] sections');
  const one = (key: string): string | undefined => service.get(key)?.at(-1);
  const expected: Record<string, string> = {
    DynamicUser: 'yes',
    ProtectSystem: 'strict',
    StateDirectory: 'tsmetrics',
    EnvironmentFile: '-/etc/tsmetrics/tsmetrics.env',
    NoNewPrivileges: 'yes',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectControlGroups: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    CapabilityBoundingSet: '',
    SystemCallArchitectures: 'native',
  };
  for (const [key, value] of Object.entries(expected)) assert.equal(one(key), value, `[Service] ${key}`);
  assert.ok(service.get('SystemCallFilter')?.includes('@system-service'), 'SystemCallFilter=@system-service');
  assert.match(one('RestrictAddressFamilies') ?? '', /AF_INET\b.*AF_INET6/);
  // V8's JIT needs W+X pages: MemoryDenyWriteExecute=yes would crash node.
  assert.notEqual(one('MemoryDenyWriteExecute'), 'yes');
  assert.match(one('ExecStart') ?? '', /\bnode\b.*bin\/tsmetrics\.js/);
  assert.equal(one('RestartPreventExitStatus'), '2', 'bad configuration (exit 2) is not restarted in a loop');
  assert.equal(
    one('ExecReload'),
    '/bin/kill -HUP $MAINPID',
    'systemctl reload sends the SIGHUP that re-reads the expected devices',
  );

  const environment = (service.get('Environment') ?? []).map((e) => e.split('=')[0]!);
  assertKnownVariables('tsmetrics.service Environment=', environment);
  assert.ok(environment.includes('TSNET_STATE_DIR'));
  assert.ok(
    service.get('Environment')!.includes('TSNET_STATE_DIR=/var/lib/tsmetrics'),
    'tsnet state in the StateDirectory',
  );
});

test('systemd env example: KEY=value lines naming variables the exporter reads', () => {
  const names: string[] = [];
  for (const raw of readRepo('deploy/systemd/tsmetrics.env.example').split('\n')) {
    const line = raw.trim();
    // Commented-out assignments (#NAME=value) document options: check them as well.
    const m = /^#?([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
    if (m) names.push(m[1]!);
    else assert.ok(line === '' || line.startsWith('#'), `not an assignment or comment: ${line}`);
  }
  assertKnownVariables('tsmetrics.env.example', names);
  for (const required of [
    'OAUTH_CLIENT_ID',
    'OAUTH_CLIENT_SECRET',
    'TAILNET_NAME',
    'PORT',
    'ENV',
    'USE_TSNET',
    'LOG_LEVEL',
    'LOG_FORMAT',
  ]) {
    assert.ok(names.includes(required), `the example documents ${required}`);
  }
});

// ------------------------------------------------------------------------- variables in kustomize and helm

/** Every kustomization under deploy/kustomize (base and each overlay), relative to that folder. */
const KUSTOMIZATIONS = [
  'base',
  ...readdirSync(repoPath('deploy/kustomize/overlays'))
    .sort()
    .map((o) => `overlays/${o}`),
];

/** Names a YAML file sets as container env entries (`- name: X` followed by `value:` or `valueFrom:`). */
function envNames(text: string): string[] {
  return [...text.matchAll(/^\s*- name: ([A-Z][A-Z0-9_]*)\s*\n\s*(?:value|valueFrom):/gm)].map((m) => m[1]!);
}

test('kustomize ConfigMap literals and the Helm ConfigMap/Secret only set known variables, no secrets in ConfigMaps', () => {
  assert.ok(KUSTOMIZATIONS.includes('overlays/sharded'), 'the sharded overlay exists');
  for (const file of KUSTOMIZATIONS.map((d) => `deploy/kustomize/${d}/kustomization.yaml`)) {
    const k = parse(readRepo(file)) as { configMapGenerator?: { literals?: string[] }[] };
    const names = (k.configMapGenerator ?? []).flatMap((g) => g.literals ?? []).map((l) => l.split('=')[0]!);
    assertKnownVariables(file, names);
    for (const secret of SECRET_VARIABLES)
      assert.ok(!names.includes(secret), `${file}: ${secret} belongs in the Secret`);
  }
  // Explicit env entries (downward API, secretKeyRef) in the kustomize files and the Helm pod template.
  const envFiles = [
    ...KUSTOMIZATIONS.flatMap((d) =>
      readdirSync(repoPath(`deploy/kustomize/${d}`))
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => `deploy/kustomize/${d}/${f}`),
    ),
    'deploy/helm/templates/_pod.tpl',
  ];
  const envSet = envFiles.flatMap((f) => envNames(readRepo(f)).map((n) => [f, n] as const));
  for (const [file, name] of envSet) assertKnownVariables(`${file} env`, [name]);
  for (const name of ['METRICS_TOKEN', 'POD_NAME', 'TSNET_HOSTNAME'])
    assert.ok(
      envSet.some(([, n]) => n === name),
      `an explicit env entry sets ${name}`,
    );
  const keysOf = (file: string): string[] =>
    [...readRepo(file).matchAll(/^\s{2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1]!);
  const configKeys = keysOf('deploy/helm/templates/configmap.yaml');
  assert.ok(configKeys.length > 5);
  assertKnownVariables('helm configmap.yaml', configKeys);
  for (const secret of SECRET_VARIABLES)
    assert.ok(!configKeys.includes(secret), `helm configmap.yaml: ${secret} belongs in the Secret`);
  const secretKeys = keysOf('deploy/helm/templates/secret.yaml');
  assertKnownVariables('helm secret.yaml', secretKeys);
  assert.deepEqual(
    secretKeys.filter((k) => !SECRET_VARIABLES.includes(k) && k !== 'OAUTH_CLIENT_ID'),
    [],
    'the Secret holds credentials only',
  );
});

// --------------------------------------------------------------------------------------- Makefile and CI

test('Makefile: build, test, lint, run, demo and docker targets wrap the npm scripts', () => {
  const makefile = readRepo('Makefile');
  const recipes = new Map<string, string>();
  let target: string | undefined;
  for (const line of makefile.split('\n')) {
    const header = /^([A-Za-z][\w-]*):(?!=)/.exec(line);
    if (header) {
      target = header[1]!;
      recipes.set(target, '');
    } else if (line.startsWith('\t') && target !== undefined) {
      recipes.set(target, `${recipes.get(target)!}${line.trim()}\n`);
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      target = undefined;
    }
  }
  const expected: Record<string, RegExp> = {
    build: /^npm run build$/m,
    test: /^npm test$/m,
    lint: /^npm run lint$/m,
    run: /^npm start$/m,
    demo: /^npm run demo$/m,
    docker: /^docker build -t \$\(IMAGE\) \.$|^docker build -t tsmetrics \.$/m,
  };
  for (const [name, command] of Object.entries(expected))
    assert.match(recipes.get(name) ?? '', command, `make ${name}`);
  assert.match(makefile, /^IMAGE \?= tsmetrics$/m, 'make docker builds the image "tsmetrics"');
  assert.match(makefile, /^\.PHONY:.*\bbuild\b.*\btest\b/m);

  // Every `npm run X` names a script that exists.
  const scripts = (JSON.parse(readRepo('package.json')) as { scripts: Record<string, string> }).scripts;
  for (const m of makefile.matchAll(/npm run ([\w:-]+)/g))
    assert.ok(scripts[m[1]!], `package.json has no script ${m[1]!}`);

  // check-deploy validates every kustomization and every example scrape config.
  const list = (name: string): string[] =>
    (new RegExp(`^${name}\\s*:?=\\s*(.*)$`, 'm').exec(makefile)?.[1] ?? '').trim().split(/\s+/);
  assert.deepEqual(list('KUSTOMIZATIONS'), KUSTOMIZATIONS, 'make check-deploy builds every kustomization');
  const configs = readdirSync(repoPath('deploy/prometheus'))
    .filter((f) => /^prometheus.*\.yaml$/.test(f))
    .sort();
  assert.deepEqual([...list('PROMETHEUS_CONFIGS')].sort(), configs, 'make check-deploy checks every scrape config');
  assert.match(recipes.get('check-deploy') ?? '', /\$\(KUSTOMIZATIONS\)/);
  assert.match(recipes.get('check-deploy') ?? '', /\$\(PROMETHEUS_CONFIGS\)/);
  assert.match(
    recipes.get('check-deploy') ?? '',
    /tsmetrics-token/,
    'the configs are checked with a token file in place',
  );
});

test('CI workflow: push and pull requests, Node 20 and 24, npm test and lint, helm lint', () => {
  const ci = parse(readRepo('.github/workflows/ci.yml')) as {
    on: Record<string, unknown>;
    jobs: Record<
      string,
      {
        strategy?: { matrix?: Record<string, unknown[]> };
        steps: { uses?: string; run?: string; with?: Record<string, unknown> }[];
      }
    >;
  };
  assert.ok('push' in ci.on && 'pull_request' in ci.on, 'runs on push and pull_request');
  const jobs = Object.values(ci.jobs);
  const runs = (job: (typeof jobs)[number]): string => job.steps.map((s) => s.run ?? '').join('\n');

  const testJob = jobs.find((j) => /^npm test$/m.test(runs(j)));
  assert.ok(testJob, 'a job runs npm test');
  assert.match(runs(testJob), /^npm run lint$/m);
  const nodes = (testJob.strategy?.matrix?.node ?? []).map(String);
  assert.ok(nodes.includes('20') && nodes.includes('24'), `Node 20 and 24 in the matrix, got ${nodes.join(', ')}`);
  const setupNode = testJob.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
  assert.equal(setupNode?.with?.['node-version'], '${{ matrix.node }}');

  const helmJob = jobs.find((j) => j.steps.some((s) => s.uses?.startsWith('azure/setup-helm@')));
  assert.ok(helmJob, 'a job sets up helm with azure/setup-helm');
  assert.match(runs(helmJob), /helm lint deploy\/helm\b/);
  // The sharded StatefulSet is linted and rendered too (the unit tests cannot run helm).
  assert.match(runs(helmJob), /helm lint deploy\/helm[^\n]*(\n[^\n]*)*--set sharding\.enabled=true/);
  assert.match(runs(helmJob), /helm template[^\n]*--set sharding\.enabled=true/);
});

test('every file under deploy/ is covered by a deploy*.test', () => {
  // A new artefact should come with a check; this list is what the deploy tests read.
  const covered = [
    /^docker-compose\.yaml$/,
    /^systemd\/tsmetrics\.(service|env\.example)$/,
    /^kustomize\//,
    /^helm\//,
    /^grafana\/tsmetrics-(overview|device-details|traffic)\.json$/,
    /^prometheus\/(alerts|alerts\.test|prometheus|prometheus-sharded|prometheus-devices)\.yaml$/,
    /(^|\/)README\.md$/,
  ];
  const walk = (dir: string, prefix = ''): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
    );
  const uncovered = walk(repoPath('deploy')).filter((f) => !covered.some((re) => re.test(f)));
  assert.deepEqual(uncovered, []);
});
