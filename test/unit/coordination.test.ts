/**
 * Cross-region coordination, the pure decisions (lib/core/peers.ts) and the peer's side of a prepare call
 * (lib/workflow/coordination.ts prepareForSwitch) against in-memory pooler targets.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { decideFollow, decidePeers, decideRelease, followExecutionName, newerFollowRun, parsePrepareRequest, type PrepareRequest } from '../../lib/core/peers.ts';
import { InvalidInputError, TargetFailedError, ThrottledError } from '../../lib/core/errors.ts';
import { decide } from '../../lib/core/decision.ts';
import { buildTopology } from '../../lib/core/topology.ts';
import { prepareForSwitch, preparePeersStep, releasePeersStep } from '../../lib/workflow/coordination.ts';
import type { StartExecutionRequest } from '../../lib/adapters/sfn.ts';
import type { PeerPorts, World } from '../../lib/workflow/world.ts';
import { describeGlobalClustersResponse, GLOBAL_CLUSTER_ID, USE2_ARN, USW2_ARN } from '../adapters/aws-fixtures.ts';
import { harnessConfig } from '../support/workflow-harness.ts';
import { MemoryPoolerTarget } from '../support/memory-pooler.ts';

const config = harnessConfig();
const REQUEST: PrepareRequest = {
  globalClusterId: GLOBAL_CLUSTER_ID,
  targetDbClusterArn: USW2_ARN,
  targetRegion: 'us-west-2',
  pause: true,
  leaseSeconds: 60,
  requestedAt: '2026-11-30T18:00:00.000Z',
  requestedBy: 'arn:aws:states:us-east-2:123456789012:execution:aurora-global-failover-ci-switchover:planned',
};

function topology(writerArn: string, switching = false) {
  const response = describeGlobalClustersResponse({
    writerArn,
    status: switching ? 'switching-over' : 'available',
    ...(switching ? { failoverState: { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false } as never } : {}),
  });
  return buildTopology(response.GlobalClusters[0], {}, '2026-11-30T18:00:01.000Z');
}

describe('decidePeers', () => {
  it('proceeds when every peer answered', () => {
    const verdict = decidePeers([{ region: 'us-west-2', reachable: true, reason: 'the stack answered' }], false);
    expect(verdict.proceed).toBe(true);
    expect(verdict.decisions).toEqual([{ step: 'peer:us-west-2', decision: 'reachable', reason: 'the stack answered' }]);
  });

  it('refuses an unreachable peer by default, naming it and the way out', () => {
    const verdict = decidePeers([{ region: 'us-west-2', reachable: false, reason: 'timeout' }], false);
    expect(verdict.proceed).toBe(false);
    expect(verdict.decision.decision).toBe('refuse');
    expect(verdict.decision.reason).toContain('us-west-2 (timeout)');
    expect(verdict.decision.reason).toContain('acceptUnreachablePeers: true');
  });

  it('accepts an unreachable peer when the operator says so', () => {
    const verdict = decidePeers([{ region: 'us-west-2', reachable: false, reason: 'timeout' }], true);
    expect(verdict).toMatchObject({ proceed: true, decision: { decision: 'accept-unreachable' } });
  });
});

describe('decideFollow', () => {
  const follow = { targetDbClusterArn: USW2_ARN, targetRegion: 'us-west-2', requestedAt: REQUEST.requestedAt, leaseSeconds: 60, requestedBy: REQUEST.requestedBy };
  const at = (seconds: number) => Date.parse(REQUEST.requestedAt) + seconds * 1000;

  it('waits while the old writer is still the writer', () => {
    expect(decideFollow(follow, topology(USE2_ARN), { stable: true, reason: 'stable' }, at(5)).progress).toBe('waiting');
  });

  it('moves on once the target is the stable writer', () => {
    expect(decideFollow(follow, topology(USW2_ARN), { stable: true, reason: 'stable' }, at(5)).progress).toBe('moved');
    expect(decideFollow(follow, topology(USW2_ARN, true), { stable: false, reason: 'switching' }, at(5)).progress).toBe('waiting');
  });

  it('ends the lease when the writer did not move in time', () => {
    const verdict = decideFollow(follow, topology(USE2_ARN), { stable: true, reason: 'stable' }, at(61));
    expect(verdict).toMatchObject({ progress: 'lease-ended', decision: { decision: 'lease-ended' } });
  });
});

describe('decideRelease', () => {
  it('resumes when the writer did not move, keeps the pause while it moves or once it moved', () => {
    expect(decideRelease(REQUEST, topology(USE2_ARN))).toMatchObject({ release: true, decision: { decision: 'resume' } });
    expect(decideRelease(REQUEST, topology(USE2_ARN, true))).toMatchObject({ release: false, decision: { decision: 'keep-paused' } });
    expect(decideRelease(REQUEST, topology(USW2_ARN))).toMatchObject({ release: false, decision: { decision: 'keep-paused' } });
  });
});

describe('newerFollowRun', () => {
  const reconcile = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-reconcile';
  const switchover = 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-switchover';
  const execution = (machine: string, name: string, startedAtMs: number) => ({ executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${name}`, stateMachineArn: machine, name, startedAtMs });
  const self = execution(reconcile, 'follow-us-east-2-0000000000000001', 1000);

  it('finds a follow run of the reconcile state machine that started after this one', () => {
    const newer = execution(reconcile, 'follow-us-east-2-0000000000000002', 2000);
    expect(newerFollowRun(self, [self, newer], switchover)).toBe(newer);
  });

  it('ignores this run, older follow runs, other reconcile runs and a switchover named follow-*', () => {
    const running = [self, execution(reconcile, 'follow-us-east-2-0000000000000000', 500), execution(reconcile, 'event-0185-abc', 3000), execution(switchover, 'follow-me', 3000)];
    expect(newerFollowRun(self, running, switchover)).toBeUndefined();
  });
});

describe('followExecutionName', () => {
  it('is the same for the same switchover and region, different per region, and a valid execution name', () => {
    const name = followExecutionName('us-west-2', REQUEST);
    expect(followExecutionName('us-west-2', { ...REQUEST })).toBe(name);
    expect(followExecutionName('eu-west-1', REQUEST)).not.toBe(name);
    expect(name).toMatch(/^follow-us-west-2-[0-9a-f]{16}$/);
    expect(name.length).toBeLessThanOrEqual(80);
  });
});

describe('parsePrepareRequest', () => {
  it('refuses another cluster or a target that is not a configured member, changing nothing', () => {
    expect(() => parsePrepareRequest({ ...REQUEST, globalClusterId: 'other' }, config)).toThrow(InvalidInputError);
    expect(() => parsePrepareRequest({ ...REQUEST, targetDbClusterArn: USE2_ARN }, config)).toThrow(/not a configured member/);
    expect(() => parsePrepareRequest({ ...REQUEST, leaseSeconds: 0 }, config)).toThrow(/leaseSeconds/);
  });

  it("clamps the caller's lease to this stack's own pause budget", () => {
    // Prepare
    const now = Date.parse(REQUEST.requestedAt) + 1000;

    // Act
    const request = parsePrepareRequest({ ...REQUEST, leaseSeconds: 7200 }, config, now);

    // Assess
    expect(request.leaseSeconds).toBe(config.switchover.pauseBudgetSeconds);
    expect(parsePrepareRequest(REQUEST, config, now).leaseSeconds).toBe(Math.min(60, config.switchover.pauseBudgetSeconds));
  });

  it('refuses a requestedAt in the future (the lease would never run out), naming the problem', () => {
    // Prepare
    const now = Date.parse(REQUEST.requestedAt);

    // Act + Assess
    expect(() => parsePrepareRequest({ ...REQUEST, requestedAt: '2099-01-01T00:00:00.000Z' }, config, now)).toThrow(InvalidInputError);
    expect(() => parsePrepareRequest({ ...REQUEST, requestedAt: '2099-01-01T00:00:00.000Z' }, config, now)).toThrow(/requestedAt .* is in the future/);
    expect(() => parsePrepareRequest(REQUEST, config, now + 60_000)).not.toThrow();
    expect(() => parsePrepareRequest({ ...REQUEST, requestedAt: new Date(now + 2000).toISOString() }, config, now)).not.toThrow();
  });
});

describe('prepareForSwitch (the peer stack)', () => {
  const BEFORE_INI = readFileSync(new URL('../../events/pgbouncer/use2-before-switchover.ini', import.meta.url), 'utf8');

  function peerStack(writerArn: string) {
    const log: string[] = [];
    const poolers = config.regions['us-east-2']!.poolers.map((target) => new MemoryPoolerTarget(target, 'us-east-2', BEFORE_INI));
    for (const pooler of poolers) {
      const pause = pooler.pauseWrites.bind(pooler);
      pooler.pauseWrites = async () => {
        log.push(`pause:${pooler.target}`);
        return pause();
      };
    }
    const world = { region: 'us-east-2', config, poolerTargets: () => poolers, observeTopology: async () => topology(writerArn), now: () => Date.parse(REQUEST.requestedAt) + 1000 } as unknown as World;
    const started: StartExecutionRequest[] = [];
    const deps = {
      world,
      reconcileStateMachineArn: 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-reconcile',
      startExecution: async (request: StartExecutionRequest) => {
        log.push('start-follow-run');
        const again = started.some((earlier) => earlier.name === request.name);
        started.push(request);
        return again ? { started: false } : { started: true, executionArn: `${request.name}-arn` };
      },
    };
    return { log, poolers, started, deps };
  }

  it('starts the follow run before it pauses, so a pause always has a run that resumes it', async () => {
    // Prepare
    const { log, started, deps } = peerStack(USE2_ARN);

    // Act
    const answer = await prepareForSwitch(deps, { action: 'prepare', request: REQUEST });

    // Assess
    expect(log).toEqual(['start-follow-run', 'pause:pgb-a', 'pause:pgb-b', 'pause:pgb-c']);
    expect(started[0]).toMatchObject({
      name: followExecutionName('us-east-2', REQUEST),
      input: { trigger: 'manual', globalClusterId: GLOBAL_CLUSTER_ID, follow: { targetDbClusterArn: USW2_ARN, targetRegion: 'us-west-2', leaseSeconds: 60 } },
    });
    expect(answer).toMatchObject({ region: 'us-east-2', started: true });
  });

  it('a pause that fails resumes the targets that did pause and rethrows the error with its class (PreparePeers retries or resumes)', async () => {
    // Prepare: pgb-b cannot be paused (throttled, a transient error).
    const { log, poolers, deps } = peerStack(USE2_ARN);
    poolers[1]!.pauseWrites = async () => {
      log.push('pause:pgb-b');
      throw new ThrottledError('Kubernetes API: 429 Too Many Requests');
    };

    // Act
    const answer = prepareForSwitch(deps, { action: 'prepare', request: REQUEST });

    // Assess
    await expect(answer).rejects.toThrow(ThrottledError);
    for (const pooler of [poolers[0]!, poolers[2]!]) {
      expect(pooler.calls).toContain('pause');
      expect(pooler.calls.at(-1)).toBe('resume');
      expect(pooler.paused).toBe(false);
    }
  });

  it('a repeated call starts nothing new (deterministic name)', async () => {
    const { deps } = peerStack(USE2_ARN);
    await prepareForSwitch(deps, { action: 'prepare', request: REQUEST });
    const again = await prepareForSwitch(deps, { action: 'prepare', request: REQUEST });
    expect(again).toMatchObject({ started: false });
  });

  it('does not pause when the target already is the writer (a late retry): the follow run repoints at once', async () => {
    const { log, deps } = peerStack(USW2_ARN);
    const answer = await prepareForSwitch(deps, { action: 'prepare', request: REQUEST });
    expect(log).toEqual(['start-follow-run']);
    expect(answer).toMatchObject({ decisions: [expect.objectContaining({ decision: 'no-pause' })] });
  });

  it('refuses a malformed payload by name and changes nothing', async () => {
    const { log, deps } = peerStack(USE2_ARN);
    await expect(prepareForSwitch(deps, { action: 'prepare', request: { ...REQUEST, targetRegion: 'mars-1' } })).rejects.toThrow(InvalidInputError);
    await expect(prepareForSwitch(deps, { action: 'explode' })).rejects.toThrow(/prepare-for-switch payload is invalid/);
    expect(log).toEqual([]);
  });

  it('release resumes its write aliases when the writer never moved, and leaves them to the follow run once it did', async () => {
    const stayed = peerStack(USE2_ARN);
    for (const pooler of stayed.poolers) await pooler.pauseWrites();
    expect(await prepareForSwitch(stayed.deps, { action: 'release', request: REQUEST })).toMatchObject({ resumed: true });
    for (const pooler of stayed.poolers) expect(pooler.calls.at(-1)).toBe('resume');

    const moved = peerStack(USW2_ARN);
    expect(await prepareForSwitch(moved.deps, { action: 'release', request: REQUEST })).toMatchObject({ resumed: false, decisions: [expect.objectContaining({ decision: 'keep-paused' })] });
    for (const pooler of moved.poolers) expect(pooler.calls).not.toContain('resume');
  });

  it('answers a probe by reading its own pooler targets', async () => {
    const { deps } = peerStack(USE2_ARN);
    const answer = await prepareForSwitch(deps, { action: 'probe', globalClusterId: GLOBAL_CLUSTER_ID });
    expect(answer).toEqual({ region: 'us-east-2', reachable: true, reason: 'the stack answered and read its 3 pooler target(s)' });
  });
});

describe('preparePeersStep / releasePeersStep (the asking switchover)', () => {
  const EXECUTION_ARN = REQUEST.requestedBy;
  const PREFLIGHT = {
    globalClusterId: GLOBAL_CLUSTER_ID,
    target: { region: 'us-west-2', dbClusterArn: USW2_ARN },
    pausePoolers: true,
    peers: [
      { region: 'us-west-2', reachable: true, reason: 'the stack answered' },
      { region: 'eu-west-1', reachable: true, reason: 'the stack answered' },
      { region: 'ap-south-1', reachable: false, reason: 'lambda:Invoke timed out' },
    ],
  };

  function asking(failPrepare: readonly string[] = []) {
    const log: string[] = [];
    const peers: PeerPorts = {
      probe: async (region) => ({ region, reachable: true, reason: 'test' }),
      prepare: async (region) => {
        log.push(`prepare:${region}`);
        if (failPrepare.includes(region)) throw new TargetFailedError(`${region}: PAUSE failed`);
        return { region, followExecutionName: `follow-${region}-0123456789abcdef`, started: true, decisions: [] };
      },
      release: async (region) => {
        log.push(`release:${region}`);
        return { region, resumed: true, decisions: [decide('release', 'resume', 'test')] };
      },
    };
    const world = { region: 'us-east-2', config, peers, now: () => Date.parse(REQUEST.requestedAt) } as unknown as World;
    return { log, world };
  }

  it('releases only the peers this execution prepared (PreparePeers result), never one it did not', async () => {
    const { log, world } = asking();
    const prepared = { prepared: [{ region: 'eu-west-1', followExecutionName: 'follow-eu-west-1-0123456789abcdef', started: true, decisions: [] }], decisions: [] };
    const result = await releasePeersStep(world, { preflight: PREFLIGHT, executionArn: EXECUTION_ARN, peers: prepared });
    expect(log).toEqual(['release:eu-west-1']);
    expect(result.released.map((outcome) => outcome.region)).toEqual(['eu-west-1']);
  });

  it('releases nobody without a PreparePeers result (a failure before PreparePeers prepared nobody)', async () => {
    const { log, world } = asking();
    const result = await releasePeersStep(world, { preflight: PREFLIGHT, executionArn: EXECUTION_ARN });
    expect(log).toEqual([]);
    expect(result.decisions).toEqual([expect.objectContaining({ step: 'peers:release', decision: 'skip' })]);
  });

  it('a prepare that fails for one peer releases the peers that did prepare, then rethrows the error with its class', async () => {
    const { log, world } = asking(['us-west-2']);
    await expect(preparePeersStep(world, { preflight: PREFLIGHT, executionArn: EXECUTION_ARN })).rejects.toThrow(TargetFailedError);
    expect(log.filter((line) => line.startsWith('release:'))).toEqual(['release:eu-west-1']);
    expect(log).not.toContain('release:us-west-2');
    expect(log).not.toContain('release:ap-south-1');
  });
});
