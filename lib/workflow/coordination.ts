/**
 * Cross-region coordination steps (docs/coordination.md):
 *  - probePeers: preflight asks every peer stack whether it answers;
 *  - preparePeersStep (switchover, state PreparePeers): before the writer moves, every reachable peer stack
 *    pauses its own write aliases and starts its own follow run;
 *  - prepareForSwitch (the peer's `prepare-for-switch` function): start the follow run, then pause;
 *  - checkFollowStep (reconcile, state CheckFollow): has the requested target become the writer, or has the
 *    lease run out?
 * A stack only ever pauses, repoints and resumes its own region's PgBouncers.
 */
import { assessStability } from '../core/topology.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, InvalidInputError } from '../core/errors.ts';
import {
  decideFollow,
  decideRelease,
  followExecutionName,
  FollowProgress,
  newerFollowRun,
  parsePrepareRequest,
  peerCallSchema,
  peerRegions,
  supersededDecision,
  type PeerProbe,
  type PrepareRequest,
} from '../core/peers.ts';
import { followSchema, parseWithSchema, type FollowSpec } from '../core/workflow-input.ts';
import { Trigger } from '../core/constants.ts';
import type { ExecutionStarter } from '../adapters/sfn.ts';
import type { PeerPorts, PrepareResult, ReleaseResult, World } from './world.ts';

/** How often a follow run looks at the topology: every second of it is a second writes wait in PAUSE. */
export const FOLLOW_POLL_SECONDS = 1;

/** Probes every peer region's stack in parallel; a stack without a peer port has none to probe. */
export async function probePeers(world: World): Promise<PeerProbe[] | undefined> {
  const peers = world.peers;
  if (!peers) return undefined;
  return Promise.all(
    peerRegions(world.config, world.region).map((region) =>
      peers.probe(region).catch((error: unknown): PeerProbe => ({ region, reachable: false, reason: describeError(error) })),
    ),
  );
}

// ---------------------------------------------------------------------------------------------------
// PreparePeers (switchover)

export interface PreparePeersInput {
  readonly preflight: {
    readonly globalClusterId: string;
    readonly target: { readonly region: string; readonly dbClusterArn: string };
    readonly pausePoolers: boolean;
    /** Peer probes from preflight; unreachable ones were accepted by the operator (or preflight refused). */
    readonly peers?: readonly PeerProbe[];
  };
  /** `$$.Execution.Id` of the switchover: the follow runs' names derive from it. */
  readonly executionArn: string;
}

export interface PreparePeersResult {
  readonly prepared: readonly PrepareResult[];
  readonly decisions: readonly Decision[];
}

/** The request one switchover sends to every peer (prepare and release carry the same one). */
function requestFor(world: World, input: PreparePeersInput): PrepareRequest {
  return {
    globalClusterId: input.preflight.globalClusterId,
    targetDbClusterArn: input.preflight.target.dbClusterArn,
    targetRegion: input.preflight.target.region,
    pause: input.preflight.pausePoolers,
    leaseSeconds: world.config.switchover.pauseBudgetSeconds,
    requestedAt: new Date(world.now()).toISOString(),
    requestedBy: input.executionArn,
  };
}

/**
 * Asks every reachable peer stack to prepare. A peer that answered in preflight but fails now fails this
 * step (the state machine retries transient errors; the Catch resumes this region and reports): the writer
 * must not move while a reachable peer would be left behind. Peers accepted as unreachable are skipped.
 */
export async function preparePeersStep(world: World, input: PreparePeersInput): Promise<PreparePeersResult> {
  const peers = world.peers;
  const probes = input.preflight.peers ?? [];
  if (!peers || probes.length === 0) {
    return { prepared: [], decisions: [decide('peers:prepare', 'skip', peers ? 'no peer region is configured' : 'this stack has no peer port')] };
  }
  const request = requestFor(world, input);
  const skipped = probes.filter((probe) => !probe.reachable).map((probe) => decide(`peer:${probe.region}`, 'skip', `unreachable in preflight and accepted: ${probe.reason}`));
  const settled = await Promise.allSettled(probes.filter((probe) => probe.reachable).map((probe) => peers.prepare(probe.region, request)));
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    // All or none: the state machine cannot know which peers did prepare (the Catch replaces the result),
    // so the peers this call prepared are released here, before the error leaves. A retry prepares again.
    const done = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    await releasePrepared(peers, request, done);
    throw failed.reason;
  }
  const prepared = settled.map((outcome) => (outcome as PromiseFulfilledResult<PrepareResult>).value);
  const decisions = [
    ...skipped,
    ...prepared.flatMap((result) => [
      ...result.decisions,
      decide(`peer:${result.region}`, 'prepared', `follow run ${result.followExecutionName} ${result.started ? 'started' : 'was already running'}; lease ${request.leaseSeconds} s`),
    ]),
  ];
  return { prepared, decisions };
}

// ---------------------------------------------------------------------------------------------------
// ReleasePeers (switchover failure path)

export interface ReleasePeersResult {
  readonly released: readonly ReleaseResult[];
  readonly decisions: readonly Decision[];
}

export interface ReleasePeersInput extends PreparePeersInput {
  /** `$.peers`, PreparePeers' result: only the peers it lists were prepared by this execution. */
  readonly peers?: Pick<PreparePeersResult, 'prepared'>;
}

/**
 * After a failure, asks every peer this execution prepared (PreparePeers' result) to resume now rather than
 * at its lease end (a peer decides for itself: it keeps its pause while the writer is moving or has moved,
 * its follow run then repoints). A peer that was not prepared is never released: it may be in its own live
 * switch, between PAUSE and RELOAD. Without a PreparePeers result nobody is released. Never throws, so the
 * failure report still runs; a peer that cannot be reached resumes at its lease end.
 */
export async function releasePeersStep(world: World, input: ReleasePeersInput): Promise<ReleasePeersResult> {
  const peers = world.peers;
  const prepared = input.peers?.prepared ?? [];
  if (!peers || prepared.length === 0) return { released: [], decisions: [decide('peers:release', 'skip', 'no peer was prepared by this execution')] };
  const released = await releasePrepared(peers, requestFor(world, input), prepared);
  return { released, decisions: released.flatMap((outcome) => outcome.decisions) };
}

/** Releases each prepared peer; a failed release is a decision (that peer resumes at its lease end), never a throw. */
async function releasePrepared(peers: PeerPorts, request: PrepareRequest, prepared: readonly Pick<PrepareResult, 'region'>[]): Promise<ReleaseResult[]> {
  return Promise.all(
    prepared.map(async ({ region }): Promise<ReleaseResult> => {
      try {
        return await peers.release(region, request);
      } catch (error) {
        return { region, resumed: false, decisions: [decide(`peer:${region}`, 'release-failed', `${describeError(error)}; it resumes at its lease end`)] };
      }
    }),
  );
}

// ---------------------------------------------------------------------------------------------------
// prepare-for-switch (the peer's side)

export interface PrepareForSwitchDeps {
  readonly world: World;
  /** StartExecution of this stack's reconcile state machine (a name that exists already is success). */
  readonly startExecution: ExecutionStarter;
  readonly reconcileStateMachineArn: string;
}

export type PrepareForSwitchAnswer = PeerProbe | PrepareResult | ReleaseResult;

/**
 * One call from a peer's switchover: `probe` (can this stack read its own poolers?) or `prepare`.
 * Prepare starts the follow run first, then pauses: a pause nobody would resume is impossible, because
 * the follow run (which always ends in RESUME) exists before anything is paused.
 */
export async function prepareForSwitch(deps: PrepareForSwitchDeps, raw: unknown): Promise<PrepareForSwitchAnswer> {
  const { world } = deps;
  const call = parseWithSchema(peerCallSchema, raw, 'prepare-for-switch payload');
  if (call.action === 'probe') {
    if (call.globalClusterId !== world.config.globalClusterId) {
      throw new InvalidInputError(`globalClusterId ${JSON.stringify(call.globalClusterId)} is not the configured global cluster ${world.config.globalClusterId}`);
    }
    const failures: string[] = [];
    await Promise.all(
      world.poolerTargets().map((adapter) =>
        adapter.observe().catch((error: unknown) => {
          failures.push(`${adapter.target}: ${describeError(error)}`);
        }),
      ),
    );
    const count = world.poolerTargets().length;
    return failures.length
      ? { region: world.region, reachable: false, reason: `the stack answered but cannot read its pooler target(s): ${failures.join('; ')}` }
      : { region: world.region, reachable: true, reason: `the stack answered and read its ${count} pooler target(s)` };
  }

  const request = parsePrepareRequest(call.request, world.config, world.now());
  if (call.action === 'release') {
    const verdict = decideRelease(request, await world.observeTopology());
    if (!verdict.release) return { region: world.region, resumed: false, decisions: [verdict.decision] };
    const resumed = await Promise.all(
      world.poolerTargets().map((adapter) => adapter.resumeWrites().catch((error: unknown) => decide(`resume:${adapter.target}`, 'resume-failed', describeError(error)))),
    );
    return { region: world.region, resumed: true, decisions: [verdict.decision, ...resumed] };
  }
  const name = followExecutionName(world.region, request);
  const follow: FollowSpec = {
    targetDbClusterArn: request.targetDbClusterArn,
    targetRegion: request.targetRegion,
    requestedAt: request.requestedAt,
    leaseSeconds: request.leaseSeconds,
    requestedBy: request.requestedBy,
  };
  const started = await deps.startExecution({
    stateMachineArn: deps.reconcileStateMachineArn,
    name,
    input: { trigger: Trigger.Manual, globalClusterId: request.globalClusterId, follow },
  });
  const decisions: Decision[] = [];
  const topology = await world.observeTopology();
  const alreadyWriter = topology.members.some((member) => member.isWriter && member.dbClusterArn === request.targetDbClusterArn) && !topology.failoverState;
  if (!request.pause) {
    decisions.push(decide(`prepare:${world.region}`, 'no-pause', 'the switchover does not pause (pausePoolers: false): the follow run only repoints'));
  } else if (alreadyWriter) {
    decisions.push(decide(`prepare:${world.region}`, 'no-pause', `${request.targetRegion} is already the writer: nothing to wait for, the follow run repoints at once`));
  } else {
    decisions.push(...(await pauseAllOrNone(world)));
  }
  return { region: world.region, followExecutionName: name, started: started.started, decisions };
}

/**
 * Pauses every write alias of this region, or none: when one pause fails, the ones that did pause are
 * resumed and the first error is rethrown with its class (a transient one lets PreparePeers retry, a
 * fatal one makes it resume and release before the writer moves). A swallowed failure would let the
 * switchover go on while that target's writes fail through the fence.
 */
async function pauseAllOrNone(world: World): Promise<Decision[]> {
  const targets = world.poolerTargets();
  const settled = await Promise.allSettled(targets.map((adapter) => adapter.pauseWrites()));
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (!failed) return settled.map((outcome) => (outcome as PromiseFulfilledResult<Decision>).value);
  await Promise.all(
    targets.filter((_, index) => settled[index]!.status === 'fulfilled').map((adapter) => adapter.resumeWrites().catch(() => undefined)),
  );
  throw failed.reason;
}

// ---------------------------------------------------------------------------------------------------
// CheckFollow (reconcile, follow runs only)

export interface CheckFollowInput {
  readonly follow: unknown;
  /** `$$.Execution.Id` and `$$.Execution.StartTime`: at lease end, a newer follow run may own the pause. */
  readonly executionArn?: string;
  readonly executionStartTime?: string;
}

export interface CheckFollowResult {
  readonly progress: FollowProgress;
  readonly waitSeconds: number;
  readonly decision: Decision;
}

export async function checkFollowStep(world: World, input: CheckFollowInput): Promise<CheckFollowResult> {
  const follow = parseWithSchema(followSchema, input.follow, 'follow');
  const topology = await world.observeTopology();
  const verdict = decideFollow(follow, topology, assessStability(topology), world.now());
  if (verdict.progress === FollowProgress.LeaseEnded && input.executionArn !== undefined) {
    const startedAtMs = Date.parse(input.executionStartTime ?? '');
    if (!Number.isFinite(startedAtMs)) throw new InvalidInputError(`executionStartTime must be an ISO timestamp, got ${JSON.stringify(input.executionStartTime)}`);
    const newer = newerFollowRun({ executionArn: input.executionArn, startedAtMs }, await world.runs.listRunning(), world.runs.switchoverStateMachineArn);
    if (newer) return { progress: FollowProgress.Superseded, decision: supersededDecision(follow, newer), waitSeconds: FOLLOW_POLL_SECONDS };
  }
  return { ...verdict, waitSeconds: FOLLOW_POLL_SECONDS };
}
