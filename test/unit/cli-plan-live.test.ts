/**
 * `aurora-failover plan --live`, run in-process: AWS stubbed at the SDK (the workflow harness's stateful
 * RDS / Global Accelerator / Route 53 fakes, RDS serving the events/topology snapshots), the pooler
 * target a strict in-memory fake injected where the Lambda would connect to EKS.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, FailoverGlobalClusterCommand, SwitchoverGlobalClusterCommand, type DBCluster, type GlobalClustersMessage } from '@aws-sdk/client-rds';
import { DescribeEndpointGroupCommand, UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { UpstreamError } from '../../lib/core/errors.ts';
import { MetricName } from '../../lib/core/metrics.ts';
import { ReloadStrategy } from '../../lib/core/constants.ts';
import { decide } from '../../lib/core/decision.ts';
import type { PoolerTargetConfig } from '../../lib/core/config.ts';
import type { PoolerPlan } from '../../lib/core/types.ts';
import { observeOnlyWorld, ReadOnlyWorldError } from '../../lib/cli/observe-only-world.ts';
import { runPlanCli, type PlanCliDeps, type PlanOutput } from '../../lib/cli/plan.ts';
import { GA_USE2, GA_USW2, sdkError } from '../adapters/aws-fixtures.ts';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import { EksPoolerTarget } from '../../lib/adapters/pooler-eks.ts';
import { FakeKubernetesServer } from '../support/kubernetes-server.ts';
import { MemoryPoolerTarget } from '../support/memory-pooler.ts';
import { createTestCertificates } from '../support/test-ca.ts';
import { WorkflowHarness } from '../support/workflow-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG = join(ROOT, 'config/example.yml');
const BEFORE_INI = readFileSync(join(ROOT, 'events/pgbouncer/use2-before-switchover.ini'), 'utf8');
const USE2_WRITER = { host: 'app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };
const USW2_WRITER = { host: 'app-usw2.cluster-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 };
const READ_ONLY_COMMANDS = ['DescribeGlobalClustersCommand', 'DescribeDBClustersCommand', 'DescribeEndpointGroupCommand', 'ListResourceRecordSetsCommand'];

interface Snapshot {
  describeGlobalClusters: GlobalClustersMessage;
  describeDBClusters: Array<{ DBClusters: DBCluster[] }>;
}

let harness: WorkflowHarness;
let pooler: MemoryPoolerTarget;
let deps: PlanCliDeps;
let connected: string[];

beforeEach(async () => {
  harness = new WorkflowHarness();
  const target = (await loadConfigFile(CONFIG)).regions['us-east-2']!.poolers[0]!;
  pooler = new MemoryPoolerTarget(target, 'us-east-2', BEFORE_INI);
  connected = [];
  deps = {
    connectPooler: async (config: PoolerTargetConfig, region: string) => {
      connected.push(`${config.name} in ${region}`);
      return pooler;
    },
  };
});

afterEach(() => harness.restore());

/** RDS answers from a topology snapshot file: the same data the file mode reads. */
function serveTopology(name: string): void {
  const snapshot = JSON.parse(readFileSync(join(ROOT, `events/topology/${name}.json`), 'utf8')) as Snapshot;
  const clusters = snapshot.describeDBClusters.flatMap((response) => response.DBClusters);
  harness.rds.reset();
  harness.rds.on(DescribeGlobalClustersCommand).resolves(snapshot.describeGlobalClusters);
  harness.rds.on(DescribeDBClustersCommand).callsFake((input: { DBClusterIdentifier?: string }) => ({
    DBClusters: clusters.filter((cluster) => cluster.DBClusterArn === input.DBClusterIdentifier),
  }));
}

async function cli(argv: string[], withDeps: PlanCliDeps = deps) {
  let stdout = '';
  let stderr = '';
  const status = await runPlanCli(argv, { stdout: (text) => void (stdout += text), stderr: (text) => void (stderr += text) }, withDeps);
  return { status, stdout, stderr };
}

function live(...extra: string[]) {
  return cli(['--live', '--config', CONFIG, ...extra]);
}

/** The class name of every command sent to any mocked AWS client. */
function commandsSent(): string[] {
  const mocks = [harness.rds, harness.ga, harness.route53, harness.sfn, harness.cloudwatch];
  return mocks.flatMap((mock) => mock.calls().map((call) => (call.args[0] as object).constructor.name));
}

describe('aurora-failover plan --live', () => {
  it('after a switchover: plans the write alias to us-west-2 and traffic to follow, and only reads', async () => {
    // Prepare
    serveTopology('after-switchover');

    // Act
    const { status, stdout, stderr } = await live('--region', 'us-east-2');

    // Assess
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const output = JSON.parse(stdout) as PlanOutput;
    expect(output.poolers).toEqual([{ target: 'use2-pgbouncer', changes: [{ alias: 'appdb', from: USE2_WRITER, to: USW2_WRITER }] }]);
    expect(output.traffic.map((change) => `${change.kind} ${change.region} ${change.from}->${change.to}`)).toEqual([
      'global-accelerator us-east-2 100->50',
      'global-accelerator us-west-2 50->100',
      'route53 us-east-2 100->50',
      'route53 us-west-2 50->100',
    ]);
    expect(output.decisions.map((decision) => `${decision.step} ${decision.decision}`)).toEqual([
      'observe-topology proceed',
      'verify-writer proceed',
      'desired-endpoints proceed',
      'pooler:use2-pgbouncer apply',
      'traffic shift',
      'output omit-ini',
    ]);
    // Nothing changed: only reads reached AWS, the pooler was only observed, weights are as they were.
    expect([...new Set(commandsSent())].sort()).toEqual([...READ_ONLY_COMMANDS].sort());
    expect(harness.ga.commandCalls(UpdateEndpointGroupCommand)).toHaveLength(0);
    expect(harness.route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(0);
    expect(harness.rds.commandCalls(SwitchoverGlobalClusterCommand)).toHaveLength(0);
    expect(harness.rds.commandCalls(FailoverGlobalClusterCommand)).toHaveLength(0);
    expect(harness.dials).toEqual({ [GA_USE2]: 100, [GA_USW2]: 50 });
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(pooler.calls).toEqual(['observe']);
    expect(pooler.ini).toBe(BEFORE_INI);
    expect(connected).toEqual(['use2-pgbouncer in us-east-2']);
  });

  it('gives the same plan as the file mode on the same topology, ini and weights, without printing the ini', async () => {
    // Prepare
    serveTopology('after-switchover');
    const fileMode = await cli([
      '--config', CONFIG,
      '--topology', join(ROOT, 'events/topology/after-switchover.json'),
      '--pooler-ini', join(ROOT, 'events/pgbouncer/use2-before-switchover.ini'),
      '--traffic', join(ROOT, 'events/traffic/before-switchover.json'),
    ]);
    const fromFiles = JSON.parse(fileMode.stdout) as PlanOutput;

    // Act
    const fromAws = JSON.parse((await live()).stdout) as PlanOutput;

    // Assess
    expect(fromAws.poolers).toEqual(fromFiles.poolers.map(({ target, changes }) => ({ target, changes })));
    expect(fromAws.traffic).toEqual(fromFiles.traffic);
    const planned = (output: PlanOutput) => output.decisions.filter((decision) => /^(desired-endpoints|pooler:|traffic)/.test(decision.step));
    expect(planned(fromAws)).toEqual(planned(fromFiles));
    expect(fromAws.poolers[0]).not.toHaveProperty('ini');
    expect(fromAws.decisions.at(-1)?.reason).toMatch(/^with --live the new pgbouncer\.ini is not printed/);
  });

  it('before a switchover: nothing to do, and no password reaches the output', async () => {
    serveTopology('before-switchover');

    const { status, stdout } = await live();

    expect(status).toBe(0);
    const output = JSON.parse(stdout) as PlanOutput;
    expect(output.poolers).toEqual([{ target: 'use2-pgbouncer', changes: [] }]);
    expect(output.traffic).toEqual([]);
    expect(output.decisions.find((decision) => decision.step === 'pooler:use2-pgbouncer')?.decision).toBe('nothing-to-do');
    expect(stdout).not.toMatch(/s3cret|r3ad0nly|password=/);
  });

  it('during a switchover: exit 2, the same reason as the file mode on stderr, nothing on stdout, the pooler not even read', async () => {
    serveTopology('during-switchover');

    const { status, stdout, stderr } = await live();

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'aurora-failover plan: WriterNotVerifiedError: not planning: a global switchover from app-use2 in us-east-2 to app-usw2 in us-west-2 is in progress (FailoverState status switching-over)\n',
    );
    expect(pooler.calls).toEqual([]);
  });

  it.each([
    [['--topology', 'events/topology/after-switchover.json'], '--topology'],
    [['--pooler-ini', 'events/pgbouncer/use2-before-switchover.ini'], '--pooler-ini'],
    [['--topology', 't.json', '--pooler-ini', 'p.ini'], '--topology, --pooler-ini'],
    [['--traffic', 'events/traffic/before-switchover.json'], '--traffic'],
    [['--reveal-secrets'], '--reveal-secrets'],
  ])('--live with %j: exit 2 naming the conflict, nothing read', async (extra, named) => {
    serveTopology('after-switchover');

    const { status, stdout, stderr } = await live(...extra);

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`aurora-failover plan: InvalidInputError: --live reads the world itself and cannot be combined with ${named}\n`);
    expect(commandsSent()).toEqual([]);
    expect(connected).toEqual([]);
  });

  it('without AWS credentials: exit 2, the SDK error mapped and where --live looks for credentials', async () => {
    // Prepare: what the SDK throws when the default provider chain finds nothing
    harness.rds.reset();
    harness.rds.on(DescribeGlobalClustersCommand).rejects(Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));

    // Act
    const { status, stdout, stderr } = await live();

    // Assess
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^aurora-failover plan: UpstreamError: rds:DescribeGlobalClusters app-global in us-east-2 failed: CredentialsProviderError: Could not load credentials from any providers \(--live uses the default AWS credential provider chain: /);
  });

  it('the RDS API unreachable: exit 2 with the network error mapped', async () => {
    harness.rds.reset();
    harness.rds.on(DescribeGlobalClustersCommand).rejects(Object.assign(new Error('connect ECONNREFUSED 52.94.0.1:443'), { code: 'ECONNREFUSED' }));

    const { status, stdout, stderr } = await live();

    expect([status, stdout]).toEqual([2, '']);
    expect(stderr).toBe('aurora-failover plan: ServiceUnavailableError: rds:DescribeGlobalClusters app-global in us-east-2 failed: Error (ECONNREFUSED): connect ECONNREFUSED 52.94.0.1:443\n');
  });

  it('a pooler target that cannot be read (no EKS access): exit 2 naming the target, no partial plan', async () => {
    serveTopology('after-switchover');
    const denied = new UpstreamError('eks:DescribeCluster app-use2 in us-east-2 failed: AccessDeniedException: not authorized');

    const { status, stdout, stderr } = await cli(['--live', '--config', CONFIG], {
      connectPooler: async () => {
        throw denied;
      },
    });

    expect([status, stdout]).toEqual([2, '']);
    expect(stderr).toBe(`aurora-failover plan: UpstreamError: could not observe pooler target use2-pgbouncer: UpstreamError: ${denied.message}\n`);
  });

  it('traffic weights that cannot be read: exit 2 naming the traffic system', async () => {
    serveTopology('after-switchover');
    harness.ga.on(DescribeEndpointGroupCommand).rejects(sdkError('AccessDeniedException', { status: 403, message: 'User is not authorized to perform globalaccelerator:DescribeEndpointGroup' }));

    const { status, stdout, stderr } = await live();

    expect([status, stdout]).toEqual([2, '']);
    expect(stderr).toMatch(/^aurora-failover plan: UpstreamError: could not observe traffic global-accelerator: UpstreamError: .*AccessDeniedException/);
  });

  it('a ConfigMap without the managed read alias: exit 2 naming the alias, no secret on stderr', async () => {
    serveTopology('after-switchover');
    pooler.ini = BEFORE_INI.replace(/^appdb_ro = .*\n/m, '');

    const { status, stdout, stderr } = await live();

    expect([status, stdout]).toEqual([2, '']);
    expect(stderr).toContain('use2-pgbouncer: alias appdb_ro is missing from [databases]');
    expect(stderr).not.toMatch(/s3cret|r3ad0nly/);
    expect(pooler.calls).toEqual(['observe']);
  });
});

describe('aurora-failover plan --live through the EKS pooler adapter', () => {
  it('reads the ConfigMap with one GET and sends nothing else to Kubernetes', async () => {
    // Prepare: the real EKS adapter against the local HTTPS Kubernetes fake (test CA, bearer token)
    serveTopology('after-switchover');
    const certificates = createTestCertificates();
    const token = 'k8s-aws-v1.plan-live-test';
    const server = new FakeKubernetesServer({ token, certificates });
    server.setConfigMap('pgbouncer', 'pgbouncer-config', { 'pgbouncer.ini': BEFORE_INI });
    const url = await server.start();
    try {
      const viaEks: PlanCliDeps = {
        connectPooler: async (target, region) => new EksPoolerTarget({ target, region, api: new KubernetesClient({ server: url, certificateAuthority: certificates.caCert, token }) }),
      };

      // Act
      const { status, stdout, stderr } = await cli(['--live', '--config', CONFIG], viaEks);

      // Assess
      expect([status, stderr]).toEqual([0, '']);
      expect((JSON.parse(stdout) as PlanOutput).poolers).toEqual([{ target: 'use2-pgbouncer', changes: [{ alias: 'appdb', from: USE2_WRITER, to: USW2_WRITER }] }]);
      expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual(['GET /api/v1/namespaces/pgbouncer/configmaps/pgbouncer-config']);
      expect(server.configMap('pgbouncer', 'pgbouncer-config')?.data['pgbouncer.ini']).toBe(BEFORE_INI);
    } finally {
      await server.stop();
      certificates.cleanup();
    }
  });
});

describe('observeOnlyWorld', () => {
  it('passes observations through and refuses every port that would change something', async () => {
    // Prepare
    const world = observeOnlyWorld(harness.world);
    const [target] = world.poolerTargets();
    const [traffic] = world.trafficAdapters();
    const memory = harness.poolers[0]!;
    const plan: PoolerPlan = { target: memory.target, region: memory.region, reloadStrategy: ReloadStrategy.Live, changes: [], decision: decide(`pooler:${memory.target}`, 'nothing-to-do', 'in sync') };

    // Act + Assess
    await expect(target!.observe()).resolves.toMatchObject({ target: memory.target });
    await expect(target!.apply(plan)).rejects.toThrow(ReadOnlyWorldError);
    await expect(target!.pauseWrites()).rejects.toThrow(ReadOnlyWorldError);
    await expect(target!.resumeWrites()).rejects.toThrow(ReadOnlyWorldError);
    await expect(traffic!.apply([])).rejects.toThrow(/traffic global-accelerator apply called on a read-only world/);
    await expect(world.notify({ subject: 's', summary: {} })).rejects.toThrow(ReadOnlyWorldError);
    await expect(world.switchover.startSwitch({ mode: 'switchover', globalClusterId: 'g', target: { dbClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2', region: 'us-west-2' }, currentWriterRegion: 'us-east-2' })).rejects.toThrow(ReadOnlyWorldError);
    await world.emitMetrics([{ name: MetricName.ChangesApplied, value: 1 }]);
    expect(memory.calls).toEqual(['observe']);
    expect(harness.metrics).toEqual([]);
    expect(commandsSent()).toEqual([]);
  });
});
