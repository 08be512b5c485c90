import {
  DescribeDBClustersCommand,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  SwitchoverGlobalClusterCommand,
  type GlobalCluster,
} from '@aws-sdk/client-rds';
import { decide, type Decision } from '../core/decision.ts';
import { assertSafeEndpoint, type Endpoint } from '../core/endpoint.ts';
import { describeError, InvalidInputError, UpstreamError } from '../core/errors.ts';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { sdkErrorName, toFailoverError } from './aws-errors.ts';

const DB_CLUSTER_ARN = /^arn:aws[a-z-]*:rds:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):cluster:([A-Za-z][A-Za-z0-9-]{0,62})$/;

export interface DbClusterArnParts {
  readonly region: string;
  readonly accountId: string;
  readonly dbClusterIdentifier: string;
}

/** Splits an Aurora DB cluster ARN; anything else is InvalidInputError naming the value. */
export function parseDbClusterArn(arn: string): DbClusterArnParts {
  const match = DB_CLUSTER_ARN.exec(arn);
  if (!match) throw new InvalidInputError(`not an Aurora DB cluster ARN: ${JSON.stringify(arn).slice(0, 120)}`);
  return { region: match[1]!, accountId: match[2]!, dbClusterIdentifier: match[3]! };
}

/**
 * The global cluster as RDS describes it (members with IsWriter/SynchronizationStatus, FailoverState,
 * Status, Endpoint). `region` is any region that serves the global cluster's API (the stack's own).
 * An unknown id is InvalidInputError naming the id.
 */
export async function describeGlobalCluster(clients: AwsClients, region: string, globalClusterId: string): Promise<GlobalCluster> {
  const what = `rds:DescribeGlobalClusters ${globalClusterId} in ${region}`;
  let found: GlobalCluster | undefined;
  try {
    const response = await clients.rds(region).send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: globalClusterId }));
    found = response.GlobalClusters?.find((cluster) => cluster.GlobalClusterIdentifier === globalClusterId) ?? response.GlobalClusters?.[0];
  } catch (error) {
    if (sdkErrorName(error) === 'GlobalClusterNotFoundFault') {
      throw new InvalidInputError(`global cluster ${globalClusterId} does not exist (${what})`, { cause: error });
    }
    throw toFailoverError(error, what);
  }
  if (!found) throw new InvalidInputError(`global cluster ${globalClusterId} does not exist (${what} returned no cluster)`);
  return found;
}

export interface MemberEndpoints {
  /** The cluster (writer) endpoint and port. */
  readonly writer?: Endpoint;
  /** The reader endpoint and port. */
  readonly reader?: Endpoint;
  /** The member cluster's own Status (`available`, `failing-over`, ...). */
  readonly status?: string;
}

export interface UnreachableMember {
  readonly dbClusterArn: string;
  readonly region: string;
  readonly reason: string;
}

export interface MemberEndpointsResult {
  readonly endpoints: Record<string, MemberEndpoints>;
  readonly unreachable: UnreachableMember[];
}

/**
 * Each member's writer and reader endpoints from DescribeDBClusters, called in the member's OWN region
 * (from its ARN), all in parallel. A member whose region does not answer, or that is not found, is
 * reported in `unreachable` with the reason; it never fails the others: a surviving region must be
 * able to fix itself while another region is down.
 */
export async function describeMemberEndpoints(clients: AwsClients, memberArns: readonly string[]): Promise<MemberEndpointsResult> {
  const members = memberArns.map((arn) => ({ arn, ...parseDbClusterArn(arn) }));
  const settled = await Promise.allSettled(members.map((member) => describeMember(clients, member.arn, member.region)));
  const endpoints: Record<string, MemberEndpoints> = {};
  const unreachable: UnreachableMember[] = [];
  settled.forEach((outcome, index) => {
    const member = members[index]!;
    if (outcome.status === 'fulfilled') endpoints[member.arn] = outcome.value;
    else unreachable.push({ dbClusterArn: member.arn, region: member.region, reason: describeError(outcome.reason) });
  });
  return { endpoints, unreachable };
}

async function describeMember(clients: AwsClients, arn: string, region: string): Promise<MemberEndpoints> {
  const what = `rds:DescribeDBClusters ${arn} in ${region}`;
  let cluster;
  try {
    // DBClusterIdentifier accepts the ARN, which also pins the account.
    const response = await clients.rds(region).send(new DescribeDBClustersCommand({ DBClusterIdentifier: arn }));
    cluster = response.DBClusters?.[0];
  } catch (error) {
    throw toFailoverError(error, what);
  }
  if (!cluster) throw new UpstreamError(`${what} returned no cluster`);
  const port = cluster.Port;
  return {
    ...(cluster.Endpoint && port !== undefined ? { writer: assertSafeEndpoint({ host: cluster.Endpoint, port }, `${arn}.Endpoint`) } : {}),
    ...(cluster.ReaderEndpoint && port !== undefined ? { reader: assertSafeEndpoint({ host: cluster.ReaderEndpoint, port }, `${arn}.ReaderEndpoint`) } : {}),
    ...(cluster.Status ? { status: cluster.Status } : {}),
  };
}

export interface GlobalWriterMoveRequest {
  readonly globalClusterId: string;
  /** The member that becomes the writer. */
  readonly targetDbClusterArn: string;
  /** Switchover: the current primary's region. Failover: the target's region. */
  readonly callRegion: string;
}

/**
 * Planned switchover (RPO 0): SwitchoverGlobalCluster, called in the current primary's region.
 * Returns once RDS accepted the request; the caller waits (bounded) for the topology to settle.
 */
export async function switchoverGlobalCluster(clients: AwsClients, request: GlobalWriterMoveRequest): Promise<Decision> {
  parseDbClusterArn(request.targetDbClusterArn);
  const what = `rds:SwitchoverGlobalCluster ${request.globalClusterId} -> ${request.targetDbClusterArn} in ${request.callRegion}`;
  try {
    const response = await clients
      .rdsSingleAttempt(request.callRegion)
      .send(new SwitchoverGlobalClusterCommand({ GlobalClusterIdentifier: request.globalClusterId, TargetDbClusterIdentifier: request.targetDbClusterArn }));
    return decide(
      'switchover',
      'started',
      `RDS accepted the switchover of ${request.globalClusterId} to ${request.targetDbClusterArn} (called in ${request.callRegion}); global cluster status ${response.GlobalCluster?.Status ?? 'unknown'}`,
    );
  } catch (error) {
    const repeat = await alreadyMoving(clients, request, 'switchover', error);
    if (repeat) return decide('switchover', 'started', `${repeat}; counted as started (${what})`);
    throw moveError(error, what, request.globalClusterId);
  }
}

/**
 * Unplanned failover (RPO of seconds, data loss accepted): FailoverGlobalCluster with AllowDataLoss,
 * called in the target's region, which is the region that must still answer when the primary's is down.
 */
export async function failoverGlobalCluster(clients: AwsClients, request: GlobalWriterMoveRequest): Promise<Decision> {
  const target = parseDbClusterArn(request.targetDbClusterArn);
  if (target.region !== request.callRegion) {
    throw new InvalidInputError(`FailoverGlobalCluster must be called in the target's region ${target.region}, not ${request.callRegion}`);
  }
  const what = `rds:FailoverGlobalCluster ${request.globalClusterId} -> ${request.targetDbClusterArn} in ${request.callRegion}`;
  try {
    const response = await clients.rdsSingleAttempt(request.callRegion).send(
      new FailoverGlobalClusterCommand({
        GlobalClusterIdentifier: request.globalClusterId,
        TargetDbClusterIdentifier: request.targetDbClusterArn,
        AllowDataLoss: true,
      }),
    );
    return decide(
      'failover',
      'started',
      `RDS accepted the failover (data loss allowed) of ${request.globalClusterId} to ${request.targetDbClusterArn} (called in ${request.callRegion}); global cluster status ${response.GlobalCluster?.Status ?? 'unknown'}`,
    );
  } catch (error) {
    const repeat = await alreadyMoving(clients, request, 'failover', error);
    if (repeat) return decide('failover', 'started', `${repeat}; counted as started (${what})`);
    throw moveError(error, what, request.globalClusterId);
  }
}

/** The state faults SwitchoverGlobalCluster and FailoverGlobalCluster answer while the cluster is busy. */
const STATE_FAULTS = new Set(['InvalidGlobalClusterStateFault', 'InvalidDBClusterStateFault']);

/**
 * ExecuteSwitch may run twice (a Lambda retry, a lost response): the repeat meets a state fault. When
 * the global cluster's FailoverState already moves the writer to the requested member, with the requested
 * kind of move (IsDataLossAllowed true for a failover, false for a switchover) and not `cancelling`, or
 * that member is already the writer with nothing in progress, the request was accepted before: returns
 * why, else null (a cancelling move, or a move of the other kind, is not ours: the caller fails).
 */
async function alreadyMoving(clients: AwsClients, request: GlobalWriterMoveRequest, mode: 'switchover' | 'failover', error: unknown): Promise<string | null> {
  const fault = sdkErrorName(error);
  if (!fault || !STATE_FAULTS.has(fault)) return null;
  let cluster: GlobalCluster;
  try {
    cluster = await describeGlobalCluster(clients, request.callRegion, request.globalClusterId);
  } catch {
    return null;
  }
  const state = cluster.FailoverState;
  if (state?.Status && state.Status !== 'cancelling' && state.ToDbClusterArn === request.targetDbClusterArn && state.IsDataLossAllowed === (mode === 'failover')) {
    return `RDS answered ${fault}, and FailoverState (${state.Status}) already moves ${request.globalClusterId} to ${request.targetDbClusterArn}`;
  }
  const member = cluster.GlobalClusterMembers?.find((candidate) => candidate.DBClusterArn === request.targetDbClusterArn);
  if (!state?.Status && member?.IsWriter === true) {
    return `RDS answered ${fault}, and ${request.targetDbClusterArn} is already the writer of ${request.globalClusterId}`;
  }
  return null;
}

function moveError(error: unknown, what: string, globalClusterId: string): Error {
  const name = sdkErrorName(error);
  if (name === 'GlobalClusterNotFoundFault' || name === 'DBClusterNotFoundFault') {
    return new InvalidInputError(`${what} refused: ${name} (is ${globalClusterId} the right global cluster and the target one of its members?)`, { cause: error });
  }
  return toFailoverError(error, what);
}
