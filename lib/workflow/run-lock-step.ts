/**
 * AcquireRunLock, the first state of both workflows: one run at a time per global cluster in a region.
 * It validates the execution input first (a malformed input fails here with InvalidInputError, before
 * anything is locked, paused or changed), checks the parent a nested reconcile names, and bounds the
 * wait. The decisions are pure (lib/core/run-lock.ts); this step gathers the RUNNING executions.
 */
import { checkParentExecution, decideRunLock, lockWaitLimitMs, type RunLockVerdict } from '../core/run-lock.ts';
import { decide, type Decision } from '../core/decision.ts';
import { InvalidInputError } from '../core/errors.ts';
import type { Trigger } from '../core/constants.ts';
import { parseWithSchema, reconcileInputSchema } from '../core/workflow-input.ts';
import { parseSwitchoverInput } from '../core/switchover-input.ts';
import type { FollowSpec } from '../core/workflow-input.ts';
import { FOLLOW_POLL_SECONDS } from './coordination.ts';
import { newerFollowRun, supersededDecision } from '../core/peers.ts';
import type { World } from './world.ts';

export interface RunLockStepInput {
  readonly kind: 'reconcile' | 'switchover';
  readonly executionArn: string;
  readonly executionStartTime: string;
  /** The execution input (`$$.Execution.Input`), validated here: a nested reconcile names its switchover in `switchoverExecutionArn`. */
  readonly input: unknown;
  /** The state machine's own TimeoutSeconds (the ASL passes it): a waiting run gives up before it. */
  readonly stateMachineTimeoutSeconds?: number;
}

export interface RunLockStepResult {
  /** `lease-ended`: a follow run's lease ran out while it waited for the lock (the ASL resumes, ResumeAtLeaseEnd). */
  /** `superseded`: the same, but a newer follow run RUNNING in this region owns the pause (nothing is resumed). */
  readonly decision: Decision & { readonly decision: 'proceed' | 'wait' | 'exit' | 'give-up' | 'lease-ended' | 'superseded' };
  readonly waitSeconds: number;
  readonly holderExecutionArn: string;
}

/** How long a run waits between two looks at the run lock (WaitForRunLock). */
export const LOCK_POLL_SECONDS = 15;

interface LockRequest {
  readonly trigger: Trigger;
  readonly parentArn: string | undefined;
  readonly startedByArn: string | undefined;
  /** A follow run's lease (prepare-for-switch paused this region before the run started). */
  readonly follow: FollowSpec | undefined;
}

/** The parts of a valid execution input the lock needs; throws InvalidInputError naming the problem. */
function lockRequestOf(world: World, input: RunLockStepInput): LockRequest {
  if (input.kind === 'switchover') {
    parseSwitchoverInput(input.input, world.config);
    return { trigger: 'manual', parentArn: undefined, startedByArn: undefined, follow: undefined };
  }
  const runInput = parseWithSchema(reconcileInputSchema, input.input, 'reconcile input');
  return { trigger: runInput.trigger, parentArn: runInput.switchoverExecutionArn, startedByArn: runInput.AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID, follow: runInput.follow };
}

export async function acquireRunLockStep(world: World, input: RunLockStepInput): Promise<RunLockStepResult> {
  if (input.kind !== 'reconcile' && input.kind !== 'switchover') throw new InvalidInputError(`kind must be reconcile or switchover, got ${JSON.stringify(input.kind)}`);
  const startedAtMs = Date.parse(input.executionStartTime);
  if (!Number.isFinite(startedAtMs)) throw new InvalidInputError(`executionStartTime must be an ISO timestamp, got ${JSON.stringify(input.executionStartTime)}`);
  const timeoutSeconds = input.stateMachineTimeoutSeconds;
  if (timeoutSeconds !== undefined && !(Number.isInteger(timeoutSeconds) && timeoutSeconds > 0)) {
    throw new InvalidInputError(`stateMachineTimeoutSeconds must be a positive integer, got ${JSON.stringify(timeoutSeconds)}`);
  }
  const { trigger, parentArn, startedByArn, follow } = lockRequestOf(world, input);
  const running = await world.runs.listRunning();
  let parent;
  if (parentArn !== undefined) {
    const check = checkParentExecution({ parentExecutionArn: parentArn, switchoverStateMachineArn: world.runs.switchoverStateMachineArn, running, startedByExecutionArn: startedByArn });
    if (!check.ok) throw new InvalidInputError(check.reason);
    parent = check.parent;
  }
  // Rank by the start time the listing shows, as every other run sees it; our own clock only when not listed yet.
  const ownStartedAtMs = running.find((execution) => execution.executionArn === input.executionArn)?.startedAtMs ?? startedAtMs;
  // A reconcile nested in a switchover ranks with its parent's start time: otherwise a run that started
  // between the two would wait for the parent while the parent waits for its child.
  const selfStartedAtMs = parent ? Math.min(parent.startedAtMs, ownStartedAtMs) : ownStartedAtMs;
  const leaseMs = world.config.switchover.lockLeaseSeconds * 1000;
  const verdict: RunLockVerdict = decideRunLock({
    self: { executionArn: input.executionArn, startedAtMs: selfStartedAtMs },
    ancestorExecutionArns: parent ? [parent.executionArn] : [],
    trigger,
    running,
    nowMs: world.now(),
    leaseMs,
  });
  // A follow run holds a pause its prepare set: it polls every second (it repoints within seconds of the
  // promotion once the lock frees) and never waits past its lease, with or without the lock.
  const pollSeconds = follow ? FOLLOW_POLL_SECONDS : LOCK_POLL_SECONDS;
  if (follow && verdict.decision === 'wait' && world.now() >= Date.parse(follow.requestedAt) + follow.leaseSeconds * 1000) {
    const newer = newerFollowRun({ executionArn: input.executionArn, startedAtMs: ownStartedAtMs }, running, world.runs.switchoverStateMachineArn);
    if (newer) return { decision: supersededDecision(follow, newer) as RunLockStepResult['decision'], waitSeconds: 0, holderExecutionArn: verdict.holderExecutionArn };
    return {
      decision: decide(
        verdict.step,
        'lease-ended',
        `${verdict.reason}; the ${follow.leaseSeconds} s lease of this follow run (for ${follow.targetRegion}) ended while it waited for the run lock; resuming this region's write aliases`,
      ) as RunLockStepResult['decision'],
      waitSeconds: 0,
      holderExecutionArn: verdict.holderExecutionArn,
    };
  }
  const waitedMs = world.now() - startedAtMs;
  const waitLimitMs = lockWaitLimitMs(leaseMs, timeoutSeconds);
  if (verdict.decision === 'wait' && waitedMs + pollSeconds * 1000 > waitLimitMs) {
    const limit = waitLimitMs < leaseMs ? `before the state machine's ${timeoutSeconds} s timeout` : `lease ${Math.round(leaseMs / 1000)} s`;
    return {
      decision: decide(verdict.step, 'give-up', `${verdict.reason}; gave up after waiting ${Math.round(waitedMs / 1000)} s (${limit})`) as RunLockStepResult['decision'],
      waitSeconds: 0,
      holderExecutionArn: verdict.holderExecutionArn,
    };
  }
  return {
    decision: decide(verdict.step, verdict.decision, verdict.reason) as RunLockStepResult['decision'],
    waitSeconds: pollSeconds,
    holderExecutionArn: verdict.holderExecutionArn,
  };
}
