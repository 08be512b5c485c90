import { describe, expect, it } from 'vitest';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { awsTrafficAdapters } from '../../lib/adapters/traffic-adapters.ts';
import { ACCOUNT, exampleConfig, GA_USE2 } from './aws-fixtures.ts';

describe('awsTrafficAdapters', () => {
  it('builds one adapter per traffic system that some region configures', () => {
    expect(awsTrafficAdapters(new AwsClients(), exampleConfig()).map((adapter) => adapter.kind)).toEqual(['global-accelerator', 'route53']);
  });

  it('builds only Global Accelerator when no region has a route53 section, and none without traffic sections', () => {
    const gaOnly = exampleConfig({
      regions: { 'us-east-2': { dbClusterArn: `arn:aws:rds:us-east-2:${ACCOUNT}:cluster:app-use2`, traffic: { globalAccelerator: { endpointGroupArn: GA_USE2 } } } },
    });
    const none = exampleConfig({ regions: { 'us-east-2': { dbClusterArn: `arn:aws:rds:us-east-2:${ACCOUNT}:cluster:app-use2` } } });

    expect(awsTrafficAdapters(new AwsClients(), gaOnly).map((adapter) => adapter.kind)).toEqual(['global-accelerator']);
    expect(awsTrafficAdapters(new AwsClients(), none)).toEqual([]);
  });
});
