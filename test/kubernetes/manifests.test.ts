import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';

interface Mount { name: string; mountPath: string; subPath?: string; readOnly?: boolean }
interface Container { name: string; command?: string[]; env?: Array<{ name: string; value?: string }>; volumeMounts?: Mount[] }
interface Rule { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] }
interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  data?: Record<string, string>;
  spec?: { template: { metadata: { labels: Record<string, string> }; spec: { initContainers: Container[]; containers: Container[]; volumes: Array<{ name: string; configMap?: { name: string }; emptyDir?: object }> } } };
  rules?: Rule[];
}

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((document) => document.toJS() as Manifest);
}

describe('deploy/kubernetes manifests fit config/example.yml and the live switch', async () => {
  const config = await loadConfigFile('config/example.yml');
  const target = config.regions['us-east-2']!.poolers[0]!;
  const deployment = manifests('deploy/kubernetes/pgbouncer.yaml').find((manifest) => manifest.kind === 'Deployment')!;
  const pod = deployment.spec!.template.spec;

  it('names the objects the example target manages', () => {
    // Assess
    const all = manifests('deploy/kubernetes/pgbouncer.yaml');
    expect(all.find((manifest) => manifest.kind === 'ConfigMap')).toMatchObject({ metadata: { name: target.configMap, namespace: target.namespace } });
    expect(all.find((manifest) => manifest.kind === 'ConfigMap')!.data).toHaveProperty(target.key);
    expect(deployment.metadata).toEqual(expect.objectContaining({ name: target.workload.name, namespace: target.namespace }));
    const [labelKey, labelValue] = target.podSelector.split('=');
    expect(deployment.spec!.template.metadata.labels[labelKey!]).toBe(labelValue);
  });

  it('mounts the ConfigMap as a directory (no subPath) and gives PgBouncer and the admin container the same emptyDir', () => {
    // Assess
    const allMounts = [...pod.initContainers, ...pod.containers].flatMap((container) => container.volumeMounts ?? []);
    expect(allMounts.filter((mount) => mount.subPath !== undefined)).toEqual([]);
    const emptyDir = pod.volumes.find((volume) => volume.emptyDir)!.name;
    const admin = pod.containers.find((container) => container.name === target.adminContainer)!;
    const configDir = admin.env!.find((variable) => variable.name === 'PGBOUNCER_CONFIG_DIR')!.value;
    expect(admin.volumeMounts).toContainEqual({ name: emptyDir, mountPath: configDir });
    const pgbouncer = pod.containers.find((container) => container.name === 'pgbouncer')!;
    expect(pgbouncer.volumeMounts).toContainEqual({ name: emptyDir, mountPath: configDir, readOnly: true });
    expect(pgbouncer.command).toContain(`${configDir}/${target.key}`);
  });

  it('limits both Roles by resourceNames to the one ConfigMap and the one Deployment', () => {
    // Assess
    const roles = manifests('deploy/kubernetes/rbac.yaml').filter((manifest) => manifest.kind === 'Role');
    const operator = roles.find((role) => role.metadata.name === 'aurora-failover-operator')!;
    const readonly = roles.find((role) => role.metadata.name === 'aurora-failover-readonly')!;
    expect([operator.metadata.namespace, readonly.metadata.namespace]).toEqual([target.namespace, target.namespace]);
    expect(operator.rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: [target.configMap], verbs: ['get', 'patch'] });
    expect(operator.rules).toContainEqual({ apiGroups: ['apps'], resources: ['deployments'], resourceNames: [target.workload.name], verbs: ['patch'] });
    expect(readonly.rules).toContainEqual({ apiGroups: [''], resources: ['configmaps'], resourceNames: [target.configMap], verbs: ['get'] });
    const unnamed = (role: Manifest) => role.rules!.filter((rule) => !rule.resourceNames).map((rule) => `${rule.resources.join()}:${rule.verbs.join()}`);
    expect(unnamed(operator)).toEqual(['pods:list', 'pods/exec:create,get', 'pods/eviction:create']);
    expect(unnamed(readonly)).toEqual(['pods:list']);
  });

  it('keeps a PodDisruptionBudget over the pods the example target selects (evictions respect it)', () => {
    // Assess
    const budget = manifests('deploy/kubernetes/pgbouncer.yaml').find((manifest) => manifest.kind === 'PodDisruptionBudget') as unknown as {
      metadata: { namespace: string };
      spec: { selector: { matchLabels: Record<string, string> } };
    };
    expect(budget.metadata.namespace).toBe(target.namespace);
    const [labelKey, labelValue] = target.podSelector.split('=');
    expect(budget.spec.selector.matchLabels).toEqual({ [labelKey!]: labelValue });
  });
});
