/**
 * No overlapping runs for one global cluster in one region, decided from the Step Functions executions
 * that are RUNNING (the adapter lists them; this module is pure).
 *
 * Why executions instead of a lock record: a lock must expire when its holder dies. A Step Functions
 * execution that crashed, timed out (TimeoutSeconds) or was stopped is no longer RUNNING, so it cannot
 * hold anything; no table, no release step that a failure path could skip. The oldest RUNNING execution
 * is the holder; ties on start time go to the smaller execution ARN, so two runs that see each other
 * always agree on exactly one winner. An execution RUNNING longer than the lease is treated as stuck and
 * ignored (its state machine's TimeoutSeconds should be shorter than the lease anyway).
 *
 * Worked example: A started 10:00:00.000, B started 10:00:00.000, arn(A) < arn(B).
 * A sees {A, B} -> A is oldest -> proceed.  B sees {A, B} -> A holds -> B waits (event/manual) or exits
 * (schedule: the running reconcile repairs the same drift). When A ends, B sees {B} -> proceed.
 */
import type { Decision } from './decision.ts';
import type { Trigger } from './constants.ts';

export interface RunningExecution {
  readonly executionArn: string;
  readonly name?: string;
  readonly stateMachineArn?: string;
  /** Milliseconds since the epoch. */
  readonly startedAtMs: number;
}

export interface RunLockInput {
  /** The caller's own execution (`$$.Execution.Id`, `$$.Execution.StartTime`). */
  readonly self: RunningExecution;
  /**
   * Executions that contain the caller and must not block it: a switchover execution that runs the
   * reconcile workflow nested (`startExecution.sync:2`) passes its own ARN to the child.
   */
  readonly ancestorExecutionArns?: readonly string[];
  readonly trigger: Trigger;
  /** RUNNING executions of every state machine that changes this global cluster in this region. */
  readonly running: readonly RunningExecution[];
  readonly nowMs: number;
  /** `switchover.lockLeaseSeconds` in milliseconds. */
  readonly leaseMs: number;
}

export const RunLockDecision = { Proceed: 'proceed', Wait: 'wait', Exit: 'exit' } as const;
export type RunLockDecision = (typeof RunLockDecision)[keyof typeof RunLockDecision];

export interface RunLockVerdict extends Decision {
  readonly decision: RunLockDecision;
  /** The execution that holds the lock (the caller itself when proceeding). */
  readonly holderExecutionArn: string;
  /** RUNNING executions ignored because they outlived the lease. */
  readonly staleExecutionArns: readonly string[];
}

const STEP = 'run-lock';

function verdict(decision: RunLockDecision, reason: string, holderExecutionArn: string, staleExecutionArns: readonly string[]): RunLockVerdict {
  return { step: STEP, decision, reason, holderExecutionArn, staleExecutionArns };
}

export function decideRunLock(input: RunLockInput): RunLockVerdict {
  const ancestors = new Set(input.ancestorExecutionArns ?? []);
  const byArn = new Map<string, RunningExecution>();
  // ListExecutions is eventually consistent: the caller may not be listed yet, so it always counts.
  for (const execution of [...input.running, input.self]) {
    if (!ancestors.has(execution.executionArn)) byArn.set(execution.executionArn, execution);
  }
  const stale: RunningExecution[] = [];
  const live: RunningExecution[] = [];
  for (const execution of byArn.values()) {
    const isStale = execution.executionArn !== input.self.executionArn && input.nowMs - execution.startedAtMs > input.leaseMs;
    (isStale ? stale : live).push(execution);
  }
  const holder = live.sort(olderFirst)[0]!;
  const staleExecutionArns = stale.map((execution) => execution.executionArn);
  const staleNote = stale.length
    ? `; ignored ${stale.length} execution(s) running longer than the ${Math.round(input.leaseMs / 1000)} s lease (${stale.map(label).join(', ')})`
    : '';

  if (holder.executionArn === input.self.executionArn) {
    const others = live.length - 1;
    const reason =
      others === 0
        ? `no other run is in progress for this global cluster${staleNote}`
        : `this run is the oldest of ${live.length} running (the others wait or exit)${staleNote}`;
    return verdict(RunLockDecision.Proceed, reason, holder.executionArn, staleExecutionArns);
  }
  const since = new Date(holder.startedAtMs).toISOString();
  if (input.trigger === 'schedule') {
    const reason = `run ${label(holder)} (started ${since}) is in progress and repairs the same drift; this scheduled run exits${staleNote}`;
    return verdict(RunLockDecision.Exit, reason, holder.executionArn, staleExecutionArns);
  }
  const reason = `run ${label(holder)} (started ${since}) holds the run lock; this ${input.trigger} run waits for it to end${staleNote}`;
  return verdict(RunLockDecision.Wait, reason, holder.executionArn, staleExecutionArns);
}

function olderFirst(a: RunningExecution, b: RunningExecution): number {
  if (a.startedAtMs !== b.startedAtMs) return a.startedAtMs - b.startedAtMs;
  return a.executionArn < b.executionArn ? -1 : a.executionArn > b.executionArn ? 1 : 0;
}

function label(execution: RunningExecution): string {
  return execution.name ?? execution.executionArn.split(':').pop() ?? execution.executionArn;
}

/**
 * A reconcile nested in a switchover names its parent in `switchoverExecutionArn`, and ranks with the
 * parent's start time. That is a privilege (it jumps the queue), so the name must be checked: it must be
 * an execution of this stack's own switchover state machine, and RUNNING now. Anything else is refused.
 *
 * Worked example (switchover state machine arn:aws:states:us-east-2:1:stateMachine:svc-prod-switchover):
 *   arn:aws:states:us-east-2:1:execution:svc-prod-switchover:manual-42, listed RUNNING  -> accepted
 *   arn:aws:states:us-east-2:1:execution:svc-prod-reconcile:x (another state machine)  -> refused
 *   arn:aws:states:us-east-2:1:execution:svc-prod-switchover:done (not RUNNING)         -> refused
 */
export interface ParentExecutionCheck {
  readonly parentExecutionArn: string;
  /** This stack's switchover state machine ARN; undefined when unknown (then every parent is refused). */
  readonly switchoverStateMachineArn: string | undefined;
  /** RUNNING executions (ListExecutions). */
  readonly running: readonly RunningExecution[];
  /** `AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID` of the input, when present: it must name the same parent. */
  readonly startedByExecutionArn?: string | undefined;
}

export type ParentExecutionVerdict = { readonly ok: true; readonly parent: RunningExecution } | { readonly ok: false; readonly reason: string };

export function checkParentExecution(check: ParentExecutionCheck): ParentExecutionVerdict {
  const arn = check.parentExecutionArn;
  const shown = JSON.stringify(arn.slice(0, 300));
  if (!check.switchoverStateMachineArn) {
    return { ok: false, reason: `switchoverExecutionArn ${shown} is refused: this stack's switchover state machine ARN is not known` };
  }
  const prefix = `${executionArnPrefix(check.switchoverStateMachineArn)}:`;
  const executionName = arn.startsWith(prefix) ? arn.slice(prefix.length) : '';
  if (!executionName || executionName.includes(':')) {
    return { ok: false, reason: `switchoverExecutionArn ${shown} is refused: it is not an execution of this stack's switchover state machine ${check.switchoverStateMachineArn}` };
  }
  if (check.startedByExecutionArn !== undefined && check.startedByExecutionArn !== arn) {
    return { ok: false, reason: `switchoverExecutionArn ${shown} is refused: the execution was started by ${JSON.stringify(check.startedByExecutionArn.slice(0, 300))}` };
  }
  const parent = check.running.find((execution) => execution.executionArn === arn);
  if (!parent || (parent.stateMachineArn !== undefined && parent.stateMachineArn !== check.switchoverStateMachineArn)) {
    return { ok: false, reason: `switchoverExecutionArn ${shown} is refused: it is not a RUNNING execution of ${check.switchoverStateMachineArn}` };
  }
  return { ok: true, parent };
}

/** `arn:...:stateMachine:name` -> `arn:...:execution:name` (the prefix of every execution ARN of that state machine). */
export function executionArnPrefix(stateMachineArn: string): string {
  return stateMachineArn.replace(/:stateMachine:/, ':execution:');
}

/**
 * How long a run may keep waiting for the lock: it gives up (a decision, the execution fails with
 * RunLockTimeoutError) early enough that the state machine's own TimeoutSeconds never fires while it
 * waits. A TIMED_OUT switchover would trigger the status-change rule that resumes this region's pools,
 * which would resume the pools the *holder* paused. The margin covers one poll plus one lock check with
 * all its retries.
 *
 * Worked example: reconcile TimeoutSeconds 3600, lease 7500 s -> gives up after 3600 - 600 = 3000 s.
 */
export const LOCK_GIVE_UP_MARGIN_SECONDS = 600;

export function lockWaitLimitMs(leaseMs: number, stateMachineTimeoutSeconds: number | undefined): number {
  if (stateMachineTimeoutSeconds === undefined) return leaseMs;
  return Math.min(leaseMs, Math.max(0, stateMachineTimeoutSeconds - LOCK_GIVE_UP_MARGIN_SECONDS) * 1000);
}
