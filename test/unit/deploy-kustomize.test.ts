// Kustomize: builds base and the overlays with `kubectl kustomize` (kustomize v5 is built into kubectl)
// and checks the rendered objects, so a broken patch or a renamed reference fails here, not in a cluster.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { parseAllDocuments } from 'yaml';

import { repoPath } from '../helpers/repo.js';

const KUBECTL_MISSING = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).error !== undefined;
const SKIP_MESSAGE =
  'kubectl is not installed: cannot build the kustomizations (install kubectl >= 1.27 to run this test)';

// ------------------------------------------------------------------------------------------- K8s objects

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  periodSeconds?: number;
  failureThreshold?: number;
}
interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean }; fieldRef?: { fieldPath: string } };
}
interface Resources {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
}
interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: EnvVar[];
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
interface Volume {
  name: string;
  emptyDir?: unknown;
  persistentVolumeClaim?: { claimName: string };
  projected?: { sources: { serviceAccountToken?: { path: string; audience?: string; expirationSeconds?: number } }[] };
}
interface PodSpec {
  securityContext?: {
    runAsNonRoot?: boolean;
    runAsUser?: number;
    runAsGroup?: number;
    fsGroup?: number;
    seccompProfile?: { type: string };
  };
  automountServiceAccountToken?: boolean;
  containers: Container[];
  volumes?: Volume[];
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    strategy?: { type: string };
    selector: { matchLabels: Record<string, string> };
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
}
interface StatefulSet extends K8sObject {
  spec: Deployment['spec'] & {
    serviceName: string;
    podManagementPolicy?: string;
    volumeClaimTemplates?: {
      metadata: { name: string };
      spec: { accessModes: string[]; resources: { requests: { storage: string } } };
    }[];
  };
}
interface Service extends K8sObject {
  spec: {
    clusterIP?: string;
    publishNotReadyAddresses?: boolean;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string | number }[];
  };
}
interface ServiceMonitor extends K8sObject {
  spec: {
    selector: { matchLabels: Record<string, string> };
    endpoints: {
      port: string;
      path?: string;
      interval?: string;
      authorization?: { type?: string; credentials?: { name: string; key: string } };
    }[];
  };
}

const built = new Map<string, K8sObject[]>();

/** `kubectl kustomize deploy/kustomize/<dir>`, parsed; cached per directory. */
function build(dir: string): K8sObject[] {
  const cached = built.get(dir);
  if (cached) return cached;
  const r = spawnSync('kubectl', ['kustomize', repoPath(`deploy/kustomize/${dir}`)], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(r.status, 0, `kubectl kustomize ${dir} failed:\n${r.stderr}`);
  const docs = parseAllDocuments(r.stdout);
  const objects = docs
    .map((d) => {
      assert.deepEqual(d.errors, [], `${dir}: kustomize output is not valid YAML`);
      return d.toJS() as K8sObject;
    })
    .filter((o) => o !== null);
  built.set(dir, objects);
  return objects;
}

function one<T extends K8sObject = K8sObject>(objects: K8sObject[], kind: string): T {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `expected exactly one ${kind}, found ${found.length}`);
  return found[0] as T;
}

const deploymentOf = (objects: K8sObject[]): Deployment => one<Deployment>(objects, 'Deployment');
/** The exporter's workload: the Deployment, or the StatefulSet of the sharded overlay (never both). */
function workloadOf(objects: K8sObject[]): Deployment {
  const found = objects.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  assert.equal(found.length, 1, `expected one Deployment or StatefulSet, found ${found.map((o) => o.kind).join(', ')}`);
  return found[0] as Deployment;
}
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
  const factor: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
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

/** The container's explicit METRICS_TOKEN entry (a secretKeyRef into tsmetrics-secrets). */
function metricsTokenRef(c: Container): NonNullable<EnvVar['valueFrom']>['secretKeyRef'] {
  const entry = c.env?.find((e) => e.name === 'METRICS_TOKEN');
  assert.ok(entry?.valueFrom?.secretKeyRef, 'METRICS_TOKEN is wired explicitly from a Secret (env, secretKeyRef)');
  assert.equal(entry.valueFrom.secretKeyRef.name, 'tsmetrics-secrets');
  assert.equal(entry.valueFrom.secretKeyRef.key, 'METRICS_TOKEN');
  return entry.valueFrom.secretKeyRef;
}

function checkCommon(dir: string): void {
  const objects = build(dir);
  const d = workloadOf(objects);
  const c = containerOf(d);
  const pod = d.spec.template.spec;

  // probes: /livez (the process serves), /readyz (fresh data), /startupz (the first refresh cycle has
  // finished, even with the API down); the startup probe allows at least 2 minutes (tsnet login).
  assert.equal(c.livenessProbe?.httpGet?.path, '/livez', `${dir}: liveness on /livez`);
  assert.equal(c.readinessProbe?.httpGet?.path, '/readyz', `${dir}: readiness on /readyz`);
  assert.equal(c.startupProbe?.httpGet?.path, '/startupz', `${dir}: startup on /startupz`);
  const startupBudget = (c.startupProbe?.failureThreshold ?? 3) * (c.startupProbe?.periodSeconds ?? 10);
  assert.ok(
    startupBudget >= 120,
    `${dir}: the startup probe allows only ${startupBudget}s (failureThreshold x periodSeconds >= 120)`,
  );
  const port = c.ports?.find((p) => p.containerPort === 9100);
  assert.ok(port, `${dir}: container port 9100`);
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    assert.ok(
      probe?.httpGet?.port === port.name || probe?.httpGet?.port === 9100,
      `${dir}: probes target the HTTP port`,
    );
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
  const claims = (d as StatefulSet).spec.volumeClaimTemplates ?? [];
  for (const path of ['/tmp', '/var/lib/tsmetrics']) {
    const volume = mounts.get(path);
    const exists =
      pod.volumes?.some((v) => v.name === volume) === true || claims.some((v) => v.metadata.name === volume);
    assert.ok(volume !== undefined && exists, `${dir}: ${path} is a mounted volume`);
  }

  // credentials from the tsmetrics-secrets Secret
  const viaEnvFrom = c.envFrom?.some((e) => e.secretRef?.name === 'tsmetrics-secrets') ?? false;
  const viaKeyRef = c.env?.some((e) => e.valueFrom?.secretKeyRef?.name === 'tsmetrics-secrets') ?? false;
  assert.ok(viaEnvFrom || viaKeyRef, `${dir}: credentials from Secret tsmetrics-secrets`);
  assert.ok(!objects.some((o) => o.kind === 'Secret'), `${dir}: the Secret is created outside the kustomization`);
  metricsTokenRef(c);

  // settings: ConfigMap reference resolves and holds no secret
  const config = configMapOf(objects, d);
  assert.equal(config.ENV, 'production', `${dir}: ENV=production (listen on 0.0.0.0, or probes fail)`);
  assert.equal(config.PORT, '9100');
  assert.equal(config.TSNET_STATE_DIR, '/var/lib/tsmetrics');
  for (const secret of ['OAUTH_CLIENT_SECRET', 'TAILSCALE_API_KEY', 'TS_AUTHKEY'])
    assert.ok(!(secret in config), `${dir}: ${secret} in a ConfigMap`);

  // resources
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) assert.ok(quantity(c.resources?.[kind]?.[r]) > 0, `${dir}: ${kind}.${r}`);
  }
  assert.ok(quantity(c.resources?.limits?.memory) >= quantity(c.resources?.requests?.memory));

  // Service: port 9100 selecting the pods
  const svc = one<Service>(objects, 'Service');
  assert.ok(
    svc.spec.ports.some((p) => p.port === 9100 && (p.targetPort === port.name || p.targetPort === 9100)),
    `${dir}: Service port 9100`,
  );
  assert.ok(selects(svc.spec.selector, d.spec.template.metadata.labels), `${dir}: the Service selects the pods`);
  assert.ok(
    selects(d.spec.selector.matchLabels, d.spec.template.metadata.labels),
    `${dir}: the ${d.kind} selects its pods`,
  );
}

/** The ServiceMonitor sends the bearer token from the key the pod reads it from. */
function checkServiceMonitorToken(dir: string, sm: ServiceMonitor): void {
  for (const e of sm.spec.endpoints) {
    assert.equal(
      e.authorization?.type,
      'Bearer',
      `${dir}: ServiceMonitor endpoint ${e.port} authenticates with a bearer token`,
    );
    assert.deepEqual(
      e.authorization.credentials,
      { name: 'tsmetrics-secrets', key: 'METRICS_TOKEN' },
      `${dir}: ...from tsmetrics-secrets/METRICS_TOKEN`,
    );
  }
}

const namespacedKinds = new Set([
  'Deployment',
  'StatefulSet',
  'Service',
  'ConfigMap',
  'ServiceAccount',
  'PersistentVolumeClaim',
  'PodDisruptionBudget',
  'ServiceMonitor',
]);

test('kustomize base: probes, non-root, read-only, Secret and ConfigMap references, Service', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('base');
  const objects = build('base');
  assert.deepEqual(objects.map((o) => o.kind).sort(), ['ConfigMap', 'Deployment', 'Service', 'ServiceAccount']);
  assert.equal(configMapOf(objects, deploymentOf(objects)).USE_TSNET, 'false', 'the base runs standalone');
  // Without a METRICS_TOKEN key in the Secret the pod still starts (the endpoints then stay open).
  assert.equal(
    metricsTokenRef(containerOf(deploymentOf(objects)))?.optional,
    true,
    'the base: METRICS_TOKEN is optional',
  );
});

test('kustomize production: ServiceMonitor, tsnet state on a PVC, PodDisruptionBudget, larger resources', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('overlays/production');
  const objects = build('overlays/production');
  const d = deploymentOf(objects);
  const c = containerOf(d);
  const podLabels = d.spec.template.metadata.labels;

  for (const o of objects.filter((x) => namespacedKinds.has(x.kind)))
    assert.equal(o.metadata.namespace, 'monitoring', `${o.kind} namespace`);

  const sm = one<ServiceMonitor>(objects, 'ServiceMonitor');
  assert.equal(sm.apiVersion, 'monitoring.coreos.com/v1');
  const svc = one<Service>(objects, 'Service');
  assert.ok(selects(sm.spec.selector.matchLabels, svc.metadata.labels), 'the ServiceMonitor selects the Service');
  assert.ok(
    sm.spec.endpoints.some(
      (e) => svc.spec.ports.some((p) => p.name === e.port) && (e.path ?? '/metrics') === '/metrics',
    ),
    'endpoint on the Service port, /metrics',
  );
  // /metrics requires the token in production: the ServiceMonitor sends it, and the pod requires the key.
  checkServiceMonitorToken('production', sm);
  assert.equal(
    metricsTokenRef(c)?.optional,
    false,
    'production: the METRICS_TOKEN key is required (the ServiceMonitor sends it)',
  );

  const pvc = one(objects, 'PersistentVolumeClaim');
  const state = d.spec.template.spec.volumes?.find(
    (v) => v.name === c.volumeMounts?.find((m) => m.mountPath === '/var/lib/tsmetrics')?.name,
  );
  assert.equal(state?.persistentVolumeClaim?.claimName, pvc.metadata.name, 'the tsnet state volume is the PVC');
  assert.equal(state?.emptyDir, undefined, 'the emptyDir of the base is gone');
  assert.equal(
    d.spec.strategy?.type,
    'Recreate',
    'a ReadWriteOnce volume with one node identity: never two pods at once',
  );

  const pdb = one<
    K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> }; minAvailable?: number; maxUnavailable?: number };
    }
  >(objects, 'PodDisruptionBudget');
  assert.equal(pdb.apiVersion, 'policy/v1');
  assert.ok(selects(pdb.spec.selector.matchLabels, podLabels), 'the PDB selects the pods');
  assert.ok(
    !(pdb.spec.minAvailable !== undefined && pdb.spec.minAvailable >= (d.spec.replicas ?? 1)),
    'the PDB must not block every drain of a single replica',
  );

  const config = configMapOf(objects, d);
  assert.equal(config.USE_TSNET, 'true');
  assert.ok(config.TSNET_HOSTNAME);

  const base = containerOf(deploymentOf(build('base')));
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) {
      assert.ok(
        quantity(c.resources?.[kind]?.[r]) > quantity(base.resources?.[kind]?.[r]),
        `production ${kind}.${r} above the base`,
      );
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

  for (const o of objects.filter((x) => namespacedKinds.has(x.kind)))
    assert.equal(o.metadata.namespace, 'tsmetrics-dev', `${o.kind} namespace`);
  assert.equal(one(objects, 'Namespace').metadata.name, 'tsmetrics-dev');
  for (const kind of ['ServiceMonitor', 'PersistentVolumeClaim', 'PodDisruptionBudget'])
    assert.ok(!objects.some((o) => o.kind === kind), `no ${kind} in development`);

  const config = configMapOf(objects, d);
  assert.equal(config.LOG_LEVEL, 'debug');
  assert.equal(config.LOG_FORMAT, 'text');
  assert.equal(config.USE_TSNET, 'false');
  assert.equal(c.imagePullPolicy, 'Always', 'the moving dev tag is always pulled');

  const base = containerOf(deploymentOf(build('base')));
  for (const kind of ['requests', 'limits'] as const) {
    for (const r of ['cpu', 'memory']) {
      assert.ok(
        quantity(c.resources?.[kind]?.[r]) <= quantity(base.resources?.[kind]?.[r]),
        `development ${kind}.${r} not above the base`,
      );
    }
  }
});

test('kustomize sharded: a StatefulSet of 3 shards, headless Service, per-pod tsnet state and host name, ServiceMonitor, PDB', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('overlays/sharded');
  const objects = build('overlays/sharded');
  for (const o of objects.filter((x) => namespacedKinds.has(x.kind)))
    assert.equal(o.metadata.namespace, 'monitoring', `${o.kind} namespace`);

  // A StatefulSet instead of the Deployment, with the pod template of production (same probes, resources, image).
  assert.ok(!objects.some((o) => o.kind === 'Deployment'), 'no Deployment next to the StatefulSet');
  const sts = one<StatefulSet>(objects, 'StatefulSet');
  assert.equal(sts.apiVersion, 'apps/v1');
  assert.equal(sts.spec.replicas, 3);
  assert.equal(sts.spec.podManagementPolicy, 'Parallel', 'shards start independently of each other');
  assert.equal(
    (sts.spec as { strategy?: unknown }).strategy,
    undefined,
    'no Deployment strategy left in the StatefulSet',
  );
  const c = containerOf(sts);
  const production = containerOf(deploymentOf(build('overlays/production')));
  for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const)
    assert.deepEqual(c[probe], production[probe], `${probe} as in production`);
  assert.deepEqual(c.resources, production.resources, 'resources as in production');
  assert.equal(c.image, production.image);

  // Sharding settings: SHARD_COUNT = replicas, the index from the pod name.
  const config = configMapOf(objects, sts);
  assert.equal(config.SHARD_COUNT, String(sts.spec.replicas), 'SHARD_COUNT equals the replicas');
  assert.equal(config.SHARD_INDEX, 'auto');
  assert.equal(config.SHARD_API_METRICS ?? 'first', 'first', 'API device metrics and the inventory from shard 0 only');
  const env = c.env ?? [];
  const podName = env.findIndex((e) => e.name === 'POD_NAME');
  assert.ok(podName >= 0, 'POD_NAME is set');
  assert.equal(env[podName]!.valueFrom?.fieldRef?.fieldPath, 'metadata.name', 'POD_NAME from the downward API');

  // tsnet: every pod is its own tailnet node, with its own host name and state volume.
  assert.equal(config.USE_TSNET, 'true');
  const hostname = env.findIndex((e) => e.name === 'TSNET_HOSTNAME');
  assert.ok(hostname > podName, 'TSNET_HOSTNAME is set after POD_NAME (so that $(POD_NAME) expands)');
  assert.equal(env[hostname]!.value, '$(POD_NAME)', 'TSNET_HOSTNAME is the pod name: tsmetrics takes it literally');
  const stateMount = c.volumeMounts?.find((m) => m.mountPath === '/var/lib/tsmetrics');
  assert.ok(stateMount, 'the tsnet state directory is mounted');
  const claim = sts.spec.volumeClaimTemplates?.find((v) => v.metadata.name === stateMount.name);
  assert.ok(claim, 'the state volume comes from volumeClaimTemplates (one claim per pod)');
  assert.deepEqual(claim.spec.accessModes, ['ReadWriteOnce']);
  assert.ok(quantity(claim.spec.resources.requests.storage) > 0);
  assert.ok(
    !sts.spec.template.spec.volumes?.some((v) => v.name === stateMount.name),
    'no pod volume shadows the claim',
  );
  assert.ok(!objects.some((o) => o.kind === 'PersistentVolumeClaim'), 'the single PVC of production is gone');

  // The headless Service is the StatefulSet's serviceName, selects every pod and publishes unready ones.
  const services = objects.filter((o): o is Service => o.kind === 'Service');
  assert.deepEqual(
    services.map((s) => s.metadata.name),
    [sts.spec.serviceName],
    'one Service: the headless one named by serviceName',
  );
  const headless = services[0]!;
  assert.equal(headless.metadata.name, 'tsmetrics-headless');
  assert.equal(headless.spec.clusterIP, 'None');
  assert.equal(
    headless.spec.publishNotReadyAddresses,
    true,
    'a replica with stale data is still scraped (its alerts need it)',
  );
  assert.ok(
    selects(headless.spec.selector, sts.spec.template.metadata.labels),
    'the headless Service selects the pods',
  );

  // The ServiceMonitor scrapes every replica through it, with the token; the PDB covers the pods.
  const sm = one<ServiceMonitor>(objects, 'ServiceMonitor');
  assert.ok(
    selects(sm.spec.selector.matchLabels, headless.metadata.labels),
    'the ServiceMonitor selects the headless Service',
  );
  assert.ok(
    sm.spec.endpoints.some((e) => headless.spec.ports.some((p) => p.name === e.port)),
    'on its port',
  );
  checkServiceMonitorToken('sharded', sm);
  const pdb = one<
    K8sObject & {
      spec: { selector: { matchLabels: Record<string, string> }; maxUnavailable?: number; minAvailable?: number };
    }
  >(objects, 'PodDisruptionBudget');
  assert.ok(selects(pdb.spec.selector.matchLabels, sts.spec.template.metadata.labels), 'the PDB selects the pods');
  assert.ok(
    (pdb.spec.maxUnavailable ?? 0) >= 1 && (pdb.spec.maxUnavailable ?? 0) < sts.spec.replicas,
    'the PDB lets one shard go at a time',
  );
});

test('kustomize workload identity: a projected service account token with the Tailscale audience as OAUTH_ID_TOKEN_FILE', (t: TestContext) => {
  if (KUBECTL_MISSING) return t.skip(SKIP_MESSAGE);
  checkCommon('overlays/workload-identity');
  const d = deploymentOf(build('overlays/workload-identity'));
  const c = containerOf(d);
  const file = c.env?.find((e) => e.name === 'OAUTH_ID_TOKEN_FILE')?.value;
  assert.ok(file, 'OAUTH_ID_TOKEN_FILE is set');
  assert.ok(
    c.env?.some((e) => e.name === 'METRICS_TOKEN'),
    'the base environment is kept',
  );
  const mount = c.volumeMounts?.find((m) => m.name === 'tailscale-id-token');
  assert.ok(mount && (mount as { readOnly?: boolean }).readOnly === true, 'mounted read-only');
  const volume = d.spec.template.spec.volumes?.find((v) => v.name === 'tailscale-id-token');
  const token = volume?.projected?.sources.find((s) => s.serviceAccountToken)?.serviceAccountToken;
  assert.ok(token, 'a projected serviceAccountToken');
  assert.equal(file, `${mount.mountPath}/${token.path}`, 'the variable names the projected file');
  assert.match(token.audience ?? '', /^api\.tailscale\.com\/\S+$/, 'the audience Tailscale expects');
  assert.ok((token.expirationSeconds ?? 0) >= 600);
  assert.equal(d.spec.template.spec.automountServiceAccountToken, false, 'still no Kubernetes API token');
  // The other overlays carry no token volume.
  assert.ok(!deploymentOf(build('base')).spec.template.spec.volumes?.some((v) => v.projected !== undefined));
});
