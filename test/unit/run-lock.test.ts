import { describe, expect, it } from 'vitest';
import { checkParentExecution, decideRunLock, lockWaitLimitMs, type RunningExecution } from '../../lib/core/run-lock.ts';

const MACHINE = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-failover-prod-reconcile';
const SWITCHOVER = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-failover-prod-switchover';
const LEASE_MS = 2_700_000;
const T0 = Date.parse('2025-03-01T12:00:00.000Z');

function execution(name: string, startedAtMs: number, machine = MACHINE): RunningExecution {
  return { executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`, name, stateMachineArn: machine, startedAtMs };
}

describe('decideRunLock', () => {
  it('alone: proceeds', () => {
    const self = execution('event-0185-a', T0);

    const verdict = decideRunLock({ self, trigger: 'event', running: [self], nowMs: T0 + 5_000, leaseMs: LEASE_MS });

    expect(verdict.decision).toBe('proceed');
    expect(verdict.reason).toBe('no other run is in progress for this global cluster');
    expect(verdict.holderExecutionArn).toBe(self.executionArn);
  });

  it('two runs started together: exactly one proceeds, the other waits, and both name the same holder', () => {
    // Prepare: same start millisecond; both see both.
    const a = execution('event-0185-a', T0);
    const b = execution('schedule-1200', T0);
    const running = [b, a];

    // Act
    const forA = decideRunLock({ self: a, trigger: 'event', running, nowMs: T0 + 5_000, leaseMs: LEASE_MS });
    const forB = decideRunLock({ self: b, trigger: 'manual', running, nowMs: T0 + 5_000, leaseMs: LEASE_MS });

    // Assess
    expect([forA.decision, forB.decision].filter((decision) => decision === 'proceed')).toHaveLength(1);
    expect(forA.holderExecutionArn).toBe(forB.holderExecutionArn);
    expect(forA.decision).toBe('proceed');
    expect(forB.decision).toBe('wait');
    expect(forB.reason).toBe('run event-0185-a (started 2025-03-01T12:00:00.000Z) holds the run lock; this manual run waits for it to end');
  });

  it('a scheduled run exits while another run is in progress', () => {
    const older = execution('event-0238-x', T0);
    const self = execution('schedule-1205', T0 + 300_000);

    const verdict = decideRunLock({ self, trigger: 'schedule', running: [older, self], nowMs: T0 + 301_000, leaseMs: LEASE_MS });

    expect(verdict.decision).toBe('exit');
    expect(verdict.reason).toMatch(/^run event-0238-x \(started .*\) is in progress and repairs the same drift; this scheduled run exits$/);
  });

  it('an older run that ended is no longer RUNNING: the next run proceeds', () => {
    const self = execution('event-0185-b', T0 + 60_000);
    // The earlier run ended (or crashed and was timed out), so ListExecutions(RUNNING) no longer lists it.
    const running = [self];

    const verdict = decideRunLock({ self, trigger: 'event', running, nowMs: T0 + 61_000, leaseMs: LEASE_MS });

    expect(verdict.decision).toBe('proceed');
  });

  it('a run stuck RUNNING longer than the lease is taken over, and named', () => {
    const stuck = execution('event-0185-stuck', T0);
    const self = execution('event-0185-new', T0 + LEASE_MS + 60_000);

    const verdict = decideRunLock({ self, trigger: 'event', running: [stuck, self], nowMs: T0 + LEASE_MS + 61_000, leaseMs: LEASE_MS });

    expect(verdict.decision).toBe('proceed');
    expect(verdict.staleExecutionArns).toEqual([stuck.executionArn]);
    expect(verdict.reason).toContain('ignored 1 execution(s) running longer than the 2700 s lease (event-0185-stuck)');
  });

  it('the same older run within its lease still holds the lock', () => {
    const older = execution('event-0185-slow', T0);
    const self = execution('event-0185-new', T0 + LEASE_MS - 10_000);

    expect(decideRunLock({ self, trigger: 'event', running: [older, self], nowMs: T0 + LEASE_MS - 5_000, leaseMs: LEASE_MS }).decision).toBe('wait');
  });

  it('counts itself even when ListExecutions does not list it yet (eventual consistency)', () => {
    const older = execution('event-0185-a', T0);
    const self = execution('event-0185-b', T0 + 1_000);

    const forSelf = decideRunLock({ self, trigger: 'event', running: [older], nowMs: T0 + 2_000, leaseMs: LEASE_MS });
    const forOlder = decideRunLock({ self: older, trigger: 'event', running: [older], nowMs: T0 + 2_000, leaseMs: LEASE_MS });

    expect(forSelf.decision).toBe('wait');
    expect(forOlder.decision).toBe('proceed');
  });

  it('a reconcile nested in a switchover is not blocked by its own parent', () => {
    const parent = execution('switchover-usw2', T0, SWITCHOVER);
    const child = execution('switchover-usw2-reconcile', T0 + 120_000);

    const verdict = decideRunLock({
      self: child,
      ancestorExecutionArns: [parent.executionArn],
      trigger: 'manual',
      running: [parent, child],
      nowMs: T0 + 121_000,
      leaseMs: LEASE_MS,
    });

    expect(verdict.decision).toBe('proceed');
    // Without the ancestor list the child would wait for its parent forever.
    expect(decideRunLock({ self: child, trigger: 'manual', running: [parent, child], nowMs: T0 + 121_000, leaseMs: LEASE_MS }).decision).toBe('wait');
  });
});

describe('checkParentExecution', () => {
  const parent = execution('switchover-usw2', T0, SWITCHOVER);

  it('accepts a RUNNING execution of this stack\'s switchover state machine', () => {
    expect(checkParentExecution({ parentExecutionArn: parent.executionArn, switchoverStateMachineArn: SWITCHOVER, running: [parent] })).toEqual({ ok: true, parent });
  });

  it.each([
    ['an execution of the reconcile state machine', execution('older', T0, MACHINE).executionArn, /is not an execution of this stack's switchover state machine/],
    ['a state machine whose name only starts the same', `${SWITCHOVER.replace(':stateMachine:', ':execution:')}-v2:x`, /is not an execution of this stack's switchover state machine/],
    ['an ARN with extra segments', `${parent.executionArn}:extra`, /is not an execution of this stack's switchover state machine/],
    ['a switchover that is not RUNNING', execution('ended', T0, SWITCHOVER).executionArn, /is not a RUNNING execution of/],
    ['not an ARN at all', 'me', /is not an execution of this stack's switchover state machine/],
  ])('refuses %s', (_what, arn, reason) => {
    const verdict = checkParentExecution({ parentExecutionArn: arn, switchoverStateMachineArn: SWITCHOVER, running: [parent, execution('older', T0, MACHINE)] });

    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(reason);
  });

  it('refuses when the started-by id names another execution, or the switchover state machine is unknown', () => {
    expect(checkParentExecution({ parentExecutionArn: parent.executionArn, switchoverStateMachineArn: SWITCHOVER, running: [parent], startedByExecutionArn: 'arn:aws:states:us-east-2:123456789012:execution:other:x' }).ok).toBe(false);
    expect(checkParentExecution({ parentExecutionArn: parent.executionArn, switchoverStateMachineArn: undefined, running: [parent] }).ok).toBe(false);
  });
});

describe('lockWaitLimitMs', () => {
  it('gives up 600 s before the state machine\'s own timeout, or at the lease when that is shorter', () => {
    expect(lockWaitLimitMs(7_500_000, 3600)).toBe(3_000_000);
    expect(lockWaitLimitMs(7_500_000, 7200)).toBe(6_600_000);
    expect(lockWaitLimitMs(600_000, 3600)).toBe(600_000);
    expect(lockWaitLimitMs(600_000, undefined)).toBe(600_000);
  });
});
