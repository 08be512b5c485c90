import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { readRpoLagMs } from '../../lib/adapters/cloudwatch.ts';
import { ThrottledError } from '../../lib/core/errors.ts';
import { regionsOf, sdkError, USW2_ARN } from './aws-fixtures.ts';

const cloudwatch = mockClient(CloudWatchClient);
const NOW = Date.parse('2025-03-01T12:00:00.000Z');

beforeEach(() => cloudwatch.reset());

describe('readRpoLagMs', () => {
  it('asks the secondary\'s region for Maximum AuroraGlobalDBRPOLag per minute over 5 minutes and returns the newest', async () => {
    // Prepare: GetMetricData response shaped like the CloudWatch API reference (newest first).
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [
        {
          Id: 'rpoLag',
          Label: 'AuroraGlobalDBRPOLag',
          Timestamps: [new Date('2025-03-01T11:59:00Z'), new Date('2025-03-01T11:58:00Z'), new Date('2025-03-01T11:57:00Z')],
          Values: [850, 4200, 1200],
          StatusCode: 'Complete',
        },
      ],
      Messages: [],
    });

    // Act
    const reading = await readRpoLagMs(new AwsClients(), 'us-west-2', 'app-usw2', NOW);

    // Assess
    expect(reading).toEqual({ available: true, lagMs: 850, timestamp: '2025-03-01T11:59:00.000Z' });
    expect(cloudwatch).toHaveReceivedCommandExactlyOnceWith(GetMetricDataCommand, {
      StartTime: new Date('2025-03-01T11:55:00.000Z'),
      EndTime: new Date('2025-03-01T12:00:00.000Z'),
      ScanBy: 'TimestampDescending',
      MetricDataQueries: [
        {
          Id: 'rpoLag',
          MetricStat: {
            Metric: { Namespace: 'AWS/RDS', MetricName: 'AuroraGlobalDBRPOLag', Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'app-usw2' }] },
            Period: 60,
            Stat: 'Maximum',
          },
          ReturnData: true,
        },
      ],
    });
    expect(await regionsOf(cloudwatch.calls())).toEqual(['us-west-2']);
  });

  it('accepts the member\'s ARN and picks the newest datapoint whatever the order', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({
      MetricDataResults: [{ Id: 'rpoLag', Timestamps: [new Date('2025-03-01T11:57:00Z'), new Date('2025-03-01T11:59:00Z')], Values: [100, 300], StatusCode: 'Complete' }],
    });

    const reading = await readRpoLagMs(new AwsClients(), 'us-west-2', USW2_ARN, new Date(NOW));

    expect(reading).toEqual({ available: true, lagMs: 300, timestamp: '2025-03-01T11:59:00.000Z' });
    expect(cloudwatch.commandCalls(GetMetricDataCommand)[0]?.args[0].input.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions).toEqual([
      { Name: 'DBClusterIdentifier', Value: 'app-usw2' },
    ]);
  });

  it('no datapoint is "not available" with a reason, not a zero lag', async () => {
    cloudwatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'rpoLag', Timestamps: [], Values: [], StatusCode: 'Complete' }] });

    const reading = await readRpoLagMs(new AwsClients(), 'us-west-2', 'app-usw2', NOW);

    expect(reading.available).toBe(false);
    expect(reading).toEqual({ available: false, reason: expect.stringMatching(/^no AuroraGlobalDBRPOLag datapoint for app-usw2 in us-west-2 between 2025-03-01T11:55:00.000Z and/) });
  });

  it('throttling is ThrottledError', async () => {
    cloudwatch.on(GetMetricDataCommand).rejects(sdkError('Throttling', { status: 400 }));

    await expect(readRpoLagMs(new AwsClients(), 'us-west-2', 'app-usw2', NOW)).rejects.toThrow(ThrottledError);
  });
});
