/**
 * Traffic policy: which weight each region's Global Accelerator endpoint group (traffic dial, 0..100)
 * and Route 53 weighted record (same number, within 0..255) should have.
 *
 * - `none`: never change weights.
 * - `follow-writer`: the writer's region gets `weights.writer`, every other region `weights.others`.
 * - `drain-unhealthy`: like follow-writer, but an unhealthy region gets 0 (see regionHealth).
 * Safety rule: a plan that leaves every region of a kind at 0 is refused (TrafficPlanRefusedError).
 */
import { SYNC_STATUS_CONNECTED, TrafficPolicy } from './constants.ts';
import type { Config } from './config.ts';
import { decide, type Decision } from './decision.ts';
import { TrafficPlanRefusedError, WriterNotVerifiedError } from './errors.ts';
import { assessStability, memberInRegion } from './topology.ts';
import type { RegionHealth, Topology, TrafficChange, TrafficKind, TrafficPlan, TrafficTargetState } from './types.ts';

const STEP = 'traffic';

/**
 * Health of every configured region. Unhealthy when the region has no member of the global cluster,
 * its member is not the writer and its SynchronizationStatus is not `connected`, or one of its pooler
 * targets is in `failedTargets`. The reason lists every problem found.
 */
export function regionHealth(topology: Topology, config: Config, failedTargets: readonly string[]): RegionHealth[] {
  return Object.entries(config.regions).map(([region, section]) => {
    const problems: string[] = [];
    const member = memberInRegion(topology, region);
    if (!member) {
      problems.push(`has no member of global cluster ${topology.globalClusterId}`);
    } else if (!member.isWriter && member.synchronizationStatus !== SYNC_STATUS_CONNECTED) {
      problems.push(`its DB member's SynchronizationStatus is ${member.synchronizationStatus ?? 'not reported'}, not ${SYNC_STATUS_CONNECTED}`);
    }
    const failed = section.poolers.map((target) => target.name).filter((name) => failedTargets.includes(name));
    if (failed.length > 0) problems.push(`pooler target${failed.length > 1 ? 's' : ''} ${failed.join(', ')} failed`);
    if (problems.length > 0) return { region, healthy: false, reason: `${region} is unhealthy: ${problems.join('; ')}` };
    return { region, healthy: true, reason: member?.isWriter ? `${region} is the writer region` : `${region}'s DB member is ${SYNC_STATUS_CONNECTED}` };
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
 * says nothing about the traffic that region can serve, so it never drains a region: it is reported
 * (the run still fails naming the target) and one decision says why it does not count.
 *
 * Worked example: writer in us-east-2, scheduled run, verify-pods on pgb-a answers 503 four times:
 *   pgb-a failed, readOnly -> not counted ("a read-only pod check failed ...")
 *   us-east-2 keeps weight 100 and dial 100.
 */
export function definitivelyFailedTargets(outcomes: readonly PoolerRunOutcome[]): { targets: string[]; decisions: Decision[] } {
  const targets: string[] = [];
  const decisions: Decision[] = [];
  for (const outcome of outcomes) {
    if (!outcome.failed) continue;
    if (outcome.readOnly) {
      decisions.push(
        decide(
          STEP,
          'health-ignores',
          `${outcome.target} failed only a read-only pod check (${outcome.error ?? 'error'}); its ConfigMap already routes to the writer, so its region's health is not changed`,
        ),
      );
      continue;
    }
    targets.push(outcome.target);
  }
  return { targets, decisions };
}

/**
 * Plans one change per (kind, region) whose weight differs from the policy's.
 *
 * Worked example (follow-writer, weights writer 100 / others 50, writer moved us-east-2 -> us-west-2):
 *   states  GA us-east-2 100, GA us-west-2 50
 *   changes GA us-east-2 100 -> 50, GA us-west-2 50 -> 100
 * With drain-unhealthy and us-east-2's member `pending-resync`, us-east-2 goes to 0 instead of 50.
 * If both regions were unhealthy every weight would be 0: refused, weights stay as they are.
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

  const drained = new Map<string, string>();
  if (policy === TrafficPolicy.DrainUnhealthy) {
    for (const entry of health) if (!entry.healthy) drained.set(entry.region, entry.reason);
  }
  const desiredWeight = (region: string): number => {
    if (drained.has(region)) return 0;
    return region === writerRegion ? weights.writer : weights.others;
  };

  const managed = states.filter((state) => state.region in config.regions);
  for (const kind of new Set<TrafficKind>(managed.map((state) => state.kind))) {
    const ofKind = managed.filter((state) => state.kind === kind);
    if (ofKind.every((state) => desiredWeight(state.region) === 0)) {
      const why = [...drained.values()].join('; ') || `configured weights are writer ${weights.writer}, others ${weights.others}`;
      throw new TrafficPlanRefusedError(`${kind}: ${policy} would set every region's weight to 0 (${why}); weights left as they are`);
    }
  }

  const changes: TrafficChange[] = managed
    .filter((state) => state.weight !== desiredWeight(state.region))
    .map((state) => ({ kind: state.kind, region: state.region, resource: state.resource, from: state.weight, to: desiredWeight(state.region) }));

  const drainNote = drained.size > 0 ? `; drained: ${[...drained.values()].join('; ')}` : '';
  if (changes.length === 0) {
    return {
      changes,
      decision: decide(STEP, 'nothing-to-do', `weights already follow ${policy} (writer region ${writerRegion})${drainNote}`),
    };
  }
  const summary = changes.map((change) => `${change.kind} ${change.region} ${change.from} -> ${change.to}`).join(', ');
  return { changes, decision: decide(STEP, 'shift', `${policy} with writer region ${writerRegion}: ${summary}${drainNote}`) };
}
