/**
 * AcquireRunLock, the first state of both workflows: one run at a time per global cluster in a region.
 * The decision is pure (lib/core/run-lock.ts); this step gathers the RUNNING executions and bounds the wait.
 */
import { decideRunLock, type RunLockVerdict } from '../core/run-lock.ts';
import { decide, type Decision } from '../core/decision.ts';
import { InvalidInputError } from '../core/errors.ts';
import { Trigger } from '../core/constants.ts';
import type { World } from './world.ts';

export interface RunLockStepInput {
  readonly kind: 'reconcile' | 'switchover';
  readonly executionArn: string;
  readonly executionStartTime: string;
  /** The execution input: a nested reconcile names its switchover in `switchoverExecutionArn`. */
  readonly input: { readonly trigger?: string; readonly switchoverExecutionArn?: string } | null;
}

export interface RunLockStepResult {
  readonly decision: Decision & { readonly decision: 'proceed' | 'wait' | 'exit' | 'give-up' };
  readonly waitSeconds: number;
  readonly holderExecutionArn: string;
}

const LOCK_POLL_SECONDS = 15;

export async function acquireRunLockStep(world: World, input: RunLockStepInput): Promise<RunLockStepResult> {
  const startedAtMs = Date.parse(input.executionStartTime);
  if (!Number.isFinite(startedAtMs)) throw new InvalidInputError(`executionStartTime must be an ISO timestamp, got ${JSON.stringify(input.executionStartTime)}`);
  const trigger = input.kind === 'switchover' ? Trigger.Manual : ((input.input?.trigger as Trigger | undefined) ?? Trigger.Manual);
  const parentArn = input.input?.switchoverExecutionArn;
  const running = await world.runs.listRunning();
  // Rank by the start time the listing shows, as every other run sees it; our own clock only when not listed yet.
  const ownStartedAtMs = running.find((execution) => execution.executionArn === input.executionArn)?.startedAtMs ?? startedAtMs;
  const parent = parentArn ? running.find((execution) => execution.executionArn === parentArn) : undefined;
  // A reconcile nested in a switchover ranks with its parent's start time: otherwise a run that started
  // between the two would wait for the parent while the parent waits for its child.
  const selfStartedAtMs = parent ? Math.min(parent.startedAtMs, ownStartedAtMs) : ownStartedAtMs;
  const leaseMs = world.config.switchover.lockLeaseSeconds * 1000;
  const verdict: RunLockVerdict = decideRunLock({
    self: { executionArn: input.executionArn, startedAtMs: selfStartedAtMs },
    ancestorExecutionArns: parentArn ? [parentArn] : [],
    trigger,
    running,
    nowMs: world.now(),
    leaseMs,
  });
  const waitedMs = world.now() - startedAtMs;
  if (verdict.decision === 'wait' && waitedMs > leaseMs) {
    return {
      decision: decide(verdict.step, 'give-up', `${verdict.reason}; gave up after waiting ${Math.round(waitedMs / 1000)} s (lease ${Math.round(leaseMs / 1000)} s)`) as RunLockStepResult['decision'],
      waitSeconds: 0,
      holderExecutionArn: verdict.holderExecutionArn,
    };
  }
  return {
    decision: decide(verdict.step, verdict.decision, verdict.reason) as RunLockStepResult['decision'],
    waitSeconds: LOCK_POLL_SECONDS,
    holderExecutionArn: verdict.holderExecutionArn,
  };
}
