import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test, type TestContext } from 'node:test';
import { findTailscaleBinaries } from '../../src/tsnet/binaries.js';
import {
  LocalApiError,
  TsnetBinaryNotFoundError,
  TsnetError,
  TsnetStartError,
  TsnetTagError,
} from '../../src/tsnet/errors.js';
import { LocalApiClient, type LocalStatus } from '../../src/tsnet/localapi.js';
import { LoginReporter, runUp, waitForSocket, waitRunning, type LoginSettings } from '../../src/tsnet/login.js';
import { StateDir } from '../../src/tsnet/state-dir.js';
import { checkTags } from '../../src/tsnet/tags.js';
import { memoryLogger } from '../helpers/log.js';

// Exact values of the tsnet parts: error codes and messages, tag decisions, the state directory's files, binary
// lookup, LocalAPI requests and answers, and the `tailscale up` command line.

function tempDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsx-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// --- errors -----------------------------------------------------------------------------------------

test('tsnet errors carry their name, code, exit code, message and cause', () => {
  const cause = new Error('root');
  const base = new TsnetError('TSM_TSNET_DOWN', 'down', 1, { cause });
  assert.equal(base.name, 'TsnetError');
  assert.equal(base.code, 'TSM_TSNET_DOWN');
  assert.equal(base.exitCode, 1);
  assert.equal(base.message, 'down');
  assert.equal(base.cause, cause);

  const binary = new TsnetBinaryNotFoundError('no binaries', ['tailscaled']);
  assert.ok(binary instanceof TsnetError);
  assert.deepEqual(
    [binary.name, binary.code, binary.exitCode, binary.message, binary.missing],
    ['TsnetBinaryNotFoundError', 'TSM_TSNET_BINARY', 2, 'no binaries', ['tailscaled']],
  );

  const tags = new TsnetTagError('no tags', ['tag:a'], ['tag:b']);
  assert.deepEqual(
    [tags.name, tags.code, tags.exitCode, tags.message, tags.required, tags.actual],
    ['TsnetTagError', 'TSM_TSNET_TAGS', 2, 'no tags', ['tag:a'], ['tag:b']],
  );

  const start = new TsnetStartError('did not start', { cause });
  assert.deepEqual(
    [start.name, start.code, start.exitCode, start.message, start.cause],
    ['TsnetStartError', 'TSM_TSNET_START', 1, 'did not start', cause],
  );

  const api = new LocalApiError('/localapi/v0/status', 'HTTP 500', 500, { cause });
  assert.deepEqual(
    [api.name, api.code, api.exitCode, api.message, api.path, api.status, api.cause],
    [
      'LocalApiError',
      'TSM_TSNET_LOCALAPI',
      1,
      'LocalAPI /localapi/v0/status: HTTP 500',
      '/localapi/v0/status',
      500,
      cause,
    ],
  );
  assert.equal(new LocalApiError('/p', 'm').status, undefined);
});

// --- tags -------------------------------------------------------------------------------------------

const self = (tags: readonly string[], dnsName: string): LocalStatus => ({
  BackendState: 'Running',
  AuthURL: '',
  Peer: {},
  Self: { ID: 'n1', HostName: 'exporter', DNSName: dnsName, Tags: tags, TailscaleIPs: [], Online: true },
});

test('tag policy: off never throws, even for a node with no identity', () => {
  const none: LocalStatus = { BackendState: 'Running', AuthURL: '', Peer: {}, Self: undefined };
  assert.doesNotThrow(() => checkTags(none, { requireExporterTag: false, tags: ['tag:a'], hostname: 'h' }));
  assert.doesNotThrow(() => checkTags(none, { requireExporterTag: false, tags: [], hostname: 'h' }));
});

test('tag policy: without a MagicDNS name the node is named by TSNET_HOSTNAME; only the trailing dot is dropped', () => {
  const policy = { requireExporterTag: true, tags: ['tag:a'], hostname: 'tsm-host' };
  assert.throws(
    () => checkTags(self(['tag:b'], ''), policy),
    (err: unknown) => {
      assert.ok(err instanceof TsnetTagError);
      assert.equal(
        err.message,
        'REQUIRE_EXPORTER_TAG=true: the tsnet node tsm-host carries the tags tag:b but must carry tag:a ' +
          "(missing tag:a): use an auth key created with these tags, allow them in the policy's tagOwners, " +
          'or set REQUIRE_EXPORTER_TAG=false',
      );
      return true;
    },
  );
  assert.throws(
    () => checkTags(self([], 'a.b.ts.net.'), { ...policy, tags: [] }),
    (err: unknown) => {
      assert.ok(err instanceof TsnetTagError);
      assert.match(err.message, /the tsnet node a\.b\.ts\.net carries no tags but must carry tag:exporter \(missing/);
      assert.deepEqual(err.required, ['tag:exporter']);
      assert.deepEqual(err.actual, []);
      return true;
    },
  );
  // A dot inside the name stays; a name without a trailing dot is used as it is.
  assert.throws(() => checkTags(self([], 'a.b'), policy), /the tsnet node a\.b carries no tags/);
});

test('tag policy: a node carrying more tags than required passes; the required list is a copy', () => {
  const tags = ['tag:a'];
  assert.doesNotThrow(() =>
    checkTags(self(['tag:z', 'tag:a'], 'x.'), { requireExporterTag: true, tags, hostname: 'h' }),
  );
  try {
    checkTags(self([], 'x.'), { requireExporterTag: true, tags, hostname: 'h' });
    assert.fail('must throw');
  } catch (err) {
    assert.ok(err instanceof TsnetTagError);
    assert.deepEqual(err.required, ['tag:a']);
    assert.notEqual(err.required, tags);
  }
});

// --- state directory --------------------------------------------------------------------------------

test('state directory: a relative path is resolved; nested directories are created; only .authkey- files are removed', (t) => {
  const root = tempDir(t);
  const nested = join(root, 'a', 'b', 'state');
  const dir = new StateDir(relative(process.cwd(), nested));
  assert.equal(dir.path, nested);
  assert.equal(dir.socketPath, join(nested, 'tailscaled.sock'));
  const { log, lines } = memoryLogger();
  dir.prepare(log);
  assert.equal(statSync(nested).mode & 0o777, 0o700);
  assert.deepEqual(lines, []);
  for (const name of ['.authkey-1', '.authkey-', 'x.authkey-1', 'authkey-1', 'tailscaled.state']) {
    writeFileSync(join(nested, name), 'k');
  }
  dir.prepare(log);
  assert.deepEqual(readdirSync(nested).sort(), ['authkey-1', 'tailscaled.state', 'x.authkey-1']);
});

test('state directory: key files are named .authkey-<16 hex> inside it; the PID file holds the PID and a newline', (t) => {
  const dir = new StateDir(join(tempDir(t), 'state'));
  dir.prepare(memoryLogger().log);
  const file = dir.writeKeyFile('tskey-1');
  assert.equal(join(dir.path, file.slice(dir.path.length + 1)), file);
  assert.match(file.slice(dir.path.length + 1), /^\.authkey-[0-9a-f]{16}$/);
  // The PID file has a fixed name and holds the PID and a newline.
  dir.writePid(4242);
  assert.equal(readFileSync(join(dir.path, 'tsmetrics-tailscaled.pid'), 'utf8'), '4242\n');
  dir.removePid();
  assert.ok(!readdirSync(dir.path).includes('tsmetrics-tailscaled.pid'));
});

/** A process in a group of its own whose command line names `--socket=<socket>`; SIGTERM ends it, is ignored, or ends it after 100 ms. */
function fakeDaemon(t: TestContext, socket: string, onTermination: 'default' | 'ignore' | 'slow') {
  const onTerm = {
    ignore: "process.on('SIGTERM', () => {}); ",
    default: '',
    slow: "process.on('SIGTERM', () => setTimeout(() => process.exit(0), 100)); ",
  }[onTermination];
  const script = `${onTerm}setInterval(() => {}, 1000); console.log('ready')`;
  const child = spawn(process.execPath, ['-e', script, '--', `--socket=${socket}`], {
    detached: true,
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  t.after(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  });
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  /** Resolves once its SIGTERM handler (if any) is installed. */
  const ready = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  return { child, exited, ready };
}

test(
  'state directory: a leftover tailscaled serving our socket is ended with SIGTERM and logged',
  { timeout: 10_000 },
  async (t) => {
    const dir = new StateDir(join(tempDir(t), 'state'));
    const { log, lines } = memoryLogger();
    dir.prepare(log);
    const daemon = fakeDaemon(t, dir.socketPath, 'default');
    await daemon.ready;
    dir.writePid(daemon.child.pid!);
    await dir.reapLeftover(5_000, log);
    assert.deepEqual(await daemon.exited, { code: null, signal: 'SIGTERM' });
    const warned = lines.map((l) => JSON.parse(l) as { level: number; pid?: number; msg: string });
    assert.deepEqual(
      warned.map((l) => [l.level, l.pid, l.msg]),
      [[40, daemon.child.pid, 'ending a tailscaled left over from an earlier run of the exporter']],
    );
    assert.ok(!readdirSync(dir.path).includes('tsmetrics-tailscaled.pid'));
  },
);

test(
  'state directory: a leftover that ignores SIGTERM is killed once the stop timeout ran out',
  { timeout: 10_000 },
  async (t) => {
    const dir = new StateDir(join(tempDir(t), 'state'));
    const { log } = memoryLogger();
    dir.prepare(log);
    const daemon = fakeDaemon(t, dir.socketPath, 'ignore');
    await daemon.ready;
    dir.writePid(daemon.child.pid!);
    await dir.reapLeftover(100, log);
    assert.deepEqual(await daemon.exited, { code: null, signal: 'SIGKILL' });
  },
);

test(
  'state directory: a leftover that takes a moment to exit on SIGTERM is waited for, not killed',
  { timeout: 10_000 },
  async (t) => {
    const dir = new StateDir(join(tempDir(t), 'state'));
    const { log } = memoryLogger();
    dir.prepare(log);
    const daemon = fakeDaemon(t, dir.socketPath, 'slow');
    await daemon.ready;
    dir.writePid(daemon.child.pid!);
    await dir.reapLeftover(5_000, log);
    assert.deepEqual(await daemon.exited, { code: 0, signal: null });
  },
);

test('state directory: a process serving another socket is left alone', async (t) => {
  const dir = new StateDir(join(tempDir(t), 'state'));
  const { log, lines } = memoryLogger();
  dir.prepare(log);
  const daemon = fakeDaemon(t, `${dir.socketPath}.other`, 'default');
  await daemon.ready;
  dir.writePid(daemon.child.pid!);
  await dir.reapLeftover(100, log);
  assert.equal(daemon.child.exitCode, null);
  assert.equal(daemon.child.signalCode, null);
  assert.deepEqual(lines, []);
});

// --- binaries ---------------------------------------------------------------------------------------

function executable(dir: string, name: string, mode = 0o755): string {
  const file = join(dir, name);
  writeFileSync(file, '#!/bin/sh\nexit 0\n');
  chmodSync(file, mode);
  return file;
}

test('binaries: found in PATH (empty entries skipped), by configured names, and by configured paths', (t) => {
  const root = tempDir(t);
  const bin = join(root, 'bin');
  const other = join(root, 'other');
  mkdirSync(bin);
  mkdirSync(other);
  const tailscaled = executable(bin, 'tailscaled');
  const tailscale = executable(other, 'tailscale');
  assert.deepEqual(findTailscaleBinaries({ path: `:${bin}::${other}` }), { tailscaled, tailscale });
  // A bare configured name is looked up in PATH; an empty one means the default name.
  const ts2 = executable(other, 'ts2');
  assert.deepEqual(findTailscaleBinaries({ path: `${bin}:${other}`, tailscalePath: 'ts2', tailscaledPath: '' }), {
    tailscaled,
    tailscale: ts2,
  });
  // A configured path is taken as it is (a relative one resolved), never searched in PATH.
  const absolute = executable(root, 'custom-tailscaled');
  assert.deepEqual(
    findTailscaleBinaries({
      path: other,
      tailscaledPath: absolute,
      tailscalePath: `./${relative(process.cwd(), tailscale)}`,
    }),
    { tailscaled: absolute, tailscale },
  );
});

test('binaries: a missing, non-executable or directory binary is named with its variable and the install hint', (t) => {
  const root = tempDir(t);
  executable(root, 'tailscale', 0o644);
  mkdirSync(join(root, 'tailscaled'));
  assert.throws(
    () => findTailscaleBinaries({ path: root }),
    (err: unknown) => {
      assert.ok(err instanceof TsnetBinaryNotFoundError);
      assert.deepEqual(err.missing, ['tailscaled', 'tailscale']);
      assert.equal(err.exitCode, 2);
      assert.equal(
        err.message,
        'USE_TSNET=true: tailscaled not found in PATH; tailscale not found in PATH. tsnet mode runs its own ' +
          'tailscaled and needs both Tailscale binaries, tailscaled (the daemon) and tailscale (the CLI): install ' +
          'them from https://tailscale.com/download (on Debian/Ubuntu the `tailscale` package from ' +
          'pkgs.tailscale.com ships both; the tailscale/tailscale image has them in /usr/local/bin), or point ' +
          'TAILSCALED_PATH and TAILSCALE_PATH at them',
      );
      return true;
    },
  );
  const good = executable(tempDir(t), 'tailscale');
  assert.throws(
    () => findTailscaleBinaries({ path: root, tailscaledPath: join(root, 'tailscaled'), tailscalePath: good }),
    (err: unknown) => {
      assert.ok(err instanceof TsnetBinaryNotFoundError);
      assert.deepEqual(err.missing, ['tailscaled']);
      assert.ok(
        err.message.startsWith(
          `USE_TSNET=true: tailscaled not found at TAILSCALED_PATH=${JSON.stringify(join(root, 'tailscaled'))} (not an executable file). tsnet mode`,
        ),
        err.message,
      );
      return true;
    },
  );
  const goodDaemon = executable(tempDir(t), 'tailscaled');
  assert.throws(
    () => findTailscaleBinaries({ path: root, tailscaledPath: goodDaemon, tailscalePath: 'nope' }),
    (err: unknown) => {
      assert.ok(err instanceof TsnetBinaryNotFoundError);
      assert.deepEqual(err.missing, ['tailscale']);
      assert.ok(
        err.message.startsWith(
          'USE_TSNET=true: tailscale not found at TAILSCALE_PATH="nope" (not an executable file). ',
        ),
        err.message,
      );
      return true;
    },
  );
});

test('binaries: an empty PATH entry is not the working directory; a relative entry gives an absolute path', (t) => {
  const root = tempDir(t);
  executable(root, 'tailscaled');
  executable(root, 'tailscale');
  const saved = process.cwd();
  t.after(() => process.chdir(saved));
  process.chdir(root);
  assert.throws(() => findTailscaleBinaries({ path: `:${join(root, 'none')}:` }), TsnetBinaryNotFoundError);
  assert.deepEqual(findTailscaleBinaries({ path: '.' }), {
    tailscaled: join(root, 'tailscaled'),
    tailscale: join(root, 'tailscale'),
  });
});

test('binaries: without a PATH option, process.env.PATH is searched', (t) => {
  const root = tempDir(t);
  const tailscaled = executable(root, 'tailscaled');
  const tailscale = executable(root, 'tailscale');
  const saved = process.env.PATH;
  t.after(() => (process.env.PATH = saved));
  process.env.PATH = root;
  assert.deepEqual(findTailscaleBinaries(), { tailscaled, tailscale });
  delete process.env.PATH;
  assert.throws(() => findTailscaleBinaries(), TsnetBinaryNotFoundError);
});

// --- LocalAPI ---------------------------------------------------------------------------------------

interface Seen {
  url: string | undefined;
  method: string | undefined;
  headers: IncomingHttpHeaders;
}

/** A LocalAPI on a unix socket: `answer` decides the status and body; every request is recorded. */
async function fakeApi(
  t: TestContext,
  answer: (url: string) => { status: number; body: string } | 'hang',
): Promise<{ socketPath: string; seen: Seen[] }> {
  const socketPath = join(tempDir(t), 'api.sock');
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ url: req.url, method: req.method, headers: req.headers });
    const a = answer(req.url ?? '');
    if (a === 'hang') return;
    res.writeHead(a.status).end(a.body);
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { socketPath, seen };
}

test('LocalAPI: status() GETs /localapi/v0/status with the LocalAPI Host, JSON Accept and our User-Agent', async (t) => {
  const body = { BackendState: 'Running', AuthURL: 'u', Self: null, Peer: { k: 'not an object' } };
  const { socketPath, seen } = await fakeApi(t, () => ({ status: 200, body: JSON.stringify(body) }));
  const api = new LocalApiClient({ socketPath });
  assert.equal(api.socketPath, socketPath);
  assert.deepEqual(await api.status(), { BackendState: 'Running', AuthURL: 'u', Self: undefined, Peer: {} });
  assert.equal(seen.length, 1);
  assert.equal(seen[0]!.url, '/localapi/v0/status');
  assert.equal(seen[0]!.method, 'GET');
  assert.equal(seen[0]!.headers.host, 'local-tailscaled.sock');
  assert.equal(seen[0]!.headers.accept, 'application/json');
  assert.equal(seen[0]!.headers['user-agent'], 'tsmetrics');
  assert.equal(seen[0]!.headers.connection, 'close', 'a fresh connection per call');
});

test('LocalAPI: a body that is not JSON, or not a status, is a LocalApiError with status 200', async (t) => {
  let body = 'not json';
  const { socketPath } = await fakeApi(t, () => ({ status: 200, body }));
  const api = new LocalApiClient({ socketPath });
  await assert.rejects(api.status(), (err: unknown) => {
    assert.ok(err instanceof LocalApiError);
    assert.equal(err.message, 'LocalAPI /localapi/v0/status: the body is not JSON');
    assert.equal(err.status, 200);
    assert.ok(err.cause instanceof SyntaxError);
    return true;
  });
  body = '{"AuthURL":""}';
  await assert.rejects(api.status(), (err: unknown) => {
    assert.ok(err instanceof LocalApiError);
    assert.equal(err.message, 'LocalAPI /localapi/v0/status: the body is not an ipnstate.Status (no BackendState)');
    assert.equal(err.status, 200);
    return true;
  });
});

test('LocalAPI: a non-200 answer names the status and the first 200 characters of the trimmed body', async (t) => {
  const answers: Record<string, { status: number; body: string }> = {
    '/empty': { status: 404, body: '' },
    '/text': { status: 403, body: '  invalid localapi request\n' },
    '/long': { status: 500, body: 'y'.repeat(300) },
  };
  const { socketPath } = await fakeApi(t, (url) => answers[url]!);
  const api = new LocalApiClient({ socketPath });
  const failure = async (path: string): Promise<LocalApiError> => {
    const err = await api.get(path).then(
      () => assert.fail('must reject'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LocalApiError);
    return err;
  };
  const empty = await failure('/empty');
  assert.deepEqual([empty.message, empty.status, empty.path], ['LocalAPI /empty: HTTP 404', 404, '/empty']);
  const text = await failure('/text');
  assert.deepEqual([text.message, text.status], ['LocalAPI /text: HTTP 403: invalid localapi request', 403]);
  const long = await failure('/long');
  assert.equal(long.message, `LocalAPI /long: HTTP 500: ${'y'.repeat(200)}`);
});

test('LocalAPI: an over-size body keeps the HTTP status; no socket is named by its error code', async (t) => {
  const { socketPath } = await fakeApi(t, () => ({ status: 200, body: 'x'.repeat(100) }));
  await assert.rejects(new LocalApiClient({ socketPath, maxBytes: 10 }).get('/big'), (err: unknown) => {
    assert.ok(err instanceof LocalApiError);
    assert.equal(err.status, 200);
    assert.match(err.message, /^LocalAPI \/big: .*exceeds 10 bytes/);
    return true;
  });
  const missing = join(tempDir(t), 'none.sock');
  await assert.rejects(new LocalApiClient({ socketPath: missing }).get('/x'), (err: unknown) => {
    assert.ok(err instanceof LocalApiError);
    assert.equal(err.status, undefined);
    assert.equal(err.message, `LocalAPI /x: ENOENT: connect ENOENT ${missing}`);
    assert.ok(err.cause instanceof Error);
    return true;
  });
});

test('LocalAPI: a call without an answer ends at its timeout; an abort by the caller throws its reason', async (t) => {
  const { socketPath } = await fakeApi(t, () => 'hang');
  await assert.rejects(new LocalApiClient({ socketPath, timeoutMs: 50 }).get('/slow'), (err: unknown) => {
    assert.ok(err instanceof LocalApiError);
    assert.equal(err.message, 'LocalAPI /slow: no answer within 50 ms');
    assert.equal(err.status, undefined);
    return true;
  });
  const abort = new AbortController();
  const reason = new Error('caller stops');
  const call = new LocalApiClient({ socketPath, timeoutMs: 5_000 }).status(abort.signal);
  setTimeout(() => abort.abort(reason), 20);
  await assert.rejects(call, (err: unknown) => err === reason);
});

// --- login ------------------------------------------------------------------------------------------

/** A stand-in `tailscale` CLI: writes its argv (one per line), cwd, an env var and the key file to `record`. */
function fakeCli(dir: string, exitCode: number): { cli: string; record: string } {
  const record = join(dir, 'record');
  const cli = join(dir, 'tailscale');
  writeFileSync(
    cli,
    [
      '#!/bin/sh',
      `: > "${record}"`,
      'for a in "$@"; do echo "$a" >> "' + record + '"; done',
      `echo "cwd=$(pwd)" >> "${record}"`,
      `echo "env=$TSX_MARK" >> "${record}"`,
      'for a in "$@"; do case "$a" in --auth-key=file:*) echo "key=$(cat "${a#--auth-key=file:}")" >> "' +
        record +
        '";; esac; done',
      'echo "some output"',
      'echo "an error" >&2',
      `exit ${exitCode}`,
      '',
    ].join('\n'),
  );
  chmodSync(cli, 0o755);
  return { cli, record };
}

function settings(t: TestContext, cli: string, over: Partial<LoginSettings>): LoginSettings {
  const stateDir = new StateDir(join(tempDir(t), 'state'));
  const { log } = memoryLogger();
  stateDir.prepare(log);
  return {
    tailscale: cli,
    stateDir,
    hostname: 'tsm-node',
    tags: ['tag:a', 'tag:b'],
    authKey: 'tskey-auth-secret',
    env: { PATH: process.env.PATH, TSX_MARK: 'marked' },
    upTimeoutMs: 1_500,
    log,
    ...over,
  };
}

function hooks() {
  const calls: string[] = [];
  const failures: TsnetStartError[] = [];
  return {
    calls,
    failures,
    hooks: {
      started: () => calls.push('started'),
      finished: () => calls.push('finished'),
      failed: (err: TsnetStartError) => failures.push(err),
    },
  };
}

test('tailscale up with an auth key: the key from a 0600 file in the state directory, removed afterwards', async (t) => {
  const { cli, record } = fakeCli(tempDir(t), 0);
  const s = settings(t, cli, {});
  const h = hooks();
  await runUp(s, new AbortController().signal, h.hooks);
  const lines = readFileSync(record, 'utf8').trimEnd().split('\n');
  const keyArg = lines[3]!;
  assert.match(keyArg, /^--auth-key=file:.*\/\.authkey-[0-9a-f]{16}$/);
  assert.ok(keyArg.startsWith(`--auth-key=file:${s.stateDir.path}/`));
  assert.deepEqual(lines, [
    `--socket=${s.stateDir.socketPath}`,
    'up',
    '--reset',
    keyArg,
    '--hostname=tsm-node',
    '--advertise-tags=tag:a,tag:b',
    '--accept-dns=false',
    '--timeout=2s',
    `cwd=${s.stateDir.path}`,
    'env=marked',
    'key=tskey-auth-secret',
  ]);
  assert.deepEqual(readdirSync(s.stateDir.path), [], 'the key file is gone');
  assert.deepEqual(h.calls, ['started', 'finished']);
  assert.deepEqual(h.failures, []);
});

test('tailscale up: a file: key is passed as it is; no tags, no --advertise-tags; the timeout is at least 1 s', async (t) => {
  const { cli, record } = fakeCli(tempDir(t), 0);
  const s = settings(t, cli, { authKey: 'file:/run/secrets/key', tags: [], upTimeoutMs: 10 });
  await runUp(s, new AbortController().signal, hooks().hooks);
  assert.deepEqual(readFileSync(record, 'utf8').trimEnd().split('\n').slice(0, 7), [
    `--socket=${s.stateDir.socketPath}`,
    'up',
    '--reset',
    '--auth-key=file:/run/secrets/key',
    '--hostname=tsm-node',
    '--accept-dns=false',
    '--timeout=1s',
  ]);
});

test('tailscale up with an auth key that fails: a start error with the exit code and last output, key file removed', async (t) => {
  const { cli } = fakeCli(tempDir(t), 3);
  const s = settings(t, cli, { upTimeoutMs: 2_000 });
  const h = hooks();
  await assert.rejects(runUp(s, new AbortController().signal, h.hooks), (err: unknown) => {
    assert.ok(err instanceof TsnetStartError);
    assert.match(
      err.message,
      /^tailscale up exited with code 3; last output: (some output \| an error|an error \| some output)$/,
    );
    assert.ok(!err.message.includes('tskey-auth-secret'));
    return true;
  });
  assert.deepEqual(readdirSync(s.stateDir.path), []);
  assert.deepEqual(h.calls, ['started', 'finished']);
});

test(
  'tailscale up without a key: --timeout=0s, no key argument, and a failure reported through the hook',
  { timeout: 10_000 },
  async (t) => {
    const { cli, record } = fakeCli(tempDir(t), 4);
    const s = settings(t, cli, { authKey: undefined });
    const h = hooks();
    let started: import('node:child_process').ChildProcess | undefined;
    await runUp(s, new AbortController().signal, { ...h.hooks, started: (up) => (started = up) });
    assert.ok(started);
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (h.failures.length > 0) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    assert.deepEqual(h.calls, ['finished']);
    assert.match(h.failures[0]!.message, /^tailscale up exited with code 4; last output: /);
    assert.deepEqual(readFileSync(record, 'utf8').trimEnd().split('\n').slice(0, 7), [
      `--socket=${s.stateDir.socketPath}`,
      'up',
      '--reset',
      '--hostname=tsm-node',
      '--advertise-tags=tag:a,tag:b',
      '--accept-dns=false',
      '--timeout=0s',
    ]);
  },
);

test('tailscale up without a key that succeeds reports no failure', { timeout: 10_000 }, async (t) => {
  const { cli } = fakeCli(tempDir(t), 0);
  const h = hooks();
  await runUp(settings(t, cli, { authKey: undefined }), new AbortController().signal, h.hooks);
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (h.calls.length === 2) resolve();
      else setTimeout(check, 10);
    };
    check();
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.deepEqual(h.calls, ['started', 'finished']);
  assert.deepEqual(h.failures, []);
});

test('waiting for the socket with no time at all names no error: "no socket"', async (t) => {
  const api = new LocalApiClient({ socketPath: join(tempDir(t), 'none.sock') });
  await assert.rejects(
    waitForSocket(api, 0, [], new AbortController().signal),
    (err: unknown) =>
      err instanceof TsnetStartError &&
      err.message === `tailscaled did not answer on ${api.socketPath} within 0 ms (no socket)`,
  );
});

test('waiting for Running without any status names the state unknown; an aborted signal stops before polling', async (t) => {
  const api = new LocalApiClient({ socketPath: join(tempDir(t), 'none.sock') });
  const { log, lines } = memoryLogger();
  const reporter = new LoginReporter(log, 'tsm');
  const store = { get: () => undefined, set: () => undefined };
  await assert.rejects(
    waitRunning(
      api,
      { interactive: false, limitMs: 1, pollIntervalMs: 1 },
      reporter,
      [],
      new AbortController().signal,
      store,
    ),
    (err: unknown) =>
      err instanceof TsnetStartError &&
      err.message === 'tailscaled did not reach BackendState Running within 1 ms (it is unknown)',
  );
  assert.ok(lines.some((l) => l.includes('"level":20') && l.includes('LocalAPI status failed while waiting')));
  const abort = new AbortController();
  abort.abort(new Error('already stopped'));
  await assert.rejects(
    waitRunning(api, { interactive: true, limitMs: 0, pollIntervalMs: 1 }, reporter, [], abort.signal, store),
    /already stopped/,
  );
});

test('login reporting: exact messages with the hostname; other waiting states are not logged', () => {
  const { log, lines } = memoryLogger();
  const reporter = new LoginReporter(log, 'tsm-x');
  assert.equal(reporter.hostname, 'tsm-x');
  const st = (BackendState: string, AuthURL = ''): LocalStatus => ({
    BackendState,
    AuthURL,
    Self: undefined,
    Peer: {},
  });
  reporter.report(st('Starting'));
  reporter.report(st('NeedsLogin'));
  reporter.report(st('Stopped'));
  assert.deepEqual(lines, []);
  reporter.report(st('NeedsLogin', 'https://login.invalid/a'));
  reporter.report(st('NeedsMachineAuth'));
  const logged = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    logged.map((l) => [l.level, l.hostname, l.auth_url, l.msg]),
    [
      [
        40,
        'tsm-x',
        'https://login.invalid/a',
        'tsnet node "tsm-x" needs a login: open https://login.invalid/a to add it to the tailnet (or set TS_AUTHKEY)',
      ],
      [40, 'tsm-x', undefined, 'tsnet node "tsm-x" waits for approval: approve it in the admin console (Machines)'],
    ],
  );
  // A status with a login URL already logged falls through to the approval check.
  lines.length = 0;
  reporter.running();
  reporter.report(st('NeedsMachineAuth', 'https://login.invalid/a'));
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /waits for approval/);
});
