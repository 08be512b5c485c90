/**
 * Issue 9: a failover that works without the dead region or its control planes. The real state machine
 * definitions run locally (aws-local-stepfunctions) with the real step handlers; AWS is stubbed at the SDK.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, describe, expect, it } from 'vitest';
import { UpdateEndpointGroupCommand } from '@aws-sdk/client-global-accelerator';
import { ChangeResourceRecordSetsCommand } from '@aws-sdk/client-route-53';
import { parseConfig } from '../../lib/core/config.ts';
import { ServiceUnavailableError, TargetFailedError } from '../../lib/core/errors.ts';
import { GLOBAL_CLUSTER_ID, harnessConfig, USE2_ARN, WorkflowHarness } from '../support/workflow-harness.ts';

interface Summary {
  outcome: string;
  targetsFailed: string[];
  decisions: Array<{ step: string; decision: string; reason: string }>;
}

const scheduled = { trigger: 'schedule', globalClusterId: GLOBAL_CLUSTER_ID };

/** drain-unhealthy, writer in us-east-2, and one event run so every target already routes to it. */
async function convergedOnUse2(): Promise<WorkflowHarness> {
  const harness = new WorkflowHarness(parseConfig({ ...harnessConfig(), traffic: { policy: 'drain-unhealthy', weights: { writer: 100, others: 50 } } }));
  harness.cluster.writerArn = USE2_ARN;
  const first = await harness.run('reconcile', { trigger: 'event', globalClusterId: GLOBAL_CLUSTER_ID });
  expect(first.status).toBe('SUCCEEDED');
  harness.ga.resetHistory();
  harness.route53.resetHistory();
  return harness;
}

describe('drain-unhealthy takes health from the database and from targets that definitively failed', () => {
  let harness: WorkflowHarness;
  afterEach(() => harness.restore());

  it('a failed read-only pod check (verify-pods) on a scheduled run never drains the writer region', async () => {
    // Prepare: us-east-2 is the writer and its targets are in sync; one pod check of pgb-a answers 503
    harness = await convergedOnUse2();
    harness.poolers[0]!.failWith = new TargetFailedError('pgb-a: pod(s) neither switched nor restarted: pgbouncer-0 (could not read SHOW DATABASES: exec answered 503)');

    // Act
    const result = await harness.run('reconcile', scheduled);

    // Assess: the failure is reported, the weights and dials of the writer region are untouched
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetFailedError');
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
    expect(Object.values(harness.dials)).toEqual([100, 50]);
    expect(harness.ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(harness.route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('a transient error in a pooler step is retried by the state machine, then the target converges', async () => {
    // Prepare: the writer is in us-east-2, pgb-b answers 503 once
    harness = await convergedOnUse2();
    let failures = 1;
    const pooler = harness.poolers[1]!;
    const apply = pooler.apply.bind(pooler);
    pooler.apply = async (plan) => {
      if (failures-- > 0) throw new ServiceUnavailableError('GET pods in pgbouncer: 503 Service Unavailable');
      return apply(plan);
    };

    // Act
    const result = await harness.run('reconcile', scheduled);

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as Summary).targetsFailed).toEqual([]);
    expect(failures).toBe(-1); // failed once, applied on the state machine's retry
    expect(result.path.filter((state) => state === 'TargetFailed')).toEqual([]);
    expect(harness.weights).toEqual({ 'us-east-2': 100, 'us-west-2': 50 });
  });
});
