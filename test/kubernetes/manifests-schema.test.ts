/**
 * deploy/kubernetes/*.yaml as `kubectl apply -f deploy/kubernetes/` would take them, checked offline at the
 * schema level: known kinds with their apiVersions, required fields, names, namespaces, images pinned by
 * digest, every reference (volume, ConfigMap, Secret key, port, selector) resolvable, and the PgBouncer
 * ConfigMap mounted as a directory (a subPath mount never sees an update).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const DIR = 'deploy/kubernetes';

/** kind -> apiVersion, and whether it is namespaced. A new kind must be added here deliberately. */
const KINDS: Record<string, { apiVersion: string; namespaced: boolean }> = {
  Namespace: { apiVersion: 'v1', namespaced: false },
  ConfigMap: { apiVersion: 'v1', namespaced: true },
  Secret: { apiVersion: 'v1', namespaced: true },
  Service: { apiVersion: 'v1', namespaced: true },
  ServiceAccount: { apiVersion: 'v1', namespaced: true },
  Deployment: { apiVersion: 'apps/v1', namespaced: true },
  PodDisruptionBudget: { apiVersion: 'policy/v1', namespaced: true },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: true },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: true },
  ClusterRole: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: false },
  ClusterRoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', namespaced: false },
};
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const PINNED_IMAGE = /^[a-z0-9][a-z0-9._\/-]*(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$/;
/** Objects the operator creates by hand (public data, documented in docs/kubernetes.md), not shipped here. */
const EXTERNAL_CONFIGMAPS = ['rds-ca-bundle'];

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Doc {
  readonly file: string;
  readonly object: Json;
}

function loadAll(): Doc[] {
  return readdirSync(DIR)
    .filter((file) => /\.ya?ml$/.test(file))
    .flatMap((file) =>
      parseAllDocuments(readFileSync(`${DIR}/${file}`, 'utf8')).map((document) => {
        expect(document.errors, `${file}: YAML errors`).toEqual([]);
        return { file, object: document.toJS() as Json };
      }),
    )
    .filter((doc) => doc.object !== null);
}

const docs = loadAll();
const ofKind = (kind: string) => docs.filter((doc) => doc.object.kind === kind).map((doc) => doc.object);
const deployments = ofKind('Deployment');
const pods = deployments.map((deployment) => ({ deployment, pod: deployment.spec.template.spec as Json }));
const allContainers = (pod: Json): Json[] => [...(pod.initContainers ?? []), ...pod.containers];

describe(`${DIR}: every object is one the API server accepts`, () => {
  it('has objects', () => {
    expect(docs.length).toBeGreaterThan(0);
    expect(deployments.length).toBeGreaterThan(0);
  });

  it.each(docs.map((doc) => [`${doc.file}: ${doc.object.kind}/${doc.object.metadata?.name}`, doc.object] as const))('%s: known kind, its apiVersion, a valid name and namespace', (_label, object) => {
    const kind = KINDS[object.kind];
    expect(kind, `unknown kind ${object.kind}`).toBeDefined();
    expect(object.apiVersion).toBe(kind!.apiVersion);
    expect(object.metadata?.name).toMatch(DNS_SUBDOMAIN);
    if (kind!.namespaced) expect(object.metadata.namespace).toMatch(DNS_LABEL);
    else expect(object.metadata.namespace).toBeUndefined();
  });

  it('every namespaced object lives in a Namespace created here', () => {
    const namespaces = new Set(ofKind('Namespace').map((namespace) => namespace.metadata.name));
    const missing = docs.filter((doc) => KINDS[doc.object.kind]?.namespaced && !namespaces.has(doc.object.metadata.namespace));
    expect(missing.map((doc) => `${doc.object.kind}/${doc.object.metadata.name}`)).toEqual([]);
  });

  it('ConfigMaps and Secrets carry only string values', () => {
    for (const object of [...ofKind('ConfigMap'), ...ofKind('Secret')]) {
      for (const field of ['data', 'stringData']) {
        for (const [key, value] of Object.entries(object[field] ?? {})) {
          expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
          expect(typeof value, `${object.metadata.name}.${field}.${key}`).toBe('string');
        }
      }
    }
  });
});

describe.each(pods.map(({ deployment, pod }) => [deployment.metadata.name as string, deployment, pod] as const))('Deployment %s', (_name, deployment, pod) => {
  const namespace = deployment.metadata.namespace as string;
  const labels = deployment.spec.template.metadata.labels as Record<string, string>;

  it('selects its own pods', () => {
    const matchLabels = deployment.spec.selector.matchLabels as Record<string, string>;
    expect(Object.keys(matchLabels).length).toBeGreaterThan(0);
    expect(labels).toMatchObject(matchLabels);
  });

  it('pins every image by digest (no placeholder, no floating tag)', () => {
    const images = allContainers(pod).map((container) => `${container.name}: ${container.image}`);
    expect(images.length).toBeGreaterThan(0);
    for (const line of images) expect(line.split(': ')[1], line).toMatch(PINNED_IMAGE);
  });

  it('names containers uniquely and gives every one an image', () => {
    const names = allContainers(pod).map((container) => container.name as string);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(DNS_LABEL);
  });

  it('runs as a non-root user', () => {
    expect(pod.securityContext?.runAsNonRoot).toBe(true);
    expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
  });

  it('mounts only volumes it declares, each with exactly one source', () => {
    const volumes = new Map((pod.volumes as Json[]).map((volume) => [volume.name as string, volume]));
    for (const volume of volumes.values()) expect(Object.keys(volume).filter((key) => key !== 'name'), volume.name).toHaveLength(1);
    for (const container of allContainers(pod)) {
      for (const mount of container.volumeMounts ?? []) {
        expect(volumes.has(mount.name), `${container.name} mounts unknown volume ${mount.name}`).toBe(true);
        expect(mount.mountPath).toMatch(/^\//);
      }
    }
  });

  it('mounts every ConfigMap as a directory (never subPath)', () => {
    const configMapVolumes = new Set((pod.volumes as Json[]).filter((volume) => volume.configMap).map((volume) => volume.name as string));
    expect(configMapVolumes.size).toBeGreaterThan(0);
    const subPathMounts = allContainers(pod)
      .flatMap((container) => (container.volumeMounts ?? []) as Json[])
      .filter((mount) => configMapVolumes.has(mount.name) && (mount.subPath !== undefined || mount.subPathExpr !== undefined));
    expect(subPathMounts).toEqual([]);
  });

  it('refers only to ConfigMaps and Secrets (and Secret keys) that exist here or that the docs tell the operator to create', () => {
    const configMaps = new Set(ofKind('ConfigMap').filter((item) => item.metadata.namespace === namespace).map((item) => item.metadata.name as string));
    const secrets = new Map(ofKind('Secret').filter((item) => item.metadata.namespace === namespace).map((item) => [item.metadata.name as string, { ...item.data, ...item.stringData }]));
    const docsText = readFileSync('docs/kubernetes.md', 'utf8');
    for (const volume of pod.volumes as Json[]) {
      if (volume.configMap) {
        const name = volume.configMap.name as string;
        if (EXTERNAL_CONFIGMAPS.includes(name)) expect(docsText, `docs/kubernetes.md explains ConfigMap ${name}`).toContain(name);
        else expect(configMaps.has(name), `ConfigMap ${name}`).toBe(true);
      }
      if (volume.secret) expect(secrets.has(volume.secret.secretName), `Secret ${volume.secret.secretName}`).toBe(true);
    }
    for (const container of allContainers(pod)) {
      for (const variable of container.env ?? []) {
        expect(variable.name).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        const ref = variable.valueFrom?.secretKeyRef;
        if (ref) expect(secrets.get(ref.name), `${container.name} env ${variable.name}`).toHaveProperty(ref.key);
        if (variable.value !== undefined) expect(typeof variable.value, `${container.name} env ${variable.name} must be a string`).toBe('string');
      }
    }
  });

  it('is reached by a Service and guarded by a PodDisruptionBudget that select its pods by named ports that exist', () => {
    const ports = new Set(allContainers(pod).flatMap((container) => (container.ports ?? []) as Json[]).map((port) => port.name as string));
    const services = ofKind('Service').filter((service) => service.metadata.namespace === namespace && Object.entries(service.spec.selector ?? {}).every(([key, value]) => labels[key] === value));
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      for (const port of service.spec.ports as Json[]) {
        expect(Number.isInteger(port.port)).toBe(true);
        if (typeof port.targetPort === 'string') expect(ports.has(port.targetPort), `Service port ${port.name} -> ${port.targetPort}`).toBe(true);
      }
    }
    const budgets = ofKind('PodDisruptionBudget').filter((budget) => budget.metadata.namespace === namespace);
    expect(budgets.some((budget) => Object.entries(budget.spec.selector.matchLabels).every(([key, value]) => labels[key] === value))).toBe(true);
  });
});

describe('the images fit the roles the live switch gives them', () => {
  it('the admin sidecar runs the official postgres image (sh, psql, timeout, awk) and PgBouncer a PgBouncer image, as uid 70', () => {
    const { pod } = pods.find(({ deployment }) => deployment.metadata.name === 'pgbouncer')!;
    const image = (name: string) => (pod.containers as Json[]).find((container) => container.name === name)?.image as string;
    expect(image('pgbouncer-admin')).toMatch(/^postgres:15[.\d]*-alpine[.\d]*@sha256:/);
    expect(image('pgbouncer')).toMatch(/pgbouncer:v?1\.(1[89]|2\d)[.\w-]*@sha256:/);
    expect(pod.securityContext.runAsUser).toBe(70);
  });
});
