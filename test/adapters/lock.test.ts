import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { checkRunLock, listRunningExecutions } from '../../lib/adapters/lock.ts';
import { ThrottledError } from '../../lib/core/errors.ts';
import { regionsOf, sdkError } from './aws-fixtures.ts';

const sfn = mockClient(SFNClient);
const RECONCILE = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-failover-prod-reconcile';
const SWITCHOVER = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-failover-prod-switchover';
const T0 = new Date('2025-03-01T12:00:00.000Z');

function item(machine: string, name: string, startDate: Date) {
  return { executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`, stateMachineArn: machine, name, status: 'RUNNING' as const, startDate };
}

beforeEach(() => sfn.reset());

describe('listRunningExecutions', () => {
  it('lists RUNNING executions of every state machine in the stack\'s region, following nextToken', async () => {
    // Prepare: ListExecutions responses shaped like the Step Functions API reference.
    sfn.on(ListExecutionsCommand, { stateMachineArn: RECONCILE }).resolvesOnce({ executions: [item(RECONCILE, 'event-a', T0)], nextToken: 'page-2' }).resolves({ executions: [item(RECONCILE, 'schedule-b', new Date(T0.getTime() + 1_000))] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: SWITCHOVER }).resolves({ executions: [] });

    // Act
    const running = await listRunningExecutions(new AwsClients(), 'us-east-2', [RECONCILE, SWITCHOVER]);

    // Assess
    expect(running.map((execution) => [execution.name, execution.startedAtMs])).toEqual([
      ['event-a', T0.getTime()],
      ['schedule-b', T0.getTime() + 1_000],
    ]);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: RECONCILE, statusFilter: 'RUNNING', maxResults: 100 });
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: RECONCILE, statusFilter: 'RUNNING', nextToken: 'page-2' });
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: SWITCHOVER, statusFilter: 'RUNNING' });
    expect(new Set(await regionsOf(sfn.calls()))).toEqual(new Set(['us-east-2']));
  });

  it('throttling is transient', async () => {
    sfn.on(ListExecutionsCommand).rejects(sdkError('ThrottlingException', { status: 400 }));

    await expect(listRunningExecutions(new AwsClients(), 'us-east-2', [RECONCILE])).rejects.toThrow(ThrottledError);
  });
});

describe('checkRunLock', () => {
  it('a manual switchover waits while an event-started reconcile runs; the reconcile proceeds', async () => {
    const reconcile = item(RECONCILE, 'event-0185-a', T0);
    const switchover = item(SWITCHOVER, 'failback-usw2', new Date(T0.getTime() + 2_000));
    sfn.on(ListExecutionsCommand, { stateMachineArn: RECONCILE }).resolves({ executions: [reconcile] });
    sfn.on(ListExecutionsCommand, { stateMachineArn: SWITCHOVER }).resolves({ executions: [switchover] });
    const clients = new AwsClients();
    const common = { nowMs: T0.getTime() + 5_000, leaseMs: 2_700_000 };

    const forSwitchover = await checkRunLock(clients, 'us-east-2', [RECONCILE, SWITCHOVER], {
      ...common,
      trigger: 'manual',
      self: { executionArn: switchover.executionArn, startedAtMs: switchover.startDate.getTime() },
    });
    const forReconcile = await checkRunLock(clients, 'us-east-2', [RECONCILE, SWITCHOVER], {
      ...common,
      trigger: 'event',
      self: { executionArn: reconcile.executionArn, startedAtMs: reconcile.startDate.getTime() },
    });

    expect(forSwitchover.decision).toBe('wait');
    expect(forSwitchover.reason).toContain('event-0185-a');
    expect(forReconcile.decision).toBe('proceed');
  });
});
