// Helm chart checks that need no helm binary (CI also runs `helm lint`): Chart.yaml, values.yaml against
// values.schema.json, every .Values path a template reads exists, and the templates are well formed.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { parse } from 'yaml';

import { repoPath, readRepo } from '../helpers/repo.js';

const CHART = 'deploy/helm';
const values = parse(readRepo(`${CHART}/values.yaml`)) as Record<string, unknown>;
const schema = JSON.parse(readRepo(`${CHART}/values.schema.json`)) as Schema;
const templateFiles = readdirSync(repoPath(`${CHART}/templates`)).sort();
const templates = new Map(templateFiles.map((f) => [f, readRepo(`${CHART}/templates/${f}`)]));

// ------------------------------------------------------------------------------ a tiny JSON Schema subset

/**
 * The draft-07 keywords values.schema.json may use; the validator below implements exactly these, and a
 * test fails if the schema uses any other, so nothing is silently ignored.
 */
const KEYWORDS = new Set([
  '$schema',
  'title',
  'description',
  'type',
  'properties',
  'required',
  'enum',
  'additionalProperties',
  'items',
  'pattern',
  'minimum',
  'maximum',
  'minLength',
]);

interface Schema {
  $schema?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  enum?: unknown[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  [keyword: string]: unknown;
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

/** Validation errors of value against schema, as "path: message" strings; empty when valid. */
function validate(s: Schema, value: unknown, path = '$'): string[] {
  const errors: string[] = [];
  if (s.type !== undefined) {
    const allowed = Array.isArray(s.type) ? s.type : [s.type];
    const actual = jsonType(value);
    const ok = allowed.includes(actual) || (actual === 'integer' && allowed.includes('number'));
    if (!ok) return [`${path}: expected ${allowed.join('|')}, got ${actual}`];
  }
  if (s.enum !== undefined && !s.enum.some((e) => e === value))
    errors.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(s.enum)}`);
  if (typeof value === 'string') {
    if (s.pattern !== undefined && !new RegExp(s.pattern, 'u').test(value))
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${s.pattern}`);
    if (s.minLength !== undefined && [...value].length < s.minLength)
      errors.push(`${path}: shorter than ${s.minLength}`);
  }
  if (typeof value === 'number') {
    if (s.minimum !== undefined && value < s.minimum) errors.push(`${path}: ${value} < ${s.minimum}`);
    if (s.maximum !== undefined && value > s.maximum) errors.push(`${path}: ${value} > ${s.maximum}`);
  }
  if (Array.isArray(value) && s.items !== undefined) {
    value.forEach((item, i) => errors.push(...validate(s.items!, item, `${path}[${i}]`)));
  }
  if (jsonType(value) === 'object') {
    const obj = value as Record<string, unknown>;
    for (const key of s.required ?? []) if (!(key in obj)) errors.push(`${path}: missing required ${key}`);
    for (const [key, child] of Object.entries(obj)) {
      const prop = s.properties?.[key];
      if (prop !== undefined) errors.push(...validate(prop, child, `${path}.${key}`));
      else if (s.additionalProperties === false) errors.push(`${path}: unknown key ${key}`);
      else if (typeof s.additionalProperties === 'object')
        errors.push(...validate(s.additionalProperties, child, `${path}.${key}`));
    }
  }
  return errors;
}

function* subschemas(s: Schema): Generator<Schema> {
  yield s;
  for (const child of Object.values(s.properties ?? {})) yield* subschemas(child);
  if (typeof s.additionalProperties === 'object') yield* subschemas(s.additionalProperties);
  if (s.items) yield* subschemas(s.items);
}

const clone = <T>(v: T): T => structuredClone(v);

function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out = clone(base);
  for (const [k, v] of Object.entries(over)) {
    const current = out[k];
    out[k] =
      jsonType(v) === 'object' && jsonType(current) === 'object'
        ? deepMerge(current as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ Chart

test('Chart.yaml: apiVersion v2 application chart with versions', () => {
  const chart = parse(readRepo(`${CHART}/Chart.yaml`)) as Record<string, unknown>;
  assert.equal(chart.apiVersion, 'v2');
  assert.equal(chart.name, 'tsmetrics');
  assert.equal(chart.type, 'application');
  assert.match(String(chart.version), /^\d+\.\d+\.\d+(-[\w.]+)?$/, 'version is SemVer 2');
  assert.equal(typeof chart.appVersion, 'string', 'appVersion quoted (a string)');
  assert.ok(typeof chart.description === 'string' && chart.description.length > 0);
});

test('values.schema.json: draft-07, uses only the keywords the test validator implements', () => {
  assert.equal(schema.$schema, 'http://json-schema.org/draft-07/schema#');
  for (const s of subschemas(schema)) {
    for (const keyword of Object.keys(s)) assert.ok(KEYWORDS.has(keyword), `unsupported keyword ${keyword}`);
  }
  assert.equal(schema.additionalProperties, false, 'a misspelt top-level key is an error');
});

test('values.yaml validates against values.schema.json', () => {
  assert.deepEqual(validate(schema, values), []);
});

test('values.yaml has the documented keys (the Go original README example)', () => {
  const paths = [
    'image.repository',
    'image.tag',
    'image.pullPolicy',
    'tailscale.oauthClientId',
    'tailscale.oauthClientSecret',
    'tailscale.tailnetName',
    'tailscale.tsnet.enabled',
    'tailscale.tsnet.hostname',
    'tailscale.tsnet.tags',
    'resources.requests',
    'resources.limits',
    'persistence.enabled',
    'persistence.size',
    'externalSecret.enabled',
    'externalSecret.secretName',
    'serviceMonitor.enabled',
    'serviceMonitor.interval',
  ];
  for (const p of paths) assert.ok(hasPath(values, p.split('.')), `values.yaml lacks ${p}`);
  // The README's example values file, merged over the defaults, is valid.
  const example = {
    image: { tag: 'v1.0.0' },
    tailscale: {
      oauthClientId: 'k123abc',
      oauthClientSecret: 'tskey-client-x',
      tailnetName: 'company.ts.net',
      tsnet: { enabled: true, hostname: 'tsmetrics', tags: 'exporter' },
    },
    resources: { requests: { cpu: '200m', memory: '256Mi' }, limits: { cpu: '1000m', memory: '1Gi' } },
    persistence: { enabled: true, size: '2Gi' },
    externalSecret: { enabled: true, secretName: 'my-tailscale-secrets' },
    serviceMonitor: { enabled: true, interval: '30s' },
  };
  assert.deepEqual(validate(schema, deepMerge(values, example)), []);
});

test('values.schema.json rejects typos, bad enums and wrong types', () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ['unknown top-level key', { replicas: 2 }, /unknown key replicas/],
    ['misspelt nested key', { image: { tga: 'x' } }, /unknown key tga/],
    ['bad pullPolicy', { image: { pullPolicy: 'Sometimes' } }, /pullPolicy.*not in/],
    ['string instead of boolean', { persistence: { enabled: 'yes' } }, /persistence\.enabled: expected boolean/],
    ['bad log format', { config: { logFormat: 'xml' } }, /logFormat/],
    ['port out of range', { service: { port: 70000 } }, /service\.port: 70000 > 65535/],
    ['bad duration', { serviceMonitor: { interval: 'thirty seconds' } }, /interval.*does not match/],
    ['bad tsnet hostname', { tailscale: { tsnet: { hostname: 'has space' } } }, /hostname.*does not match/],
    ['sharding.enabled not a boolean', { sharding: { enabled: 'true' } }, /sharding\.enabled: expected boolean/],
    ['zero shards', { sharding: { replicas: 0 } }, /sharding\.replicas: 0 < 1/],
    ['fractional shards', { sharding: { replicas: 2.5 } }, /sharding\.replicas: expected integer/],
    ['misspelt sharding key', { sharding: { replica: 3 } }, /unknown key replica/],
  ];
  for (const [name, override, expected] of cases) {
    const errors = validate(schema, deepMerge(values, override));
    assert.ok(
      errors.some((e) => expected.test(e)),
      `${name}: expected an error matching ${expected}, got ${JSON.stringify(errors)}`,
    );
  }
});

// ------------------------------------------------------------------------------------------- templates

function hasPath(obj: unknown, path: string[]): boolean {
  let cur: unknown = obj;
  for (const key of path) {
    if (jsonType(cur) !== 'object' || !(key in (cur as Record<string, unknown>))) return false;
    cur = (cur as Record<string, unknown>)[key];
  }
  return true;
}

test('templates: the chart has the expected files', () => {
  for (const f of [
    '_helpers.tpl',
    '_pod.tpl',
    'deployment.yaml',
    'statefulset.yaml',
    'service.yaml',
    'service-headless.yaml',
    'secret.yaml',
    'configmap.yaml',
    'pvc.yaml',
    'servicemonitor.yaml',
  ]) {
    assert.ok(templates.has(f), `templates/${f}`);
  }
});

test('templates: every .Values path exists in values.yaml', () => {
  const missing: string[] = [];
  let count = 0;
  for (const [file, text] of templates) {
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      count++;
      const path = m[1]!.slice(1).split('.');
      if (!hasPath(values, path)) missing.push(`${file}: .Values.${path.join('.')}`);
    }
  }
  assert.ok(count > 20, `found only ${count} .Values references`);
  assert.deepEqual(missing, []);
});

test('values.yaml: every key is read by a template (or its parent object is)', () => {
  // The other direction of the test above: a key no template reads is a setting that does nothing.
  const referenced = new Set<string>();
  for (const text of templates.values())
    for (const m of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) referenced.add(m[1]!.slice(1));
  const unused: string[] = [];
  const walk = (obj: Record<string, unknown>, prefix: string[]): void => {
    for (const [key, value] of Object.entries(obj)) {
      const path = [...prefix, key];
      const readWhole = path.some((_, i) => referenced.has(path.slice(0, i + 1).join('.')));
      if (readWhole) continue;
      if (jsonType(value) === 'object' && Object.keys(value as object).length > 0)
        walk(value as Record<string, unknown>, path);
      else unused.push(path.join('.'));
    }
  };
  walk(values, []);
  assert.deepEqual(unused, []);
  for (const key of ['sharding.enabled', 'sharding.replicas'])
    assert.ok(referenced.has(key), `no template reads .Values.${key}`);
});

test('templates: actions are balanced and every include has a define', () => {
  const defined = new Set<string>();
  for (const text of templates.values())
    for (const m of text.matchAll(/\{\{-?\s*define\s+"([^"]+)"/g)) defined.add(m[1]!);
  for (const [file, raw] of templates) {
    const text = raw.replace(/\{\{-?\s*\/\*[\s\S]*?\*\/\s*-?\}\}/g, '');
    const opens = [...text.matchAll(/\{\{-?\s*(if|range|with|define|block)\b/g)].length;
    const ends = [...text.matchAll(/\{\{-?\s*end\s*-?\}\}/g)].length;
    assert.equal(opens, ends, `${file}: ${opens} if/range/with/define but ${ends} end`);
    assert.equal([...text.matchAll(/\{\{/g)].length, [...text.matchAll(/\}\}/g)].length, `${file}: unbalanced {{ }}`);
    for (const m of text.matchAll(/\binclude\s+"([^"]+)"/g))
      assert.ok(defined.has(m[1]!), `${file}: include "${m[1]!}" is not defined`);
  }
});

test('templates: optional objects are guarded by their switches', () => {
  assert.match(templates.get('secret.yaml')!, /^\{\{-?\s*if not \.Values\.externalSecret\.enabled\s*\}\}/);
  assert.match(templates.get('pvc.yaml')!, /^\{\{-?\s*if (and )?\(?\.Values\.persistence\.enabled/);
  assert.match(templates.get('servicemonitor.yaml')!, /^\{\{-?\s*if \.Values\.serviceMonitor\.enabled\s*\}\}/);
  assert.match(templates.get('servicemonitor.yaml')!, /apiVersion: monitoring\.coreos\.com\/v1/);
  assert.match(
    templates.get('_helpers.tpl')!,
    /required "externalSecret\.secretName is required/,
    'an external secret needs a name',
  );
  // With METRICS_TOKEN set, the ServiceMonitor authenticates with the key of the Secret the pod reads.
  assert.match(
    templates.get('servicemonitor.yaml')!,
    /if or \(and \.Values\.metricsToken[^}]*\}\}\s*authorization:\s*type: Bearer\s*credentials:\s*name: \{\{ include "tsmetrics\.secretName" \. \}\}\s*key: METRICS_TOKEN/,
  );
  assert.match(templates.get('secret.yaml')!, /with \.Values\.metricsToken \}\}\s*METRICS_TOKEN:/);
});

test('templates: the pod template probes /livez, /readyz and /startupz and reads the Secret and ConfigMap', () => {
  // One pod template (_pod.tpl) for the Deployment and the StatefulSet: same env and probes in both.
  const d = templates.get('_pod.tpl')!;
  assert.match(d, /\{\{-?\s*define "tsmetrics\.podTemplate"/);
  for (const f of ['deployment.yaml', 'statefulset.yaml']) {
    assert.match(
      templates.get(f)!,
      /template:\s*\n\s*\{\{-? include "tsmetrics\.podTemplate" \. \| nindent \d+ \}\}/,
      `${f} uses the shared pod template`,
    );
  }
  const probe = (kind: string): string | undefined =>
    new RegExp(`${kind}:\\s*\\n\\s*httpGet:\\s*\\n\\s*path: (\\S+)`).exec(d)?.[1];
  assert.equal(probe('livenessProbe'), '/livez');
  assert.equal(probe('readinessProbe'), '/readyz');
  assert.equal(probe('startupProbe'), '/startupz');
  // The startup probe allows at least 2 minutes (tsnet login before the server listens).
  const startup = /startupProbe:[\s\S]*?periodSeconds: (\d+)[\s\S]*?failureThreshold: (\d+)/.exec(d);
  assert.ok(
    startup && Number(startup[1]) * Number(startup[2]) >= 120,
    'startupProbe: failureThreshold x periodSeconds >= 120',
  );
  assert.match(d, /secretRef:\s*\n\s*name: \{\{ include "tsmetrics\.secretName" \. \}\}/);
  assert.match(d, /configMapRef:/);
  assert.match(d, /checksum\/config:/, 'config changes roll the pods');
  assert.match(d, /persistentVolumeClaim:/);
  const securityContext = values.securityContext as Record<string, unknown>;
  const podSecurityContext = values.podSecurityContext as Record<string, unknown>;
  assert.equal(podSecurityContext.runAsNonRoot, true);
  assert.equal(podSecurityContext.runAsUser, 65534);
  assert.equal(securityContext.readOnlyRootFilesystem, true);
  assert.equal(securityContext.allowPrivilegeEscalation, false);
  assert.deepEqual((securityContext.capabilities as { drop: string[] }).drop, ['ALL']);
});

test('templates: sharding.enabled renders a StatefulSet and a headless Service instead of the Deployment and its Service', () => {
  const guard = (file: string): string => /^\{\{-?\s*if ([^}]*?)\s*-?\}\}/.exec(templates.get(file)!)?.[1] ?? '';
  assert.equal(guard('statefulset.yaml'), '.Values.sharding.enabled');
  assert.equal(guard('service-headless.yaml'), '.Values.sharding.enabled');
  assert.equal(guard('deployment.yaml'), 'not .Values.sharding.enabled');
  assert.equal(guard('service.yaml'), 'not .Values.sharding.enabled');
  // The single state claim is the Deployment's; the StatefulSet has one per replica.
  assert.match(guard('pvc.yaml'), /\(not \.Values\.sharding\.enabled\)/);
  for (const f of ['statefulset.yaml', 'deployment.yaml', 'service-headless.yaml', 'service.yaml', 'pvc.yaml']) {
    const text = templates.get(f)!;
    assert.match(text, /\{\{-?\s*end\s*-?\}\}\s*$/, `${f}: the guard spans the whole file`);
  }

  const sts = templates.get('statefulset.yaml')!;
  assert.match(sts, /kind: StatefulSet/);
  assert.match(sts, /replicas: \{\{ \.Values\.sharding\.replicas \}\}/);
  assert.match(
    sts,
    /serviceName: \{\{ include "tsmetrics\.headlessName" \. \}\}/,
    'serviceName is the headless Service',
  );
  assert.match(sts, /podManagementPolicy: Parallel/);
  assert.match(sts, /volumeClaimTemplates:\s*\n\s*- metadata:\s*\n\s*name: state\b/, 'per-replica tsnet state');
  assert.match(
    sts,
    /fail "persistence\.existingClaim cannot be used with sharding\.enabled/,
    'one existing claim cannot serve several replicas',
  );

  const headless = templates.get('service-headless.yaml')!;
  assert.match(headless, /name: \{\{ include "tsmetrics\.headlessName" \. \}\}/);
  assert.match(headless, /clusterIP: None/);
  assert.match(headless, /publishNotReadyAddresses: true/);
  assert.match(headless, /selector:\s*\n\s*\{\{- include "tsmetrics\.selectorLabels" \. \| nindent 4 \}\}/);

  // SHARD_COUNT follows the replicas; the index comes from the pod name (POD_NAME, downward API).
  const config = templates.get('configmap.yaml')!;
  assert.match(
    config,
    /\{\{-? if \.Values\.sharding\.enabled \}\}\s*SHARD_COUNT: \{\{ \.Values\.sharding\.replicas \| quote \}\}\s*SHARD_INDEX: auto\b/,
  );
  const pod = templates.get('_pod.tpl')!;
  assert.match(
    pod,
    /\{\{-? if or \.Values\.sharding\.enabled [^}]*\}\}\s*env:\s*\{\{-? if \.Values\.sharding\.enabled \}\}[\s\S]*?- name: POD_NAME\s*valueFrom:\s*fieldRef:\s*fieldPath: metadata\.name/,
  );
  // In tsnet mode every replica is its own node: TSNET_HOSTNAME is the pod name, defined after POD_NAME.
  assert.match(
    pod,
    /- name: POD_NAME[\s\S]*?\{\{-? if \.Values\.tailscale\.tsnet\.enabled \}\}[\s\S]*?- name: TSNET_HOSTNAME\s*value: \$\(POD_NAME\)/,
  );

  const sharding = values.sharding as { enabled: boolean; replicas: number };
  assert.equal(sharding.enabled, false, 'one Deployment by default');
  assert.equal(sharding.replicas, 3);
});

test('templates: workload identity mounts a projected service account token with the Tailscale audience as OAUTH_ID_TOKEN_FILE', () => {
  const wi = (
    values.tailscale as { workloadIdentity: { enabled: boolean; audience: string; expirationSeconds: number } }
  ).workloadIdentity;
  assert.deepEqual(wi, { enabled: false, audience: '', expirationSeconds: 3600 }, 'off by default');
  const pod = templates.get('_pod.tpl')!;
  const env =
    /\{\{-? if \.Values\.tailscale\.workloadIdentity\.enabled \}\}[^{]*?- name: OAUTH_ID_TOKEN_FILE\s*value: (\S+)/.exec(
      pod,
    );
  assert.ok(env, 'OAUTH_ID_TOKEN_FILE is set when enabled');
  const mount = /- name: tailscale-id-token\s*mountPath: (\S+)\s*readOnly: true/.exec(pod);
  assert.ok(mount, 'the token volume is mounted read-only');
  const volume =
    /- name: tailscale-id-token\s*projected:\s*sources:\s*- serviceAccountToken:\s*path: (\S+)\s*audience: (.+)\s*expirationSeconds: (.+)/.exec(
      pod,
    );
  assert.ok(volume, 'a projected serviceAccountToken volume');
  assert.equal(env[1], `${mount[1]}/${volume[1]}`, 'the variable names the projected file');
  assert.match(
    volume[2]!,
    /\.audience \| default \(printf "api\.tailscale\.com\/%s" \$\.Values\.tailscale\.oauthClientId\)/,
    'audience defaults to api.tailscale.com/<client id>',
  );
  assert.match(volume[3]!, /\.expirationSeconds/);
  // The volume is guarded by the switch as well.
  assert.match(
    pod,
    /\{\{-? with \.Values\.tailscale\.workloadIdentity \}\}\s*\{\{-? if \.enabled \}\}[\s\S]*?- name: tailscale-id-token\s*projected:/,
  );
});
