/**
 * A topology snapshot file: what an operator pastes from the AWS CLI, for `aurora-failover plan` and
 * for tests. Shape:
 *
 *   { "describeGlobalClusters": <`aws rds describe-global-clusters` output>,
 *     "describeDBClusters": [ <`aws rds describe-db-clusters --region R` output>, one per member region ] }
 *
 * Only the fields the service reads are checked; everything else the CLI prints is allowed and ignored.
 */
import { describeIssues } from './validation.ts';
import * as z from 'zod/mini';
import type { DBCluster, GlobalCluster } from '@aws-sdk/client-rds';
import { InvalidInputError } from './errors.ts';
import { isSafeHost } from './endpoint.ts';
import type { Topology } from './types.ts';
import { buildTopology, memberEndpointsFromDbCluster, type EndpointPins, type MemberEndpoints } from './topology.ts';

// A host name only: whatever else a pasted file holds there never reaches a plan (or a log line).
const hostSchema = z.string().check(z.refine(isSafeHost, 'must be a DNS name or an IP literal'));

const globalClusterSchema = z.looseObject({
  GlobalClusterIdentifier: z.string(),
  Status: z.optional(z.string()),
  Endpoint: z.optional(hostSchema),
  GlobalClusterMembers: z.optional(
    z.array(
      z.looseObject({
        DBClusterArn: z.string(),
        IsWriter: z.optional(z.boolean()),
        Readers: z.optional(z.array(z.string())),
        GlobalWriteForwardingStatus: z.optional(z.string()),
        SynchronizationStatus: z.optional(z.string()),
      }),
    ),
  ),
  FailoverState: z.optional(
    z.looseObject({
      Status: z.optional(z.string()),
      FromDbClusterArn: z.optional(z.string()),
      ToDbClusterArn: z.optional(z.string()),
      IsDataLossAllowed: z.optional(z.boolean()),
    }),
  ),
});

const dbClusterSchema = z.looseObject({
  DBClusterArn: z.string(),
  Endpoint: z.optional(hostSchema),
  ReaderEndpoint: z.optional(hostSchema),
  Port: z.optional(z.number().check(z.int())),
});

export const topologySnapshotSchema = z.strictObject({
  describeGlobalClusters: z.looseObject({ GlobalClusters: z.array(globalClusterSchema) }),
  describeDBClusters: z._default(z.array(z.looseObject({ DBClusters: z.array(dbClusterSchema) })), []),
});

/**
 * Parses a snapshot and builds the topology of `globalClusterId` from it.
 * Throws InvalidInputError naming the bad field, or when the global cluster is not in the snapshot.
 */
export function topologyFromSnapshot(raw: unknown, globalClusterId: string, observedAt: string, pins?: EndpointPins): Topology {
  const parsed = topologySnapshotSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw new InvalidInputError(`topology snapshot is invalid: ${problems.join('; ')}`);
  }
  const { describeGlobalClusters, describeDBClusters } = parsed.data;
  const globalCluster = describeGlobalClusters.GlobalClusters.find((candidate) => candidate.GlobalClusterIdentifier === globalClusterId);
  if (!globalCluster) {
    const seen = describeGlobalClusters.GlobalClusters.map((candidate) => candidate.GlobalClusterIdentifier).join(', ') || 'none';
    throw new InvalidInputError(`topology snapshot has no global cluster ${globalClusterId} (has: ${seen})`);
  }
  const memberEndpoints: Record<string, MemberEndpoints> = {};
  for (const response of describeDBClusters) {
    for (const cluster of response.DBClusters) memberEndpoints[cluster.DBClusterArn] = memberEndpointsFromDbCluster(cluster as DBCluster);
  }
  return buildTopology(globalCluster as GlobalCluster, memberEndpoints, observedAt, pins);
}
