/**
 * The reconcile workflow's steps, one function per Task state of statemachines/reconcile.asl.json.
 * Each takes the World (ports) and the state's JSON input and returns plain JSON with a decision.
 * Observe -> plan (pure, lib/core) -> apply (compare-and-set in adapters) -> verify (re-observe).
 */
import { assessStability, tolerateUnavailable, withTolerance } from '../core/topology.ts';
import { desiredPoolerEndpoints, planPooler } from '../core/plan.ts';
import { definitivelyFailedTargets, planTraffic, regionHealth } from '../core/traffic-policy.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, InvalidInputError, TargetFailedError, TrafficPlanRefusedError } from '../core/errors.ts';
import { MetricName, type MetricDatum } from '../core/metrics.ts';
import { POOLER_NEEDS_OPERATOR, ReloadStrategy, TrafficPolicy, Trigger } from '../core/constants.ts';
import type { Endpoint } from '../core/endpoint.ts';
import type { PoolerTargetConfig } from '../core/config.ts';
import type { PoolerApplyResult, PoolerPlan, PoolerTargetAdapter, Topology, TrafficChange, TrafficPlan } from '../core/types.ts';
import type { World } from './world.ts';
import { applyTraffic, readTraffic, trafficNote, type TrafficDegradation } from './traffic-read.ts';

export interface ReconcileEventRef {
  readonly id?: string;
  readonly eventId?: string;
  readonly time?: string;
  readonly sourceArn?: string;
}

export interface ReconcileInput {
  readonly trigger: Trigger;
  readonly globalClusterId: string;
  readonly dryRun?: boolean;
  readonly event?: ReconcileEventRef;
}

// ---------------------------------------------------------------------------------------------------
// ObserveTopology

export interface ObserveInput {
  readonly globalClusterId: string;
  /** `$$.Execution.StartTime`: the wait budget counts from the run's start. */
  readonly executionStartTime: string;
}

export interface ObserveResult {
  readonly stable: boolean;
  readonly timedOut: boolean;
  readonly waitSeconds: number;
  readonly elapsedSeconds: number;
  readonly topology: Topology;
  readonly decision: Decision;
}

export async function observeTopologyStep(world: World, input: ObserveInput): Promise<ObserveResult> {
  assertOurCluster(world, input.globalClusterId);
  const startedAt = parseTimestamp(input.executionStartTime, 'executionStartTime');
  const observed = await world.observeTopology();
  const elapsedSeconds = Math.max(0, Math.round((world.now() - startedAt) / 1000));
  const { stableTimeoutSeconds, pollSeconds, unavailableGraceSeconds } = world.config.reconcile;
  // A global cluster kept from `available` by a member that cannot answer is tolerated (bounded): see tolerateUnavailable.
  const strict = assessStability(observed);
  const tolerance = strict.stable ? undefined : tolerateUnavailable(observed, { elapsedSeconds, graceSeconds: unavailableGraceSeconds });
  const topology = tolerance ? withTolerance(observed, tolerance) : observed;
  const verdict = tolerance?.tolerate ? assessStability(topology) : strict;
  const timedOut = !verdict.stable && elapsedSeconds >= stableTimeoutSeconds;
  const why = !tolerance?.applies ? verdict.reason : tolerance.waitingForGrace ? tolerance.reason : `${verdict.reason}; ${tolerance.reason}`;
  const decision = verdict.stable
    ? decide('observe-topology', tolerance?.tolerate ? 'proceed-tolerated' : 'proceed', verdict.reason)
    : timedOut
      ? decide('observe-topology', 'give-up', `${why}; still not stable after ${elapsedSeconds} s (limit ${stableTimeoutSeconds} s)`)
      : decide('observe-topology', 'wait', `${why}; checking again in ${pollSeconds} s`);
  return { stable: verdict.stable, timedOut, waitSeconds: pollSeconds, elapsedSeconds, topology, decision };
}

// ---------------------------------------------------------------------------------------------------
// VerifyWriter

export interface VerifyInput {
  readonly topology: Topology;
  readonly executionStartTime: string;
}

export interface VerifyResult {
  readonly verified: boolean;
  readonly writerRegion?: string;
  readonly writerDbClusterArn?: string;
  readonly verificationMs: number;
  readonly decision: Decision;
}

/** Never route writes to an unpromoted writer: the writer itself must confirm it takes writes. */
export async function verifyWriterStep(world: World, input: VerifyInput): Promise<VerifyResult> {
  const verificationMs = Math.max(0, world.now() - parseTimestamp(input.executionStartTime, 'executionStartTime'));
  const verdict = assessStability(input.topology);
  if (!verdict.stable || !verdict.writer) {
    return { verified: false, verificationMs, decision: decide('verify-writer', 'wait', verdict.reason) };
  }
  const writer = verdict.writer;
  const check = await world.verifyWriter(writer);
  if (!check.ok) {
    return {
      verified: false,
      verificationMs,
      decision: decide('verify-writer', 'wait', `${writer.dbClusterArn} is named writer but does not confirm it: ${check.reason}`),
    };
  }
  await world.emitMetrics([{ name: MetricName.WriterVerificationTime, value: verificationMs }]);
  return {
    verified: true,
    writerRegion: writer.region,
    writerDbClusterArn: writer.dbClusterArn,
    verificationMs,
    decision: decide('verify-writer', 'proceed', `writer ${writer.dbClusterArn} in ${writer.region} confirmed: ${check.reason}`),
  };
}

// ---------------------------------------------------------------------------------------------------
// Plan

export interface PlanInput {
  readonly topology: Topology;
  /** The run's trigger: every workflow run, whatever its trigger, verifies the pods of in-sync `live` targets; absent in a CLI preview. */
  readonly trigger?: Trigger;
  /**
   * The execution's input (`$$.Execution.Input`). When given and not a dry run, traffic is not read here
   * if the poolers have work: ShiftTraffic reads it after them, so the write path never waits on a traffic
   * control plane (GA in us-west-2, Route 53 in us-east-1) that may be down. Without it (the plan CLI),
   * traffic is always read and planned here.
   */
  readonly execution?: { readonly dryRun?: boolean };
}

/** One Map item: a target, where its aliases must point, and the plan made when it was observed. */
export interface PoolerWorkItem {
  readonly target: string;
  readonly desired: { readonly write: Endpoint; readonly read: Endpoint };
  /** null when the target could not be observed at plan time; ApplyPooler observes and plans again. */
  readonly plan: PoolerPlan | null;
  /**
   * The ConfigMap is in sync but the pods are checked anyway (scheduled runs, `live` targets): a run that
   * died between the ConfigMap patch and the pod switch leaves pods behind a correct ConfigMap.
   */
  readonly verifyPods?: boolean;
  readonly decision: Decision;
}

export interface PlanResult {
  readonly writerRegion: string;
  readonly poolers: readonly PoolerWorkItem[];
  readonly traffic: TrafficPlan | null;
  /** Changes known now, plus one per target to observe again or whose pods to verify, and per traffic system not observed. */
  readonly changeCount: number;
  readonly decisions: readonly Decision[];
}

export async function planStep(world: World, input: PlanInput): Promise<PlanResult> {
  const verdict = assessStability(input.topology);
  if (!verdict.writer) throw new InvalidInputError(`Plan needs a stable topology: ${verdict.reason}`);
  const decisions: Decision[] = [];
  // Desired endpoints depend on the target's region (reads stay local), so compute them per region.
  const desiredByRegion = new Map<string, ReturnType<typeof desiredPoolerEndpoints>>();
  const desiredFor = (region: string) => {
    let desired = desiredByRegion.get(region);
    if (!desired) {
      desired = desiredPoolerEndpoints(input.topology, region);
      desiredByRegion.set(region, desired);
      decisions.push(desired.decision);
    }
    return desired;
  };

  const poolers: PoolerWorkItem[] = [];
  for (const adapter of world.poolerTargets()) {
    const targetConfig = findTargetConfig(world, adapter.target);
    const desired = desiredFor(adapter.region);
    const want = { write: desired.write, read: desired.read };
    const item = await planOneTarget(adapter, targetConfig, want);
    // A workflow run always names its trigger; a preview (`aurora-failover plan --live`) names none and only plans.
    poolers.push(input.trigger === undefined ? item : withPodCheck(item));
  }
  decisions.push(...poolers.map((item) => item.decision));
  const poolerChanges = poolers.reduce((sum, item) => sum + (item.plan && !item.verifyPods ? item.plan.changes.length : 1), 0);

  if (input.execution && input.execution.dryRun !== true && poolerChanges > 0 && world.config.traffic.policy !== TrafficPolicy.None) {
    decisions.push(decide('traffic', 'after-poolers', `${poolerChanges} pooler change(s) or check(s) go first; ShiftTraffic reads and plans traffic after them`));
    return { writerRegion: verdict.writer.region, poolers, traffic: null, changeCount: poolerChanges, decisions };
  }
  // Each traffic system is read on its own: one whose control plane is down is a decision, not an error.
  const reading = await readTraffic(world);
  decisions.push(...reading.decisions);
  let traffic: TrafficPlan | null = null;
  try {
    traffic = planTraffic(input.topology, world.config, reading.states, regionHealth(input.topology, world.config, [], { region: world.region }));
    decisions.push(...(traffic.kept ?? []), traffic.decision);
  } catch (error) {
    // A refused plan is the safety rule working: say so (no changes); anything else is tried again later.
    if (error instanceof TrafficPlanRefusedError) {
      traffic = { changes: [], decision: decide('traffic', 'refuse', error.message) };
      decisions.push(traffic.decision);
    } else {
      decisions.push(decide('traffic', 'observe-again', `could not plan traffic now (${describeError(error)}); ShiftTraffic tries again`));
    }
  }

  // One more per traffic system not read now (unreachable or failed): ShiftTraffic reads it again, and
  // rethrows an error that is not an outage (throttling is retried, a fatal one fails the run).
  const trafficChanges = (traffic ? traffic.changes.length : reading.read && world.trafficAdapters().length > 0 ? 1 : 0) + reading.degraded.length + reading.failed.length;
  return { writerRegion: verdict.writer.region, poolers, traffic, changeCount: poolerChanges + trafficChanges, decisions };
}

// ---------------------------------------------------------------------------------------------------
// ApplyPooler (one Map item)

export async function applyPoolerStep(world: World, item: PoolerWorkItem): Promise<PoolerApplyResult> {
  const adapter = world.poolerTargets().find((candidate) => candidate.target === item.target);
  if (!adapter) throw new InvalidInputError(`pooler target ${item.target} is not managed by this stack (${world.region})`);
  const targetConfig = findTargetConfig(world, item.target);
  const plan = item.plan ?? planPooler(targetConfig, await adapter.observe(), item.desired);
  const result = await adapter.apply(plan);
  const metrics: MetricDatum[] = [{ name: MetricName.TargetRepointTime, value: result.durationMs, dimensions: { Target: item.target } }];
  // The adapter found that restarting pods cannot fix this target (it stopped restarting): a human must look.
  if (result.decision.decision === POOLER_NEEDS_OPERATOR) metrics.push({ name: MetricName.PoolerNeedsOperator, value: 1, dimensions: { Target: item.target } });
  await world.emitMetrics(metrics);
  if (result.pods.some((pod) => pod.outcome === 'failed')) {
    throw new TargetFailedError(`${item.target}: ${result.decision.reason}`);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------------
// ShiftTraffic

/** A Map item's result: applied, or caught (`failed: true`) by the per-item Catch. */
export type PoolerOutcome =
  | (PoolerApplyResult & { readonly failed?: false })
  | { readonly target: string; readonly failed: true; readonly error: string; readonly cause: string };

export interface ShiftTrafficInput {
  readonly topology: Topology;
  readonly poolerResults: readonly PoolerOutcome[];
  /** The Plan's work items (`$.plan.poolers`): which targets only had their pods checked (read-only). */
  readonly poolers?: readonly Pick<PoolerWorkItem, 'target' | 'verifyPods'>[];
}

export interface ShiftTrafficResult {
  readonly changes: readonly TrafficChange[];
  readonly durationMs: number;
  readonly decision: Decision;
  readonly decisions: readonly Decision[];
  /** Traffic systems whose control plane did not answer: their weights were not moved. */
  readonly degraded?: readonly TrafficDegradation[];
}

/**
 * Moves traffic per policy after the poolers converged (or some failed). Never blocks a failover: a
 * traffic system whose control plane does not answer (network error, timeout, 5xx) is a `degraded`
 * decision plus a TrafficDegraded metric, and a refused plan changes nothing; neither fails the run.
 * Any other error of a traffic system (throttling, access denied, invalid config) is thrown after the
 * other systems were applied: the step's Retry retries throttling, a fatal error fails the run. Health for
 * drain-unhealthy comes from the database members and from this region's targets that definitively failed
 * while changing something; a failed read-only check keeps this region's weights, and other regions'
 * weights are never raised here.
 */
export async function shiftTrafficStep(world: World, input: ShiftTrafficInput): Promise<ShiftTrafficResult> {
  const started = world.now();
  const reading = await readTraffic(world);
  if (!reading.read) {
    const skipped = reading.decisions[0]!;
    return { changes: [], durationMs: world.now() - started, decision: decide('shift-traffic', 'nothing-to-do', skipped.reason), decisions: [skipped] };
  }
  const readOnly = new Set((input.poolers ?? []).filter((item) => item.verifyPods === true).map((item) => item.target));
  const failures = definitivelyFailedTargets(
    input.poolerResults.map((result) => ({ target: result.target, readOnly: readOnly.has(result.target), failed: result.failed === true, ...(result.failed ? { error: result.error } : {}) })),
  );
  // This stack judges pooler health in its own region only: other regions' weights are lowered, never raised.
  const health = regionHealth(input.topology, world.config, failures.targets, { region: world.region, uncheckedTargets: failures.unchecked });
  const decisions: Decision[] = [...reading.decisions, ...failures.decisions];
  const finish = async (changes: readonly TrafficChange[], degraded: readonly TrafficDegradation[], decision: Decision): Promise<ShiftTrafficResult> => {
    const durationMs = world.now() - started;
    const metrics: MetricDatum[] = [{ name: MetricName.TrafficDegraded, value: degraded.length }];
    if (changes.length > 0) metrics.push({ name: MetricName.TrafficShiftTime, value: durationMs });
    await world.emitMetrics(metrics);
    const note = trafficNote(degraded);
    const final = note && decision.decision !== 'refuse' ? decide('shift-traffic', changes.length > 0 ? 'partly-applied' : 'degraded', `${decision.reason}; ${note}`) : decision;
    // A system that answered with throttling or a refusal is not an outage: now that the others were
    // handled, rethrow it (the ShiftTraffic Retry retries throttling; a fatal error fails the run).
    if (reading.failed.length > 0) throw reading.failed[0]!.error;
    return { changes, durationMs, decision: final, decisions: [...decisions, final], ...(degraded.length > 0 ? { degraded } : {}) };
  };

  let plan: TrafficPlan;
  try {
    plan = planTraffic(input.topology, world.config, reading.states, health);
  } catch (error) {
    // A refused plan is the safety rule working (e.g. it would drain every region): change nothing, say why.
    if (!(error instanceof TrafficPlanRefusedError)) throw error;
    return finish([], reading.degraded, decide('shift-traffic', 'refuse', error.message));
  }
  decisions.push(...(plan.kept ?? []), plan.decision);
  if (plan.changes.length === 0) return finish([], reading.degraded, decide('shift-traffic', 'nothing-to-do', plan.decision.reason));
  const applied = await applyTraffic(world.trafficAdapters(), plan.changes);
  decisions.push(...applied.decisions);
  const degraded = [...reading.degraded, ...applied.degraded];
  return finish(applied.applied, degraded, decide('shift-traffic', 'applied', `${applied.applied.length} weight change(s) applied in ${world.now() - started} ms`));
}

async function planOneTarget(adapter: PoolerTargetAdapter, targetConfig: PoolerTargetConfig, want: PoolerWorkItem['desired']): Promise<PoolerWorkItem> {
  try {
    const plan = planPooler(targetConfig, await adapter.observe(), want);
    return { target: adapter.target, desired: want, plan, decision: plan.decision };
  } catch (error) {
    const decision = decide(`pooler:${adapter.target}`, 'observe-again', `could not read its config now (${describeError(error)}); ApplyPooler reads it again`);
    return { target: adapter.target, desired: want, plan: null, decision };
  }
}

/**
 * Every run (event, manual, schedule) applies an in-sync `live` target anyway: the adapter then only checks
 * (and repairs) its pods, e.g. pods that were not Ready or copied the ConfigMap just before the last patch.
 */
function withPodCheck(item: PoolerWorkItem): PoolerWorkItem {
  if (!item.plan || item.plan.changes.length > 0 || item.plan.reloadStrategy !== ReloadStrategy.Live) return item;
  const decision = decide(item.decision.step, 'verify-pods', `${item.decision.reason}; this run checks that every pod routes as the ConfigMap says`);
  return { ...item, verifyPods: true, decision };
}

function findTargetConfig(world: World, target: string): PoolerTargetConfig {
  for (const section of Object.values(world.config.regions)) {
    const found = section.poolers.find((candidate) => candidate.name === target);
    if (found) return found;
  }
  throw new InvalidInputError(`pooler target ${target} is not in the config`);
}

// ---------------------------------------------------------------------------------------------------
// Report

/** The workflow's accumulated state: each step's ResultPath. Absent where the run took a shorter path. */
export interface ReconcileState {
  readonly observation?: ObserveResult;
  readonly verification?: VerifyResult;
  readonly plan?: PlanResult;
  readonly poolerResults?: readonly PoolerOutcome[];
  readonly traffic?: ShiftTrafficResult;
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  readonly resumed?: ResumeResult;
}

export interface ReportInput {
  readonly input: ReconcileInput;
  readonly executionStartTime: string;
  readonly state: ReconcileState;
}

export interface TargetSummary {
  readonly target: string;
  readonly outcome: 'changed' | 'unchanged' | 'failed' | 'planned';
  readonly reason: string;
  readonly durationMs?: number;
  readonly changes?: PoolerPlan['changes'];
}

export interface RunSummary {
  readonly globalClusterId: string;
  readonly region: string;
  readonly trigger: Trigger;
  readonly dryRun: boolean;
  readonly outcome: 'in-sync' | 'converged' | 'planned' | 'targets-failed';
  readonly writerRegion?: string;
  readonly writerDbClusterArn?: string;
  readonly changesApplied: number;
  readonly targetsFailed: readonly string[];
  readonly targets: readonly TargetSummary[];
  readonly traffic: {
    readonly changes: readonly TrafficChange[];
    readonly durationMs?: number;
    /** Present when a traffic system did not answer: what was not moved and why (also in the notification). */
    readonly note?: string;
    readonly degraded?: readonly TrafficDegradation[];
  };
  readonly durations: { readonly writerVerificationMs?: number; readonly trafficShiftMs?: number; readonly endToEndMs: number };
  readonly decisions: readonly Decision[];
  /** Present when outcome is targets-failed: the sentence the failed execution shows as its cause. */
  readonly failureReason?: string;
}

export async function reportStep(world: World, { input: runInput, executionStartTime, state }: ReportInput): Promise<RunSummary> {
  const input = { input: runInput, executionStartTime, ...state };
  const dryRun = input.input.dryRun === true;
  const results = input.poolerResults ?? [];
  const targets: TargetSummary[] = input.plan
    ? input.plan.poolers.map((item) => summarizeTarget(item, results, dryRun))
    : [];
  const targetsFailed = targets.filter((target) => target.outcome === 'failed').map((target) => target.target);
  const poolerChanges = results.reduce((sum, result) => sum + (!result.failed && result.changed ? changesOf(input.plan, result.target) : 0), 0);
  const trafficChanges = input.traffic?.changes.length ?? 0;
  const trafficDegraded = input.traffic?.degraded ?? [];
  const changesApplied = dryRun ? 0 : poolerChanges + trafficChanges;
  const eventTime = input.input.event?.time ? Date.parse(input.input.event.time) : Number.NaN;
  const startedAt = Number.isFinite(eventTime) ? eventTime : parseTimestamp(input.executionStartTime, 'executionStartTime');
  const endToEndMs = Math.max(0, world.now() - startedAt);

  const outcome: RunSummary['outcome'] = dryRun ? 'planned' : targetsFailed.length > 0 ? 'targets-failed' : changesApplied > 0 ? 'converged' : 'in-sync';
  const decisions: Decision[] = [
    ...(input.observation ? [input.observation.decision] : []),
    ...(input.verification ? [input.verification.decision] : []),
    ...(input.plan?.decisions ?? []),
    ...results.filter((result) => !result.failed).map((result) => (result as PoolerApplyResult).decision),
    ...(input.traffic?.decisions ?? []),
    decide('report', outcome, outcomeReason(outcome, changesApplied, targetsFailed)),
  ];

  const dimensions = { Trigger: input.input.trigger };
  const metrics: MetricDatum[] = [
    { name: MetricName.EndToEndTime, value: endToEndMs, dimensions },
    { name: MetricName.ChangesApplied, value: changesApplied, dimensions },
    { name: MetricName.TargetsFailed, value: targetsFailed.length },
    ...targetsFailed.map((target): MetricDatum => ({ name: MetricName.TargetsFailed, value: 1, dimensions: { Target: target } })),
  ];
  if (input.input.trigger !== Trigger.Event) metrics.push({ name: MetricName.DriftRepaired, value: changesApplied, dimensions });
  await world.emitMetrics(metrics);

  const summary: RunSummary = {
    globalClusterId: world.config.globalClusterId,
    region: world.region,
    trigger: input.input.trigger,
    dryRun,
    outcome,
    writerRegion: input.verification?.writerRegion,
    writerDbClusterArn: input.verification?.writerDbClusterArn,
    changesApplied,
    targetsFailed,
    targets,
    traffic: {
      changes: dryRun ? (input.plan?.traffic?.changes ?? []) : (input.traffic?.changes ?? []),
      durationMs: input.traffic?.durationMs,
      ...(trafficDegraded.length > 0 ? { note: trafficNote(trafficDegraded), degraded: trafficDegraded } : {}),
    },
    durations: { writerVerificationMs: input.verification?.verificationMs, trafficShiftMs: input.traffic?.durationMs, endToEndMs },
    decisions,
    ...(targetsFailed.length > 0 ? { failureReason: outcomeReason(outcome, changesApplied, targetsFailed) } : {}),
  };
  // A degraded traffic system is noted in every notification; it alone notifies runs not started by the schedule.
  if (changesApplied > 0 || targetsFailed.length > 0 || (trafficDegraded.length > 0 && input.input.trigger !== Trigger.Schedule)) {
    const notified = await world.notify({ subject: `${outcome}: ${world.config.globalClusterId} in ${world.region}`, summary });
    decisions.push(notified);
  }
  return summary;
}

function summarizeTarget(item: PoolerWorkItem, results: readonly PoolerOutcome[], dryRun: boolean): TargetSummary {
  const result = results.find((candidate) => candidate.target === item.target);
  if (dryRun || !result) {
    return { target: item.target, outcome: dryRun ? 'planned' : 'unchanged', reason: item.decision.reason, changes: item.plan?.changes };
  }
  if (result.failed) return { target: item.target, outcome: 'failed', reason: `${result.error}: ${result.cause}` };
  return { target: item.target, outcome: result.changed ? 'changed' : 'unchanged', reason: result.decision.reason, durationMs: result.durationMs, changes: item.plan?.changes };
}

function changesOf(plan: PlanResult | undefined, target: string): number {
  const item = plan?.poolers.find((candidate) => candidate.target === target);
  return Math.max(1, item?.plan?.changes.length ?? 1);
}

function outcomeReason(outcome: RunSummary['outcome'], changes: number, failed: readonly string[]): string {
  switch (outcome) {
    case 'planned':
      return 'dry run: the plan was computed and nothing was changed';
    case 'in-sync':
      return 'everything already routes to the current writer; nothing was changed';
    case 'converged':
      return `${changes} change(s) applied; every target converged`;
    case 'targets-failed':
      return `target(s) failed to converge: ${failed.join(', ')}; the others converged`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Failure path: resume anything paused, report, fail.

export interface ResumeResult {
  readonly decisions: readonly Decision[];
}

/** Resumes the write alias on every target of this region; never throws, so the failure report still runs. */
export async function resumePoolersStep(world: World): Promise<ResumeResult> {
  const decisions = await Promise.all(
    world.poolerTargets().map(async (adapter) => {
      try {
        return await adapter.resumeWrites();
      } catch (error) {
        return decide(`pooler:${adapter.target}`, 'resume-failed', `could not resume writes: ${describeError(error)}`);
      }
    }),
  );
  return { decisions };
}

export interface FailureInput {
  /** The execution input: a reconcile input, a switchover's console input (no trigger: manual), or anything malformed. */
  readonly input: unknown;
  readonly state: ReconcileState;
}

export interface FailureReport {
  readonly error: string;
  readonly cause: string;
  readonly decisions: readonly Decision[];
}

export async function reportFailureStep(world: World, { input: runInput, state }: FailureInput): Promise<FailureReport> {
  const input = { input: runInput, error: state.error ?? {}, resumed: state.resumed };
  const error = input.error.Error ?? 'UnknownError';
  const cause = sanitizeCause(input.error.Cause ?? 'no cause recorded');
  await world.emitMetrics([{ name: MetricName.RunsFailed, value: 1, dimensions: { Trigger: triggerOf(input.input) } }]);
  const failure = decide('report-failure', 'failed', `${error}: ${cause}`);
  const notified = await world.notify({ subject: `failed: ${world.config.globalClusterId} in ${world.region}`, summary: { error, cause, resumed: input.resumed?.decisions ?? [] } });
  return { error, cause, decisions: [...(input.resumed?.decisions ?? []), failure, notified] };
}

/** The run's trigger for the metric dimension: only a known value, whatever a malformed input holds. */
function triggerOf(runInput: unknown): Trigger {
  const trigger = runInput && typeof runInput === 'object' ? (runInput as { trigger?: unknown }).trigger : undefined;
  return (Object.values(Trigger) as unknown[]).includes(trigger) ? (trigger as Trigger) : Trigger.Manual;
}

/** A Lambda error's Cause is a JSON document; keep only its message for the console. */
function sanitizeCause(cause: string): string {
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // Not JSON: already a message.
  }
  return cause;
}

// ---------------------------------------------------------------------------------------------------

function assertOurCluster(world: World, globalClusterId: string): void {
  if (globalClusterId !== world.config.globalClusterId) {
    throw new InvalidInputError(`globalClusterId ${JSON.stringify(globalClusterId)} is not the configured global cluster ${world.config.globalClusterId}`);
  }
}

function parseTimestamp(value: string, field: string): number {
  const parsed = Date.parse(value);
  if (!Number.isFinite(parsed)) throw new InvalidInputError(`${field} must be an ISO timestamp, got ${JSON.stringify(value)}`);
  return parsed;
}


