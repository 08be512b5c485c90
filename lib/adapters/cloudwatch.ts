import { GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { AwsClientPool as AwsClients } from './aws-client-pool.ts';
import { toFailoverError } from './aws-errors.ts';
import { parseDbClusterArn } from './rds.ts';

export const RPO_LAG_METRIC = { namespace: 'AWS/RDS', name: 'AuroraGlobalDBRPOLag', dimension: 'DBClusterIdentifier' } as const;
const WINDOW_MS = 5 * 60_000;
const PERIOD_SECONDS = 60;

export type RpoLagReading =
  | { readonly available: true; readonly lagMs: number; readonly timestamp: string }
  | { readonly available: false; readonly reason: string };

/**
 * The latest AuroraGlobalDBRPOLag (milliseconds) of a SECONDARY member: the metric is published only in
 * the secondary's region, so `region` is the member's own region. Maximum per 60 s over the last 5 minutes;
 * the newest datapoint wins. No datapoint -> `{ available: false, reason }` (the caller decides whether
 * an unknown lag is acceptable). `dbClusterIdentifier` may be the identifier or the cluster ARN.
 */
export async function readRpoLagMs(clients: AwsClients, region: string, dbClusterIdentifier: string, now: Date | number): Promise<RpoLagReading> {
  const identifier = dbClusterIdentifier.startsWith('arn:') ? parseDbClusterArn(dbClusterIdentifier).dbClusterIdentifier : dbClusterIdentifier;
  const endTime = new Date(typeof now === 'number' ? now : now.getTime());
  const startTime = new Date(endTime.getTime() - WINDOW_MS);
  let response;
  try {
    response = await clients.cloudwatch(region).send(
      new GetMetricDataCommand({
        StartTime: startTime,
        EndTime: endTime,
        ScanBy: 'TimestampDescending',
        MetricDataQueries: [
          {
            Id: 'rpoLag',
            MetricStat: {
              Metric: {
                Namespace: RPO_LAG_METRIC.namespace,
                MetricName: RPO_LAG_METRIC.name,
                Dimensions: [{ Name: RPO_LAG_METRIC.dimension, Value: identifier }],
              },
              Period: PERIOD_SECONDS,
              Stat: 'Maximum',
            },
            ReturnData: true,
          },
        ],
      }),
    );
  } catch (error) {
    throw toFailoverError(error, `cloudwatch:GetMetricData ${RPO_LAG_METRIC.name} ${identifier} in ${region}`);
  }
  const series = response.MetricDataResults?.find((result) => result.Id === 'rpoLag');
  const timestamps = series?.Timestamps ?? [];
  const values = series?.Values ?? [];
  let latest: { at: Date; value: number } | undefined;
  timestamps.forEach((at, index) => {
    const value = values[index];
    if (value === undefined || !Number.isFinite(value)) return;
    if (!latest || at.getTime() > latest.at.getTime()) latest = { at, value };
  });
  if (!latest) {
    return {
      available: false,
      reason: `no ${RPO_LAG_METRIC.name} datapoint for ${identifier} in ${region} between ${startTime.toISOString()} and ${endTime.toISOString()} (status ${series?.StatusCode ?? 'unknown'})`,
    };
  }
  return { available: true, lagMs: latest.value, timestamp: latest.at.toISOString() };
}
