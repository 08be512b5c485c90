/**
 * drain-unhealthy without flapping (reviewer findings on issue 9), with the real reconcile definition run
 * locally: a drained region stays drained while its pods are still broken, and the us-east-2 stack never
 * raises us-west-2's weights (us-west-2's own stack does), but still drains it when its DB member is unhealthy.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { parseConfig } from '../../lib/core/config.ts';
import { TargetFailedError } from '../../lib/core/errors.ts';
import { GA_USE2, GA_USW2 } from '../adapters/aws-fixtures.ts';
import { GLOBAL_CLUSTER_ID, harnessConfig, USE2_ARN, USW2_ARN, WorkflowHarness } from '../support/workflow-harness.ts';
import type { Decision } from '../../lib/core/decision.ts';
import type { RunSummary as Summary } from '../../lib/workflow/reconcile.ts';


const scheduled = { trigger: 'schedule', globalClusterId: GLOBAL_CLUSTER_ID };
const podsBroken = () => new TargetFailedError('pgb-a: pod(s) neither switched nor restarted: pgbouncer-0 (SHOW DATABASES still lists the old host)');

/** The us-east-2 stack (the harness's), drain-unhealthy with writer 100 / others 50, writer in us-east-2. */
function drainUnhealthy(): WorkflowHarness {
  const harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), traffic: { policy: 'drain-unhealthy', weights: { writer: 100, others: 50 } } }));
  harness.cluster.writerArn = USE2_ARN;
  return harness;
}

/** The `keep` decisions in a run summary: one per weight this stack kept instead of the policy's. */
function keeps(summary: Summary): string[] {
  return summary.decisions.filter((decision) => decision.step === 'traffic' && decision.decision === 'keep').map((decision) => decision.reason);
}

describe('drain-unhealthy: a failed read-only pod check neither drains nor restores a region', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('run 1 drains us-east-2 (pgb-a patched, its pods broken); run 2 re-checks read-only and fails again: us-east-2 stays at 0; run 3 passes: restored', async () => {
    // Prepare: pgb-a's ConfigMap patch lands, then its pods fail definitively (not retried)
    harness = drainUnhealthy();
    const pgbA = harness.poolers[0]!;
    const apply = pgbA.apply.bind(pgbA);
    pgbA.apply = async (plan) => {
      await apply(plan);
      throw podsBroken();
    };

    // Act 1: the event run patches every target; pgb-a fails while changing something
    const first = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });

    // Assess 1: us-east-2 is drained on both systems, us-west-2 keeps 50
    expect(first.status).toBe('FAILED');
    expect(first.error).toBe('TargetFailedError');
    expect(harness.weights).toEqual({ 'us-east-2': 0, 'us-west-2': 50 });
    expect(harness.dials).toEqual({ [GA_USE2]: 0, [GA_USW2]: 50 });

    // Act 2: the scheduled run finds pgb-a's ConfigMap in sync, re-checks its pods (verify-pods), they still fail
    harness.ga.resetHistory();
    harness.route53.resetHistory();
    const second = await harness.run('reconcile', scheduled);

    // Assess 2: reported, and us-east-2 is not restored while its pods route wrongly
    expect(second.status).toBe('FAILED');
    expect(second.error).toBe('TargetFailedError');
    expect(harness.weights).toEqual({ 'us-east-2': 0, 'us-west-2': 50 });
    expect(harness.dials).toEqual({ [GA_USE2]: 0, [GA_USW2]: 50 });
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);

    // Act 3: the pods are fixed; the next scheduled run's check passes
    pgbA.apply = apply;
    const third = await harness.run('reconcile', scheduled);

    // Assess 3: its own stack restores us-east-2
    expect(third.status).toBe('SUCCEEDED');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(harness.dials).toEqual({ [GA_USE2]: 100, [GA_USW2]: 50 });
  });
});

describe('drain-unhealthy: a stack never raises another region, but drains it when its DB member is unhealthy', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('us-west-2 drained by its own stack stays at 0 on the us-east-2 stack\'s scheduled runs, with a keep decision per weight', async () => {
    // Prepare: converged on us-east-2; us-west-2's stack then drained itself (a definitive failure of its own target)
    harness = drainUnhealthy();
    expect((await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID })).status).toBe('SUCCEEDED');
    harness.weights['us-west-2'] = 0;
    harness.dials[GA_USW2] = 0;
    harness.ga.resetHistory();
    harness.route53.resetHistory();

    // Act: two scheduled runs of the us-east-2 stack
    const runs = [await harness.run('reconcile', scheduled), await harness.run('reconcile', scheduled)];

    // Assess
    for (const run of runs) {
      expect(run.status).toBe('SUCCEEDED');
      const summary = run.output as Summary;
      expect(summary.traffic.changes).toEqual([]);
      expect(keeps(summary)).toEqual([
        "global-accelerator us-west-2 stays at 0 (policy: 50): us-west-2's DB member is connected, but this stack (us-east-2) judges only its own region's pooler targets; us-west-2's own stack raises its weight",
        "route53 us-west-2 stays at 0 (policy: 50): us-west-2's DB member is connected, but this stack (us-east-2) judges only its own region's pooler targets; us-west-2's own stack raises its weight",
      ]);
    }
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 0 });
    expect(harness.dials).toEqual({ [GA_USE2]: 100, [GA_USW2]: 0 });
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('us-west-2 whose DB member is pending-resync is drained by the us-east-2 stack', async () => {
    // Prepare
    harness = drainUnhealthy();
    harness.cluster.syncStatus[USW2_ARN] = 'pending-resync';

    // Act
    const run = await harness.run('reconcile', scheduled);

    // Assess
    expect(run.status).toBe('SUCCEEDED');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 0 });
    expect(harness.dials).toEqual({ [GA_USE2]: 100, [GA_USW2]: 0 });
  });
});
