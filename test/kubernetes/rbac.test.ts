/**
 * deploy/kubernetes/rbac.yaml against what the adapter really sends: the fake API server authorizes every
 * request with one Role's rules (403 Forbidden otherwise), and the adapter runs its flows under it.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { EksPoolerTarget } from '../../lib/adapters/pooler-eks.ts';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import type { PoolerTargetConfig } from '../../lib/core/config.ts';
import { decide } from '../../lib/core/decision.ts';
import { UpstreamError } from '../../lib/core/errors.ts';
import type { PoolerChange, PoolerPlan } from '../../lib/core/types.ts';
import { FakePgBouncerPods } from '../support/fake-pgbouncer-pods.ts';
import { FakeKubernetesServer, type FakeRbacRule } from '../support/kubernetes-server.ts';
import { createTestCertificates, type TestCertificates } from '../support/test-ca.ts';

interface Manifest {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: FakeRbacRule[];
  subjects?: Array<{ kind: string; name: string; apiGroup: string }>;
  roleRef?: { kind: string; name: string; apiGroup: string };
}

const RBAC = parseAllDocuments(readFileSync('deploy/kubernetes/rbac.yaml', 'utf8')).map((document) => document.toJS() as Manifest);
const OPERATOR_GROUP = 'aurora-failover-operator';
const READONLY_GROUP = 'aurora-failover-readonly';
const TOKEN = 'k8s-aws-v1.rbac-test';
const OLD_WRITER = { host: 'old-writer.example.com', port: 5432 };
const NEW_WRITER = { host: 'new-writer.example.com', port: 5432 };
const READER = { host: 'reader.example.com', port: 5432 };
const moveWriter: PoolerChange = { alias: 'appdb', role: 'write', from: OLD_WRITER, to: NEW_WRITER };

/** The rules of the Role the RoleBinding binds to `group`. */
function rulesOf(group: string): FakeRbacRule[] {
  const binding = RBAC.find((manifest) => manifest.kind === 'RoleBinding' && manifest.subjects?.some((subject) => subject.kind === 'Group' && subject.name === group));
  if (!binding) throw new Error(`no RoleBinding for group ${group}`);
  const role = RBAC.find((manifest) => manifest.kind === 'Role' && manifest.metadata.name === binding.roleRef!.name)!;
  return role.rules!;
}

function ini(writer: { host: string; port: number }): string {
  return `[databases]\nappdb = host=${writer.host} port=${writer.port} dbname=app\nappdb_ro = host=${READER.host} port=${READER.port} dbname=app\n\n[pgbouncer]\npool_mode = transaction\n`;
}

let certificates: TestCertificates;
let server: FakeKubernetesServer;
let url: string;
let pods: FakePgBouncerPods;
let counter = 0;

beforeAll(async () => {
  certificates = createTestCertificates();
  server = new FakeKubernetesServer({ token: TOKEN, certificates });
  url = await server.start();
});
afterAll(async () => {
  await server.stop();
  certificates.cleanup();
  pods?.cleanup();
});
beforeEach(() => {
  server.requests.length = 0;
  server.rbacRules = null;
  pods?.cleanup();
  pods = new FakePgBouncerPods();
  server.execHandler = pods.exec;
});

/** Names as in deploy/kubernetes (the Roles name the ConfigMap and the Deployment); a fresh namespace per test. */
function scenario(strategy: 'live' | 'rollout-restart' = 'live') {
  counter += 1;
  const namespace = `rbac-${counter}`;
  server.setConfigMap(namespace, 'pgbouncer-config', { 'pgbouncer.ini': ini(OLD_WRITER) });
  server.addWorkload(namespace, 'deployments', 'pgbouncer');
  for (const name of ['pgbouncer-a', 'pgbouncer-b']) {
    server.addPod(namespace, { name, labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    pods.addPod(name, ini(OLD_WRITER));
  }
  server.onEvicted = (from, evicted) => {
    pods.addPod(`${evicted.name}-r`, server.configMap(from, 'pgbouncer-config')!.data['pgbouncer.ini']!);
    server.addPod(from, { name: `${evicted.name}-r`, labels: evicted.labels, containers: evicted.containers });
  };
  const config: PoolerTargetConfig = {
    name: 'use2-pgbouncer',
    eksCluster: 'app-use2',
    namespace,
    configMap: 'pgbouncer-config',
    key: 'pgbouncer.ini',
    workload: { kind: 'Deployment', name: 'pgbouncer' },
    podSelector: 'app=pgbouncer',
    reloadStrategy: strategy,
    aliases: { write: 'appdb', read: 'appdb_ro' },
    adminContainer: 'pgbouncer-admin',
    liveSwitchTimeoutSeconds: 5,
  };
  const api = new KubernetesClient({ server: url, certificateAuthority: certificates.caCert, token: TOKEN });
  const target = new EksPoolerTarget({ target: config, region: 'us-east-2', api, restartBounds: { readyTimeoutMs: 500, pollMs: 20, budgetMs: 60_000 } });
  return { namespace, target, api };
}

function plan(changes: PoolerChange[], strategy: 'live' | 'rollout-restart' = 'live'): PoolerPlan {
  return { target: 'use2-pgbouncer', region: 'us-east-2', reloadStrategy: strategy, changes, decision: decide('plan', 'repoint', 'writer moved') };
}

describe('deploy/kubernetes/rbac.yaml', () => {
  it('binds the groups the EKS access entries name, each to its own Role in the PgBouncer namespace', () => {
    // Assess
    const bindings = RBAC.filter((manifest) => manifest.kind === 'RoleBinding');
    expect(bindings.map((binding) => [binding.metadata.namespace, binding.subjects, binding.roleRef])).toEqual([
      ['pgbouncer', [{ kind: 'Group', name: READONLY_GROUP, apiGroup: 'rbac.authorization.k8s.io' }], { kind: 'Role', name: 'aurora-failover-readonly', apiGroup: 'rbac.authorization.k8s.io' }],
      ['pgbouncer', [{ kind: 'Group', name: OPERATOR_GROUP, apiGroup: 'rbac.authorization.k8s.io' }], { kind: 'Role', name: 'aurora-failover-operator', apiGroup: 'rbac.authorization.k8s.io' }],
    ]);
    expect(RBAC.filter((manifest) => manifest.kind === 'Role').map((role) => role.metadata.namespace)).toEqual(['pgbouncer', 'pgbouncer']);
    expect(RBAC.some((manifest) => manifest.kind === 'ClusterRole' || manifest.kind === 'ClusterRoleBinding')).toBe(false);
  });

  it('grants the read-only group exactly: get the one ConfigMap, list pods', () => {
    // Assess
    expect(rulesOf(READONLY_GROUP)).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['pgbouncer-config'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
    ]);
  });

  it('gives the operator group no wildcard and no delete: pods leave only through the Eviction API', () => {
    // Assess
    const rules = rulesOf(OPERATOR_GROUP);
    expect(rules.flatMap((rule) => [...rule.verbs, ...rule.resources, ...rule.apiGroups])).not.toContain('*');
    expect(rules.flatMap((rule) => rule.verbs)).not.toContain('delete');
    expect(rules).toContainEqual({ apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] });
  });

  it('grants the operator group exactly the verbs the code uses, and nothing else', () => {
    // Assess: restartWorkload only PATCHes the workload (no get); WebSocket exec is a GET that older API servers
    // authorize as `get`, newer ones as `create`.
    expect(rulesOf(OPERATOR_GROUP)).toEqual([
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['pgbouncer-config'], verbs: ['get', 'patch'] },
      { apiGroups: ['apps'], resources: ['deployments'], resourceNames: ['pgbouncer'], verbs: ['patch'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['list'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create', 'get'] },
      { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
    ]);
  });
});

describe('the adapter under each Role (the fake API server authorizes every request as RBAC does)', () => {
  it('read-only: plan and preflight can observe; a patch, an exec and an eviction are all forbidden', async () => {
    // Prepare
    const { target, api, namespace } = scenario();
    server.rbacRules = rulesOf(READONLY_GROUP);

    // Act
    const state = await target.observe();
    const listed = await api.listPods(namespace, 'app=pgbouncer');
    const apply = await target.apply(plan([moveWriter])).catch((error: unknown) => error);
    const exec = await api.execInPod(namespace, 'pgbouncer-a', 'pgbouncer-admin', ['true']).catch((error: unknown) => error);
    const evict = await api.evictPod(namespace, 'pgbouncer-a').catch((error: unknown) => error);

    // Assess
    expect(state.aliases.appdb).toEqual(OLD_WRITER);
    expect(listed.map((pod) => pod.name)).toEqual(['pgbouncer-a', 'pgbouncer-b']);
    expect(apply).toBeInstanceOf(UpstreamError);
    expect(String(apply)).toMatch(/PATCH configmap rbac-\d+\/pgbouncer-config failed \(403: configmaps "pgbouncer-config" is forbidden: .* cannot patch/);
    expect(String(exec)).toMatch(/exec in pod rbac-\d+\/pgbouncer-a container pgbouncer-admin failed \(403/);
    expect(String(evict)).toMatch(/\(403: pods "pgbouncer-a" is forbidden: .* cannot create resource "pods\/eviction"/);
    expect(server.configMap(namespace, 'pgbouncer-config')!.data['pgbouncer.ini']).toBe(ini(OLD_WRITER));
    expect(server.pods(namespace)).toHaveLength(2);
  });

  it('operator: pause, a live switch with one eviction and its verified replacement, and resume all pass', async () => {
    // Prepare
    const { target, namespace } = scenario();
    server.rbacRules = rulesOf(OPERATOR_GROUP);
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');

    // Act
    const paused = await target.pauseWrites();
    const result = await target.apply(plan([moveWriter]));
    const resumed = await target.resumeWrites();

    // Assess
    expect([paused.decision, result.decision.decision, resumed.decision]).toEqual(['paused', 'switched-with-restarts', 'resumed']);
    expect(server.evictedPods).toEqual([`${namespace}/pgbouncer-b`]);
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual([
      ['pgbouncer-a', 'switched'],
      ['pgbouncer-b', 'restarted'],
    ]);
  });

  it('operator: rollout-restart patches the one Deployment the Role names', async () => {
    // Prepare
    const { target, namespace } = scenario('rollout-restart');
    server.rbacRules = rulesOf(OPERATOR_GROUP);

    // Act
    const result = await target.apply(plan([moveWriter], 'rollout-restart'));

    // Assess
    expect(result.decision.decision).toBe('restarted');
    expect(server.workloadAnnotations.get(`${namespace}/deployments/pgbouncer`)).toHaveProperty(['kubectl.kubernetes.io/restartedAt']);
  });
});
