/**
 * Reading and applying traffic without letting it block a failover. Global Accelerator's API is served
 * only from us-west-2 and Route 53's control plane only from us-east-1: either may be down exactly when
 * the writer has to move. Each traffic system is read (and applied) on its own; one that does not answer
 * is a `degraded` decision with the reason, never a thrown error, and `policy: none` reads nothing at all.
 * Users are moved off a dead region by the data plane (health-checked records), see docs/outage.md.
 */
import { TrafficPolicy } from '../core/constants.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, isTransient } from '../core/errors.ts';
import type { TrafficAdapter, TrafficChange, TrafficKind, TrafficTargetState } from '../core/types.ts';
import type { World } from './world.ts';

/** A traffic system whose control plane did not answer, and why. */
export interface TrafficDegradation {
  readonly kind: TrafficKind;
  readonly reason: string;
}

export interface TrafficReading {
  /** False when `traffic.policy` is `none`: nothing was read and nothing will be changed. */
  readonly read: boolean;
  /** Weights of every traffic system that answered. */
  readonly states: readonly TrafficTargetState[];
  /** Traffic systems that did not answer. */
  readonly degraded: readonly TrafficDegradation[];
  /**
   * One decision per system not read (`not-read`, `degraded`), and `no-data-plane-failover` naming Route 53
   * records without a health check; none when every system answered and every record is health-checked.
   */
  readonly decisions: readonly Decision[];
}

const STEP = 'traffic';

/**
 * Reads every traffic system independently (in parallel). Never throws: a system whose control plane
 * does not answer is listed in `degraded` and the others are still read.
 *
 * @example
 * const reading = await readTraffic(world);
 * // policy none: { read: false, states: [], degraded: [], decisions: [{ decision: 'not-read', ... }] }
 */
export async function readTraffic(world: Pick<World, 'config' | 'trafficAdapters'>): Promise<TrafficReading> {
  if (world.config.traffic.policy === TrafficPolicy.None) {
    return { read: false, states: [], degraded: [], decisions: [decide(STEP, 'not-read', 'traffic policy is none: no traffic system is read or changed')] };
  }
  const adapters = world.trafficAdapters();
  const settled = await Promise.allSettled(adapters.map((adapter) => adapter.observe()));
  const states: TrafficTargetState[] = [];
  const degraded: TrafficDegradation[] = [];
  settled.forEach((outcome, index) => {
    const adapter = adapters[index]!;
    if (outcome.status === 'fulfilled') states.push(...outcome.value);
    else degraded.push({ kind: adapter.kind, reason: `could not read ${adapter.kind} weights: ${describeError(outcome.reason)}` });
  });
  const unchecked = states.filter((state) => state.withoutHealthCheck);
  const warnings = unchecked.length === 0
    ? []
    : [
        decide(
          STEP,
          'no-data-plane-failover',
          `route53 record(s) ${unchecked.map((state) => `${state.resource} (${state.region})`).join(', ')} have no health check (HealthCheckId or alias EvaluateTargetHealth): if that region dies, DNS keeps answering it and only the Route 53 control plane (us-east-1) could change it; see docs/outage.md`,
        ),
      ];
  return { read: true, states, degraded, decisions: [...degraded.map(degradedDecision), ...warnings] };
}

export interface TrafficApplyOutcome {
  readonly decisions: readonly Decision[];
  readonly applied: readonly TrafficChange[];
  readonly degraded: readonly TrafficDegradation[];
}

/**
 * Applies each system's share of the changes on its own. A system that fails with a transient error
 * (its control plane is unreachable, throttles or times out) is `degraded` and the others still apply;
 * a fatal error (a stale change, access denied) is thrown after every other system was applied.
 */
export async function applyTraffic(adapters: readonly TrafficAdapter[], changes: readonly TrafficChange[]): Promise<TrafficApplyOutcome> {
  const decisions: Decision[] = [];
  const applied: TrafficChange[] = [];
  const degraded: TrafficDegradation[] = [];
  const fatal: unknown[] = [];
  const results = await Promise.allSettled(
    adapters.map(async (adapter) => {
      const mine = changes.filter((change) => change.kind === adapter.kind);
      if (mine.length === 0) return null;
      return { mine, result: await adapter.apply(mine) };
    }),
  );
  results.forEach((outcome, index) => {
    const adapter = adapters[index]!;
    if (outcome.status === 'fulfilled') {
      if (outcome.value) {
        decisions.push(outcome.value.result.decision);
        applied.push(...outcome.value.mine);
      }
    } else if (isTransient(outcome.reason)) {
      const entry = { kind: adapter.kind, reason: `could not change ${adapter.kind} weights: ${describeError(outcome.reason)}` };
      degraded.push(entry);
      decisions.push(degradedDecision(entry));
    } else {
      fatal.push(outcome.reason);
    }
  });
  if (fatal.length > 0) throw fatal[0];
  return { decisions, applied, degraded };
}

/** The note a run summary (and its SNS notification) carries when traffic was not (fully) moved. */
export function trafficNote(degraded: readonly TrafficDegradation[]): string | undefined {
  if (degraded.length === 0) return undefined;
  return `traffic was not moved on ${degraded.map((entry) => entry.kind).join(' and ')}: ${degraded.map((entry) => entry.reason).join('; ')}. Users leave a dead region through the data-plane failover (health-checked DNS records), see docs/outage.md`;
}

function degradedDecision(entry: TrafficDegradation): Decision {
  return decide(STEP, 'degraded', `${entry.reason}; weights of ${entry.kind} are left as they are, the failover goes on`);
}
