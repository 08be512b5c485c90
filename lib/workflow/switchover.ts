/**
 * The switchover workflow's steps (statemachines/switchover.asl.json), started by hand from the console:
 * preflight -> optional pause of the write aliases -> SwitchoverGlobalCluster / FailoverGlobalCluster ->
 * bounded wait until the target is the writer -> reconcile -> resume. Every path out resumes the pools.
 */
import { assessStability, tolerateUnavailable } from '../core/topology.ts';
import { planTraffic, regionHealth } from '../core/traffic-policy.ts';
import { runPreflight, type PreflightResult, type RpoLagReading } from '../core/preflight.ts';
import { parseSwitchoverInput, type SwitchoverInput, type SwitchoverTarget } from '../core/switchover-input.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, InvalidInputError, ThrottledError } from '../core/errors.ts';
import type { Topology } from '../core/types.ts';
import type { World } from './world.ts';
import { readTraffic, type TrafficReading } from './traffic-read.ts';
import { decidePeers, type PeerProbe } from '../core/peers.ts';
import { probePeers } from './coordination.ts';
import { PREFETCH_BUDGET_MS, PREFETCH_STEP, silentRegionsOf, usablePrefetch, type PreflightPrefetch } from '../core/preflight-prefetch.ts';
import { EarlyReads } from './early-reads.ts';

const STEP = 'switchover';
/** After the RDS call, how long a topology without FailoverState may still show the old writer. */
const START_GRACE_MS = 60_000;

export interface PreflightStepInput {
  readonly input: unknown;
  /** PrefetchPreflight's early reads (or `{ skipped }`), from the state machine; used only when fresh and well-formed. */
  readonly prefetch?: unknown;
}

export interface PrefetchStepInput {
  readonly input: unknown;
}

export interface PreflightStepResult extends PreflightResult {
  readonly globalClusterId: string;
  readonly mode: SwitchoverInput['mode'];
  readonly target: SwitchoverTarget;
  readonly pausePoolers: boolean;
  readonly dryRun: boolean;
  /** Peer stacks probed (absent where the stack has no peer port); PreparePeers asks the reachable ones. */
  readonly peers?: readonly PeerProbe[];
  readonly decision: Decision;
}

/**
 * PrefetchPreflight: the reads that can meet a dead region and need no run lock, taken while the switchover
 * waits for concurrent runs to appear (lib/core/preflight-prefetch.ts). Read-only, bounded by
 * PREFETCH_BUDGET_MS: what has not answered by then, or failed with anything but "no answer", is left out
 * and Preflight reads it itself. Invalid input throws (the state machine then skips the prefetch and
 * Preflight refuses the input with the same error).
 */
export async function prefetchStep(world: World, raw: PrefetchStepInput): Promise<PreflightPrefetch> {
  const { input, target } = parseSwitchoverInput(raw.input, world.config);
  const startedAt = new Date(world.now()).toISOString();
  const probedRegions = input.mode === 'failover' ? otherRegions(world, target) : [];
  let timer: NodeJS.Timeout | undefined;
  const budget = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), PREFETCH_BUDGET_MS)));
  const inTime = <T>(read: Promise<T>): Promise<T | undefined> =>
    Promise.race([read.catch(() => undefined), budget]).then((value) => (value === 'late' ? undefined : value));

  const [probes, peers, traffic] = await Promise.all([
    Promise.all(probedRegions.map(async (region) => {
      const probe = await inTime(world.switchover.probeRegion(region));
      return probe ? { region, ...probe } : undefined;
    })),
    inTime(probePeers(world)),
    inTime(readTraffic(world)),
  ]).finally(() => clearTimeout(timer));
  const regionProbes = probes.filter((probe) => probe !== undefined);
  const late = probedRegions.filter((region) => !regionProbes.some((probe) => probe.region === region));
  const carriedTraffic =
    traffic && traffic.failed.length === 0
      ? { read: traffic.read, states: [...traffic.states], degraded: traffic.degraded.map(({ kind, reason }) => ({ kind, reason })), failed: [], decisions: [...traffic.decisions] }
      : undefined;
  const left = [...late.map((region) => `the RDS probe of ${region}`), ...(peers ? [] : world.peers ? ['the peer probes'] : []), ...(carriedTraffic ? [] : ['the traffic weights'])];
  return {
    startedAt,
    regionProbes,
    ...(peers ? { peers } : {}),
    ...(carriedTraffic ? { traffic: carriedTraffic } : {}),
    decision: decide(PREFETCH_STEP, 'read', left.length ? `read early; left to Preflight (not answered in ${PREFETCH_BUDGET_MS / 1000} s, or failed): ${left.join(', ')}` : 'every early read answered'),
  };
}

export async function preflightStep(world: World, raw: PreflightStepInput): Promise<PreflightStepResult> {
  const { input, target } = parseSwitchoverInput(raw.input, world.config);
  const failover = input.mode === 'failover';
  const early = usablePrefetch(raw.prefetch, world.now());
  const prefetch = early.prefetch;
  let topologyDone: () => void = () => undefined;
  const topologyRead = new Promise<void>((resolve) => (topologyDone = resolve));
  try {
    // Everything that does not depend on the topology starts with its read, not after it: a dead region's calls
    // end only when the SDK gives up (AWS_DEAD_REGION_CALL_MS), and those waits overlap instead of adding up.
    // In failover mode every other configured region is probed, because which one holds the writer is known
    // only from the topology; the writer's region's probe is the one used. Early reads: lib/workflow/early-reads.ts.
    const reads = new EarlyReads(world, prefetch, failover ? otherRegions(world, target) : [], { topologyRead });
    const rpoLagRead = failover
      ? world.switchover.readRpoLag(target).catch((error: unknown): RpoLagReading => {
          // Throttling is retried (Preflight's Retry), never taken for "the lag cannot be read".
          if (error instanceof ThrottledError) throw error;
          return { available: false, reason: describeError(error) };
        })
      : Promise.resolve(undefined);
    const trafficRead = prefetch?.traffic ? Promise.resolve(prefetch.traffic) : readTraffic(world);
    const poolersRead = probePoolers(world);
    const peersRead = reads.peerProbes(() => probePeers(world));
    for (const pending of [...reads.pending(), rpoLagRead, trafficRead, poolersRead, peersRead]) pending.catch(() => undefined); // awaited below; no unhandled rejection meanwhile

    // A region whose RDS API did not answer the early probe is not waited for in the topology read either.
    const topology = await world.observeTopology({ silentRegions: silentRegionsOf(prefetch, target.region) });
    topologyDone();
    const stability = assessStability(topology);
    const currentWriter = topology.members.find((member) => member.isWriter);

    const rpoLag = await rpoLagRead;
    // The old primary's reachability decides only a failover with maxRpoLagMs whose lag could not be read.
    const verdictDepends = input.maxRpoLagMs !== undefined && !(rpoLag?.available && rpoLag.lagMs !== undefined);
    const [writerRegionReachable, poolers, traffic, peers] = await Promise.all([
      failover && currentWriter ? reads.regionReachability(currentWriter.region, verdictDepends) : undefined,
      poolersRead,
      trafficRead.then((reading) => checkTrafficAfterSwitch(world, topology, target, input.mode, reading)),
      peersRead,
    ]);

    const checked = withPeers(runPreflight({ input, target, topology, stability, rpoLag, writerRegionReachable, poolers, traffic }), peers, input.acceptUnreachablePeers);
    const result = { ...checked, checks: [early.decision, ...checked.checks] };
    const verb = result.verdict === 'proceed' && input.dryRun ? 'dry-run' : result.verdict;
    const reason = input.dryRun && result.verdict === 'proceed' ? `dry run: ${result.reason}; nothing was changed` : result.reason;
    return {
      ...result,
      globalClusterId: input.globalClusterId,
      mode: input.mode,
      target,
      pausePoolers: input.pausePoolers,
      dryRun: input.dryRun,
      ...(peers ? { peers } : {}),
      decision: decide(`${STEP}:preflight`, verb, reason),
    };
  } finally {
    topologyDone(); // a failed topology read must not leave a wait on it pending
  }
}

/** Every configured region but the target's: in failover mode, one of them holds the writer. */
function otherRegions(world: World, target: SwitchoverTarget): string[] {
  return Object.keys(world.config.regions).filter((region) => region !== target.region);
}

/** A switch that would proceed is refused when a peer stack is unreachable and the operator did not accept that. */
function withPeers(result: PreflightResult, peers: readonly PeerProbe[] | undefined, acceptUnreachable: boolean): PreflightResult {
  if (!peers) return { ...result, checks: [...result.checks, decide('peer', 'skip', 'this stack has no peer port: peer regions are not prepared')] };
  const verdict = decidePeers(peers, acceptUnreachable);
  const checks = [...result.checks, ...verdict.decisions, verdict.decision];
  if (result.verdict === 'proceed' && !verdict.proceed) return { ...result, verdict: 'refuse', reason: verdict.decision.reason, checks };
  return { ...result, checks };
}

async function probePoolers(world: World): Promise<Decision[]> {
  return Promise.all(
    world.poolerTargets().map(async (adapter) => {
      try {
        await adapter.observe();
        return decide(`pooler:${adapter.target}`, 'reachable', 'its config was read');
      } catch (error) {
        return decide(`pooler:${adapter.target}`, 'unreachable', describeError(error));
      }
    }),
  );
}

/**
 * The traffic policy should yield a valid plan for the topology after the switch. Traffic never blocks a
 * failover: `policy: none` reads nothing, a traffic system that could not be read for any reason is
 * `degraded` here (its weights stay; see docs/outage.md; ShiftTraffic is the strict one), and in failover
 * mode even a refused plan only degrades. A planned
 * switchover whose policy would refuse the plan is refused (the config needs fixing, and there is time).
 */
function checkTrafficAfterSwitch(world: World, topology: Topology, target: SwitchoverTarget, mode: SwitchoverInput['mode'], reading: TrafficReading): Decision {
  const after: Topology = {
    ...topology,
    failoverState: undefined,
    status: 'available',
    members: topology.members.map((member) => ({ ...member, isWriter: member.dbClusterArn === target.dbClusterArn })),
  };
  if (!reading.read) return decide('traffic', 'valid', reading.decisions[0]!.reason);
  // Lenient on purpose: any traffic system not read (unreachable, throttled, refused) is only noted here.
  // ShiftTraffic reads again after the poolers and fails the run on an error that is not an outage.
  const notRead = [...reading.degraded, ...reading.failed];
  const unread = notRead.length > 0 ? `; not read: ${notRead.map((entry) => entry.reason).join('; ')} (weights stay as they are, the ${mode} goes on)` : '';
  try {
    const plan = planTraffic(after, world.config, reading.states, regionHealth(after, world.config, [], { region: world.region }));
    return decide('traffic', unread ? 'degraded' : 'valid', `after the switch: ${plan.decision.reason}${unread}`);
  } catch (error) {
    const why = `the traffic policy has no valid plan after the switch: ${describeError(error)}`;
    if (mode === 'failover') return decide('traffic', 'degraded', `${why}; weights stay as they are, a failover is never blocked by traffic${unread}`);
    return decide('traffic', 'refuse', why);
  }
}

// ---------------------------------------------------------------------------------------------------

export interface PauseResult {
  readonly pausedAt: string;
  readonly resumed: boolean;
  readonly decisions: readonly Decision[];
}

/** PAUSE the write aliases so clients wait instead of failing while the writer moves. */
export async function pausePoolersStep(world: World): Promise<PauseResult> {
  const decisions = await Promise.all(world.poolerTargets().map((adapter) => adapter.pauseWrites()));
  return { pausedAt: new Date(world.now()).toISOString(), resumed: false, decisions };
}

export interface ExecuteSwitchInput {
  readonly preflight: PreflightStepResult;
}

export interface ExecuteSwitchResult {
  readonly startedAt: string;
  readonly decision: Decision;
}

export async function executeSwitchStep(world: World, { preflight }: ExecuteSwitchInput): Promise<ExecuteSwitchResult> {
  if (preflight.verdict !== 'proceed' || preflight.dryRun) {
    throw new InvalidInputError(`ExecuteSwitch refused: preflight said ${preflight.verdict}${preflight.dryRun ? ' (dry run)' : ''}`);
  }
  if (!preflight.currentWriterRegion) throw new InvalidInputError('ExecuteSwitch needs the current writer region from preflight');
  const startedAt = new Date(world.now()).toISOString();
  const decision = await world.switchover.startSwitch({
    mode: preflight.mode,
    globalClusterId: preflight.globalClusterId,
    target: preflight.target,
    currentWriterRegion: preflight.currentWriterRegion,
  });
  return { startedAt, decision };
}

// ---------------------------------------------------------------------------------------------------

export interface CheckSwitchInput {
  readonly preflight: PreflightStepResult;
  readonly switch: ExecuteSwitchResult;
  readonly pause?: PauseResult;
}

export type SwitchProgress = 'done' | 'waiting' | 'failed' | 'timed-out';

export interface CheckSwitchResult {
  readonly progress: SwitchProgress;
  /** The pause budget ran out while the switch is still running: resume now, keep waiting. */
  readonly resumeNow: boolean;
  readonly waitSeconds: number;
  readonly elapsedMs: number;
  readonly decision: Decision;
}

/**
 * Done when the target is the single writer and no FailoverState remains. Failed when RDS is no longer
 * switching (no FailoverState after a grace period) but the target is still not the writer: a cancelled
 * or failed switchover (0186/0187/0239). Bounded by switchover.timeoutSeconds.
 */
export async function checkSwitchStep(world: World, input: CheckSwitchInput): Promise<CheckSwitchResult> {
  const topology = await world.observeTopology();
  const now = world.now();
  const elapsedMs = now - Date.parse(input.switch.startedAt);
  const { timeoutSeconds, pauseBudgetSeconds } = world.config.switchover;
  const paused = input.pause !== undefined && !input.pause.resumed;
  const resumeNow = paused && now - Date.parse(input.pause!.pausedAt) > pauseBudgetSeconds * 1000;
  const waitSeconds = Math.min(10, Math.max(1, world.config.reconcile.pollSeconds));
  const result = (progress: SwitchProgress, decision: string, reason: string): CheckSwitchResult => ({
    progress,
    resumeNow: progress === 'waiting' && resumeNow,
    waitSeconds,
    elapsedMs,
    decision: decide(`${STEP}:wait`, decision, reason),
  });

  const target = topology.members.find((member) => member.dbClusterArn === input.preflight.target.dbClusterArn);
  const stability = assessStability(topology);
  if (target?.isWriter && stability.stable) {
    return result('done', 'proceed', `${input.preflight.target.region} is the writer after ${elapsedMs} ms`);
  }
  // The old primary's region may still be down: a member that cannot answer must not keep us waiting (bounded).
  const tolerance = target?.isWriter && !stability.stable
    ? tolerateUnavailable(topology, { elapsedSeconds: Math.floor(elapsedMs / 1000), graceSeconds: world.config.reconcile.unavailableGraceSeconds })
    : undefined;
  if (tolerance?.tolerate) {
    return result('done', 'proceed-tolerated', `${input.preflight.target.region} is the writer after ${elapsedMs} ms; ${tolerance.reason}`);
  }
  if (elapsedMs > timeoutSeconds * 1000) {
    return result('timed-out', 'give-up', `the ${input.preflight.mode} did not finish within ${timeoutSeconds} s: ${stability.reason}`);
  }
  if (!topology.failoverState && elapsedMs > START_GRACE_MS && !target?.isWriter) {
    return result('failed', 'give-up', `RDS is no longer switching but ${input.preflight.target.region} is not the writer: the ${input.preflight.mode} was cancelled or failed (see events RDS-EVENT-0186/0187/0239)`);
  }
  const budget = resumeNow ? `; the pause budget of ${pauseBudgetSeconds} s is spent, resuming the pools` : '';
  return result('waiting', 'wait', `${stability.reason}${budget}`);
}

/** Resume after the pause budget ran out; marks the pause resumed so it is not resumed again. */
export async function resumeEarlyStep(world: World, input: { readonly pause: PauseResult }): Promise<PauseResult> {
  const decisions = await Promise.all(world.poolerTargets().map((adapter) => adapter.resumeWrites().catch((error: unknown) => decide(`pooler:${adapter.target}`, 'resume-failed', describeError(error)))));
  return { ...input.pause, resumed: true, decisions };
}

// ---------------------------------------------------------------------------------------------------

export interface SwitchoverSummaryInput {
  readonly state: {
    readonly preflight: PreflightStepResult;
    readonly pause?: PauseResult;
    readonly peers?: { readonly decisions: readonly Decision[] };
    readonly switch?: ExecuteSwitchResult;
    readonly progress?: CheckSwitchResult;
    readonly reconcile?: { readonly Output?: unknown; readonly Status?: string };
    readonly resumed?: { readonly decisions: readonly Decision[] };
  };
}

export interface SwitchoverSummary {
  readonly outcome: 'switched' | 'nothing-to-do' | 'dry-run';
  readonly globalClusterId: string;
  readonly mode: SwitchoverInput['mode'];
  readonly from?: string;
  readonly to: string;
  readonly switchMs?: number;
  readonly reconcile?: unknown;
  readonly decisions: readonly Decision[];
}

export async function summarizeSwitchoverStep(_world: World, { state }: SwitchoverSummaryInput): Promise<SwitchoverSummary> {
  const { preflight } = state;
  const outcome: SwitchoverSummary['outcome'] = preflight.verdict === 'nothing-to-do' ? 'nothing-to-do' : preflight.dryRun ? 'dry-run' : 'switched';
  const reconcileOutput = typeof state.reconcile?.Output === 'string' ? JSON.parse(state.reconcile.Output) : state.reconcile?.Output;
  return {
    outcome,
    globalClusterId: preflight.globalClusterId,
    mode: preflight.mode,
    from: preflight.currentWriterRegion,
    to: preflight.target.region,
    switchMs: state.progress?.elapsedMs,
    reconcile: reconcileOutput,
    decisions: [
      ...preflight.checks,
      preflight.decision,
      ...(state.pause?.decisions ?? []),
      ...(state.peers?.decisions ?? []),
      ...(state.switch ? [state.switch.decision] : []),
      ...(state.progress ? [state.progress.decision] : []),
      ...(state.resumed?.decisions ?? []),
    ],
  };
}
