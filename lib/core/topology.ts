/**
 * The global database's topology, built from what the RDS API says (DescribeGlobalClusters for the
 * members, DescribeDBClusters in each member's region for its endpoints), and the verdict on whether it
 * is settled enough to route writes by. Pure: the RDS adapter and the CLI feed it API responses.
 */
import type { DBCluster, GlobalCluster } from '@aws-sdk/client-rds';
import type { Config } from './config.ts';
import type { Endpoint } from './endpoint.ts';
import { InvalidInputError } from './errors.ts';
import type { FailoverStateInfo, StabilityVerdict, Topology, TopologyMember } from './types.ts';

/** A member cluster's own endpoints: `writer` is its cluster endpoint, `reader` its reader endpoint. */
export interface MemberEndpoints {
  writer?: Endpoint;
  reader?: Endpoint;
}

export type EndpointPins = Readonly<Record<string, { writer?: Endpoint; reader?: Endpoint }>>;

const ARN_REGION = /^arn:aws[a-z-]*:rds:([a-z]{2}(?:-gov)?-[a-z]+-\d):\d{12}:cluster:[A-Za-z][A-Za-z0-9-]*$/;
const GLOBAL_CLUSTER_AVAILABLE = 'available';

/**
 * The region of an Aurora DB cluster ARN.
 * @example regionOfArn('arn:aws:rds:us-west-2:123456789012:cluster:app-usw2') // 'us-west-2'
 */
export function regionOfArn(arn: string): string {
  const region = ARN_REGION.exec(arn)?.[1];
  if (!region) throw new InvalidInputError(`not an Aurora DB cluster ARN: ${JSON.stringify(arn).slice(0, 120)}`);
  return region;
}

/** The cluster name at the end of a DB cluster ARN, for messages. */
export function clusterNameOfArn(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}

/**
 * A member's endpoints from one DescribeDBClusters `DBClusters[]` entry: `Endpoint` and `ReaderEndpoint`,
 * both on `Port`. A missing part leaves that endpoint undefined.
 */
export function memberEndpointsFromDbCluster(cluster: DBCluster): MemberEndpoints {
  const endpoints: MemberEndpoints = {};
  if (cluster.Port === undefined) return endpoints;
  if (cluster.Endpoint) endpoints.writer = { host: cluster.Endpoint, port: cluster.Port };
  if (cluster.ReaderEndpoint) endpoints.reader = { host: cluster.ReaderEndpoint, port: cluster.Port };
  return endpoints;
}

/** The config's endpoint pins (`regions.<r>.endpoints`), by region, for buildTopology. */
export function endpointPinsFromConfig(config: Config): EndpointPins {
  const pins: Record<string, { writer?: Endpoint; reader?: Endpoint }> = {};
  for (const [region, section] of Object.entries(config.regions)) {
    if (section.endpoints) pins[region] = section.endpoints;
  }
  return pins;
}

/**
 * Builds the topology from a DescribeGlobalClusters `GlobalClusters[]` entry.
 * `memberEndpoints` is keyed by member DB cluster ARN (a region name is accepted too); `pins` (by region)
 * override what the API says. An empty `FailoverState` (no `Status`) counts as absent: the API documents
 * the object as empty unless a switchover or failover is scheduled or running.
 * Throws InvalidInputError when the response lacks an identifier or a member's ARN.
 */
export function buildTopology(
  globalCluster: GlobalCluster,
  memberEndpoints: Readonly<Record<string, MemberEndpoints>>,
  observedAt: string,
  pins?: EndpointPins,
  unanswered?: readonly { readonly dbClusterArn: string; readonly reason: string }[],
): Topology {
  const globalClusterId = globalCluster.GlobalClusterIdentifier;
  if (!globalClusterId) throw new InvalidInputError('GlobalCluster.GlobalClusterIdentifier is missing');
  const members = (globalCluster.GlobalClusterMembers ?? []).map((member, index): TopologyMember => {
    const arn = member.DBClusterArn;
    if (!arn) throw new InvalidInputError(`GlobalClusterMembers[${index}].DBClusterArn is missing`);
    const region = regionOfArn(arn);
    const fromApi = memberEndpoints[arn] ?? memberEndpoints[region] ?? {};
    const pin = pins?.[region];
    const writerEndpoint = pin?.writer ?? fromApi.writer;
    const readerEndpoint = pin?.reader ?? fromApi.reader;
    const silence = unanswered?.find((entry) => entry.dbClusterArn === arn)?.reason;
    return {
      dbClusterArn: arn,
      region,
      isWriter: member.IsWriter === true,
      ...(member.SynchronizationStatus ? { synchronizationStatus: member.SynchronizationStatus } : {}),
      ...(writerEndpoint ? { writerEndpoint } : {}),
      ...(readerEndpoint ? { readerEndpoint } : {}),
      ...(silence ? { unanswered: silence } : {}),
    };
  });
  const failover = globalCluster.FailoverState;
  const failoverState: FailoverStateInfo | undefined = failover?.Status
    ? {
        status: failover.Status,
        ...(failover.FromDbClusterArn ? { fromDbClusterArn: failover.FromDbClusterArn } : {}),
        ...(failover.ToDbClusterArn ? { toDbClusterArn: failover.ToDbClusterArn } : {}),
        ...(failover.IsDataLossAllowed !== undefined ? { isDataLossAllowed: failover.IsDataLossAllowed } : {}),
      }
    : undefined;
  return {
    globalClusterId,
    status: globalCluster.Status ?? 'unknown',
    ...(failoverState ? { failoverState } : {}),
    ...(globalCluster.Endpoint ? { globalWriterEndpoint: globalCluster.Endpoint } : {}),
    members,
    observedAt,
  };
}

/**
 * Stable only when no FailoverState is present, the global cluster is `available`, exactly one member
 * is the writer and that writer has a writer endpoint. The reason names the first thing that is wrong.
 */
export function assessStability(topology: Topology): StabilityVerdict {
  const { failoverState } = topology;
  if (failoverState) {
    const operation = failoverState.isDataLossAllowed ? 'failover' : 'switchover';
    const from = failoverState.fromDbClusterArn ? ` from ${describeArn(failoverState.fromDbClusterArn)}` : '';
    const to = failoverState.toDbClusterArn ? ` to ${describeArn(failoverState.toDbClusterArn)}` : '';
    return { stable: false, reason: `a global ${operation}${from}${to} is in progress (FailoverState status ${failoverState.status})` };
  }
  const tolerated = topology.tolerated?.status === topology.status ? topology.tolerated : undefined;
  if (topology.status !== GLOBAL_CLUSTER_AVAILABLE && !tolerated) {
    return { stable: false, reason: `global cluster ${topology.globalClusterId} is ${topology.status}, not available` };
  }
  const writers = topology.members.filter((member) => member.isWriter);
  const [writer] = writers;
  if (!writer) return { stable: false, reason: `no member of global cluster ${topology.globalClusterId} is the writer` };
  if (writers.length > 1) {
    return { stable: false, reason: `${writers.length} members claim to be the writer (${writers.map((member) => describeArn(member.dbClusterArn)).join(', ')})` };
  }
  if (!writer.writerEndpoint) {
    return { stable: false, reason: `writer ${describeArn(writer.dbClusterArn)} has no writer endpoint (no DescribeDBClusters Endpoint and no pin)` };
  }
  return {
    stable: true,
    reason: tolerated
      ? `writer is ${describeArn(writer.dbClusterArn)}; no switchover or failover in progress; global cluster ${topology.status}, tolerated: ${tolerated.reason}`
      : `writer is ${describeArn(writer.dbClusterArn)}; global cluster available, no switchover or failover in progress`,
    writer,
  };
}

export interface ToleranceVerdict {
  /** True: route writes by this topology although the global cluster is not `available`. */
  readonly tolerate: boolean;
  /** False when there is nothing to tolerate: the global cluster is available, or a switchover/failover runs. */
  readonly applies: boolean;
  /** The writer is settled and only the grace period is left to wait: the reason says so. */
  readonly waitingForGrace?: boolean;
  readonly reason: string;
}

/**
 * After an unplanned failover while the old primary's region is still down, the global cluster may never
 * report `available`: a member that cannot answer keeps it in another status. Waiting for `available`
 * would then wait until the bound and fail, leaving every pooler on the dead writer. This decides, for a
 * topology assessStability called unstable, whether to route writes by it anyway. Only when the writer is
 * otherwise settled (no FailoverState, exactly one writer, with an endpoint):
 * - at once, when a non-writer member's region did not answer (`unanswered`): that explains the status;
 * - else once the global cluster has been seen so for `graceSeconds` (elapsed since the wait began).
 * VerifyWriter still confirms the writer in its own region before anything is routed to it.
 *
 * Worked example: writer app-use2 (us-east-2), app-usw2 unanswered (us-west-2 down), status `failing-over`,
 * no FailoverState -> tolerate at once: "app-usw2 in us-west-2 did not answer (...)".
 */
export function tolerateUnavailable(topology: Topology, wait: { readonly elapsedSeconds: number; readonly graceSeconds: number }): ToleranceVerdict {
  if (topology.failoverState || topology.status === GLOBAL_CLUSTER_AVAILABLE) {
    return { tolerate: false, applies: false, reason: 'only a global cluster that is not available, with no switchover or failover in progress, is tolerated' };
  }
  const writerCheck = assessStability({ ...topology, status: GLOBAL_CLUSTER_AVAILABLE, tolerated: undefined });
  if (!writerCheck.stable || !writerCheck.writer) return { tolerate: false, applies: true, reason: `not tolerated: ${writerCheck.reason}` };
  const writer = writerCheck.writer;
  const silent = topology.members.filter((member) => !member.isWriter && member.unanswered);
  const status = `global cluster ${topology.globalClusterId} is ${topology.status}, not available`;
  if (silent.length > 0) {
    const who = silent.map((member) => `${describeArn(member.dbClusterArn)} did not answer (${member.unanswered})`).join('; ');
    return { tolerate: true, applies: true, reason: `${status} because ${who}; ${describeArn(writer.dbClusterArn)} is the only writer` };
  }
  if (wait.elapsedSeconds >= wait.graceSeconds) {
    return { tolerate: true, applies: true, reason: `${status} after ${wait.elapsedSeconds} s (grace ${wait.graceSeconds} s) while ${describeArn(writer.dbClusterArn)} is the only writer` };
  }
  return { tolerate: false, applies: true, waitingForGrace: true, reason: `${status}; ${describeArn(writer.dbClusterArn)} is the only writer: waiting up to ${wait.graceSeconds} s for available` };
}

/** The topology assessStability accepts under a tolerance decision (see tolerateUnavailable). */
export function withTolerance(topology: Topology, verdict: ToleranceVerdict): Topology {
  return verdict.tolerate ? { ...topology, tolerated: { status: topology.status, reason: verdict.reason } } : topology;
}

/** This region's member of the global cluster, if it has one. */
export function memberInRegion(topology: Topology, region: string): TopologyMember | undefined {
  return topology.members.find((member) => member.region === region);
}

function describeArn(arn: string): string {
  const region = ARN_REGION.exec(arn)?.[1];
  return region ? `${clusterNameOfArn(arn)} in ${region}` : clusterNameOfArn(arn);
}
