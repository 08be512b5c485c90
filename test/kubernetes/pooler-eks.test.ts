import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { EksPoolerTarget, NEEDS_OPERATOR_ANNOTATION, NEEDS_OPERATOR_CONFIG_ANNOTATION } from '../../lib/adapters/pooler-eks.ts';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import type { PoolerTargetConfig } from '../../lib/core/config.ts';
import { decide } from '../../lib/core/decision.ts';
import { ConflictError, InvalidConfigError, ServiceUnavailableError, StaleChangeError, TargetFailedError } from '../../lib/core/errors.ts';
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
  pods?.cleanup();
});
beforeEach(() => {
  server.requests.length = 0;
  server.concurrentWritesBeforePatch = 0;
  server.execUpgradeStatus = null;
  server.ignoreLabelSelector = false;
  pods?.cleanup();
  pods = new FakePgBouncerPods();
  server.execHandler = pods.exec;
});

interface ScenarioOptions {
  strategy?: 'live' | 'rollout-restart';
  configIni?: string;
  podIni?: string;
  podNames?: string[];
  timeoutSeconds?: number;
  podSelector?: string;
  /**
   * The workload controller: an evicted pod is replaced by `<name>-r` (Running, Ready), whose PgBouncer loads
   * what this returns (default: the ConfigMap as it is now, as the init container copies it).
   */
  replacementLoads?: (configMapIni: string) => string;
  /** Admin commands that fail in every replacement pod (e.g. RELOAD: its live switch cannot fix it either). */
  replacementFailing?: string[];
}

/** A fresh namespace with the ConfigMap, the Deployment and `podNames` ready pods running `podIni`. */
function scenario(options: ScenarioOptions = {}) {
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
  server.onEvicted = (evictedFrom, evicted) => {
    const current = server.configMap(evictedFrom, 'pgbouncer-config')!.data['pgbouncer.ini']!;
    const name = `${evicted.name}-r`;
    pods.addPod(name, (options.replacementLoads ?? ((text) => text))(current));
    for (const verb of options.replacementFailing ?? []) pods.inject(name, 'fail', verb);
    server.addPod(evictedFrom, { name, labels: evicted.labels, containers: evicted.containers });
  };
  const config: PoolerTargetConfig = {
    name: 'use2-pgbouncer',
    eksCluster: 'app-use2',
    namespace,
    configMap: 'pgbouncer-config',
    key: 'pgbouncer.ini',
    workload: { kind: 'Deployment', name: 'pgbouncer' },
    podSelector: options.podSelector ?? 'app=pgbouncer',
    reloadStrategy: options.strategy ?? 'live',
    aliases: { write: 'appdb', read: 'appdb_ro' },
    adminContainer: 'pgbouncer-admin',
    liveSwitchTimeoutSeconds: options.timeoutSeconds ?? 5,
  };
  const api = new KubernetesClient({ server: url, certificateAuthority: certificates.caCert, token: TOKEN });
  // Restarts wait for replacements in short polls here; the replacement appears as soon as the eviction answers.
  const target = new EksPoolerTarget({ target: config, region: 'us-east-2', api, restartBounds: { readyTimeoutMs: 500, pollMs: 20, budgetMs: 60_000 } });
  return { namespace, names, target };
}

/** The eviction and exec requests in the order the adapter sent them, as `evict <pod>` / `exec <pod>`. */
function podCalls(namespace: string): string[] {
  return server.requests
    .map((request) => new RegExp(`^/api/v1/namespaces/${namespace}/pods/([^/]+)/(eviction|exec)$`).exec(request.path))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => `${match[2] === 'eviction' ? 'evict' : 'exec'} ${match[1]}`);
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

  it('switches pods that run an older [pgbouncer] text than the ConfigMap (an operator edit restarts nothing): no rollback, no eviction', async () => {
    // Prepare: the operator added default_pool_size = 30 to the ConfigMap; the pods still run the copy they made at start.
    const edited = ini(OLD_WRITER).replace('admin_users = pgbouncer\n', 'admin_users = pgbouncer\ndefault_pool_size = 30\n');
    const { target, namespace, names } = scenario({ configIni: edited, podIni: ini(OLD_WRITER) });

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual(names.map((name) => [name, 'switched']));
    expect(result.decision.decision).toBe('switched');
    for (const name of names) expect(pods.loadedIni(name)).toBe(edited.replace(`host=${OLD_WRITER.host}`, `host=${NEW_WRITER.host}`));
    expect(podCalls(namespace).filter((call) => call.startsWith('evict'))).toEqual([]);
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

  it('evicts a Ready pod whose switch fails (never deletes it), resumes it first, and verifies its replacement', async () => {
    // Prepare
    const { target, namespace } = scenario();
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('switched-with-restarts');
    expect(result.pods).toEqual([
      expect.objectContaining({ pod: 'pgbouncer-a', outcome: 'switched' }),
      expect.objectContaining({
        pod: 'pgbouncer-b',
        outcome: 'restarted',
        reason: expect.stringMatching(/live switch failed at reload; evicted; its replacement pgbouncer-b-r routes appdb -> app-usw2\S+:5432, .* \(verified with SHOW DATABASES\)/),
      }),
    ]);
    expect(server.evictedPods).toEqual([`${namespace}/pgbouncer-b`]);
    expect(server.deletedPods.filter((pod) => pod.startsWith(`${namespace}/`))).toEqual([]);
    // The file is put back and reloaded before RESUME.
    expect(pods.commands('pgbouncer-b')).toEqual(['SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'RELOAD', 'RESUME "appdb"']);
    expect(pods.isPaused('pgbouncer-b', 'appdb')).toBe(false);
    expect(pods.commands('pgbouncer-b-r')).toEqual(['SHOW DATABASES']);
  });

  it('restarts one pod at a time: the next eviction waits until the previous replacement is verified', async () => {
    // Prepare: three pods, a budget that allows one disruption at a time, and every live switch failing
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a', 'pgbouncer-b', 'pgbouncer-c'] });
    server.addDisruptionBudget(namespace, { name: 'pgbouncer', matchLabels: { app: 'pgbouncer' }, minAvailable: 2 });
    for (const name of ['pgbouncer-a', 'pgbouncer-b', 'pgbouncer-c']) pods.inject(name, 'fail', 'RELOAD');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual([
      ['pgbouncer-a', 'restarted'],
      ['pgbouncer-b', 'restarted'],
      ['pgbouncer-c', 'restarted'],
    ]);
    expect(podCalls(namespace).slice(3)).toEqual([
      'evict pgbouncer-a',
      'exec pgbouncer-a-r',
      'evict pgbouncer-b',
      'exec pgbouncer-b-r',
      'evict pgbouncer-c',
      'exec pgbouncer-c-r',
    ]);
  });

  it('stops restarting when a PodDisruptionBudget refuses an eviction (429), deletes nothing, and fails the target naming the budget', async () => {
    // Prepare
    const { target, namespace } = scenario();
    server.addDisruptionBudget(namespace, { name: 'pgbouncer', matchLabels: { app: 'pgbouncer' }, minAvailable: 2 });
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');

    // Act
    const attempt = target.apply(plan([moveWriter]));

    // Assess
    await expect(attempt).rejects.toThrow(TargetFailedError);
    await expect(attempt).rejects.toThrow(
      /pgbouncer-a \(live switch failed at reload; eviction refused: .*429: Cannot evict pod as it would violate the pod's disruption budget\. The disruption budget pgbouncer needs 2 healthy pods and has 2 currently\)/,
    );
    await expect(attempt).rejects.toThrow(/pgbouncer-b \(live switch failed at reload; not restarted: an eviction was refused \(PodDisruptionBudget\); no pod is deleted instead/);
    expect(podCalls(namespace).filter((call) => call.startsWith('evict'))).toEqual(['evict pgbouncer-a']);
    expect(server.pods(namespace).map((pod) => pod.name)).toEqual(['pgbouncer-a', 'pgbouncer-b']);
    expect(server.requests.some((request) => request.method === 'DELETE')).toBe(false);
  });

  it('restarts a pod whose PAUSE does not finish within liveSwitchTimeoutSeconds, resuming it on the way out', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'], timeoutSeconds: 1 });
    pods.inject('pgbouncer-a', 'hang', 'PAUSE');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods).toEqual([expect.objectContaining({ pod: 'pgbouncer-a', outcome: 'restarted', reason: expect.stringContaining('at pause') })]);
    expect(server.evictedPods).toContain(`${namespace}/pgbouncer-a`);
    expect(pods.commands('pgbouncer-a')).toEqual(['SHOW CONFIG', 'PAUSE "appdb"', 'RESUME "appdb"']);
  });

  it('reports needs-operator when a freshly started pod routes wrongly too, marks the ConfigMap, and later runs restart nothing', async () => {
    // Prepare: an %include in the image redefines appdb, so a pod started from the new ConfigMap still routes to the
    // old writer, and a live switch cannot fix it either (its RELOAD fails here)
    const { target, namespace } = scenario({ replacementLoads: () => ini(OLD_WRITER), replacementFailing: ['RELOAD'] });
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');

    // Act
    const first = await target.apply(plan([moveWriter]));
    const second = await target.apply(plan([]));

    // Assess: one pod evicted, then the target is reported, not looped on
    expect(first.decision.decision).toBe('needs-operator');
    expect(first.decision.reason).toMatch(/pod pgbouncer-a-r, freshly started from configmap pgb-\d+\/pgbouncer-config, routes appdb -> app-use2\S+:5432, .* instead of appdb -> app-usw2/);
    expect(first.pods.map((pod) => [pod.pod, pod.outcome])).toEqual([
      ['pgbouncer-a', 'failed'],
      ['pgbouncer-b', 'failed'],
    ]);
    expect(first.pods[1]!.reason).toMatch(/not restarted: a freshly started pod routes wrongly too/);
    const annotations = server.configMap(namespace, 'pgbouncer-config')!.annotations;
    expect(annotations[NEEDS_OPERATOR_ANNOTATION]).toMatch(/^pod pgbouncer-a-r, freshly started/);
    expect(annotations[NEEDS_OPERATOR_CONFIG_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
    expect(second.decision.decision).toBe('needs-operator');
    expect(second.decision.reason).toMatch(/an earlier run found that pod pgbouncer-a-r/);
    expect(server.evictedPods.filter((pod) => pod.startsWith(`${namespace}/`))).toEqual([`${namespace}/pgbouncer-a`]);
    // The failed switch puts the old file back (second RELOAD) before RESUME; the later run checks, tries the
    // harmless live switch again (it fails the same way and resumes), and evicts nothing.
    const liveSwitch = ['SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'RELOAD', 'RESUME "appdb"'];
    expect(pods.commands('pgbouncer-b')).toEqual([...liveSwitch, 'SHOW DATABASES', ...liveSwitch]);
    expect(server.requests.some((request) => request.method === 'DELETE')).toBe(false);
  });

  it('with a needs-operator mark still switches live (ending in RESUME): a paused pod is resumed, a pod whose switch fails is reported, never evicted', async () => {
    // Prepare: an earlier run marked this ConfigMap text; pgbouncer-a was left paused (a run that died between
    // PAUSE and RESUME), pgbouncer-b still routes to the old writer and its RELOAD fails.
    const { target, namespace } = scenario({ configIni: ini(NEW_WRITER), podIni: ini(NEW_WRITER), podNames: ['pgbouncer-a'] });
    server.addPod(namespace, { name: 'pgbouncer-b', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    pods.addPod('pgbouncer-b', ini(OLD_WRITER));
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');
    writeFileSync(join(pods.stateDir('pgbouncer-a'), 'paused.appdb'), '');
    server.annotateConfigMap(namespace, 'pgbouncer-config', {
      [NEEDS_OPERATOR_ANNOTATION]: 'pod pgbouncer-x-r, freshly started from configmap, routes wrongly',
      [NEEDS_OPERATOR_CONFIG_ANNOTATION]: createHash('sha256').update(ini(NEW_WRITER), 'utf8').digest('hex'),
    });

    // Act
    const result = await target.apply(plan([]));

    // Assess
    expect(result.decision.decision).toBe('needs-operator');
    expect(result.pods).toMatchObject([
      { pod: 'pgbouncer-a', outcome: 'switched' },
      { pod: 'pgbouncer-b', outcome: 'failed' },
    ]);
    expect(result.pods[1]!.reason).toMatch(/live switch failed at reload.*not restarted: an earlier run found that pod pgbouncer-x-r/);
    expect(pods.isPaused('pgbouncer-a', 'appdb')).toBe(false);
    expect(pods.isPaused('pgbouncer-b', 'appdb')).toBe(false);
    expect(pods.commands('pgbouncer-b')).toContain('RESUME "appdb"');
    expect(podCalls(namespace).filter((call) => call.startsWith('evict'))).toEqual([]);
    expect(server.configMap(namespace, 'pgbouncer-config')!.annotations[NEEDS_OPERATOR_CONFIG_ANNOTATION]).toMatch(/^[0-9a-f]{64}$/);
  });

  it('never takes a pod created before the eviction for the replacement (a Pending pod listed late): no false needs-operator mark', async () => {
    // Prepare: pgbouncer-a cannot switch live, so it is evicted; just then a pod created a minute ago (Pending
    // during the passes, started from the ConfigMap before the patch) becomes Ready and is listed first.
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'] });
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');
    const controller = server.onEvicted!;
    server.onEvicted = (evictedFrom, evicted) => {
      const early = new Date(Date.now() - 60_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
      server.addPod(evictedFrom, { name: 'pgbouncer-early', labels: evicted.labels, containers: evicted.containers, creationTimestamp: early });
      pods.addPod('pgbouncer-early', ini(OLD_WRITER));
      controller(evictedFrom, evicted);
    };

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('switched-with-restarts');
    expect(result.pods).toMatchObject([{ pod: 'pgbouncer-a', outcome: 'restarted' }]);
    expect(result.pods[0]!.reason).toMatch(/its replacement pgbouncer-a-r routes appdb -> app-usw2/);
    expect(podCalls(namespace)).not.toContain('exec pgbouncer-early');
    expect(server.configMap(namespace, 'pgbouncer-config')!.annotations).toEqual({});
  });

  it('switches a replacement that started from the ConfigMap before the patch live, and marks nothing', async () => {
    // Prepare: the replacement copied the ConfigMap text from before the patch (a kubelet cache that lags)
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'], replacementLoads: () => ini(OLD_WRITER) });
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.decision.decision).toBe('switched-with-restarts');
    expect(result.pods).toMatchObject([{ pod: 'pgbouncer-a', outcome: 'restarted' }]);
    expect(result.pods[0]!.reason).toMatch(/its replacement pgbouncer-a-r routed appdb -> app-use2\S+, .* switched live/);
    expect(pods.loadedIni('pgbouncer-a-r')).toBe(ini(NEW_WRITER));
    expect(pods.isPaused('pgbouncer-a-r', 'appdb')).toBe(false);
    expect(server.configMap(namespace, 'pgbouncer-config')!.annotations).toEqual({});
  });

  it('lifts the needs-operator mark once every pod routes right (an operator fixed what the text includes)', async () => {
    // Prepare: a first run marked the ConfigMap; then the operator fixed the include and restarted the pods by hand
    const { target, namespace } = scenario({ replacementLoads: () => ini(OLD_WRITER), replacementFailing: ['RELOAD'] });
    pods.inject('pgbouncer-a', 'fail', 'RELOAD');
    pods.inject('pgbouncer-b', 'fail', 'RELOAD');
    await target.apply(plan([moveWriter]));
    for (const name of ['pgbouncer-a-r', 'pgbouncer-b']) pods.addPod(name, ini(NEW_WRITER));

    // Act
    const result = await target.apply(plan([]));

    // Assess
    expect(result.decision.decision).toBe('nothing-to-do');
    expect(server.configMap(namespace, 'pgbouncer-config')!.annotations).toEqual({});
  });

  it('never touches a selected pod that lacks the admin container, and fails the target naming it', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'] });
    server.addPod(namespace, { name: 'pgbouncer-plain', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'] });

    // Act
    const attempt = target.apply(plan([moveWriter]));

    // Assess
    await expect(attempt).rejects.toThrow(/pgbouncer-plain \(matches app=pgbouncer but has no pgbouncer-admin container: never exec'd into or evicted/);
    expect(podCalls(namespace)).toEqual(['exec pgbouncer-a']);
    expect(server.pods(namespace).map((pod) => pod.name)).toEqual(['pgbouncer-a', 'pgbouncer-plain']);
    expect(server.requests.some((request) => request.method === 'DELETE')).toBe(false);
  });

  it('execs only into pods whose labels match the selector, even when the pod list ignores the selector', async () => {
    // Prepare: a pod of another workload with a container of the same name, listed by a misbehaving API path
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'], podSelector: 'app=pgbouncer,track!=canary' });
    server.addPod(namespace, { name: 'canary-1', labels: { app: 'pgbouncer', track: 'canary' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    server.addPod(namespace, { name: 'web-1', labels: { app: 'web' }, containers: ['pgbouncer-admin'] });
    server.ignoreLabelSelector = true;

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods.map((pod) => pod.pod)).toEqual(['pgbouncer-a']);
    expect(podCalls(namespace)).toEqual(['exec pgbouncer-a']);
  });

  it('refuses a target whose selector is made only of != terms', () => {
    // Act + Assess
    expect(() => scenario({ podSelector: 'app!=web' })).toThrow(InvalidConfigError);
    expect(() => scenario({ podSelector: 'app!=web' })).toThrow(/use2-pgbouncer: podSelector "app!=web" has no key=value term/);
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

  it('a pod check (verify-pods) that Kubernetes answers 503 is a transient ServiceUnavailableError, not TargetFailedError', async () => {
    // Prepare: ConfigMap already right; every exec upgrade answers 503
    const { target } = scenario({ configIni: ini(NEW_WRITER) });
    server.execUpgradeStatus = '503 Service Unavailable';

    // Act
    const attempt = target.apply(plan([]));

    // Assess: the state machine retries this name; nothing was patched or deleted
    await expect(attempt).rejects.toThrow(ServiceUnavailableError);
    await expect(attempt).rejects.toThrow(/could not read SHOW DATABASES: .*503/);
    expect(server.requests.filter((request) => request.method === 'PATCH' || request.method === 'DELETE')).toEqual([]);
  });

  it('a pod whose live switch Kubernetes refuses with 5xx is neither evicted nor a fatal failure: transient, retried', async () => {
    // Prepare: every exec upgrade answers 503
    const { target } = scenario({ podNames: ['pgbouncer-a'] });
    server.execUpgradeStatus = '503 Service Unavailable';

    // Act
    const attempt = target.apply(plan([moveWriter]));

    // Assess
    await expect(attempt).rejects.toThrow(ServiceUnavailableError);
    await expect(attempt).rejects.toThrow(/pgbouncer-a \(live switch failed: .*not evicted \(a transient Kubernetes error\)/);
    expect(server.requests.some((request) => request.path.endsWith('/eviction'))).toBe(false);
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

describe('EksPoolerTarget.apply: stragglers (every run checks every pod it can reach)', () => {
  it('checks and switches a Running pod that is not Ready yet (its init container copied the old ConfigMap)', async () => {
    // Prepare: the ConfigMap is already right; one pod is Running but not Ready, on the old file
    const { target, namespace } = scenario({ configIni: ini(NEW_WRITER), podNames: ['pgbouncer-a'] });
    server.addPod(namespace, { name: 'pgbouncer-late', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'], ready: false });
    pods.addPod('pgbouncer-late', ini(OLD_WRITER));

    // Act
    const result = await target.apply(plan([]));

    // Assess
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual([
      ['pgbouncer-a', 'unchanged'],
      ['pgbouncer-late', 'switched'],
    ]);
    expect(pods.loadedIni('pgbouncer-late')).toBe(ini(NEW_WRITER));
    expect(result.changed).toBe(true);
  });

  it('never evicts a pod that is not Ready: it is reported skipped and does not fail the target', async () => {
    // Prepare
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'] });
    server.addPod(namespace, { name: 'pgbouncer-starting', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'], ready: false });
    pods.addPod('pgbouncer-starting', ini(OLD_WRITER));
    pods.inject('pgbouncer-starting', 'fail', 'RELOAD');

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods).toEqual([
      expect.objectContaining({ pod: 'pgbouncer-a', outcome: 'switched' }),
      expect.objectContaining({ pod: 'pgbouncer-starting', outcome: 'skipped', reason: expect.stringMatching(/live switch failed at reload; not Ready .* never evicted/) }),
    ]);
    expect(result.decision.reason).toMatch(/1 not Ready and not yet right \(pgbouncer-starting\): the next run checks them again/);
    expect(server.evictedPods.filter((pod) => pod.startsWith(`${namespace}/`))).toEqual([]);
  });

  it('also checks pods that started while the switch ran, in the same run', async () => {
    // Prepare: while pgbouncer-a switches, a new replica starts from the ConfigMap as it was before the patch
    const { target, namespace } = scenario({ podNames: ['pgbouncer-a'] });
    const exec = server.execHandler;
    let started = false;
    server.execHandler = async (call) => {
      if (!started) {
        started = true;
        server.addPod(namespace, { name: 'pgbouncer-new', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
        pods.addPod('pgbouncer-new', ini(OLD_WRITER));
      }
      return exec(call);
    };

    // Act
    const result = await target.apply(plan([moveWriter]));

    // Assess
    expect(result.pods.map((pod) => [pod.pod, pod.outcome])).toEqual([
      ['pgbouncer-a', 'switched'],
      ['pgbouncer-new', 'switched'],
    ]);
    expect(pods.commands('pgbouncer-new')).toEqual(['SHOW DATABASES', 'SHOW CONFIG', 'PAUSE "appdb"', 'RELOAD', 'SHOW DATABASES', 'SHOW CONFIG', 'RESUME "appdb"']);
    expect(pods.loadedIni('pgbouncer-new')).toBe(ini(NEW_WRITER));
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
    await expect(attempt).rejects.toThrow(TargetFailedError); // PgBouncer refused: retrying the same will not help
    await expect(attempt).rejects.toThrow(/PAUSE appdb failed on pgbouncer-b \(pause\); resumed the others/);
    expect(pods.isPaused('pgbouncer-a', 'appdb')).toBe(false);
  });
});
