/**
 * The drill's deployment config: the same schema as config/<stage>.yml, for two local "regions".
 * Region A (us-east-2) starts as the writer; B (us-west-2) is its streaming replica (`--regions` names others).
 */
import { parseConfig, type Config } from '../core/config.ts';

export const DRILL_GLOBAL_CLUSTER_ID = 'drill-global';
export const DRILL_REGIONS = ['us-east-2', 'us-west-2'] as const;
/** The drill's two regions: the first starts as the writer, the second is its streaming replica. */
export type DrillRegions = readonly [string, string];
/** region-outage's default: the writer region us-west-2 dies and takes the Global Accelerator API with it. */
export const OUTAGE_REGIONS: DrillRegions = ['us-west-2', 'us-east-1'];
export const WRITE_ALIAS = 'appdb';
export const READ_ALIAS = 'appdb_ro';
const ACCOUNT = '000000000000';

export function drillClusterArn(region: string): string {
  return `arn:aws:rds:${region}:${ACCOUNT}:cluster:drill-${region}`;
}

export function drillPoolerName(region: string): string {
  return `pgbouncer-${region}`;
}

export function drillConfig(
  aliases: { readonly write: string; readonly read: string } = { write: WRITE_ALIAS, read: READ_ALIAS },
  options: { readonly regions?: DrillRegions; readonly trafficPolicy?: 'follow-writer' | 'drain-unhealthy' } = {},
): Config {
  const regions = options.regions ?? DRILL_REGIONS;
  const region = (name: string) => ({
    dbClusterArn: drillClusterArn(name),
    poolers: [
      {
        name: drillPoolerName(name),
        eksCluster: 'local',
        namespace: 'local',
        configMap: 'pgbouncer-ini',
        workload: { kind: 'Deployment', name: 'pgbouncer' },
        podSelector: 'app=pgbouncer',
        reloadStrategy: 'live',
        aliases: { write: aliases.write, read: aliases.read },
      },
    ],
  });
  return parseConfig(
    {
      globalClusterId: DRILL_GLOBAL_CLUSTER_ID,
      regions: Object.fromEntries(regions.map((name) => [name, region(name)])),
      traffic: { policy: options.trafficPolicy ?? 'follow-writer', weights: { writer: 100, others: 50 } },
      reconcile: { schedule: 'disabled', stableTimeoutSeconds: 120, pollSeconds: 1 },
      switchover: { pauseBudgetSeconds: 60, timeoutSeconds: 120, lockLeaseSeconds: 600 },
    },
    'drill config',
  );
}

export function drillExecutionArn(region: string, kind: 'reconcile' | 'switchover', name: string): string {
  return `arn:aws:states:${region}:${ACCOUNT}:execution:aurora-global-failover-drill-${kind}:${name}`;
}

/** The state machine every drillExecutionArn of that region and kind belongs to. */
export function drillStateMachineArn(region: string, kind: 'reconcile' | 'switchover'): string {
  return `arn:aws:states:${region}:${ACCOUNT}:stateMachine:aurora-global-failover-drill-${kind}`;
}

/** An EventBridge "RDS DB Cluster Event" envelope as AWS documents it. */
export function rdsEventEnvelope(event: { id: string; eventId: string; region: string; dbClusterArn: string; message: string; at: Date }): unknown {
  const clusterId = event.dbClusterArn.split(':').at(-1)!;
  return {
    version: '0',
    id: event.id,
    'detail-type': 'RDS DB Cluster Event',
    source: 'aws.rds',
    account: ACCOUNT,
    time: event.at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: event.region,
    resources: [event.dbClusterArn],
    detail: {
      EventCategories: ['global-failover'],
      SourceType: 'CLUSTER',
      SourceArn: event.dbClusterArn,
      Date: event.at.toISOString(),
      Message: event.message,
      SourceIdentifier: clusterId,
      EventID: event.eventId,
    },
  };
}
