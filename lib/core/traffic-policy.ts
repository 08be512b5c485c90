/**
 * Traffic policy: which weight each region's Global Accelerator endpoint group (traffic dial, 0..100)
 * and Route 53 weighted record (same number, within 0..255) should have.
 *
 * - `none`: never change weights.
 * - `follow-writer`: the writer's region gets `weights.writer`, every other region `weights.others`.
 * - `drain-unhealthy`: like follow-writer, but an unhealthy region gets 0 (see regionHealth). Seen from one
 *   regional stack (the `scope` of regionHealth): it judges pooler health in its own region only, lowers but
 *   never raises another region's weights, and keeps a region's weights when its health is unknown this run.
 * Safety rule: a plan that leaves every region of a kind at 0 is refused (TrafficPlanRefusedError).
 */
import { SYNC_STATUS_CONNECTED, TrafficPolicy } from './constants.ts';
import type { Config } from './config.ts';
import { decide, type Decision } from './decision.ts';
import { TrafficPlanRefusedError, WriterNotVerifiedError } from './errors.ts';
import { assessStability, memberInRegion } from './topology.ts';
import type { RegionHealth, Topology, TrafficChange, TrafficKind, TrafficPlan, TrafficTargetState } from './types.ts';

const STEP = 'traffic';

/** The stack whose run judges health: pooler targets are known only in its own region. */
export interface HealthScope {
  /** The stack's region: its pooler targets count; other regions are judged by their DB member alone (`lower-only`). */
  readonly region: string;
  /** Its targets whose only failure this run was a read-only pod check: their region's weights stay (`keep`). */
  readonly uncheckedTargets?: readonly string[];
}

/**
 * Health of every configured region. Unhealthy when the region has no member of the global cluster,
 * its member is not the writer and its SynchronizationStatus is not `connected`, or one of its pooler
 * targets is in `failedTargets`. The reason lists every problem found.
 *
 * With a `scope` (every workflow run passes its stack's region): another region's pooler targets are not
 * counted (only its own stack sees them) and it is marked `lower-only`; a region of the stack whose only
 * trouble is a failed read-only check (`uncheckedTargets`) is marked `keep`, health unknown.
 *
 * Worked example (stack us-east-2, writer us-west-2, both members fine, failedTargets [usw2-pgbouncer]):
 *   us-east-2 healthy; us-west-2 healthy, lower-only (usw2-pgbouncer is not ours to judge).
 */
export function regionHealth(topology: Topology, config: Config, failedTargets: readonly string[], scope?: HealthScope): RegionHealth[] {
  return Object.entries(config.regions).map(([region, section]): RegionHealth => {
    const peer = scope !== undefined && region !== scope.region;
    const limit = peer ? { weights: 'lower-only' as const } : {};
    const problems: string[] = [];
    const member = memberInRegion(topology, region);
    if (!member) {
      problems.push(`has no member of global cluster ${topology.globalClusterId}`);
    } else if (!member.isWriter && member.synchronizationStatus !== SYNC_STATUS_CONNECTED) {
      problems.push(`its DB member's SynchronizationStatus is ${member.synchronizationStatus ?? 'not reported'}, not ${SYNC_STATUS_CONNECTED}`);
    }
    const targets = peer ? [] : section.poolers.map((target) => target.name);
    const failed = targets.filter((name) => failedTargets.includes(name));
    if (failed.length > 0) problems.push(`pooler target${failed.length > 1 ? 's' : ''} ${failed.join(', ')} failed`);
    if (problems.length > 0) return { region, healthy: false, reason: `${region} is unhealthy: ${problems.join('; ')}`, ...limit };
    const unchecked = targets.filter((name) => scope?.uncheckedTargets?.includes(name));
    if (unchecked.length > 0) {
      return { region, healthy: false, weights: 'keep', reason: `${region}'s health is unknown this run: only a read-only pod check of ${unchecked.join(', ')} failed` };
    }
    return { region, healthy: true, reason: member?.isWriter ? `${region} is the writer region` : `${region}'s DB member is ${SYNC_STATUS_CONNECTED}`, ...limit };
  });
}

/** One pooler target as the ApplyPoolers Map left it: `failed` only after the state machine's retries. */
export interface PoolerRunOutcome {
  readonly target: string;
  /** The plan only re-checked pods of an in-sync target (decision `verify-pods`): a read-only check. */
  readonly readOnly: boolean;
  readonly failed: boolean;
  /** The error name the Map item's Catch recorded. */
  readonly error?: string;
}

/**
 * The pooler targets whose failure makes their region unhealthy for `drain-unhealthy`: those that
 * definitively failed (the Map item's Catch runs only after the Retry of transient errors gave up) while
 * changing something. A failed read-only check (verify-pods on a target whose ConfigMap is already right)
 * says neither that the region is broken nor that it was repaired: it is reported (the run still fails
 * naming the target), returned in `unchecked` (regionHealth marks its region `keep`: its weights stay as
 * they are, drained or not), and one decision says why.
 *
 * Worked example: writer in us-east-2, scheduled run, verify-pods on pgb-a answers 503 four times:
 *   pgb-a failed, readOnly -> unchecked ("a read-only pod check failed ...")
 *   us-east-2 keeps weight 100 and dial 100; had an earlier run drained it to 0, it would stay at 0.
 */
export function definitivelyFailedTargets(outcomes: readonly PoolerRunOutcome[]): { targets: string[]; unchecked: string[]; decisions: Decision[] } {
  const targets: string[] = [];
  const unchecked: string[] = [];
  const decisions: Decision[] = [];
  for (const outcome of outcomes) {
    if (!outcome.failed) continue;
    if (outcome.readOnly) {
      unchecked.push(outcome.target);
      decisions.push(
        decide(
          STEP,
          'health-ignores',
          `${outcome.target} failed only a read-only pod check (${outcome.error ?? 'error'}); its ConfigMap already routes to the writer, so its region's health is not changed either way: its weights stay as they are this run`,
        ),
      );
      continue;
    }
    targets.push(outcome.target);
  }
  return { targets, unchecked, decisions };
}

/**
 * Plans one change per (kind, region) whose weight differs from the policy's.
 *
 * Worked example (follow-writer, weights writer 100 / others 50, writer moved us-east-2 -> us-west-2):
 *   states  GA us-east-2 100, GA us-west-2 50
 *   changes GA us-east-2 100 -> 50, GA us-west-2 50 -> 100
 * With drain-unhealthy and us-east-2's member `pending-resync`, us-east-2 goes to 0 instead of 50.
 * If both regions were unhealthy every weight would be 0: refused, weights stay as they are.
 *
 * drain-unhealthy from the us-east-2 stack (health scoped to us-east-2), writer us-west-2, both members fine:
 *   states  GA us-east-2 50, GA us-west-2 0 (us-west-2's own stack drained it: one of its targets failed)
 *   policy  GA us-west-2 100, but us-west-2 is lower-only here: kept at 0, decision `keep`; no changes.
 * The refusal looks at the weights actually planned, kept ones included.
 */
export function planTraffic(
  topology: Topology,
  config: Config,
  states: readonly TrafficTargetState[],
  health: readonly RegionHealth[],
): TrafficPlan {
  const { policy, weights } = config.traffic;
  if (policy === TrafficPolicy.None) {
    return { changes: [], decision: decide(STEP, 'nothing-to-do', 'traffic policy is none: weights are never changed') };
  }
  const verdict = assessStability(topology);
  if (!verdict.stable || !verdict.writer) throw new WriterNotVerifiedError(`traffic not planned: ${verdict.reason}`);
  const writerRegion = verdict.writer.region;
  if (states.length === 0) {
    return { changes: [], decision: decide(STEP, 'nothing-to-do', 'no traffic targets were observed') };
  }

  const drainUnhealthy = policy === TrafficPolicy.DrainUnhealthy;
  const healthOf = new Map(health.map((entry) => [entry.region, entry]));
  const drained = new Map<string, string>();
  if (drainUnhealthy) {
    for (const entry of health) if (!entry.healthy && entry.weights !== 'keep') drained.set(entry.region, entry.reason);
  }
  // With a scope, the one region not marked lower-only is the stack's own.
  const ownRegion = health.some((entry) => entry.weights === 'lower-only') ? health.find((entry) => entry.weights !== 'lower-only')?.region : undefined;
  /** The weight planned for one (kind, region); `kept` says why it is the current one and not the policy's. */
  const desired = (state: TrafficTargetState): { weight: number; policyWeight: number; kept?: string } => {
    const policyWeight = state.region === writerRegion ? weights.writer : weights.others;
    const entry = drainUnhealthy ? healthOf.get(state.region) : undefined;
    if (!entry) return { weight: policyWeight, policyWeight };
    if (entry.weights === 'keep') {
      return state.weight === policyWeight ? { weight: policyWeight, policyWeight } : { weight: state.weight, policyWeight, kept: entry.reason };
    }
    const wanted = entry.healthy ? policyWeight : 0;
    if (entry.weights === 'lower-only' && wanted > state.weight) {
      const stack = ownRegion ? `this stack (${ownRegion})` : 'this stack';
      return { weight: state.weight, policyWeight: wanted, kept: `${entry.reason}, but ${stack} judges only its own region's pooler targets; ${state.region}'s own stack raises its weight` };
    }
    return { weight: wanted, policyWeight };
  };

  const managed = states.filter((state) => state.region in config.regions);
  const planned = managed.map((state) => ({ state, ...desired(state) }));
  const keptReason = (entry: (typeof planned)[number]) => `${entry.state.region} stays at ${entry.weight} (policy: ${entry.policyWeight}): ${entry.kept}`;
  for (const kind of new Set<TrafficKind>(managed.map((state) => state.kind))) {
    const ofKind = planned.filter((entry) => entry.state.kind === kind);
    if (ofKind.every((entry) => entry.weight === 0)) {
      const reasons = [...drained.values(), ...ofKind.filter((entry) => entry.kept).map(keptReason)];
      const why = reasons.join('; ') || `configured weights are writer ${weights.writer}, others ${weights.others}`;
      throw new TrafficPlanRefusedError(`${kind}: ${policy} would set every region's weight to 0 (${why}); weights left as they are`);
    }
  }

  const changes: TrafficChange[] = planned
    .filter((entry) => entry.state.weight !== entry.weight)
    .map(({ state, weight }) => ({ kind: state.kind, region: state.region, resource: state.resource, from: state.weight, to: weight }));
  const keptEntries = planned.filter((entry) => entry.kept !== undefined);
  const kept = keptEntries.map((entry) => decide(STEP, 'keep', `${entry.state.kind} ${keptReason(entry)}`));

  const drainNote = drained.size > 0 ? `; drained: ${[...drained.values()].join('; ')}` : '';
  const keepNote = keptEntries.length > 0 ? `; kept: ${keptEntries.map((entry) => `${entry.state.kind} ${entry.state.region} at ${entry.weight}`).join(', ')}` : '';
  const extra = drainUnhealthy ? { kept } : {};
  if (changes.length === 0) {
    return {
      changes,
      decision: decide(STEP, 'nothing-to-do', `weights already follow ${policy} (writer region ${writerRegion})${drainNote}${keepNote}`),
      ...extra,
    };
  }
  const summary = changes.map((change) => `${change.kind} ${change.region} ${change.from} -> ${change.to}`).join(', ');
  return { changes, decision: decide(STEP, 'shift', `${policy} with writer region ${writerRegion}: ${summary}${drainNote}${keepNote}`), ...extra };
}
