/**
 * VerifyWriter in AWS: the writer named by the topology must be confirmed in its own region twice over:
 * the global cluster, read there, names it the writer, and its own cluster is available. A secondary
 * cluster also reports `available`, so the cluster status alone confirms nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { DescribeDBClustersCommand, DescribeGlobalClustersCommand, RDSClient } from '@aws-sdk/client-rds';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { allAwsParts } from '../../lib/workflow/aws-parts/all.ts';
import { createAwsWorld } from '../../lib/workflow/aws-world.ts';
import { describeDbClustersResponse, describeGlobalClustersResponse, exampleConfig, USE2_ARN, USW2_ARN } from '../adapters/aws-fixtures.ts';

const rds = mockClient(RDSClient);
afterEach(() => rds.reset());

function world() {
  return createAwsWorld({ config: exampleConfig(), region: 'us-east-2', clients: new AwsClients(), parts: allAwsParts, telemetry: undefined, stateMachineArns: [] });
}

describe('AWS VerifyWriter', () => {
  it('confirms a writer that its own region names the writer and whose cluster is available', async () => {
    // Prepare
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USW2_ARN }));
    for (const arn of [USE2_ARN, USW2_ARN]) rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: arn }).resolves(describeDbClustersResponse(arn));
    const topology = await world().observeTopology();
    const writer = topology.members.find((member) => member.isWriter)!;

    // Act
    const check = await world().verifyWriter(writer);

    // Assess
    expect(check).toMatchObject({ ok: true });
    expect(check.reason).toContain('DescribeGlobalClusters in us-west-2 names it the writer');
  });

  it('refuses an available cluster that its own region does not name the writer (a secondary is available too)', async () => {
    // Prepare: the read in us-east-2 says us-west-2 is the writer; us-west-2's own view disagrees.
    rds.on(DescribeGlobalClustersCommand).callsFake(async (_input, getClient) => {
      const region = await getClient().config.region();
      return describeGlobalClustersResponse({ writerArn: region === 'us-west-2' ? USE2_ARN : USW2_ARN });
    });
    for (const arn of [USE2_ARN, USW2_ARN]) rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: arn }).resolves(describeDbClustersResponse(arn));
    const topology = await world().observeTopology();
    const writer = topology.members.find((member) => member.isWriter)!;
    expect(writer.dbClusterArn).toBe(USW2_ARN);

    // Act
    const check = await world().verifyWriter(writer);

    // Assess
    expect(check.ok).toBe(false);
    expect(check.reason).toContain('DescribeGlobalClusters in us-west-2 does not name it the writer');
  });
});
