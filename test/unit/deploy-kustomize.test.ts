// Kustomize: builds base and both overlays with `kubectl kustomize` (kustomize v5 is built into kubectl)
// and checks the rendered objects, so a broken patch or a renamed reference fails here, not in a cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

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
const repoPath = (relative: string): string => join(ROOT, relative);

const KUBECTL_MISSING = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error !== undefined;
const SKIP_MESSAGE = 'kubectl is not installed: cannot build the kustomizations (install kubectl >= 1.27 to run this test)';

// ------------------------------------------------------------------------------------------- K8s objects

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Probe { httpGet?: { path: string; port: string | number } }
interface Resources { requests?: Record<string, string>; limits?: Record<string, string> }
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: Resources;
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Volume { name: string; emptyDir?: unknown; persistentVolumeClaim?: { claimName: string } }
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; runAsGroup?: number; fsGroup?: number; seccompProfile?: { type: string } };
  automountServiceAccountToken?: boolean;
  containers: Container[];
  volumes?: Volume[];
}
interface Deployment extends K8sObject {
  spec: { replicas?: number; strategy?: { type: string }; selector: { matchLabels: Record<string, string> }; template: { metadata: { labels: Record<string, string> }; spec: PodSpec } };
}

const built = new Map<string, K8sObject[]>();

/** `kubectl kustomize deploy/kustomize/<dir>`, parsed; cached per directory. */
function build(dir: string): K8sObject[] {
  const cached = built.get(dir);
  if (cached) return cached;
  const r = spawnSync('kubectl', ['kustomize', repoPath(`deploy/kustomize/${dir}`)], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const objects = docs.map((d) => {
    assert.deepEqual(d.errors, [], `${dir}: kustomize output is not valid YAML`);
    return d.toJS() as K8sObject;
  }).filter((o) => o !== null);
  built.set(dir, objects);
  return objects;
}

function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `expected exactly one ${kind}, found ${found.length}`);
  return found[0] as T;
}

const deploymentOf = (objects: K8sObject[]): Deployment => one<Deployment>(objects, 'Deployment');
const containerOf = (d: Deployment): Container => {
  const c = d.spec.template.spec.containers.find((x) => x.name === 'tsmetrics');
  assert.ok(c, 'a container named tsmetrics');
  return c;
};

/** Kubernetes quantity -> number (cpu in cores, memory in bytes). */
function quantity(q: string | undefined): number {
  assert.ok(q !== undefined, 'quantity is set');
  const m = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  assert.ok(m, `not a quantity: ${q}`);
  const factor: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
  return Number(m[1]) * factor[m[2] ?? '']!;
}

const selects = (selector: Record<string, string>, labels: Record<string, string> | undefined): boolean =>
  Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function configMapOf(objects: K8sObject[], d: Deployment): Record<string, string> {
  const refs = containerOf(d).envFrom?.flatMap((e) => (e.configMapRef ? [e.configMapRef.name] : [])) ?? [];
  assert.equal(refs.length, 1, 'the container reads one ConfigMap through envFrom');
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === refs[0]);
  assert.ok(cm, `the referenced ConfigMap ${refs[0]} is part of the build (name hashes must match)`);
  return cm.data as Record<string, string>;
}

// ------------------------------------------------------------------------------------------------ checks

function checkCommon(dir: string): void {
  const objects = build(dir);
  const d = deploymentOf(objects);
  const c = containerOf(d);
  const pod = d.spec.template.spec;

  // probes
  assert.equal(c.livenessProbe?.httpGet?.path, '/livez', `${dir}: liveness on /livez`);
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${dir}: readiness on /readyz`);
  assert.equal(c.startupProbe?.httpGet?.path, '/health', `${dir}: startup on /health`);
  const port = c.ports?.find((p) => p.containerPort === 9100);
  assert.ok(port, `${dir}: container port 9100`);
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    assert.ok(probe?.httpGet?.port === port.name || probe?.httpGet?.port === 9100, `${dir}: probes target the HTTP port`);
  }

  // security
  assert.equal(pod.securityContext?.runAsNonRoot, true, `${dir}: pod runAsNonRoot`);
  assert.equal(pod.securityContext?.runAsUser, 65534, `${dir}: pod runAsUser 65534`);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${dir}: read-only root filesystem`);
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL'], `${dir}: drop ALL capabilities`);
  assert.equal(pod.automountServiceAccountToken, false, 'the exporter does not use the Kubernetes API');
  // read-only root: whatever must be writable is a volume
  const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));
  for (const path of ['/tmp', '/var/lib/tsmetrics']) {
    const volume = mounts.get(path);
    assert.ok(volume !== undefined && pod.volumes?.some((v) => v.name === volume), `${dir}: ${path} is a mounted volume`);
  }

  // credentials from the tsmetrics-secrets Secret
  const viaEnvFrom = c.envFrom?.some((e) => e.secretRef?.name === 'tsmetrics-secrets') ?? false;
  const viaKeyRef = c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === 'tsmetrics-secrets') ?? false;
  assert.ok(viaEnvFrom || viaKeyRef, `${dir}: credentials from Secret tsmetrics-secrets`);
  assert.ok(!objects.some((o) => o.kind === 'Secret'), `${dir}: the Secret is created outside the kustomization`);

  // settings: ConfigMap reference resolves and holds no secret
  const config = configMapOf(objects, d);
  assert.equal(config.ENV, 'production', `${dir}: ENV=production (listen on 0.0.0.0, or probes fail)`);
  assert.equal(config.PORT, '9100');
  assert.equal(config.TSNET_STATE_DIR, '/var/lib/tsmetrics');
  for (const secret of ['OAUTH_CLIENT_SECRET', 'TAILSCALE_API_KEY', 'TS_AUTHKEY']) assert.ok(!(secret in config), `${dir}: ${secret} in a ConfigMap`);

  // resources
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) assert.ok(quantity(c.resources?.[kind]?.[r]) > 0, `${dir}: ${kind}.${r}`);
  }
  assert.ok(quantity(c.resources?.limits?.memory) >= quantity(c.resources?.requests?.memory));

  // Service: port 9100 selecting the pods
  const svc = one(objects, 'Service') as K8sObject & { spec: { selector: Record<string, string>; ports: { port: number; targetPort: string | number }[] } };
  assert.ok(svc.spec.ports.some((p) => p.port === 9100 && (p.targetPort === port.name || p.targetPort === 9100)), `${dir}: Service port 9100`);
  assert.ok(selects(svc.spec.selector, d.spec.template.metadata.labels), `${dir}: the Service selects the pods`);
  assert.ok(selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels), `${dir}: the Deployment selects its pods`);
}

const namespacedKinds = new Set(['Deployment', 'Service', 'ConfigMap', 'ServiceAccount', 'PersistentVolumeClaim', 'PodDisruptionBudget', 'ServiceMonitor']);

test('kustomize base: probes, non-root, read-only, Secret and ConfigMap references, Service', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('base');
  const objects = build('base');
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
  assert.equal(configMapOf(objects, deploymentOf(objects)).USE_TSNET, 'false', 'the base runs standalone');
});

test('kustomize production: ServiceMonitor, tsnet state on a PVC, PodDisruptionBudget, larger resources', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('overlays/production');
  const objects = build('overlays/production');
  const d = deploymentOf(objects);
  const c = containerOf(d);
  const podLabels = d.spec.template.metadata.labels;

  for (const o of objects.filter((x) => namespacedKinds.has(x.kind))) assert.equal(o.metadata.namespace, 'monitoring', `${o.kind} namespace`);

  const sm = one(objects, 'ServiceMonitor') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path?: string; interval?: string }[] } };
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  const svc = one(objects, 'Service') as K8sObject & { spec: { ports: { name: string }[] } };
  assert.ok(selects(sm.spec.selector.matchLabels, svc.metadata.labels), 'the ServiceMonitor selects the Service');
  assert.ok(sm.spec.endpoints.some((e) => svc.spec.ports.some((p) => p.name === e.port) && (e.path ?? '/metrics') === '/metrics'), 'endpoint on the Service port, /metrics');

  const pvc = one(objects, 'PersistentVolumeClaim');
  const state = d.spec.template.spec.volumes?.find((v) => v.name === c.volumeMounts?.find((m) => m.mountPath === '/var/lib/tsmetrics')?.name);
  assert.equal(state?.persistentVolumeClaim?.claimName, pvc.metadata.name, 'the tsnet state volume is the PVC');
  assert.equal(state?.emptyDir, undefined, 'the emptyDir of the base is gone');
  assert.equal(d.spec.strategy?.type, 'Recreate', 'a ReadWriteOnce volume with one node identity: never two pods at once');

  const pdb = one(objects, 'PodDisruptionBudget') as K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; minAvailable?: number; maxUnavailable?: number } };
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.ok(selects(pdb.spec.selector.matchLabels, podLabels), 'the PDB selects the pods');
  assert.ok(!(pdb.spec.minAvailable !== undefined && pdb.spec.minAvailable >= (d.spec.replicas ?? 1)), 'the PDB must not block every drain of a single replica');

  const config = configMapOf(objects, d);
  assert.equal(config.USE_TSNET, 'true');
  assert.ok(config.TSNET_HOSTNAME);

  const base = containerOf(deploymentOf(build('base')));
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) {
      assert.ok(quantity(c.resources?.[kind]?.[r]) > quantity(base.resources?.[kind]?.[r]), `production ${kind}.${r} above the base`);
    }
  }
  assert.doesNotMatch(c.image, /:latest$/, 'production pins the image tag');
});

test('kustomize development: own namespace, debug logging, small resources, nothing production-only', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('overlays/development');
  const objects = build('overlays/development');
  const d = deploymentOf(objects);
  const c = containerOf(d);

  for (const o of objects.filter((x) => namespacedKinds.has(x.kind))) assert.equal(o.metadata.namespace, 'tsmetrics-dev', `${o.kind} namespace`);
  assert.equal(one(objects, 'Namespace').metadata.name, 'tsmetrics-dev');
  for (const kind of ['ServiceMonitor', 'PersistentVolumeClaim', 'PodDisruptionBudget']) assert.ok(!objects.some((o) => o.kind === kind), `no ${kind} in development`);

  const config = configMapOf(objects, d);
  assert.equal(config.LOG_LEVEL, 'debug');
  assert.equal(config.LOG_FORMAT, 'text');
  assert.equal(config.USE_TSNET, 'false');
  assert.equal(c.imagePullPolicy, 'Always', 'the moving dev tag is always pulled');

  const base = containerOf(deploymentOf(build('base')));
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) {
      assert.ok(quantity(c.resources?.[kind]?.[r]) <= quantity(base.resources?.[kind]?.[r]), `development ${kind}.${r} not above the base`);
    }
  }
});
