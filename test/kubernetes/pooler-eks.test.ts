import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EksPoolerTarget } from '../../lib/adapters/pooler-eks.ts';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import type { PoolerTargetConfig } from '../../lib/core/config.ts';
import { decide } from '../../lib/core/decision.ts';
import { ConflictError, StaleChangeError, TargetFailedError } from '../../lib/core/errors.ts';
import type { PoolerChange, PoolerPlan } from '../../lib/core/types.ts';
import { FakePgBouncerPods } from '../support/fake-pgbouncer-pods.ts';
import { FakeKubernetesServer } from '../support/kubernetes-server.ts';
import { createTestCertificates, type TestCertificates } from '../support/test-ca.ts';

const TOKEN = 'k8s-aws-v1.pooler-test';
const OLD_WRITER = { host: 'app-use2.cluster-abc.us-east-2.rds.amazonaws.com', port: 5432 };
const NEW_WRITER = { host: 'app-usw2.cluster-def.us-west-2.rds.amazonaws.com', port: 5432 };
const READER = { host: 'app-use2.cluster-ro-abc.us-east-2.rds.amazonaws.com', port: 5432 };
const PASSWORD = 'pa55-in-ini';

function ini(writer: { host: string; port: number }, poolMode = 'transaction'): string {
  return [
    '; managed by aurora-failover: only host/port of appdb and appdb_ro change',
    '[databases]',
    `appdb = host=${writer.host} port=${writer.port} dbname=app user=app password=${PASSWORD}`,
    `appdb_ro = host=${READER.host} port=${READER.port} dbname=app`,
    '',
    '[pgbouncer]',
    'listen_addr = 0.0.0.0',
    `pool_mode = ${poolMode}`,
    'admin_users = pgbouncer',
    '',
  ].join('\n');
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
});
beforeEach(() => {
  server.requests.length = 0;
  server.concurrentWritesBeforePatch = 0;
  pods?.cleanup();
  pods = new FakePgBouncerPods();
  server.execHandler = pods.exec;
});

/** A fresh namespace with the ConfigMap, the Deployment and `podNames` ready pods running `podIni`. */
function scenario(options: { strategy?: 'live' | 'rollout-restart'; configIni?: string; podIni?: string; podNames?: string[]; timeoutSeconds?: number } = {}) {
  counter += 1;
  const namespace = `pgb-${counter}`;
  const configIni = options.configIni ?? ini(OLD_WRITER);
  server.setConfigMap(namespace, 'pgbouncer-config', { 'pgbouncer.ini': configIni, unrelated: 'stays' });
  server.addWorkload(namespace, 'deployments', 'pgbouncer');
  const names = options.podNames ?? ['pgbouncer-a', 'pgbouncer-b'];
  for (const name of names) {
    server.addPod(namespace, { name, labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    pods.addPod(name, options.podIni ?? configIni);
  }
  const config: PoolerTargetConfig = {
    name: 'use2-pgbouncer',
    eksCluster: 'app-use2',
    namespace,
    configMap: 'pgbouncer-config',
    key: 'pgbouncer.ini',
    workload: { kind: 'Deployment', name: 'pgbouncer' },
    podSelector: 'app=pgbouncer',
    reloadStrategy: options.strategy ?? 'live',
    aliases: { write: 'appdb', read: 'appdb_ro' },
    adminContainer: 'pgbouncer-admin',
    liveSwitchTimeoutSeconds: options.timeoutSeconds ?? 5,
  };
  const api = new KubernetesClient({ server: url, certificateAuthority: certificates.caCert, token: TOKEN });
  const target = new EksPoolerTarget({ target: config, region: 'us-east-2', api });
  return { namespace, names, target };
}

function plan(changes: PoolerChange[], strategy: 'live' | 'rollout-restart' = 'live'): PoolerPlan {
  return { target: 'use2-pgbouncer', region: 'us-east-2', reloadStrategy: strategy, changes, decision: decide('plan', 'repoint', 'writer moved') };
}
const moveWriter: PoolerChange = { alias: 'appdb', role: 'write', from: OLD_WRITER, to: NEW_WRITER };

describe('EksPoolerTarget.observe', () => {
  it('reads both aliases from the ConfigMap key, with its resourceVersion as the version', async () => {
    // Prepare
    const { target, namespace } = scenario();

    // Act
    const state = await target.observe();

    // Assess
    expect(state).toEqual({
      target: 'use2-pgbouncer',
      region: 'us-east-2',
      reloadStrategy: 'live',
      aliases: { appdb: OLD_WRITER, appdb_ro: READER },
      version: server.configMap(namespace, 'pgbouncer-config')!.resourceVersion,
    });
  });
});

describe('EksPoolerTarget.apply with reloadStrategy live', () => {
  it('patches the ConfigMap and switches every pod: PAUSE, RELOAD, SHOW DATABASES, RESUME', async () => {
    // Prepare
    const { target, namespace, names } = scenario();

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('switched');
    expect(result.changed).toBe(true);
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual(names.map((name) => [name, 'switched']));
    expect(server.configMap(namespace, 'pgbouncer-config')!.data).toEqual({ 'pgbouncer.ini': ini(NEW_WRITER), unrelated: 'stays' });
    for (const name of names) {
      expect(pods.configFile(name)).toBe(ini(NEW_WRITER));
      expect(pods.loadedIni(name)).toBe(ini(NEW_WRITER));
      expect(pods.commands(name)).toEqual(['SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'SHOW DATABASES', 'SHOW CONFIG', 'RESUME "appdb"']);
      expect(pods.isPaused(name, 'appdb')).toBe(false);
    }
    expect(server.deletedPods.filter((pod) => pod.startsWith(`${namespace}/`))).toEqual([]);
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('switches pods the switchover already paused (pauseWrites, then apply) without restarting them', async () => {
    // Prepare: the manual switchover paused the write alias before moving the writer
    const { target, names, namespace } = scenario();
    await target.pauseWrites();

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods.map((pod) => pod.outcome)).toEqual(names.map(() => 'switched'));
    for (const name of names) {
      expect(pods.commands(name)).toEqual(['PAUSE "appdb"', 'SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'SHOW DATABASES', 'SHOW CONFIG', 'RESUME "appdb"']);
      expect(pods.isPaused(name, 'appdb')).toBe(false);
    }
    expect(server.deletedPods.filter((pod) => pod.startsWith(`${namespace}/`))).toEqual([]);
  });

  it('sends the ini only on stdin: the exec argv and the result never carry its password', async () => {
    // Prepare
    const { target } = scenario({ podNames: ['pgbouncer-a'] });

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    const exec = server.requests.find((request) => request.path.endsWith('/exec'))!;
    expect(exec.query.get('stdin')).toBe('true');
    expect(exec.query.getAll('command').slice(0, 2)).toEqual(['sh', '-c']);
    expect(exec.query.getAll('command').join(' ')).not.toContain(PASSWORD);
    expect(JSON.stringify(result)).not.toContain(PASSWORD);
  });

  it('session pool mode: KILL (each session ends once, new ones wait) before RELOAD, never PAUSE, then RESUME', async () => {
    // Prepare
    const { target } = scenario({ configIni: ini(OLD_WRITER, 'session'), podNames: ['pgbouncer-a'] });

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods).toMatchObject([{ pod: 'pgbouncer-a', outcome: 'switched' }]);
    expect(pods.commands('pgbouncer-a')).toEqual([
      'SHOW CONFIG',
      'SHOW DATABASES',
      'KILL "appdb"',
      'RELOAD',
      'SHOW DATABASES',
      'SHOW CONFIG',
      // A client that connected during the hold costs a server_login_retry stall unless it is zeroed across RESUME.
      'SET server_login_retry = 0',
      'RESUME "appdb"',
      'SHOW POOLS',
      "SET server_login_retry = '15'",
    ]);
  });

  it('deletes a pod whose switch fails, reports it restarted, and still resumes it', async () => {
    // Prepare
    const { target, namespace } = scenario();
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('switched-with-restarts');
    expect(result.pods).toEqual([
      expect.objectContaining({ pod: 'pgbouncer-a', outcome: 'switched' }),
      expect.objectContaining({ pod: 'pgbouncer-b', outcome: 'restarted', reason: expect.stringContaining('live switch failed at reload') }),
    ]);
    expect(server.deletedPods).toContain(`${namespace}/pgbouncer-b`);
    // The file is put back and reloaded before RESUME.
    expect(pods.commands('pgbouncer-b')).toEqual(['SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'RELOAD', 'RESUME "appdb"']);
    expect(pods.isPaused('pgbouncer-b', 'appdb')).toBe(false);
  });

  it('restarts a pod whose PAUSE does not finish within liveSwitchTimeoutSeconds, resuming it on the way out', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'], timeoutSeconds: 1 });
    pods.inject('pgbouncer-a', 'hang', 'PAUSE');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods).toEqual([expect.objectContaining({ pod: 'pgbouncer-a', outcome: 'restarted', reason: expect.stringContaining('at pause') })]);
    expect(server.deletedPods).toContain(`${namespace}/pgbouncer-a`);
    expect(pods.commands('pgbouncer-a')).toEqual(['SHOW CONFIG', 'PAUSE "appdb"', 'RESUME "appdb"']);
  });

  it('fails the target naming the pod that can neither switch nor be restarted', async () => {
    // Prepare
    const { target, namespace } = scenario();
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');
    server.refuseDeleteOf.add(`${namespace}/pgbouncer-a`);

    // Act
    const attempt = target.apply(plan([moveWriter]));

    // Assess
    await expect(attempt).rejects.toThrow(TargetFailedError);
    await expect(attempt).rejects.toThrow(/use2-pgbouncer: pod\(s\) neither switched nor restarted: pgbouncer-a \(live switch failed at reload; delete failed too/);
  });

  it('re-reads and re-plans after a 409 conflict, then succeeds', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: [] });
    server.concurrentWritesBeforePatch = 1;

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.changed).toBe(true);
    const configMapCalls = server.requests.filter((request) => request.path === `/api/v1/namespaces/${namespace}/configmaps/pgbouncer-config`);
    expect(configMapCalls.map((request) => request.method)).toEqual(['GET', 'PATCH', 'GET', 'PATCH']);
    expect(configMapCalls.filter((request) => request.method === 'PATCH').every((request) => request.contentType === 'application/merge-patch+json')).toBe(true);
    expect(server.configMap(namespace, 'pgbouncer-config')!.data['pgbouncer.ini']).toBe(ini(NEW_WRITER));
    expect(result.decision.decision).toBe('patched-config');
  });

  it('gives up with ConflictError when the ConfigMap moves under every attempt', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: [] });
    server.concurrentWritesBeforePatch = 99;

    // Act
    const attempt = target.apply(plan([moveWriter]));

    // Assess
    await expect(attempt).rejects.toThrow(ConflictError);
    expect(server.requests.filter((request) => request.method === 'PATCH')).toHaveLength(3);
    expect(server.configMap(namespace, 'pgbouncer-config')!.data['pgbouncer.ini']).toBe(ini(OLD_WRITER));
  });

  it('refuses a change whose `from` is stale and changes nothing', async () => {
    // Prepare
    const { target } = scenario();
    const stale: PoolerChange = { alias: 'appdb', role: 'write', from: { host: 'someone-else.example.com', port: 5432 }, to: NEW_WRITER };

    // Act
    const attempt = target.apply(plan([stale]));

    // Assess
    await expect(attempt).rejects.toThrow(StaleChangeError);
    await expect(attempt).rejects.toThrow(/appdb routes to app-use2\.cluster-abc\.us-east-2\.rds\.amazonaws\.com:5432, but the plan expected someone-else\.example\.com:5432/);
    expect(server.requests.filter((request) => request.method === 'PATCH' || request.path.endsWith('/exec'))).toEqual([]);
  });

  it('is a no-op with decision nothing-to-do when the ConfigMap and every pod already route right', async () => {
    // Prepare
    const { target, names } = scenario({ configIni: ini(NEW_WRITER) });

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('nothing-to-do');
    expect(result.changed).toBe(false);
    expect(result.pods.map((pod) => pod.outcome)).toEqual(['unchanged', 'unchanged']);
    expect(server.requests.filter((request) => request.method === 'PATCH' || request.method === 'DELETE')).toEqual([]);
    for (const name of names) expect(pods.commands(name)).toEqual(['SHOW DATABASES']);
  });

  it('a pod routing right but with its write alias left paused (SIGPIPE, a run that died) is not converged: it is switched and resumed', async () => {
    // Prepare
    const { target, names } = scenario({ configIni: ini(NEW_WRITER), podIni: ini(NEW_WRITER), podNames: ['pgbouncer-a', 'pgbouncer-b'] });
    // Leave pgbouncer-a paused, as a script killed between PAUSE and RESUME would.
    writeFileSync(join(pods.stateDir('pgbouncer-a'), 'paused.appdb'), '');

    // Act
    const result = await target.apply(plan([]));

    // Assess
    expect(result.pods).toMatchObject([
      { pod: 'pgbouncer-a', outcome: 'switched' },
      { pod: 'pgbouncer-b', outcome: 'unchanged' },
    ]);
    for (const name of names) expect(pods.isPaused(name, 'appdb')).toBe(false);
  });

  it('switches a pod that lags behind an already-patched ConfigMap (a run that died mid-way)', async () => {
    // Prepare
    const { target } = scenario({ configIni: ini(NEW_WRITER), podIni: ini(OLD_WRITER), podNames: ['pgbouncer-a'] });

    // Act
    const result = await target.apply(plan([]));

    // Assess
    expect(result.changed).toBe(true);
    expect(result.pods).toMatchObject([{ pod: 'pgbouncer-a', outcome: 'switched' }]);
    expect(pods.loadedIni('pgbouncer-a')).toBe(ini(NEW_WRITER));
    expect(server.requests.filter((request) => request.method === 'PATCH')).toEqual([]);
  });
});

describe('EksPoolerTarget.apply with reloadStrategy rollout-restart', () => {
  it('patches the ConfigMap and stamps restartedAt on the Deployment, without exec', async () => {
    // Prepare
    const { target, namespace } = scenario({ strategy: 'rollout-restart' });

    // Act
    const result = await target.apply(plan([moveWriter], 'rollout-restart'));

    // Assess
    expect(result.decision.decision).toBe('restarted');
    const restart = server.requests.find((request) => request.path === `/apis/apps/v1/namespaces/${namespace}/deployments/pgbouncer`)!;
    expect(restart).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json', authorization: `Bearer ${TOKEN}` });
    expect(server.workloadAnnotations.get(`${namespace}/deployments/pgbouncer`)!['kubectl.kubernetes.io/restartedAt']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(server.requests.some((request) => request.path.endsWith('/exec'))).toBe(false);
  });
});

describe('EksPoolerTarget.pauseWrites / resumeWrites', () => {
  it('PAUSEs and RESUMEs the write alias in every pod, tolerating "already paused" and "not paused"', async () => {
    // Prepare
    const { target, names } = scenario();
    pods.addPod('unused', ini(OLD_WRITER));

    // Act
    const paused = await target.pauseWrites();
    const pausedAgain = await target.pauseWrites();
    const allPaused = names.map((name) => pods.isPaused(name, 'appdb'));
    const resumed = await target.resumeWrites();
    const resumedAgain = await target.resumeWrites();

    // Assess
    expect([paused.decision, pausedAgain.decision, resumed.decision, resumedAgain.decision]).toEqual(['paused', 'paused', 'resumed', 'resumed']);
    expect(allPaused).toEqual([true, true]);
    for (const name of names) {
      expect(pods.isPaused(name, 'appdb')).toBe(false);
      expect(pods.commands(name)).toEqual(['PAUSE "appdb"', 'PAUSE "appdb"', 'RESUME "appdb"', 'RESUME "appdb"']);
    }
  });

  it('session pool mode: KILLs the write alias in every pod (PAUSE would wait for clients), once, and RESUMEs it', async () => {
    // Prepare
    const { target, names } = scenario({ configIni: ini(OLD_WRITER, 'session') });

    // Act
    const decision = await target.pauseWrites();
    const again = await target.pauseWrites();
    const resumed = await target.resumeWrites();

    // Assess: the second KILL is skipped in the pod (the alias is already held), so waiting sessions survive.
    expect(decision).toMatchObject({ decision: 'paused', reason: expect.stringContaining('KILL appdb (session pool mode') });
    expect(again.decision).toBe('paused');
    expect(resumed.decision).toBe('resumed');
    for (const name of names) {
      expect(pods.commands(name)).toEqual(['SHOW DATABASES', 'KILL "appdb"', 'SHOW DATABASES', 'RESUME "appdb"']);
      expect(pods.isPaused(name, 'appdb')).toBe(false);
    }
  });

  it('resumes the pods that paused when another pod cannot pause, and names that pod', async () => {
    // Prepare
    const { target } = scenario();
    pods.inject('pgbouncer-b', 'fail', 'PAUSE');

    // Act
    const attempt = target.pauseWrites();

    // Assess
    await expect(attempt).rejects.toThrow(/PAUSE appdb failed on pgbouncer-b \(pause\); resumed the others/);
    expect(pods.isPaused('pgbouncer-a', 'appdb')).toBe(false);
  });
});
