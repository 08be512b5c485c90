/**
 * The planner: (topology, each target's observed state, config) -> a plan whose every change carries the
 * value it expects to replace. Pure; the same code serves the Plan step and `aurora-failover plan`.
 *
 * Rules:
 * - Nothing is planned unless the topology is stable (WriterNotVerifiedError otherwise): writes are never
 *   routed to a writer that is still being promoted.
 * - The write alias goes to the writer member's cluster (writer) endpoint.
 * - The read alias goes to this region's member's reader endpoint. If the region's member has none:
 *   the member's own cluster endpoint when it is the writer (same region, same data); otherwise (no member
 *   in this region, or a secondary without a reader endpoint) the writer member's reader endpoint (or its
 *   cluster endpoint), decision `read-fallback`: reads keep working, cross-region, and the reason says so.
 * - An alias missing from a target's `[databases]` is never invented: that target's plan is `refuse`
 *   (its change has `from: null`, and applying it fails with the alias named).
 * - A refused traffic plan (every region at 0) does not stop the poolers: traffic is left unchanged.
 */
import { AliasRole } from './constants.ts';
import { regionConfig, type Config, type PoolerTargetConfig } from './config.ts';
import { decide, type Decision } from './decision.ts';
import { assertSafeEndpoint, formatEndpoint, sameEndpoint, type Endpoint } from './endpoint.ts';
import { InvalidInputError, TrafficPlanRefusedError, WriterNotVerifiedError } from './errors.ts';
import { assessStability, clusterNameOfArn, memberInRegion } from './topology.ts';
import { planTraffic, regionHealth } from './traffic-policy.ts';
import type { Plan, PoolerChange, PoolerPlan, PoolerTargetState, Topology, TrafficPlan, TrafficTargetState } from './types.ts';

export interface DesiredPoolerEndpoints {
  readonly write: Endpoint;
  readonly read: Endpoint;
  readonly decision: Decision;
}

/**
 * Where this region's write and read aliases should point.
 *
 * Worked example (after a switchover to us-west-2, planning for us-east-2):
 *   writer app-usw2 (us-west-2), endpoint app-usw2.cluster-def456.us-west-2.rds.amazonaws.com:5432
 *   us-east-2 member app-use2, reader endpoint app-use2.cluster-ro-abc123.us-east-2.rds.amazonaws.com:5432
 *   -> write: app-usw2.cluster-def456...:5432, read: app-use2.cluster-ro-abc123...:5432, decision `proceed`
 */
export function desiredPoolerEndpoints(topology: Topology, region: string): DesiredPoolerEndpoints {
  const verdict = assessStability(topology);
  const writer = verdict.writer;
  if (!verdict.stable || !writer?.writerEndpoint) throw new WriterNotVerifiedError(`not repointing: ${verdict.reason}`);
  const writerName = clusterNameOfArn(writer.dbClusterArn);
  const write = assertSafeEndpoint(writer.writerEndpoint, `${writerName}.writerEndpoint`);
  const writeText = `writes -> ${formatEndpoint(write)} (writer ${writerName} in ${writer.region})`;

  const local = memberInRegion(topology, region);
  if (local?.readerEndpoint) {
    const read = assertSafeEndpoint(local.readerEndpoint, `${clusterNameOfArn(local.dbClusterArn)}.readerEndpoint`);
    return { write, read, decision: decide('desired-endpoints', 'proceed', `${writeText}; reads -> ${formatEndpoint(read)} (${region}'s reader endpoint)`) };
  }
  if (local?.isWriter) {
    return { write, read: write, decision: decide('desired-endpoints', 'proceed', `${writeText}; reads -> the same endpoint (${region} is the writer and reports no reader endpoint)`) };
  }
  const fallback = writer.readerEndpoint ?? writer.writerEndpoint;
  const read = assertSafeEndpoint(fallback, `${writerName}.${writer.readerEndpoint ? 'readerEndpoint' : 'writerEndpoint'}`);
  const why = local ? `${region}'s member ${clusterNameOfArn(local.dbClusterArn)} reports no reader endpoint` : `${region} has no member of global cluster ${topology.globalClusterId}`;
  return {
    write,
    read,
    decision: decide('desired-endpoints', 'read-fallback', `${writeText}; reads -> ${formatEndpoint(read)} in ${writer.region} (cross-region) because ${why}`),
  };
}

/**
 * One target's plan: a change per alias whose endpoint differs from the desired one.
 *
 * Worked example: state { appdb: use2-writer:5432, appdb_ro: use2-reader:5432 },
 * desired { write: usw2-writer:5432, read: use2-reader:5432 }
 *   -> changes [ { alias: appdb, role: write, from: use2-writer:5432, to: usw2-writer:5432 } ], decision `apply`.
 * Same state planned again after the apply -> changes [], decision `nothing-to-do`.
 */
export function planPooler(target: PoolerTargetConfig, state: PoolerTargetState, desired: { write: Endpoint; read: Endpoint }): PoolerPlan {
  if (state.target !== target.name) throw new InvalidInputError(`state of target ${state.target} was given for target ${target.name}`);
  const step = `pooler:${target.name}`;
  const wanted = [
    { alias: target.aliases.write, role: AliasRole.Write, to: desired.write },
    { alias: target.aliases.read, role: AliasRole.Read, to: desired.read },
  ];
  const changes: PoolerChange[] = [];
  const unchanged: string[] = [];
  for (const { alias, role, to } of wanted) {
    const from = state.aliases[alias] ?? null;
    if (sameEndpoint(from, to)) unchanged.push(`${alias} already at ${formatEndpoint(to)}`);
    else changes.push({ alias, role, from, to });
  }
  const base = { target: target.name, region: state.region, reloadStrategy: target.reloadStrategy, changes };
  const missing = changes.filter((change) => change.from === null).map((change) => change.alias);
  if (missing.length > 0) {
    return {
      ...base,
      decision: decide(step, 'refuse', `alias ${missing.join(', ')} is missing from [databases]; aliases are never invented, add ${missing.length > 1 ? 'them' : 'it'} to the pooler config`),
    };
  }
  if (changes.length === 0) return { ...base, decision: decide(step, 'nothing-to-do', `${unchanged.join('; ')}`) };
  const moves = changes.map((change) => `${change.alias} ${formatEndpoint(change.from)} -> ${formatEndpoint(change.to)}`);
  return { ...base, decision: decide(step, 'apply', [`repoint ${moves.join(', ')}`, ...unchanged].join('; ')) };
}

export interface ReconcileInput {
  readonly topology: Topology;
  /** The region whose pooler targets are planned (the stack's region). */
  readonly region: string;
  readonly config: Config;
  readonly poolerStates: readonly PoolerTargetState[];
  readonly trafficStates: readonly TrafficTargetState[];
  /** Pooler target names of `region` that failed (to observe or apply): skipped here, and drained by drain-unhealthy. */
  readonly failedTargets?: readonly string[];
}

/**
 * The whole run's plan for one region: every pooler target of the region, and traffic for every region.
 * Throws WriterNotVerifiedError when the topology is not stable, InvalidConfigError for an unconfigured
 * region, InvalidInputError when a (not failed) target has no observed state.
 */
export function planReconcile(input: ReconcileInput): Plan {
  const { topology, region, config, poolerStates, trafficStates, failedTargets = [] } = input;
  const verdict = assessStability(topology);
  if (!verdict.stable || !verdict.writer) throw new WriterNotVerifiedError(`not planning: ${verdict.reason}`);
  const writer = verdict.writer;
  const section = regionConfig(config, region);
  const decisions: Decision[] = [decide('verify-writer', 'proceed', verdict.reason)];

  const desired = desiredPoolerEndpoints(topology, region);
  decisions.push(desired.decision);

  const poolers: PoolerPlan[] = [];
  for (const target of section.poolers) {
    const state = poolerStates.find((candidate) => candidate.target === target.name);
    if (!state) {
      if (!failedTargets.includes(target.name)) throw new InvalidInputError(`no observed state for pooler target ${target.name}`);
      decisions.push(decide(`pooler:${target.name}`, 'skip', `${target.name} could not be observed; it is reported as failed`));
      continue;
    }
    const plan = planPooler(target, state, desired);
    poolers.push(plan);
    decisions.push(plan.decision);
  }
  if (section.poolers.length === 0) decisions.push(decide('poolers', 'nothing-to-do', `${region} has no pooler targets configured`));

  const traffic = planTrafficSafely(topology, config, trafficStates, failedTargets, region);
  decisions.push(...(traffic.kept ?? []), traffic.decision);

  return { globalClusterId: topology.globalClusterId, writerRegion: writer.region, writerDbClusterArn: writer.dbClusterArn, poolers, traffic, decisions };
}

/** Traffic as `region`'s stack plans it: pooler health judged there only, other regions never raised (drain-unhealthy). */
function planTrafficSafely(topology: Topology, config: Config, states: readonly TrafficTargetState[], failedTargets: readonly string[], region: string): TrafficPlan {
  try {
    return planTraffic(topology, config, states, regionHealth(topology, config, failedTargets, { region }));
  } catch (error) {
    if (error instanceof TrafficPlanRefusedError) return { changes: [], decision: decide('traffic', 'refuse', error.message) };
    throw error;
  }
}
