/**
 * Cross-region coordination (docs/coordination.md), executed for real: statemachines/switchover.asl.json
 * prepares every peer stack before ExecuteSwitch (or refuses / accepts an unreachable one), and a follow run
 * of statemachines/reconcile.asl.json waits for the requested writer, repoints, and always ends in RESUME.
 * AWS stubbed at the SDK; the peer port is a recording fake.
 */
import { InvalidConfigError, TargetFailedError } from '../../lib/core/errors.ts';
import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SwitchoverGlobalClusterCommand } from '@aws-sdk/client-rds';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { acquireRunLockStep } from '../../lib/workflow/run-lock-step.ts';
import { sdkError } from '../adapters/aws-fixtures.ts';
import { GLOBAL_CLUSTER_ID, RECONCILE_ARN, SWITCHOVER_ARN, USE2_ARN, USW2_ARN, WorkflowHarness } from '../support/workflow-harness.ts';
import type { PeerProbe, PrepareRequest } from '../../lib/core/peers.ts';
import type { PeerPorts, PrepareResult } from '../../lib/workflow/world.ts';
import type { Decision } from '../../lib/core/decision.ts';


/** A peer port that records, in one log shared with the RDS fake, what was asked and when. */
function recordingPeers(log: string[], reachable: Record<string, boolean>) {
  const requests: PrepareRequest[] = [];
  const peers: PeerPorts = {
    probe: async (region): Promise<PeerProbe> => {
      log.push(`probe:${region}`);
      return reachable[region] ? { region, reachable: true, reason: 'the stack answered' } : { region, reachable: false, reason: 'lambda:Invoke timed out' };
    },
    prepare: async (region, request): Promise<PrepareResult> => {
      log.push(`prepare:${region}`);
      requests.push(request);
      return { region, followExecutionName: `follow-${region}-0123456789abcdef`, started: true, decisions: [{ step: `pause:pgb-${region}`, decision: 'paused', reason: 'test' }] };
    },
    release: async (region) => {
      log.push(`release:${region}`);
      return { region, resumed: true, decisions: [{ step: 'release', decision: 'resume', reason: 'test' }] };
    },
  };
  return { peers, requests };
}

describe('switchover state machine: peer regions', () => {
  let harness: WorkflowHarness;
  let log: string[];

  beforeEach(() => {
    harness = new WorkflowHarness();
    log = [];
    harness.cluster.onSwitch = (targetArn) => {
      log.push('SwitchoverGlobalCluster');
      harness.cluster.writerArn = targetArn;
    };
  });
  afterEach(() => harness.restore());

  const runSwitchover = (input: Record<string, unknown>) =>
    harness.run('switchover', input, {
      RunReconcile: async (task) => {
        const nested = await harness.run('reconcile', (task as { Input: unknown }).Input);
        if (nested.status !== 'SUCCEEDED') throw Object.assign(new Error(nested.cause ?? 'reconcile failed'), { name: nested.error ?? 'States.TaskFailed' });
        return { Status: 'SUCCEEDED', Output: nested.output };
      },
    });

  it('asks every peer stack to prepare (pause under a lease, follow the writer) before ExecuteSwitch', async () => {
    // Prepare
    const { peers, requests } = recordingPeers(log, { 'us-west-2': true });
    harness.usePeers(peers);

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(log).toEqual(['probe:us-west-2', 'prepare:us-west-2', 'SwitchoverGlobalCluster']);
    expect(result.path.indexOf('PreparePeers')).toBeLessThan(result.path.indexOf('ExecuteSwitch'));
    expect(result.path.indexOf('PausePoolers')).toBeLessThan(result.path.indexOf('PreparePeers'));
    expect(requests).toEqual([
      {
        globalClusterId: GLOBAL_CLUSTER_ID,
        targetDbClusterArn: USW2_ARN,
        targetRegion: 'us-west-2',
        pause: true,
        leaseSeconds: harness.config.switchover.pauseBudgetSeconds,
        requestedAt: expect.any(String),
        requestedBy: expect.stringMatching(new RegExp(`^${SWITCHOVER_ARN.replace(':stateMachine:', ':execution:')}:`)),
      },
    ]);
    const decisions = (result.output as { decisions: Decision[] }).decisions;
    expect(decisions).toContainEqual(expect.objectContaining({ step: 'peer:us-west-2', decision: 'prepared' }));
    expect(decisions).toContainEqual(expect.objectContaining({ step: 'peer', decision: 'proceed' }));
  });

  it('a switchover that fails after PreparePeers resumes its own region, then releases the prepared peers, then reports', async () => {
    // Prepare: RDS refuses the switchover.
    const { peers } = recordingPeers(log, { 'us-west-2': true });
    harness.usePeers(peers);
    harness.rds.on(SwitchoverGlobalClusterCommand).rejects(sdkError('InvalidGlobalClusterStateFault', { status: 400, message: 'the global cluster is not available' }));

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(log).toEqual(['probe:us-west-2', 'prepare:us-west-2', 'release:us-west-2']);
    const after = result.path.slice(result.path.indexOf('ExecuteSwitch'));
    expect(after).toEqual(['ExecuteSwitch', 'ResumePoolersAfterFailure', 'PeersPrepared', 'ReleasePeers', 'ReportFailure', 'SwitchoverFailed']);
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('resume');
  });

  it('a switchover that fails before PreparePeers (PausePoolers fails) resumes its own region and releases no peer: none was prepared', async () => {
    // Prepare: one of this region's pauses fails with a fatal error.
    const { peers } = recordingPeers(log, { 'us-west-2': true });
    harness.usePeers(peers);
    harness.poolers[0]!.pauseWrites = async () => {
      throw new TargetFailedError('pgb-a: PAUSE failed');
    };

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('TargetFailedError');
    expect(log).toEqual(['probe:us-west-2']);
    expect(result.path).not.toContain('PreparePeers');
    expect(result.path).not.toContain('ReleasePeers');
    expect(result.path.slice(-4)).toEqual(['ResumePoolersAfterFailure', 'PeersPrepared', 'ReportFailure', 'SwitchoverFailed']);
    expect(harness.rds).not.toHaveReceivedCommand(SwitchoverGlobalClusterCommand);
  });

  it('a switchover whose PreparePeers fails releases no peer from the state machine (the step itself released the ones it prepared)', async () => {
    // Prepare: the peer answered in preflight, then its prepare fails with a fatal error.
    const { peers } = recordingPeers(log, { 'us-west-2': true });
    peers.prepare = async (region) => {
      log.push(`prepare:${region}`);
      throw new TargetFailedError(`${region}: PAUSE failed`);
    };
    harness.usePeers(peers);

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(log).toEqual(['probe:us-west-2', 'prepare:us-west-2']);
    expect(result.path.slice(result.path.indexOf('PreparePeers'))).toEqual(['PreparePeers', 'ResumePoolersAfterFailure', 'PeersPrepared', 'ReportFailure', 'SwitchoverFailed']);
    expect(harness.rds).not.toHaveReceivedCommand(SwitchoverGlobalClusterCommand);
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('resume');
  });

  it('refuses when a peer stack is unreachable: nothing paused, prepared or switched', async () => {
    // Prepare
    const { peers } = recordingPeers(log, { 'us-west-2': false });
    harness.usePeers(peers);

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover' });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('PreflightRefusedError');
    expect(result.cause).toContain('us-west-2 (lambda:Invoke timed out)');
    expect(result.cause).toContain('acceptUnreachablePeers: true');
    // Probed early (PrefetchPreflight) and, having not answered, asked again by Preflight.
    expect(log).toEqual(['probe:us-west-2', 'probe:us-west-2']);
    expect(harness.rds).not.toHaveReceivedCommand(SwitchoverGlobalClusterCommand);
    expect(harness.poolers.every((pooler) => !pooler.calls.includes('pause'))).toBe(true);
  });

  it('switches without an unreachable peer when the operator accepts it (acceptUnreachablePeers: true)', async () => {
    // Prepare
    const { peers } = recordingPeers(log, { 'us-west-2': false });
    harness.usePeers(peers);

    // Act
    const result = await runSwitchover({ globalClusterId: GLOBAL_CLUSTER_ID, targetRegion: 'us-west-2', mode: 'switchover', acceptUnreachablePeers: true });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(log).toEqual(['probe:us-west-2', 'probe:us-west-2', 'SwitchoverGlobalCluster']);
    const decisions = (result.output as { decisions: Decision[] }).decisions;
    expect(decisions).toContainEqual(expect.objectContaining({ step: 'peer', decision: 'accept-unreachable' }));
    expect(decisions).toContainEqual(expect.objectContaining({ step: 'peer:us-west-2', decision: 'skip' }));
  });
});

describe('reconcile state machine: follow runs', () => {
  let harness: WorkflowHarness;

  beforeEach(() => {
    harness = new WorkflowHarness();
  });
  afterEach(() => harness.restore());

  const followInput = (requestedAt: Date, leaseSeconds: number) => ({
    trigger: 'manual',
    globalClusterId: GLOBAL_CLUSTER_ID,
    follow: {
      targetDbClusterArn: USW2_ARN,
      targetRegion: 'us-west-2',
      requestedAt: requestedAt.toISOString(),
      leaseSeconds,
      requestedBy: `${SWITCHOVER_ARN.replace(':stateMachine:', ':execution:')}:planned`,
    },
  });

  it('resumes this region and ends when the lease runs out and the writer never moved', async () => {
    // Prepare: the writer stays in us-east-2; after the first look the clock jumps past the lease.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    const observe = harness.world.observeTopology;
    let observed = 0;
    harness.world = {
      ...harness.world,
      observeTopology: async () => {
        observed += 1;
        if (observed === 2) harness.clockOffsetMs = 120_000;
        return observe();
      },
    };

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toContain('WaitForFollow');
    expect(result.path.slice(-2)).toEqual(['ResumeAtLeaseEnd', 'FollowLeaseEnded']);
    expect(result.path).not.toContain('ApplyPoolers');
    expect(result.output).toMatchObject({ outcome: 'lease-ended', reason: expect.stringContaining('60 s lease') });
    for (const pooler of harness.poolers) {
      expect(pooler.calls.at(-1)).toBe('resume');
      expect(pooler.calls).not.toContain('apply');
    }
  });

  it('waits for the requested writer, repoints this region to it, then resumes', async () => {
    // Prepare: two observations still show us-east-2 (the switch is under way), then us-west-2 is the writer.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    harness.cluster.writerArn = USW2_ARN;
    harness.cluster.script.push(
      { writerArn: USE2_ARN },
      { writerArn: USE2_ARN, status: 'switching-over', failoverState: { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false } },
    );

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.filter((state) => state === 'CheckFollow')).toHaveLength(3);
    expect(result.path.indexOf('ApplyPoolers')).toBeLessThan(result.path.indexOf('ResumeFollowedPoolers'));
    expect(result.path.slice(-1)).toEqual(['Done']);
    expect(result.output).toMatchObject({ outcome: 'converged', writerRegion: 'us-west-2' });
    for (const pooler of harness.poolers) {
      expect(pooler.calls.lastIndexOf('apply')).toBeGreaterThan(-1);
      expect(pooler.calls.lastIndexOf('resume')).toBeGreaterThan(pooler.calls.lastIndexOf('apply'));
    }
  });

  it('a follow run whose check fails still resumes (the failure path) and fails with the reason', async () => {
    // Prepare: the topology cannot be read by CheckFollow (a fatal error, after the lock was taken).
    harness.world = { ...harness.world, observeTopology: async () => Promise.reject(new InvalidConfigError('global cluster app-global is not in this account')) };

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(expect.arrayContaining(['CheckFollow', 'ResumePoolers', 'ReportFailure']));
    for (const pooler of harness.poolers) expect(pooler.calls).toContain('resume');
  });

  it('a follow run with a malformed follow block fails before the lock and touches no pooler (prepare-for-switch validates what it starts)', async () => {
    // Prepare
    const input = followInput(new Date(), 60);
    const broken = { ...input, follow: { ...input.follow, requestedAt: 'yesterday' } };

    // Act
    const result = await harness.run('reconcile', broken);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.path).toEqual(expect.arrayContaining(['AcquireRunLock', 'FailedBeforeLock', 'ReportFailure']));
    expect(result.path).not.toContain('CheckFollow');
    for (const pooler of harness.poolers) expect(pooler.calls).toEqual([]);
  });

  /** An older reconcile run (e.g. an event run) that holds the run lock for the whole test. */
  /** After the first lock check (one ListExecutions per state machine) the clock jumps by `offsetMs`. */
  const clockJumpsAfterFirstLockCheck = (offsetMs: number): void => {
    let listed = 0;
    harness.sfn.on(ListExecutionsCommand).callsFake(() => {
      listed += 1;
      if (listed === 3) harness.clockOffsetMs = offsetMs;
      return { executions: harness.running };
    });
  };

  const olderRunHoldsTheLock = () => {
    const name = 'event-older-run';
    harness.running.push({
      executionArn: `${RECONCILE_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
      stateMachineArn: RECONCILE_ARN,
      name,
      status: 'RUNNING',
      startDate: new Date(Date.now() - 60_000),
    });
  };

  it('scenario A: a follow run whose lock check fails past its retries resumes the pause its prepare set, then reports and fails', async () => {
    // Prepare: prepare-for-switch paused this region; ListExecutions is denied.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    harness.sfn.on(ListExecutionsCommand).rejects(sdkError('AccessDeniedException', { status: 400, message: 'not authorized to perform states:ListExecutions' }));

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('FAILED');
    const from = result.path.indexOf('FailedBeforeLock');
    expect(from).toBeGreaterThan(-1);
    expect(result.path.slice(from)).toEqual(['FailedBeforeLock', 'FollowFailedBeforeLock', 'ResumeFollowBeforeLock', 'ReportFailure', 'RunFailed']);
    expect(result.path).not.toContain('CheckFollow');
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('resume');
  });

  it('scenario B: a follow run blocked behind an older run resumes at its lease end without waiting for the lock', async () => {
    // Prepare: an older run holds the lock; after the first lock check (one ListExecutions per state
    // machine) the clock jumps past the 60 s lease.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    olderRunHoldsTheLock();
    clockJumpsAfterFirstLockCheck(120_000);

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path).toContain('WaitForRunLock');
    expect(result.path).not.toContain('CheckFollow');
    expect(result.path.slice(-2)).toEqual(['ResumeAtLeaseEnd', 'FollowLeaseEnded']);
    expect(result.output).toMatchObject({ outcome: 'lease-ended', reason: expect.stringContaining('60 s lease') });
    for (const pooler of harness.poolers) {
      expect(pooler.calls.at(-1)).toBe('resume');
      expect(pooler.calls).not.toContain('apply');
    }
  });

  it('a follow run that gives up on the lock (lease longer than the wait limit) resumes before it fails', async () => {
    // Prepare: a 7200 s lease, and the clock jumps past the state machine's 3600 s wait limit.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    olderRunHoldsTheLock();
    clockJumpsAfterFirstLockCheck(3_590_000);

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 7200));

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('RunLockTimeoutError');
    expect(result.path).toContain('WaitForRunLock');
    expect(result.path.slice(-2)).toEqual(['ResumeFollowRefused', 'RunLockRefused']);
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('resume');
  });

  it('a follow run polls the lock every second; a non-follow run every 15 s', async () => {
    // Prepare
    olderRunHoldsTheLock();
    const lockInput = (input: unknown) => ({
      kind: 'reconcile' as const,
      executionArn: `${RECONCILE_ARN.replace(':stateMachine:', ':execution:')}:follow-us-east-2-0123456789abcdef`,
      executionStartTime: new Date().toISOString(),
      input,
      stateMachineTimeoutSeconds: 3600,
    });

    // Act
    const follow = await acquireRunLockStep(harness.world, lockInput(followInput(new Date(), 60)));
    const plain = await acquireRunLockStep(harness.world, lockInput({ trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID }));

    // Assess
    expect(follow).toMatchObject({ decision: { decision: 'wait' }, waitSeconds: 1 });
    expect(plain).toMatchObject({ decision: { decision: 'wait' }, waitSeconds: 15 });
  });

  /** A newer switchover's follow run in this region: its prepare paused the write aliases, it waits for our lock. */
  const newerFollowRunIsRunning = () => {
    const name = 'follow-us-east-2-fedcba9876543210';
    harness.running.push({
      executionArn: `${RECONCILE_ARN.replace(':stateMachine:', ':execution:')}:${name}`,
      stateMachineArn: RECONCILE_ARN,
      name,
      status: 'RUNNING',
      startDate: new Date(Date.now() + 30_000),
    });
  };

  it('at lease end an older follow run leaves the pause to a newer follow run RUNNING in this region (no RESUME)', async () => {
    // Prepare: the writer never moves; after the first look the clock jumps past the lease; a newer follow run waits.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    newerFollowRunIsRunning();
    const observe = harness.world.observeTopology;
    let observed = 0;
    harness.world = {
      ...harness.world,
      observeTopology: async () => {
        observed += 1;
        if (observed === 2) harness.clockOffsetMs = 120_000;
        return observe();
      },
    };

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.slice(-2)).toEqual(['FollowProgress', 'FollowSuperseded']);
    expect(result.path).not.toContain('ResumeAtLeaseEnd');
    expect(result.output).toMatchObject({ outcome: 'superseded', reason: expect.stringContaining('follow-us-east-2-fedcba9876543210') });
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('pause');
  });

  it('a follow run whose lease ends while it waits for the lock leaves the pause to a newer follow run RUNNING in this region', async () => {
    // Prepare: an older run holds the lock, a newer follow run waits too; the clock jumps past the lease.
    for (const pooler of harness.poolers) await pooler.pauseWrites();
    olderRunHoldsTheLock();
    newerFollowRunIsRunning();
    clockJumpsAfterFirstLockCheck(120_000);

    // Act
    const result = await harness.run('reconcile', followInput(new Date(), 60));

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.path.slice(-2)).toEqual(['SupersededBeforeLock', 'FollowSuperseded']);
    expect(result.output).toMatchObject({ outcome: 'superseded' });
    for (const pooler of harness.poolers) expect(pooler.calls.at(-1)).toBe('pause');
  });
});
