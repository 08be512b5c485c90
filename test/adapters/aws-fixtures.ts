/**
 * Shared fixtures for the AWS adapter tests: responses shaped like the AWS API references, the example
 * config, and a helper that reads the region of the client instance a mocked call went to.
 */
import type { DBClusterMessage, FailoverState, GlobalCluster, GlobalClustersMessage } from '@aws-sdk/client-rds';
import { parseConfig, type Config } from '../../lib/core/config.ts';

export const ACCOUNT = '123456789012';
export const GLOBAL_CLUSTER_ID = 'app-global';
export const USE2_ARN = `arn:aws:rds:us-east-2:${ACCOUNT}:cluster:app-use2`;
export const USW2_ARN = `arn:aws:rds:us-west-2:${ACCOUNT}:cluster:app-usw2`;
export const GA_USE2 = `arn:aws:globalaccelerator::${ACCOUNT}:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz/endpoint-group/098765zyxwvu`;
export const GA_USW2 = `arn:aws:globalaccelerator::${ACCOUNT}:accelerator/1234abcd-abcd-1234-abcd-1234abcdefgh/listener/0123vxyz/endpoint-group/123456abcdef`;
export const ZONE = 'Z0123456789ABCDEFGHIJ';

/** A region's `traffic` config section: its Global Accelerator endpoint group and Route 53 weighted record. */
export function trafficSection(region: string, endpointGroupArn: string) {
  return {
    globalAccelerator: { endpointGroupArn },
    route53: { hostedZoneId: ZONE, recordName: 'app.example.com', recordType: 'A', setIdentifier: region },
  };
}

/** The two-region config of config/example.yml, as plain data (no file I/O in unit tests). */
export function exampleConfig(overrides: Record<string, unknown> = {}): Config {
  const traffic = trafficSection;
  return parseConfig({
    globalClusterId: GLOBAL_CLUSTER_ID,
    regions: {
      'us-east-2': { dbClusterArn: USE2_ARN, traffic: traffic('us-east-2', GA_USE2) },
      'us-west-2': { dbClusterArn: USW2_ARN, traffic: traffic('us-west-2', GA_USW2) },
    },
    traffic: { policy: 'follow-writer', weights: { writer: 100, others: 50 }, route53ChangeTimeoutSeconds: 30 },
    ...overrides,
  });
}

/** DescribeGlobalClusters response (RDS API reference, GlobalCluster / GlobalClusterMember). */
export function describeGlobalClustersResponse(options: { writerArn?: string; failoverState?: FailoverState; status?: string } = {}): GlobalClustersMessage & {
  GlobalClusters: [GlobalCluster];
} {
  const writerArn = options.writerArn ?? USE2_ARN;
  const readerArn = writerArn === USE2_ARN ? USW2_ARN : USE2_ARN;
  return {
    GlobalClusters: [
      {
        GlobalClusterIdentifier: GLOBAL_CLUSTER_ID,
        GlobalClusterResourceId: 'cluster-5a1b2c3d4e5f6a7b8',
        GlobalClusterArn: `arn:aws:rds::${ACCOUNT}:global-cluster:${GLOBAL_CLUSTER_ID}`,
        Status: options.status ?? 'available',
        Engine: 'aurora-postgresql',
        EngineVersion: '15.4',
        DatabaseName: 'app',
        StorageEncrypted: true,
        DeletionProtection: true,
        Endpoint: `${GLOBAL_CLUSTER_ID}.global-abc123xyz.global.rds.amazonaws.com`,
        GlobalClusterMembers: [
          { DBClusterArn: writerArn, Readers: [readerArn], IsWriter: true, GlobalWriteForwardingStatus: 'disabled' },
          { DBClusterArn: readerArn, Readers: [], IsWriter: false, GlobalWriteForwardingStatus: 'disabled', SynchronizationStatus: 'connected' },
        ],
        ...(options.failoverState ? { FailoverState: options.failoverState } : {}),
      },
    ],
  };
}

/** DescribeDBClusters response for one member (RDS API reference, DBCluster). */
export function describeDbClustersResponse(arn: string, status = 'available'): DBClusterMessage & { DBClusters: [NonNullable<DBClusterMessage['DBClusters']>[number]] } {
  const [, , , region, , , id] = arn.split(':');
  return {
    DBClusters: [
      {
        DBClusterIdentifier: id,
        DBClusterArn: arn,
        Status: status,
        Engine: 'aurora-postgresql',
        EngineVersion: '15.4',
        Endpoint: `${id}.cluster-abc123xyz.${region}.rds.amazonaws.com`,
        ReaderEndpoint: `${id}.cluster-ro-abc123xyz.${region}.rds.amazonaws.com`,
        Port: 5432,
        MultiAZ: true,
        GlobalClusterIdentifier: GLOBAL_CLUSTER_ID,
        DBClusterMembers: [{ DBInstanceIdentifier: `${id}-1`, IsClusterWriter: true, DBClusterParameterGroupStatus: 'in-sync', PromotionTier: 1 }],
      },
    ],
  };
}

/** An SDK-shaped service error (what the v3 SDK throws: name, $fault, $metadata). */
export function sdkError(name: string, options: { status?: number; fault?: 'client' | 'server'; message?: string; retryable?: { throttling?: boolean } } = {}): Error {
  return Object.assign(new Error(options.message ?? `${name} from the service`), {
    name,
    $fault: options.fault ?? ((options.status ?? 400) >= 500 ? 'server' : 'client'),
    $metadata: { httpStatusCode: options.status ?? 400, requestId: 'b4d2f8e0-0000-4000-8000-000000000000', attempts: 1, totalRetryDelay: 0 },
    ...(options.retryable ? { $retryable: options.retryable } : {}),
  });
}

interface RegionAware {
  readonly config: { readonly region: () => Promise<string> };
}
interface RecordedCall {
  readonly thisValue: unknown;
}

/** The region of the client instance each recorded call was sent through. */
export async function regionsOf(calls: readonly RecordedCall[]): Promise<string[]> {
  return Promise.all(calls.map((call) => (call.thisValue as RegionAware).config.region()));
}

/** The region of the client a `callsFake` handler is running for. */
export async function regionOfClient(getClient: () => unknown): Promise<string> {
  return (getClient() as RegionAware).config.region();
}
