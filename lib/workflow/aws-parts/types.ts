/**
 * The pieces an AWS World is assembled from, one per external system. A Lambda imports only the parts its
 * step calls (functions/<key>.ts), so its bundle carries only those SDK clients and adapters; the CLI and
 * tests use all of them (./all.ts). A World method whose part is missing throws InvalidConfigError (fatal)
 * naming the part: a wiring mistake fails loudly, never silently does nothing.
 *
 * Which parts a function needs mirrors the IAM grants of its role (serverless/function-roles.cjs); the
 * unit test test/unit/function-parts.test.ts keeps the two in agreement.
 */
import type { AwsClientPool, ClientClasses } from '../../adapters/aws-client-pool.ts';
import type { RpoLagReading } from '../../adapters/cloudwatch.ts';
import type { RunSummary } from '../../adapters/notify.ts';
import type { GlobalCluster } from '@aws-sdk/client-rds';
import type { GlobalWriterMoveRequest, MemberEndpointsResult } from '../../adapters/rds.ts';
import type { LambdaPeersOptions } from '../../adapters/lambda-peers.ts';
import type { Route53AdapterOptions } from '../../adapters/route53.ts';
import type { Config, PoolerTargetConfig } from '../../core/config.ts';
import type { Decision } from '../../core/decision.ts';
import type { RunningExecution } from '../../core/run-lock.ts';
import type { PoolerTargetAdapter, TrafficAdapter } from '../../core/types.ts';
import type { PeerPorts } from '../world.ts';

interface Part {
  /** The SDK client classes this part's adapters call. */
  readonly clientClasses: Partial<ClientClasses>;
}

/** RDS: the global cluster's topology, the writer's own cluster, region probes, moving the writer. */
export interface RdsPart extends Part {
  describeGlobalCluster(clients: AwsClientPool, region: string, globalClusterId: string): Promise<GlobalCluster>;
  describeMemberEndpoints(clients: AwsClientPool, memberArns: readonly string[]): Promise<MemberEndpointsResult>;
  switchoverGlobalCluster(clients: AwsClientPool, request: GlobalWriterMoveRequest): Promise<Decision>;
  failoverGlobalCluster(clients: AwsClientPool, request: GlobalWriterMoveRequest): Promise<Decision>;
}

/** EKS + Kubernetes: one PgBouncer target. */
export interface EksPart extends Part {
  connectPooler(clients: AwsClientPool, target: PoolerTargetConfig, region: string): Promise<PoolerTargetAdapter>;
}

/** Global Accelerator and Route 53: the configured traffic adapters. */
export interface TrafficPart extends Part {
  trafficAdapters(clients: AwsClientPool, config: Config, options: Route53AdapterOptions): TrafficAdapter[];
}

/** SNS: run summaries. */
export interface SnsPart extends Part {
  publishSummary(clients: AwsClientPool, region: string, topicArn: string, notification: RunSummary): Promise<Decision>;
}

/** Step Functions: the run lock's view of RUNNING executions. */
export interface SfnPart extends Part {
  listRunningExecutions(clients: AwsClientPool, region: string, stateMachineArns: readonly string[]): Promise<RunningExecution[]>;
}

/** CloudWatch: AuroraGlobalDBRPOLag of a secondary. */
export interface CloudWatchPart extends Part {
  readRpoLagMs(clients: AwsClientPool, region: string, dbClusterIdentifier: string, now: Date | number): Promise<RpoLagReading>;
}

/** Lambda: the peer regions' stacks (docs/coordination.md), by a synchronous cross-region Invoke of their prepare-for-switch. */
export interface PeersPart extends Part {
  createPeers(options: LambdaPeersOptions): PeerPorts;
}

export interface AwsParts {
  readonly rds?: RdsPart;
  readonly eks?: EksPart;
  readonly traffic?: TrafficPart;
  readonly sns?: SnsPart;
  readonly sfn?: SfnPart;
  readonly cloudwatch?: CloudWatchPart;
  readonly peers?: PeersPart;
}

export type AwsPartName = keyof AwsParts;

/** The client classes of every given part, for an AwsClientPool. */
export function clientClassesOf(parts: AwsParts): Partial<ClientClasses> {
  return Object.assign({}, ...Object.values(parts).map((part: Part | undefined) => part?.clientClasses ?? {})) as Partial<ClientClasses>;
}
