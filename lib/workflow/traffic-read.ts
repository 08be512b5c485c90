/**
 * Reading and applying traffic without letting it block a failover. Global Accelerator's API is served
 * only from us-west-2 and Route 53's control plane only from us-east-1: either may be down exactly when
 * the writer has to move. Each traffic system is read (and applied) on its own; one that does not answer
 * (a network error, timeout or 5xx) is a `degraded` decision with the reason, and `policy: none` reads
 * nothing at all. Any other error (throttling, access denied, a bad config) is not an outage: the caller
 * gets it in `failed` and ShiftTraffic rethrows it once the other systems were handled, so the state
 * machine retries throttling and a fatal error fails the run (RunsFailed). Users are moved off a dead
 * region by the data plane (health-checked records), see docs/outage.md.
 */
import { TrafficPolicy } from '../core/constants.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, isUnreachable } from '../core/errors.ts';
import type { TrafficAdapter, TrafficChange, TrafficKind, TrafficTargetState } from '../core/types.ts';
import type { World } from './world.ts';

/** A traffic system whose control plane did not answer, and why. */
export interface TrafficDegradation {
  readonly kind: TrafficKind;
  readonly reason: string;
}

/** A traffic system that answered with an error other than "unreachable" (throttling, access denied, ...). */
export interface TrafficFailure extends TrafficDegradation {
  readonly error: unknown;
}

export interface TrafficReading {
  /** False when `traffic.policy` is `none`: nothing was read and nothing will be changed. */
  readonly read: boolean;
  /** Weights of every traffic system that answered. */
  readonly states: readonly TrafficTargetState[];
  /** Traffic systems that did not answer (network error, timeout, 5xx). */
  readonly degraded: readonly TrafficDegradation[];
  /**
   * Traffic systems that answered with another error (throttling, access denied, invalid config). The
   * preflight and Plan only note them (ShiftTraffic reads again); ShiftTraffic rethrows the first one.
   */
  readonly failed: readonly TrafficFailure[];
  /**
   * One decision per system not read (`not-read`, `degraded`, `read-failed`), and `no-data-plane-failover`
   * naming Route 53 records without a health check; none when every system answered and every record is
   * health-checked.
   */
  readonly decisions: readonly Decision[];
}

const STEP = 'traffic';

/**
 * Reads every traffic system independently (in parallel). Never throws: a system whose control plane
 * does not answer is listed in `degraded`, one that fails otherwise in `failed`, and the others are still read.
 *
 * @example
 * const reading = await readTraffic(world);
 * // policy none: { read: false, states: [], degraded: [], failed: [], decisions: [{ decision: 'not-read', ... }] }
 */
export async function readTraffic(world: Pick<World, 'config' | 'trafficAdapters'>): Promise<TrafficReading> {
  if (world.config.traffic.policy === TrafficPolicy.None) {
    return { read: false, states: [], degraded: [], failed: [], decisions: [decide(STEP, 'not-read', 'traffic policy is none: no traffic system is read or changed')] };
  }
  const adapters = world.trafficAdapters();
  const settled = await Promise.allSettled(adapters.map((adapter) => adapter.observe()));
  const states: TrafficTargetState[] = [];
  const degraded: TrafficDegradation[] = [];
  const failed: TrafficFailure[] = [];
  settled.forEach((outcome, index) => {
    const adapter = adapters[index]!;
    if (outcome.status === 'fulfilled') {
      states.push(...outcome.value);
      return;
    }
    const reason = `could not read ${adapter.kind} weights: ${describeError(outcome.reason)}`;
    if (isUnreachable(outcome.reason)) degraded.push({ kind: adapter.kind, reason });
    else failed.push({ kind: adapter.kind, reason, error: outcome.reason });
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
  const failedDecisions = failed.map((entry) => decide(STEP, 'read-failed', `${entry.reason}; this is not an unreachable control plane: ShiftTraffic rethrows it once the other systems were handled`));
  return { read: true, states, degraded, failed, decisions: [...degraded.map(degradedDecision), ...failedDecisions, ...warnings] };
}

export interface TrafficApplyOutcome {
  readonly decisions: readonly Decision[];
  readonly applied: readonly TrafficChange[];
  readonly degraded: readonly TrafficDegradation[];
}

/**
 * Applies each system's share of the changes on its own. A system whose control plane does not answer
 * (network error, timeout, 5xx) is `degraded` and the others still apply. Any other error is thrown after
 * every other system was applied: throttling (and a lost compare-and-set race) so the state machine's
 * Retry tries again, a fatal one (a stale change, access denied) so the run fails.
 */
export async function applyTraffic(adapters: readonly TrafficAdapter[], changes: readonly TrafficChange[]): Promise<TrafficApplyOutcome> {
  const decisions: Decision[] = [];
  const applied: TrafficChange[] = [];
  const degraded: TrafficDegradation[] = [];
  const thrown: unknown[] = [];
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
    } else if (isUnreachable(outcome.reason)) {
      const entry = { kind: adapter.kind, reason: `could not change ${adapter.kind} weights: ${describeError(outcome.reason)}` };
      degraded.push(entry);
      decisions.push(degradedDecision(entry));
    } else {
      thrown.push(outcome.reason);
    }
  });
  if (thrown.length > 0) throw thrown[0];
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
