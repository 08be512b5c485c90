/**
 * Runs the real state machine definitions locally (aws-local-stepfunctions) with the real step handlers
 * and the AWS world, AWS stubbed at the SDK (aws-sdk-client-mock) with stateful fakes shaped like the API
 * references: RDS (global cluster + member clusters), Global Accelerator, Route 53 and Step Functions
 * ListExecutions. Pooler targets are strict in-memory fakes (the EKS adapter has its own tests).
 */
import { readFileSync } from 'node:fs';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
  type FailoverState,
} from '@aws-sdk/client-rds';
import { DescribeEndpointGroupCommand, GlobalAcceleratorClient, UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, Route53Client, type Change } from '@aws-sdk/client-route-53';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { ListExecutionsCommand, SFNClient, type ExecutionListItem } from '@aws-sdk/client-sfn';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { parseConfig, type Config } from '../../lib/core/config.ts';
import type { MetricDatum } from '../../lib/core/metrics.ts';
import { createAwsWorld } from '../../lib/workflow/aws-world.ts';
import { allAwsParts } from '../../lib/workflow/aws-parts/all.ts';
import { allStates, loadDefinition, localTasksFor, runLocally, type LocalExecutionResult, type LocalTaskHandler } from '../../lib/workflow/local-execution.ts';
import type { PeerPorts, World } from '../../lib/workflow/world.ts';
import {
  describeDbClustersResponse,
  describeGlobalClustersResponse,
  GA_USE2,
  GA_USW2,
  GLOBAL_CLUSTER_ID,
  trafficSection,
  USE2_ARN,
  USW2_ARN,
  regionOfClient,
  ZONE,
} from '../adapters/aws-fixtures.ts';
import { MemoryPoolerTarget } from './memory-pooler.ts';
import type { RunSummary } from '../../lib/workflow/reconcile.ts';
import type { SwitchoverSummary } from '../../lib/workflow/switchover.ts';

export { USE2_ARN, USW2_ARN, GLOBAL_CLUSTER_ID };
export const REGION = 'us-east-2';
export const RECONCILE_ARN = `arn:aws:states:${REGION}:123456789012:stateMachine:aurora-global-failover-ci-reconcile`;
export const SWITCHOVER_ARN = `arn:aws:states:${REGION}:123456789012:stateMachine:aurora-global-failover-ci-switchover`;
const BEFORE_INI = readFileSync(new URL('../../events/pgbouncer/use2-before-switchover.ini', import.meta.url), 'utf8');

/** The API reference documents `switching-over`, which the SDK's FailoverStatus enum lacks: keep it a string. */
export type ApiFailoverState = Omit<FailoverState, 'Status'> & { Status?: string };

export interface GlobalClusterFake {
  writerArn: string;
  status: string;
  failoverState?: ApiFailoverState;
  /** States served by the next DescribeGlobalClusters calls before falling back to the fields above. */
  readonly script: Array<{ writerArn: string; status?: string; failoverState?: ApiFailoverState }>;
  /** What SwitchoverGlobalCluster / FailoverGlobalCluster do: by default the writer moves at once. */
  onSwitch: (targetArn: string) => void;
  /** Member cluster status by ARN (DescribeDBClusters). */
  readonly memberStatus: Record<string, string>;
  /** SynchronizationStatus overrides by member ARN (DescribeGlobalClusters). */
  readonly syncStatus: Record<string, string>;
}

/** Three pooler targets in us-east-2 (so one can fail while two converge), traffic on GA and Route 53. */
export function harnessConfig(): Config {
  const target = (name: string) => ({
    name,
    eksCluster: 'app-use2',
    namespace: 'pgbouncer',
    configMap: `${name}-config`,
    workload: { kind: 'Deployment', name },
    podSelector: `app=${name}`,
    reloadStrategy: 'live',
    aliases: { write: 'appdb', read: 'appdb_ro' },
  });
  const traffic = trafficSection;
  return parseConfig({
    globalClusterId: GLOBAL_CLUSTER_ID,
    regions: {
      'us-east-2': { dbClusterArn: USE2_ARN, poolers: [target('pgb-a'), target('pgb-b'), target('pgb-c')], traffic: traffic('us-east-2', GA_USE2) },
      'us-west-2': { dbClusterArn: USW2_ARN, traffic: traffic('us-west-2', GA_USW2) },
    },
    traffic: { policy: 'follow-writer', weights: { writer: 100, others: 50 }, route53ChangeTimeoutSeconds: 30 },
    reconcile: { stableTimeoutSeconds: 900, pollSeconds: 5 },
  });
}

export class WorkflowHarness {
  readonly config: Config;
  readonly rds = mockClient(RDSClient);
  readonly ga = mockClient(GlobalAcceleratorClient);
  readonly route53 = mockClient(Route53Client);
  readonly sfn = mockClient(SFNClient);
  readonly cloudwatch = mockClient(CloudWatchClient);
  readonly metrics: MetricDatum[] = [];
  readonly cluster: GlobalClusterFake = {
    writerArn: USE2_ARN,
    status: 'available',
    script: [],
    onSwitch: (targetArn) => {
      this.cluster.writerArn = targetArn;
    },
    memberStatus: {},
    syncStatus: {},
  };
  /** Added to the world's clock, to let bounded waits run out without real waiting. */
  clockOffsetMs = 0;
  /**
   * When true (the default, as in AWS), every run is listed as RUNNING (ListExecutions) while it runs, so
   * concurrent runs see each other and a nested reconcile finds its parent switchover.
   */
  trackRunning = true;
  readonly dials: Record<string, number> = { [GA_USE2]: 100, [GA_USW2]: 50 };
  readonly weights: Record<string, number> = { 'us-east-2': 100, 'us-west-2': 50 };
  readonly running: ExecutionListItem[] = [];
  rpoLagMs: number | undefined = 20;
  /**
   * Regions that are down: every RDS call sent there fails with a network error, and so does the Global
   * Accelerator API when us-west-2 is listed and Route 53's control plane when us-east-1 is.
   */
  readonly deadRegions = new Set<string>();
  /** Errors the next DescribeGlobalClusters calls sent to a region throw, one per call, before it answers again. */
  readonly globalClusterFaults: Record<string, Error[]> = {};
  readonly poolers: MemoryPoolerTarget[];
  world: World;

  constructor(config: Config = harnessConfig()) {
    this.config = config;
    this.poolers = this.config.regions[REGION]!.poolers.map((target) => new MemoryPoolerTarget(target, REGION, BEFORE_INI));
    this.#fakeRds();
    this.#fakeTraffic();
    this.sfn.on(ListExecutionsCommand).callsFake(() => ({ executions: this.running }));
    this.cloudwatch.on(GetMetricDataCommand).callsFake(() => ({
      MetricDataResults: [
        {
          Id: 'rpoLag',
          Label: 'AuroraGlobalDBRPOLag',
          StatusCode: 'Complete',
          Timestamps: this.rpoLagMs === undefined ? [] : [new Date()],
          Values: this.rpoLagMs === undefined ? [] : [this.rpoLagMs],
        },
      ],
    }));
    const world = createAwsWorld({
      config: this.config,
      region: REGION,
      clients: new AwsClients(),
      parts: allAwsParts,
      telemetry: undefined,
      stateMachineArns: [RECONCILE_ARN, SWITCHOVER_ARN],
      switchoverStateMachineArn: SWITCHOVER_ARN,
      connectPooler: async (target) => this.poolers.find((pooler) => pooler.target === target.name)!,
      now: () => Date.now() + this.clockOffsetMs,
    });
    this.world = { ...world, emitMetrics: async (metrics) => void this.metrics.push(...metrics) };
  }

  /** Gives the world a peer port (cross-region coordination); without one, peers are skipped with a decision. */
  usePeers(peers: PeerPorts): void {
    this.world = { ...this.world, peers };
  }

  /** Runs a definition from statemachines/ with every Task on the real steps; waits and retries take 1 ms. */
  async run(file: 'reconcile' | 'switchover', input: unknown, extraTasks: Record<string, LocalTaskHandler> = {}): Promise<LocalExecutionResult> {
    const definition = await loadDefinition(new URL(`../../statemachines/${file}.asl.json`, import.meta.url).pathname);
    const stateMachineArn = file === 'reconcile' ? RECONCILE_ARN : SWITCHOVER_ARN;
    const name = `${file}-${Math.random().toString(36).slice(2, 10)}`;
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    const startTime = new Date().toISOString();
    const states = [...allStates(definition)];
    const waits = Object.fromEntries(states.filter(([, state]) => state.Type === 'Wait').map(([stateName]) => [stateName, 1]));
    const retries = Object.fromEntries(states.map(([stateName]) => [stateName, 1]));
    retries.ApplyPooler = 1;
    const listed: ExecutionListItem = { executionArn, stateMachineArn, name, status: 'RUNNING', startDate: new Date(startTime) };
    if (this.trackRunning) this.running.push(listed);
    try {
      return await this.#runDefinition(definition, input, extraTasks, { executionArn, name, startTime, waits, retries });
    } finally {
      const index = this.running.indexOf(listed);
      if (index >= 0) this.running.splice(index, 1);
    }
  }

  async #runDefinition(
    definition: Awaited<ReturnType<typeof loadDefinition>>,
    input: unknown,
    extraTasks: Record<string, LocalTaskHandler>,
    execution: { executionArn: string; name: string; startTime: string; waits: Record<string, number>; retries: Record<string, number> },
  ): Promise<LocalExecutionResult> {
    const { executionArn, name, startTime, waits, retries } = execution;
    return runLocally({
      definition,
      input,
      tasks: localTasksFor(definition, this.world, extraTasks),
      waitMs: waits,
      retryMs: retries,
      context: { Execution: { Id: executionArn, Name: name, StartTime: startTime, Input: input, RoleArn: 'arn:aws:iam::123456789012:role/sfn' } },
    });
  }

  /** Throws the network error a client sees when `region` is down. */
  async #reach(region: string | Promise<string>): Promise<void> {
    const name = await region;
    if (this.deadRegions.has(name)) {
      throw Object.assign(new Error(`connect ETIMEDOUT 52.94.0.1:443 (${name} is down)`), { name: 'Error', code: 'ETIMEDOUT' });
    }
  }

  #fakeRds(): void {
    this.rds.on(DescribeGlobalClustersCommand).callsFake(async (_input: unknown, getClient: () => unknown) => {
      const region = await regionOfClient(getClient);
      await this.#reach(region);
      const fault = this.globalClusterFaults[region]?.shift();
      if (fault) throw fault;
      const scripted = this.cluster.script.shift();
      const state = scripted ?? this.cluster;
      const response = describeGlobalClustersResponse({ writerArn: state.writerArn, status: state.status ?? 'available', ...(state.failoverState ? { failoverState: state.failoverState as FailoverState } : {}) });
      for (const member of response.GlobalClusters[0].GlobalClusterMembers ?? []) {
        const sync = this.cluster.syncStatus[member.DBClusterArn!];
        if (sync) member.SynchronizationStatus = sync as typeof member.SynchronizationStatus;
      }
      return response;
    });
    this.rds.on(DescribeDBClustersCommand).callsFake(async (input: { DBClusterIdentifier?: string }, getClient: () => unknown) => {
      await this.#reach(regionOfClient(getClient));
      const arn = input.DBClusterIdentifier!;
      return describeDbClustersResponse(arn, this.cluster.memberStatus[arn] ?? 'available');
    });
    this.rds.on(SwitchoverGlobalClusterCommand).callsFake(async (input: { TargetDbClusterIdentifier?: string }, getClient: () => unknown) => {
      await this.#reach(regionOfClient(getClient));
      this.cluster.onSwitch(input.TargetDbClusterIdentifier!);
      return { GlobalCluster: describeGlobalClustersResponse({ writerArn: this.cluster.writerArn }).GlobalClusters[0] };
    });
    this.rds.on(FailoverGlobalClusterCommand).callsFake(async (input: { TargetDbClusterIdentifier?: string }, getClient: () => unknown) => {
      await this.#reach(regionOfClient(getClient));
      this.cluster.onSwitch(input.TargetDbClusterIdentifier!);
      return { GlobalCluster: describeGlobalClustersResponse({ writerArn: this.cluster.writerArn }).GlobalClusters[0] };
    });
  }

  #fakeTraffic(): void {
    const groupRegion = (arn: string) => (arn === GA_USE2 ? 'us-east-2' : 'us-west-2');
    this.ga.on(DescribeEndpointGroupCommand).callsFake(async (input: { EndpointGroupArn?: string }) => {
      await this.#reach('us-west-2');
      const arn = input.EndpointGroupArn!;
      return {
        EndpointGroup: {
          EndpointGroupArn: arn,
          EndpointGroupRegion: groupRegion(arn),
          TrafficDialPercentage: this.dials[arn],
          HealthCheckPort: 443,
          HealthCheckProtocol: 'HTTPS',
          HealthCheckPath: '/health',
          HealthCheckIntervalSeconds: 30,
          ThresholdCount: 3,
          EndpointDescriptions: [
            {
              EndpointId: `arn:aws:elasticloadbalancing:${groupRegion(arn)}:123456789012:loadbalancer/app/app/0123456789abcdef`,
              Weight: 128,
              HealthState: 'HEALTHY',
              ClientIPPreservationEnabled: true,
            },
          ],
        },
      };
    });
    this.ga.on(UpdateEndpointGroupCommand).callsFake(async (input: { EndpointGroupArn?: string; TrafficDialPercentage?: number }) => {
      await this.#reach('us-west-2');
      this.dials[input.EndpointGroupArn!] = input.TrafficDialPercentage!;
      return { EndpointGroup: { EndpointGroupArn: input.EndpointGroupArn, TrafficDialPercentage: input.TrafficDialPercentage } };
    });
    const recordSet = (region: string) => ({
      Name: 'app.example.com.',
      Type: 'A',
      SetIdentifier: region,
      Weight: this.weights[region],
      AliasTarget: { HostedZoneId: 'Z3AADJGX6KTTL2', DNSName: `app-${region}.elb.amazonaws.com.`, EvaluateTargetHealth: true },
    });
    this.route53.on(ListResourceRecordSetsCommand).callsFake(async () => {
      await this.#reach('us-east-1');
      return { ResourceRecordSets: [recordSet('us-east-2'), recordSet('us-west-2')], IsTruncated: false, MaxItems: '100' };
    });
    this.route53.on(ChangeResourceRecordSetsCommand).callsFake(async (input: { ChangeBatch?: { Changes?: Change[] } }) => {
      await this.#reach('us-east-1');
      for (const change of input.ChangeBatch?.Changes ?? []) {
        const set = change.ResourceRecordSet!;
        this.weights[set.SetIdentifier!] = set.Weight!;
      }
      return { ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date() } };
    });
    this.route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'INSYNC', SubmittedAt: new Date() } });
  }

  restore(): void {
    for (const mock of [this.rds, this.ga, this.route53, this.sfn, this.cloudwatch]) mock.restore();
  }
}

/** A switchover's summary (Summarize's output) with its nested reconcile run's summary parsed. */
export type ParsedSwitchoverSummary = Omit<SwitchoverSummary, 'reconcile'> & { readonly reconcile?: RunSummary };
