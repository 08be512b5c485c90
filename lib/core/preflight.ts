/**
 * Preflight for a planned switchover or an unplanned failover: pure checks over what the workflow
 * observed. Each check is a decision with a reason; the first refusal names why nothing will be done.
 */
import { decide, type Decision } from './decision.ts';
import { SYNC_STATUS_CONNECTED } from './constants.ts';
import type { SwitchoverInput, SwitchoverTarget } from './switchover-input.ts';
import type { StabilityVerdict, Topology } from './types.ts';

export interface RpoLagReading {
  readonly available: boolean;
  readonly lagMs?: number;
  readonly reason?: string;
}

export interface PreflightFacts {
  readonly input: SwitchoverInput;
  readonly target: SwitchoverTarget;
  readonly topology: Topology;
  readonly stability: StabilityVerdict;
  /** Failover mode only: the target's AuroraGlobalDBRPOLag. */
  readonly rpoLag?: RpoLagReading;
  /**
   * Failover mode only: whether the current writer's region answers at all (unreachable = a network error,
   * timeout or 5xx; throttling and refusals are thrown by the probe, not counted as an outage).
   */
  readonly writerRegionReachable?: { readonly reachable: boolean; readonly reason: string };
  /** One decision per pooler target of this region: `reachable` or `unreachable`. */
  readonly poolers: readonly Decision[];
  /** The traffic plan for the topology after the switch: `valid` or why not. */
  readonly traffic: Decision;
}

export type PreflightVerdict = 'proceed' | 'nothing-to-do' | 'refuse';

export interface PreflightResult {
  readonly verdict: PreflightVerdict;
  readonly reason: string;
  readonly checks: readonly Decision[];
  readonly currentWriterRegion?: string;
  readonly currentWriterDbClusterArn?: string;
}

const STEP = 'preflight';

export function runPreflight(facts: PreflightFacts): PreflightResult {
  const { input, target, topology } = facts;
  const checks: Decision[] = [];
  const refuse = (check: string, reason: string): PreflightResult => {
    checks.push(decide(`${STEP}:${check}`, 'refuse', reason));
    return { verdict: 'refuse', reason, checks, ...writerOf(topology) };
  };
  const pass = (check: string, reason: string) => checks.push(decide(`${STEP}:${check}`, 'pass', reason));

  const member = topology.members.find((candidate) => candidate.dbClusterArn === target.dbClusterArn);
  if (!member) return refuse('target-is-member', `${target.dbClusterArn} is not a member of ${topology.globalClusterId} according to DescribeGlobalClusters`);
  pass('target-is-member', `${target.dbClusterArn} (${target.region}) is a member of ${topology.globalClusterId}`);

  if (member.isWriter && !topology.failoverState) {
    const reason = `${target.region} is already the writer: nothing to do`;
    checks.push(decide(`${STEP}:target-not-writer`, 'nothing-to-do', reason));
    return { verdict: 'nothing-to-do', reason, checks, ...writerOf(topology) };
  }
  pass('target-not-writer', `${target.region} is not the writer now`);

  if (topology.failoverState) {
    return refuse('no-switch-in-progress', `a ${topology.failoverState.status} switchover/failover is already in progress (from ${topology.failoverState.fromDbClusterArn ?? '?'} to ${topology.failoverState.toDbClusterArn ?? '?'})`);
  }
  if (input.mode === 'switchover' && !facts.stability.stable) return refuse('global-cluster-available', facts.stability.reason);
  if (input.mode === 'switchover' || topology.status === 'available') {
    pass('global-cluster-available', `global cluster status is ${topology.status} with no switchover or failover in progress`);
  } else {
    pass('global-cluster-available', `global cluster status is ${topology.status}; failover mode proceeds anyway`);
  }

  if (member.synchronizationStatus !== undefined && member.synchronizationStatus !== SYNC_STATUS_CONNECTED) {
    return refuse('target-connected', `${target.region} member is ${member.synchronizationStatus}, not ${SYNC_STATUS_CONNECTED}: promoting it would lose or refuse data`);
  }
  pass('target-connected', `${target.region} member is ${member.synchronizationStatus ?? SYNC_STATUS_CONNECTED}`);

  if (input.mode === 'failover') {
    if (input.acceptDataLoss !== true) {
      return refuse('accept-data-loss', 'mode failover can lose the last seconds of writes: say "acceptDataLoss": true, or use mode switchover (RPO 0)');
    }
    pass('accept-data-loss', 'the caller accepted data loss (acceptDataLoss: true)');
    const lagCheck = checkRpoLag(input.maxRpoLagMs, facts.rpoLag, facts.writerRegionReachable);
    if (lagCheck.decision === 'refuse') return refuse('rpo-lag', lagCheck.reason);
    pass('rpo-lag', lagCheck.reason);
  }

  const unreachable = facts.poolers.filter((check) => check.decision !== 'reachable');
  if (unreachable.length > 0) return refuse('poolers-reachable', unreachable.map((check) => `${check.step}: ${check.reason}`).join('; '));
  pass('poolers-reachable', facts.poolers.length ? `all ${facts.poolers.length} pooler target(s) in this region answered` : 'no pooler targets in this region');

  if (facts.traffic.decision === 'refuse') return refuse('traffic-plan', facts.traffic.reason);
  pass('traffic-plan', facts.traffic.reason);

  const reason = `${input.mode} of ${topology.globalClusterId} to ${target.region} passed every check`;
  return { verdict: 'proceed', reason, checks, ...writerOf(topology) };
}

/**
 * The data-loss guard of a failover. The lag is read in the target's own region (AuroraGlobalDBRPOLag is
 * published where the secondary lives), so a reading exists even when the old primary's region is down:
 * whenever one was read, it is enforced. Only a lag that could not be read is accepted, and only when the
 * old primary's region does not answer either (the outage case: nothing can bound the loss, and the caller
 * said acceptDataLoss).
 *
 * @example
 * checkRpoLag(5000, { available: true, lagMs: 8000 }, { reachable: false, reason: 'ETIMEDOUT' }).decision // 'refuse'
 * checkRpoLag(5000, { available: false, reason: 'no datapoint' }, { reachable: false, reason: 'ETIMEDOUT' }).decision // 'pass'
 */
function checkRpoLag(
  maxRpoLagMs: number | undefined,
  lag: RpoLagReading | undefined,
  writerRegion: PreflightFacts['writerRegionReachable'],
): { decision: 'pass' | 'refuse'; reason: string } {
  if (maxRpoLagMs === undefined) return { decision: 'pass', reason: 'no maxRpoLagMs given: any replication lag is accepted' };
  const regionDown = writerRegion !== undefined && !writerRegion.reachable;
  if (lag?.available && lag.lagMs !== undefined) {
    const note = regionDown ? ` (the old primary region is unreachable: ${writerRegion.reason}; the lag was read in the target's region)` : '';
    if (lag.lagMs > maxRpoLagMs) return { decision: 'refuse', reason: `RPO lag ${lag.lagMs} ms exceeds maxRpoLagMs ${maxRpoLagMs} ms${note}` };
    return { decision: 'pass', reason: `RPO lag ${lag.lagMs} ms is within maxRpoLagMs ${maxRpoLagMs} ms${note}` };
  }
  const unavailable = `AuroraGlobalDBRPOLag is unavailable (${lag?.reason ?? 'not read'})`;
  if (regionDown) {
    return { decision: 'pass', reason: `${unavailable} and the old primary region is unreachable (${writerRegion.reason}), so RPO lag cannot be bounded; proceeding as accepted (acceptDataLoss)` };
  }
  return { decision: 'refuse', reason: `${unavailable} while the old primary region is reachable; cannot prove lag <= ${maxRpoLagMs} ms` };
}

function writerOf(topology: Topology): { currentWriterRegion?: string; currentWriterDbClusterArn?: string } {
  const writers = topology.members.filter((member) => member.isWriter);
  const writer = writers.length === 1 ? writers[0] : undefined;
  return writer ? { currentWriterRegion: writer.region, currentWriterDbClusterArn: writer.dbClusterArn } : {};
}
