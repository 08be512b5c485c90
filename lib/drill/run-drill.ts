/**
 * The local failover drill: two PostgreSQL servers standing for two regions (A writer, B its streaming
 * replica), one real PgBouncer per region, write and read load through them, and one stack per region as
 * AWS deploys it: its own config region, Step Functions (run registry and lock), event bus and intake, and
 * a World that sees only its own region's PgBouncer. The operator starts the real switchover state machine
 * in one region's stack; the local global cluster delivers RDS events only into the buses that
 * `eventDelivery` names. Scenario region-outage kills the writer region instead (runRegionOutage) and has
 * the operator fail over from the survivor. Measures what clients experienced, per region, and checks the
 * invariants. Everything runs on 127.0.0.1 and is stopped and removed at the end, also on failure and Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { createOnRdsEventHandler } from '../../functions/on-rds-event.ts';
import { createTelemetry } from '../adapters/telemetry.ts';
import { LocalPoolerTarget } from '../adapters/pooler-local.ts';
import { sameEndpoint, type Endpoint } from '../core/endpoint.ts';
import type { MetricDatum } from '../core/metrics.ts';
import type { PoolerPlan, PoolerTargetAdapter } from '../core/types.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../local/environment.ts';
import { createReplica, initPrimary } from '../local/global-cluster.ts';
import { fetchCommittedKeys, prepareLoadTable, startLoad, type LoadResult, type LoadRun } from '../local/load-generator.ts';
import { missingAcknowledged, summarizeLoad } from '../local/load-summary.ts';
import { LocalPgBouncer } from '../local/pgbouncer.ts';
import { nowMs } from '../local/clock.ts';
import { sleep } from '../local/postgres.ts';
import type { StepLogger } from '../workflow/step-handler.ts';
import type { PeerPorts, PrepareResult, ReleaseResult, World } from '../workflow/world.ts';
import { createPrepareForSwitchHandler } from '../../functions/prepare-for-switch.ts';
import type { PeerProbe } from '../core/peers.ts';
import { describeError, InvalidInputError } from '../core/errors.ts';
import { PEER_INVOKE_DEAD_REGION_MS } from '../adapters/aws-client-pool.ts';
import { drillClusterArn, drillConfig, drillPoolerName, DRILL_GLOBAL_CLUSTER_ID, DRILL_REGIONS, OUTAGE_REGIONS, rdsEventEnvelope, READ_ALIAS, WRITE_ALIAS, type DrillRegions } from './drill-config.ts';
import { LocalAuroraGlobalCluster, type LocalMember, type WriterMove } from './local-aurora.ts';
import { LocalStepFunctions } from './local-step-functions.ts';
import { createLocalWorld, deadRegionCall, LocalTrafficWeights, TRAFFIC_CONTROL_PLANE_REGION } from './local-world.ts';
import { TrafficKind } from '../core/types.ts';
import type { DrillEventDelivery, DrillOutage, DrillOutageRpo, DrillInvariant, DrillReturningWrites, DrillPhase, DrillPoolMode, DrillResults, DrillScenario, DrillSeries, DrillStrategy, DrillSwitch, RegionResult, SwitchRegionResult } from './results.ts';
import { returningClientsCheck, rpoCheck } from './outage-invariants.ts';

export interface DrillProgress {
  readonly phase: string;
  readonly elapsedMs: number;
  readonly commitsPerSec: number;
  readonly errorsPerSec: number;
}

export interface DrillOptions {
  readonly scenario: DrillScenario;
  readonly strategy: DrillStrategy;
  readonly poolMode: DrillPoolMode;
  /** How long the client load runs, switches included. */
  readonly durationMs: number;
  readonly clientsPerRegion: number;
  /** Total committed writes per second the clients aim for (all regions). */
  readonly targetWriteTps: number;
  /** Which regions' buses receive RDS events; default old-writer (the least favourable believable case). */
  readonly eventDelivery?: DrillEventDelivery;
  /** EventBridge-like delivery delay; default 2000 ms. */
  readonly eventDelayMs?: number;
  /** Deliver every event twice. */
  readonly duplicateEvents?: boolean;
  /** Hold the database fenced and unpromoted at least this long per move (Aurora: tens of seconds). */
  readonly promotionMs?: number;
  /**
   * Every Lambda invocation (each workflow Task, each intake, each peer's prepare-for-switch) starts this
   * much later, like Lambda's invoke overhead and cold starts; default 0.
   */
  readonly lambdaLatencyMs?: number;
  /** The two regions, writer first; default us-east-2,us-west-2 (region-outage: us-west-2,us-east-1). */
  readonly regions?: DrillRegions;
  /** region-outage: when the writer region dies, ms after the load started; default max(3000, 15% of the duration). */
  readonly outageAtMs?: number;
  /** region-outage: the operator starts the failover this long after the outage; default 1000. */
  readonly operatorDelayMs?: number;
  /** region-outage: the dead region comes back this long after the failover workflow ended; default 3000. */
  readonly downMs?: number;
  /** region-outage: the failover's maxRpoLagMs (the preflight refuses above it while the old region answers). */
  readonly maxRpoLagMs?: number;
  /** PgBouncer database names of the two aliases; default appdb / appdb_ro. */
  readonly writeAlias?: string;
  readonly readAlias?: string;
  /** Ctrl-C and SIGTERM stop every process and remove the temp dir (the CLI: yes; tests: no). */
  readonly handleProcessSignals?: boolean;
  readonly onProgress?: (progress: DrillProgress) => void;
  /** Every workflow step's decisions, one object per step (the CLI writes them to a JSONL file). */
  readonly onDecision?: (entry: Record<string, unknown>) => void;
}

const BUCKET_MS = 100;
/** Every region's PgBouncer must serve the new writer this soon after the promotion. */
const REPOINT_LIMIT_MS = 5_000;
const PROGRESS_EVERY_MS = 250;
/** The ASL's LetConcurrentRunsAppear (5 s), kept in scenario region-outage so its timings are AWS's. */
const OUTAGE_SETTLE_MS = 5_000;
const STATEMACHINES_DIR = new URL('../../statemachines/', import.meta.url);

/** One pooler target whose applies are timed: when did it start sending writes to a given writer? */
class TimedPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  readonly inner: LocalPoolerTarget;
  readonly routedAt: Array<{ at: number; write: Endpoint | null; changed: boolean }> = [];
  readonly #writeAlias: string;

  constructor(inner: LocalPoolerTarget, writeAlias: string) {
    this.inner = inner;
    this.#writeAlias = writeAlias;
    this.target = inner.target;
    this.region = inner.region;
  }

  observe() {
    return this.inner.observe();
  }
  async apply(plan: PoolerPlan) {
    const result = await this.inner.apply(plan);
    const state = await this.inner.observe();
    this.routedAt.push({ at: nowMs(), write: state.aliases[this.#writeAlias] ?? null, changed: result.changed });
    return result;
  }
  pauseWrites() {
    return this.inner.pauseWrites();
  }
  resumeWrites() {
    return this.inner.resumeWrites();
  }

  /** First time after `since` this target was seen routing writes to `writer`. */
  firstRoutedTo(writer: Endpoint, since: number, until = Number.POSITIVE_INFINITY): number | undefined {
    return this.routedAt.find((entry) => entry.at >= since && entry.at < until && sameEndpoint(entry.write, writer))?.at;
  }

  /** Applies in [since, until) that changed the write alias to `writer`. */
  repointsTo(writer: Endpoint, since: number, until: number): number {
    return this.routedAt.filter((entry) => entry.changed && entry.at >= since && entry.at < until && sameEndpoint(entry.write, writer)).length;
  }
}

/** One region's stack: what `sls deploy --region R` creates, as the drill runs it. */
interface RegionStack {
  readonly region: string;
  readonly world: World;
  readonly targets: readonly TimedPoolerTarget[];
  /** The region's default event bus -> its on-rds-event intake. */
  readonly intake: (event: unknown) => Promise<unknown>;
}

interface Stage {
  readonly regions: DrillRegions;
  readonly env: LocalEnvironment;
  readonly cluster: LocalAuroraGlobalCluster;
  readonly bouncers: Record<string, LocalPgBouncer>;
  readonly targets: TimedPoolerTarget[];
  readonly stepFunctions: LocalStepFunctions;
  /** Each region's own stack. */
  readonly stacks: Record<string, RegionStack>;
  readonly metrics: MetricDatum[];
}

interface SwitchRecord {
  readonly move: WriterMove;
  /** The region whose stack ran the switchover workflow. */
  readonly home: string;
  readonly workflowStartedAt: number;
  readonly workflowEndedAt: number;
  readonly outcome: string;
  /** The target's replication lag when the operator started (what readRpoLag reads). */
  readonly rpoLagAtStartMs: number;
  /** The nested reconcile's run summary traffic section. */
  readonly traffic?: { note?: string; degraded?: ReadonlyArray<{ kind: string }> };
  /** region-outage: the region that was down during this switch (it cannot repoint until it returns). */
  readonly deadRegion?: string;
}

export async function runDrill(options: DrillOptions): Promise<DrillResults> {
  const env = createLocalEnvironment({ handleProcessSignals: options.handleProcessSignals ?? false });
  const { writeAlias, readAlias } = drillAliases(options);
  const startedAt = new Date();
  const phases: DrillPhase[] = [];
  let load: LoadRun | undefined;
  let progressTimer: NodeJS.Timeout | undefined;
  try {
    const stage = await prepareStage(env, options);
    const eventDelivery = options.eventDelivery ?? 'old-writer';
    let phase = 'warm-up';
    load = startLoad({
      regions: stage.regions.map((region) => ({ region, pooler: stage.bouncers[region]!.endpoint, writeAlias, readAlias })),
      clientsPerRegion: options.clientsPerRegion,
      durationMs: options.durationMs,
      targetWriteTps: options.targetWriteTps,
      readEveryWrites: 5,
      // Session pooling pins a client to its server connection: like application pools, drop it on 25006.
      ...(options.poolMode === 'session' ? { reconnectOnSqlstates: ['25006'] } : {}),
      // A client gives up on a write after this long; with a held promotion, writes wait that long in PAUSE.
      statementTimeoutMs: 15_000 + (options.promotionMs ?? 0),
    });
    const t0 = nowMs();
    const at = (epochMs: number) => Math.round(epochMs - t0);
    progressTimer = startProgress(load, t0, () => phase, options.onProgress);

    const switches: SwitchRecord[] = [];
    const plan = options.scenario === 'region-outage' ? [] : switchPlan(options);
    let phaseStart = 0;
    let outage: OutageRecord | undefined;
    if (options.scenario === 'region-outage') {
      outage = await runRegionOutage(stage, options, load, t0, (name) => (phase = name), phases, switches);
      phaseStart = at(switches.at(-1)!.workflowEndedAt);
      phase = 'cool-down';
    }
    for (const [index, step] of plan.entries()) {
      await sleepUntil(t0 + step.notBeforeMs);
      if (index > 0) await switches.at(-1)!.move.done; // the old writer must have rejoined before it can take over again
      phases.push({ name: phase, startMs: phaseStart, endMs: at(nowMs()) });
      const from = stage.cluster.writer;
      const to = stage.cluster.members.find((member) => member !== from)!;
      phase = `${step.mode} ${from.region} -> ${to.region}`;
      const record = await runSwitch(stage, options, step.mode, from, to);
      switches.push(record);
      phases.push({ name: phase, startMs: at(record.workflowStartedAt), endMs: at(record.workflowEndedAt) });
      if (record.move.promotedAt) phases.push({ name: 'promotion', startMs: at(record.move.startedAt), endMs: at(record.move.promotedAt) });
      phase = index < plan.length - 1 ? 'between switches' : 'cool-down';
      phaseStart = at(record.workflowEndedAt);
    }
    const result = await load.done;
    load = undefined;
    phases.push({ name: phase, startMs: phaseStart, endMs: at(result.endedAt) });
    clearInterval(progressTimer);
    progressTimer = undefined;
    await Promise.allSettled(stage.cluster.moves.map((move) => move.done));
    await stage.cluster.deliveriesSettled();
    await stage.stepFunctions.settled();

    const finalWriter = stage.cluster.writer;
    const onFinalWriter = await fetchCommittedKeys(finalWriter.server);
    const routing = await Promise.all(stage.targets.map(async (target) => ({ target: target.target, write: (await target.observe()).aliases[writeAlias] ?? null })));
    for (const target of stage.targets) await target.inner.close();

    const drillSwitches = switches.map((record, index) => describeSwitch(stage, record, result, onFinalWriter, switches[index + 1]?.move.startedAt ?? Number.POSITIVE_INFINITY, switches[index + 1]?.move.promotedAt ?? result.endedAt));
    for (const [index, record] of switches.entries()) {
      const repointMs = drillSwitches[index]!.repointMs;
      if (record.move.promotedAt && repointMs >= 0) phases.push({ name: 'repoint', startMs: at(record.move.promotedAt), endMs: at(record.move.promotedAt + repointMs) });
    }
    phases.sort((a, b) => a.startMs - b.startMs);
    const totals = Object.fromEntries(stage.regions.map((region) => [region, regionResult(result, { region })]));
    const overheadMs = drillSwitches.length ? (drillSwitches.some((item) => item.repointMs < 0) ? -1 : Math.max(...drillSwitches.map((item) => item.repointMs))) : undefined;
    const cleanup = await env.cleanup();
    const described = outage ? describeOutage(outage, result, t0, onFinalWriter) : undefined;
    const outageResult = described?.outage;
    const invariants = checkInvariants(options, drillSwitches, switches, described, totals, routing, finalWriter, overheadMs, cleanup.failed.length === 0 ? 'every process stopped, temp dir removed' : `cleanup problems: ${cleanup.failed.map((item) => `${item.name}: ${item.error}`).join('; ')}`);
    return {
      scenario: options.scenario,
      eventDelivery,
      ...(options.lambdaLatencyMs ? { lambdaLatencyMs: options.lambdaLatencyMs } : {}),
      strategy: options.strategy,
      poolMode: options.poolMode,
      startedAt: startedAt.toISOString(),
      durationMs: Math.round(result.endedAt - t0),
      clientsPerRegion: options.clientsPerRegion,
      switches: drillSwitches,
      phases,
      series: buildSeries(result, t0, stage.regions),
      totals,
      invariants,
      ...(overheadMs !== undefined ? { overheadMs } : {}),
      ...(outageResult ? { outage: outageResult } : {}),
    };
  } finally {
    if (progressTimer) clearInterval(progressTimer);
    if (load) await load.stop().catch(() => undefined);
    await env.cleanup();
  }
}

// ---------------------------------------------------------------------------------------------------

function drillRegions(options: DrillOptions): DrillRegions {
  return options.regions ?? (options.scenario === 'region-outage' ? OUTAGE_REGIONS : DRILL_REGIONS);
}

function drillAliases(options: DrillOptions): { writeAlias: string; readAlias: string } {
  return { writeAlias: options.writeAlias ?? WRITE_ALIAS, readAlias: options.readAlias ?? READ_ALIAS };
}

async function prepareStage(env: LocalEnvironment, options: DrillOptions): Promise<Stage> {
  const { writeAlias, readAlias } = drillAliases(options);
  const regions = drillRegions(options);
  const config = drillConfig({ write: writeAlias, read: readAlias }, { regions, ...(options.scenario === 'region-outage' ? { trafficPolicy: 'drain-unhealthy' as const } : {}) });
  const [regionA, regionB] = regions;
  const writer = (await initPrimary(env, regionA)).detail.server;
  await prepareLoadTable(writer);
  const replica = (await createReplica(env, writer, regionB)).detail.server;
  const servers = { [regionA]: writer, [regionB]: replica };
  const bouncers: Record<string, LocalPgBouncer> = {};
  for (const region of regions) {
    bouncers[region] = await LocalPgBouncer.start(env, {
      region,
      writeAlias,
      readAlias,
      write: writer.endpoint,
      read: servers[region]!.endpoint,
      poolMode: options.poolMode,
    });
  }
  const targets = regions.map(
    (region) =>
      new TimedPoolerTarget(
        new LocalPoolerTarget({ target: drillPoolerName(region), region, pooler: bouncers[region]!, writeAlias, readAlias, strategy: options.strategy }),
        writeAlias,
      ),
  );

  const logger = decisionLogger(options.onDecision);
  // region-outage measures the time to writes against the target, so its runs keep the ASL's own settle and poll waits.
  const lambdaLatencyMs = options.lambdaLatencyMs ?? 0;
  const stepFunctions = await LocalStepFunctions.load(STATEMACHINES_DIR, logger, options.scenario === 'region-outage' ? { LetConcurrentRunsAppear: OUTAGE_SETTLE_MS, WaitForSwitch: 1_000 } : {}, lambdaLatencyMs);
  const metrics: MetricDatum[] = [];
  // Traffic weights live in a global control plane (Route 53 / Global Accelerator): one store every stack sees.
  // Global Accelerator's API answers only in us-west-2, Route 53's only in us-east-1: each fails while that region is down.
  const isDown = (region: string) => cluster.isDown(region);
  const traffic = [TrafficKind.GlobalAccelerator, TrafficKind.Route53].map((kind) => new LocalTrafficWeights({ [regionA]: 100, [regionB]: 50 }, { kind, isDown }));
  const intakes: Record<string, (event: unknown) => Promise<unknown>> = {};
  const members: LocalMember[] = regions.map((region) => ({ region, dbClusterArn: drillClusterArn(region), server: servers[region]! }));
  const cluster = new LocalAuroraGlobalCluster({
    env,
    globalClusterId: DRILL_GLOBAL_CLUSTER_ID,
    members,
    writerRegion: regionA,
    // Each region's default bus is its own intake; the cluster puts an event only on the buses the delivery mode names.
    buses: Object.fromEntries(
      regions.map((region) => [
        region,
        (event) => intakes[region]!(rdsEventEnvelope({ id: event.id, eventId: event.eventId, region: event.member.region, dbClusterArn: event.member.dbClusterArn, message: event.message, at: event.at })),
      ]),
    ),
    delivery: { mode: options.eventDelivery ?? 'old-writer', delayMs: options.eventDelayMs ?? 2_000, duplicate: options.duplicateEvents ?? false },
    promotionHoldMs: options.promotionMs ?? 0,
  });

  // The real intake handler per region, starting reconcile runs in that region's local Step Functions.
  // Its structured logs and EMF metrics would drown the drill's own output: the drill reports decisions itself.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const telemetry = createTelemetry();
  const stacks: Record<string, RegionStack> = {};
  // Each stack's prepare-for-switch function; a peer reaches it only as a deployed stack would (a JSON call).
  const prepareHandlers: Record<string, (payload: unknown) => Promise<unknown>> = {};
  const peers = (region: string) => localPeers(region, prepareHandlers, config.globalClusterId, isDown, lambdaLatencyMs);
  for (const region of regions) {
    const own = targets.filter((target) => target.region === region);
    // Its own run registry (the run lock sees only this region's executions) and only its own poolers.
    const world = createLocalWorld({ config, region, cluster, poolers: own, traffic, runs: stepFunctions.registry(region), metrics, peers: peers(region) });
    const startExecution = stepFunctions.starter(world);
    const handler = createOnRdsEventHandler({ config, stateMachineArn: `reconcile-${region}`, startExecution, telemetry });
    const invokeIntake = (event: unknown) => handler(event, lambdaContext(`intake-${region}`));
    const intake = lambdaLatencyMs > 0 ? async (event: unknown) => (await sleep(lambdaLatencyMs), invokeIntake(event)) : invokeIntake;
    intakes[region] = intake;
    prepareHandlers[region] = createPrepareForSwitchHandler({ world: async () => world, startExecution, reconcileStateMachineArn: `reconcile-${region}`, logger });
    stacks[region] = { region, world, targets: own, intake };
  }
  return { regions, env, cluster, bouncers, targets, stepFunctions, stacks, metrics };
}

/**
 * The peer port of one region's stack in the drill: a synchronous call of the peer's prepare-for-switch
 * handler with a JSON payload, as the cross-region Lambda Invoke does in AWS.
 */
function localPeers(
  ownRegion: string,
  handlers: Readonly<Record<string, (payload: unknown) => Promise<unknown>>>,
  globalClusterId: string,
  isDown: (region: string) => boolean,
  lambdaLatencyMs: number,
): PeerPorts {
  const call = async (region: string, payload: unknown): Promise<unknown> => {
    const handler = handlers[region];
    if (!handler || region === ownRegion) throw new InvalidInputError(`no stack of this service in ${region}`);
    // Lambda Invoke into a dead region: nothing answers; the peer client makes one attempt and gives up after its connect timeout.
    if (isDown(region)) return deadRegionCall(`lambda:Invoke prepare-for-switch in ${region}`, PEER_INVOKE_DEAD_REGION_MS);
    if (lambdaLatencyMs > 0) await sleep(lambdaLatencyMs);
    return JSON.parse(JSON.stringify(await handler(JSON.parse(JSON.stringify(payload))))) as unknown;
  };
  return {
    probe: async (region) => {
      try {
        return (await call(region, { action: 'probe', globalClusterId })) as PeerProbe;
      } catch (error) {
        return { region, reachable: false, reason: describeError(error) };
      }
    },
    prepare: async (region, request) => (await call(region, { action: 'prepare', request })) as PrepareResult,
    release: async (region, request) => (await call(region, { action: 'release', request })) as ReleaseResult,
  };
}

/** When each switch may start, relative to the load's start. */
function switchPlan(options: DrillOptions): Array<{ mode: 'switchover' | 'failover'; notBeforeMs: number }> {
  const first = Math.max(1_500, options.durationMs * 0.25);
  switch (options.scenario) {
    case 'switchover':
      return [{ mode: 'switchover', notBeforeMs: first }];
    case 'failover':
      return [{ mode: 'failover', notBeforeMs: first }];
    case 'switchover-failback':
      return [
        { mode: 'switchover', notBeforeMs: first },
        { mode: 'switchover', notBeforeMs: Math.max(first + 2_000, options.durationMs * 0.6) },
      ];
    case 'region-outage':
      return []; // runRegionOutage drives its own timeline
  }
}

/**
 * Runs the real switchover state machine in one region's stack, as an operator would from that region's
 * console: a switchover from the current writer's region (SwitchoverGlobalCluster is called there), a
 * failover from the target's region (the old one may be down). Its RunReconcile task runs the real
 * reconcile state machine nested, in the same stack.
 */
async function runSwitch(
  stage: Stage,
  options: DrillOptions,
  mode: 'switchover' | 'failover',
  from: LocalMember,
  to: LocalMember,
  extra: { acceptUnreachablePeers?: boolean; maxRpoLagMs?: number; deadRegion?: string } = {},
): Promise<SwitchRecord> {
  const home = mode === 'switchover' ? from.region : to.region;
  const stack = stage.stacks[home]!;
  const rpoLagAtStartMs = await stage.cluster.replicationLagMs(to.dbClusterArn);
  const workflowStartedAt = nowMs();
  const movesBefore = stage.cluster.moves.length;
  let traffic: SwitchRecord['traffic'];
  const input = {
    globalClusterId: DRILL_GLOBAL_CLUSTER_ID,
    targetRegion: to.region,
    mode,
    ...(mode === 'failover' ? { acceptDataLoss: true } : {}),
    ...(extra.acceptUnreachablePeers ? { acceptUnreachablePeers: true } : {}),
    ...(extra.maxRpoLagMs !== undefined ? { maxRpoLagMs: extra.maxRpoLagMs } : {}),
    // Only the live strategy pauses: the baselines are what people do today (rewrite + reload, or restart).
    pausePoolers: options.strategy === 'live',
  };
  const result = await stage.stepFunctions.run('switchover', stack.world, input, {
    extraTasks: {
      RunReconcile: async (task) => {
        const nested = await stage.stepFunctions.run('reconcile', stack.world, (task as { Input: unknown }).Input);
        if (nested.status !== 'SUCCEEDED') throw Object.assign(new Error(nested.cause ?? 'reconcile failed'), { name: nested.error ?? 'States.TaskFailed' });
        traffic = (nested.output as { traffic?: SwitchRecord['traffic'] } | undefined)?.traffic;
        return { Status: 'SUCCEEDED', Output: nested.output };
      },
    },
  });
  const workflowEndedAt = nowMs();
  if (result.status !== 'SUCCEEDED') throw new Error(`the ${mode} workflow failed: ${result.error}: ${result.cause}`);
  const move = stage.cluster.moves[movesBefore];
  if (!move) throw new Error(`the ${mode} workflow succeeded but moved no writer: ${JSON.stringify(result.output)}`);
  return {
    move,
    home,
    workflowStartedAt,
    workflowEndedAt,
    outcome: String((result.output as { outcome?: unknown }).outcome),
    rpoLagAtStartMs,
    ...(traffic ? { traffic } : {}),
    ...(extra.deadRegion ? { deadRegion: extra.deadRegion } : {}),
  };
}

/** Epoch-ms timeline of one region outage. */
interface OutageRecord {
  readonly region: string;
  readonly at: number;
  readonly controlPlanesDown: string[];
  readonly operatorStart: number;
  returnedAt?: number;
  rejoinedAt?: number;
  repointedAt?: number;
  clientsBackAt?: number;
  writeRoutedToOnReturn?: string;
  /** The writer's flushed LSN read just before the SIGKILL (epoch ms of the read's start). */
  readonly writerFlushed: { lsn: string; readAt: number };
  /** The replica's received WAL against it, read when the operator started. */
  rpo?: { receivedLsn: string; lagBytes: number; lagMs?: number };
  /** Ports of the writer that died and of the one promoted, and the failover's promotion (epoch ms). */
  readonly oldWriterPort: number;
  readonly newWriterPort: number;
  promotedAt?: number;
  /** The failback's start: the old writer may be writer again after it. */
  failbackStart?: number;
}

/**
 * Scenario region-outage. The whole writer region dies at once: its PostgreSQL (postmaster and every
 * backend) and its PgBouncer get SIGKILL (no fence, no clean shutdown), its application clients go with it,
 * and every local AWS API "in" it fails with a network error: its RDS member (DescribeDBClusters, the
 * preflight's probe), its stack (peer Lambda Invoke, its event bus), and the Global Accelerator API when it
 * is us-west-2 / Route 53's when it is us-east-1. The operator starts `failover` (acceptDataLoss,
 * acceptUnreachablePeers) from the surviving region's stack. Then the region returns as a whole region
 * does (EKS included): Aurora rebuilds the old writer as a replica of the new one before it runs again;
 * the PgBouncer pod starts from the ConfigMap it had (write alias -> its own, now read-only, cluster); the
 * region's clients come back with it at once (in-region pods reconnect as soon as PgBouncer is up), so
 * until the region's scheduled reconcile repoints PgBouncer their writes reach the old writer, down while
 * Aurora rebuilds it and then a read-only replica: they must fail (or wait), never commit there. Just
 * before the SIGKILL the writer's flushed LSN is read: the RPO lag is what the replica never received of
 * it. A planned switchover fails back.
 */
async function runRegionOutage(
  stage: Stage,
  options: DrillOptions,
  load: LoadRun,
  t0: number,
  setPhase: (name: string) => void,
  phases: DrillPhase[],
  switches: SwitchRecord[],
): Promise<OutageRecord> {
  const at = (epochMs: number) => Math.round(epochMs - t0);
  const { cluster } = stage;
  await sleepUntil(t0 + (options.outageAtMs ?? Math.max(3_000, options.durationMs * 0.15)));
  const dead = cluster.writer;
  const survivor = cluster.members.find((member) => member !== dead)!;
  phases.push({ name: 'warm-up', startMs: 0, endMs: at(nowMs()) });
  setPhase(`${dead.region} down`);
  // RPO as defined: what the writer had flushed (so acknowledged) at its death; read the instant before the SIGKILL.
  const flushReadAt = nowMs();
  const flushed = await cluster.writerFlushedLsn(dead.dbClusterArn);
  const outageAt = nowMs();
  load.hold(dead.region);
  cluster.regionDown(dead.region);
  await Promise.all([dead.server.kill(), stage.bouncers[dead.region]!.kill()]);
  const controlPlanesDown = Object.entries(TRAFFIC_CONTROL_PLANE_REGION).filter(([, region]) => region === dead.region).map(([kind]) => kind);

  await sleep(options.operatorDelayMs ?? 1_000);
  setPhase(`failover ${dead.region} -> ${survivor.region}`);
  // The replica's walreceiver lost its writer with the SIGKILL: what it received by now is all it will have.
  const rpo = await cluster.rpoLagAgainst(survivor.dbClusterArn, flushed.lsn, flushed.clockMs);
  const outage: OutageRecord = {
    region: dead.region,
    at: outageAt,
    controlPlanesDown,
    operatorStart: nowMs(),
    writerFlushed: { lsn: flushed.lsn, readAt: flushReadAt },
    rpo,
    oldWriterPort: dead.server.port,
    newWriterPort: survivor.server.port,
  };
  const failover = await runSwitch(stage, options, 'failover', dead, survivor, {
    acceptUnreachablePeers: true,
    deadRegion: dead.region,
    ...(options.maxRpoLagMs !== undefined ? { maxRpoLagMs: options.maxRpoLagMs } : {}),
  });
  switches.push(failover);
  outage.promotedAt = failover.move.promotedAt;
  phases.push({ name: `failover ${dead.region} -> ${survivor.region}`, startMs: at(failover.workflowStartedAt), endMs: at(failover.workflowEndedAt) });
  if (failover.move.promotedAt) phases.push({ name: 'promotion', startMs: at(failover.move.startedAt), endMs: at(failover.move.promotedAt) });

  setPhase(`${dead.region} down, ${survivor.region} writes`);
  await sleep(options.downMs ?? 3_000);
  setPhase(`${dead.region} returns`);
  outage.returnedAt = nowMs();
  phases.push({ name: `${dead.region} down`, startMs: at(outageAt), endMs: at(outage.returnedAt) });
  cluster.regionUp(dead.region);
  // EKS restarts the PgBouncer pod from the ConfigMap it had: writes -> its own cluster, which Aurora is turning into a replica.
  const bouncer = stage.bouncers[dead.region]!;
  await bouncer.startProcess();
  // Its application pods reconnect at once, before anything repoints: their writes reach the old writer
  // (down while Aurora rebuilds it, then a read-only replica) until the region's reconcile repoints PgBouncer.
  load.release(dead.region);
  outage.clientsBackAt = nowMs();
  // The region's own scheduled reconcile (its EventBridge schedule fires again once the region is back).
  const scheduled = stage.stepFunctions.run('reconcile', stage.stacks[dead.region]!.world, { trigger: 'schedule', globalClusterId: DRILL_GLOBAL_CLUSTER_ID });
  const [reconciled] = await Promise.all([scheduled, failover.move.done]);
  outage.rejoinedAt = failover.move.rejoinedAt ?? nowMs();
  if (reconciled.status !== 'SUCCEEDED') throw new Error(`${dead.region}'s scheduled reconcile after its return failed: ${reconciled.error}: ${reconciled.cause}`);
  outage.repointedAt = nowMs();
  const routed = (await stage.stacks[dead.region]!.targets[0]!.observe()).aliases[drillAliases(options).writeAlias] ?? null;
  outage.writeRoutedToOnReturn = routed ? (cluster.members.find((member) => sameEndpoint(member.server.endpoint, routed))?.region ?? `${routed.host}:${routed.port}`) : 'nothing';
  phases.push({ name: `${dead.region} returns`, startMs: at(outage.returnedAt), endMs: at(nowMs()) });

  setPhase('between switches');
  await sleep(2_000);
  setPhase(`switchover ${survivor.region} -> ${dead.region}`);
  outage.failbackStart = nowMs();
  const failback = await runSwitch(stage, options, 'switchover', survivor, dead);
  switches.push(failback);
  phases.push({ name: `switchover ${survivor.region} -> ${dead.region}`, startMs: at(failback.workflowStartedAt), endMs: at(failback.workflowEndedAt) });
  if (failback.move.promotedAt) phases.push({ name: 'promotion', startMs: at(failback.move.startedAt), endMs: at(failback.move.promotedAt) });
  setPhase('cool-down');
  return outage;
}

function describeOutage(outage: OutageRecord, load: LoadResult, t0: number, onFinalWriter: ReadonlySet<string>): { outage: DrillOutage; invariants: DrillInvariant[] } {
  const at = (epochMs: number | undefined) => (epochMs === undefined ? undefined : Math.round(epochMs - t0));
  const optional = (name: string, value: number | string | undefined) => (value === undefined ? {} : { [name]: value });
  const invariants: DrillInvariant[] = [];
  // The same set as the failover's lostAcknowledgedCommits: acknowledged before the promotion, missing on the final writer.
  const lost = missingAcknowledged(load.commits.filter((commit) => commit.endedAt <= (outage.promotedAt ?? Number.POSITIVE_INFINITY)), onFinalWriter);
  let rpo: DrillOutageRpo | undefined;
  if (outage.rpo) {
    invariants.push(rpoCheck({ flushReadAt: outage.writerFlushed.readAt, lagBytes: outage.rpo.lagBytes, ...(outage.rpo.lagMs === undefined ? {} : { lagMs: outage.rpo.lagMs }), lost }));
    rpo = {
      writerFlushedLsn: outage.writerFlushed.lsn,
      replicaReceivedLsn: outage.rpo.receivedLsn,
      lagBytes: outage.rpo.lagBytes,
      ...(outage.rpo.lagMs === undefined ? {} : { lagMs: outage.rpo.lagMs }),
      lostAcknowledgedCommits: lost.length,
      lostAfterLsnRead: lost.filter((commit) => commit.endedAt >= outage.writerFlushed.readAt).length,
    };
  }
  let returningWrites: DrillReturningWrites | undefined;
  if (outage.clientsBackAt !== undefined && outage.repointedAt !== undefined) {
    const check = returningClientsCheck({
      region: outage.region,
      oldWriterPort: outage.oldWriterPort,
      newWriterPort: outage.newWriterPort,
      clientsBackAt: outage.clientsBackAt,
      repointedAt: outage.repointedAt,
      until: outage.failbackStart ?? load.endedAt,
      commits: load.commits,
      errors: load.errors,
    });
    returningWrites = check.summary;
    invariants.push(...check.invariants);
  } else {
    invariants.push({ name: 'the returning region\'s clients came back and were checked', ok: false, detail: 'the region did not return or was not repointed' });
  }
  const described: DrillOutage = {
    region: outage.region,
    atMs: at(outage.at)!,
    controlPlanesDown: outage.controlPlanesDown,
    operatorStartMs: at(outage.operatorStart)!,
    ...optional('returnedAtMs', at(outage.returnedAt)),
    ...optional('rejoinedAtMs', at(outage.rejoinedAt)),
    ...optional('repointedAtMs', at(outage.repointedAt)),
    ...optional('clientsBackAtMs', at(outage.clientsBackAt)),
    ...optional('writeRoutedToOnReturn', outage.writeRoutedToOnReturn),
    failedInDeadRegion: load.errors.filter((error) => error.region === outage.region && error.operation !== 'read' && error.at >= outage.at && error.at < (outage.clientsBackAt ?? Number.POSITIVE_INFINITY)).length,
    ...(returningWrites ? { returningWrites } : {}),
    ...(rpo ? { rpo } : {}),
  };
  return { outage: described, invariants };
}

/**
 * One switch's numbers. `nextStart` bounds what counts as this switch's repoint (the next move repoints
 * the other way); `windowEnd` bounds commits on the old writer (it may be writer again in the next switch).
 */
function describeSwitch(stage: Stage, record: SwitchRecord, load: LoadResult, onFinalWriter: ReadonlySet<string>, nextStart: number, windowEnd: number): DrillSwitch {
  const { move } = record;
  const promotedAt = move.promotedAt ?? record.workflowEndedAt;
  const newWriter = move.to.server.endpoint;
  const repointedAt: Record<string, number | undefined> = {};
  for (const region of stage.regions) {
    const times = stage.stacks[region]!.targets.map((target) => target.firstRoutedTo(newWriter, move.startedAt, nextStart));
    repointedAt[region] = times.every((time) => time !== undefined) ? Math.max(...(times as number[])) : undefined;
  }
  // A region that was down during the switch repoints when it returns: reported per region, not as the switch's repoint.
  const counted = Object.entries(repointedAt).filter(([region]) => region !== record.deadRegion).map(([, time]) => time);
  const allRepointed = counted.every((time) => time !== undefined);
  const lastRepoint = allRepointed ? Math.max(...(counted as number[])) : undefined;
  const fromMs = record.workflowStartedAt;
  // The first write the new writer acknowledged after the operator started (before the switch it was a replica).
  const firstOnNew = load.commits.filter((commit) => commit.serverPort === move.to.server.port && commit.endedAt >= record.workflowStartedAt).reduce<(typeof load.commits)[number] | undefined>((first, commit) => (!first || commit.endedAt < first.endedAt ? commit : first), undefined);
  // The window runs until writes flow again, too (a pool may hold them past the workflow's end).
  const toMs = Math.min(nextStart, Math.max(record.workflowEndedAt, lastRepoint ?? 0, firstOnNew?.endedAt ?? 0, ...move.deliveries.map((delivery) => delivery.at)) + 500);
  const acknowledgedBefore = load.commits.filter((commit) => commit.endedAt <= promotedAt);
  // Started after the promotion and acknowledged before the old writer could be writer again (the next switch).
  const onOldAfter = load.commits.filter((commit) => commit.serverPort === move.from.server.port && commit.startedAt >= promotedAt && commit.endedAt <= windowEnd);
  const regions: Record<string, SwitchRegionResult> = {};
  for (const region of stage.regions) {
    const at = repointedAt[region];
    regions[region] = {
      ...regionResult(load, { region, fromMs, toMs }),
      repointedAfterPromotionMs: at === undefined ? -1 : Math.max(0, Math.round(at - promotedAt)),
      eventsDelivered: move.deliveries.filter((delivery) => delivery.region === region).length,
      repoints: stage.stacks[region]!.targets.reduce((sum, target) => sum + target.repointsTo(newWriter, move.startedAt, nextStart), 0),
    };
  }
  return {
    from: move.from.region,
    to: move.to.region,
    promotionMs: Math.round(promotedAt - move.startedAt),
    repointMs: lastRepoint === undefined ? -1 : Math.max(0, Math.round(lastRepoint - promotedAt)),
    commitsOnOldWriterAfterPromotion: onOldAfter.length,
    lostAcknowledgedCommits: missingAcknowledged(acknowledgedBefore, onFinalWriter).length,
    ...(firstOnNew ? { writesResumedAfterStartMs: Math.round(firstOnNew.endedAt - record.workflowStartedAt) } : {}),
    rpoLagAtStartMs: record.rpoLagAtStartMs,
    home: record.home,
    ...(record.traffic?.note ? { trafficNote: record.traffic.note } : {}),
    ...(record.traffic?.degraded?.length ? { trafficDegraded: record.traffic.degraded.map((entry) => entry.kind) } : {}),
    regions,
  };
}

function regionResult(load: LoadResult, window: { region: string; fromMs?: number; toMs?: number }): RegionResult {
  const summary = summarizeLoad(load, window);
  return {
    committed: summary.committed,
    failed: summary.failed,
    failedBySqlstate: { ...summary.failedBySqlstate },
    writeGapMs: Math.round(summary.writeGapMs),
    p99Ms: round1(summary.p99Ms),
    maxMs: round1(summary.maxMs),
  };
}

/** What the drill overhead should stay under on an idle machine; reported, never a pass criterion. */
const OVERHEAD_TARGET_MS = 1_000;

function checkInvariants(
  options: DrillOptions,
  switches: readonly DrillSwitch[],
  records: readonly SwitchRecord[],
  described: { outage: DrillOutage; invariants: DrillInvariant[] } | undefined,
  totals: Record<string, RegionResult>,
  routing: ReadonlyArray<{ target: string; write: Endpoint | null }>,
  finalWriter: LocalMember,
  overheadMs: number | undefined,
  cleanupDetail: string,
): DrillInvariant[] {
  const lost = switches.reduce((sum, item) => sum + item.lostAcknowledgedCommits, 0);
  const onOld = switches.reduce((sum, item) => sum + item.commitsOnOldWriterAfterPromotion, 0);
  const failedByRegion = Object.entries(totals).map(([region, result]) => `${region} ${result.failed}`).join(', ');
  const failed = Object.values(totals).reduce((sum, region) => sum + region.failed, 0);
  const misrouted = routing.filter((entry) => !sameEndpoint(entry.write, finalWriter.server.endpoint));
  const invariants: DrillInvariant[] = [];
  const outage = described?.outage;
  if (options.scenario === 'failover') {
    invariants.push({ name: 'lost acknowledged commits (failover: data loss accepted)', ok: true, detail: `${lost} acknowledged commit(s) missing on the new writer; FailoverGlobalCluster allows this` });
  } else if (options.scenario === 'region-outage') {
    // describeOutage's RPO check: lost commits next to the lag at the writer's death (below, with the outage's checks).
  } else {
    invariants.push({ name: 'no lost acknowledged commits', ok: lost === 0, detail: `${lost} acknowledged commit(s) missing on the final writer` });
  }
  invariants.push({ name: 'no commits on the old writer after promotion', ok: onOld === 0, detail: `${onOld} commit(s) acknowledged by an old writer after the new one was promoted` });
  if (options.strategy === 'live' && options.poolMode === 'transaction' && !outage) {
    invariants.push({ name: 'live switch in transaction mode fails no transaction', ok: failed === 0, detail: `failed transactions per region: ${failedByRegion}` });
  }
  if (described) invariants.push(...described.invariants, ...outageInvariants(switches, records, described.outage));
  invariants.push({
    name: 'every PgBouncer sends writes to the final writer',
    ok: misrouted.length === 0,
    detail: misrouted.length ? `still elsewhere: ${misrouted.map((entry) => entry.target).join(', ')}` : `all route ${drillAliases(options).writeAlias} to ${finalWriter.region}`,
  });
  // The reconcile a switchover starts skips the settle wait (SettleUnlessNested), so one target serves every scenario.
  const repoints = switches.flatMap((item, index) =>
    Object.entries(item.regions)
      // The dead region cannot repoint before it returns: outageInvariants checks what its returning clients met.
      .filter(([name]) => name !== records[index]?.deadRegion)
      .map(([name, region]) => ({ at: `${item.from} -> ${item.to}: ${name}`, ms: region.repointedAfterPromotionMs !== undefined && region.repointedAfterPromotionMs >= 0 ? region.repointedAfterPromotionMs : undefined })),
  );
  const never = repoints.filter((entry) => entry.ms === undefined);
  invariants.push({
    name: "every region's PgBouncer serves the new writer after each promotion",
    ok: never.length === 0,
    detail: never.length ? `never: ${never.map((entry) => entry.at).join('; ')}` : overheadMs === undefined ? 'no switch' : `slowest region ${overheadMs} ms after promotion`,
  });
  const late = repoints.filter((entry) => entry.ms !== undefined && entry.ms > REPOINT_LIMIT_MS);
  invariants.push({
    name: `every region's PgBouncer serves the new writer within ${REPOINT_LIMIT_MS / 1000} s of promotion`,
    ok: late.length === 0,
    detail: late.length ? late.map((entry) => `${entry.at} after ${entry.ms} ms`).join('; ') : overheadMs === undefined ? 'no switch' : `slowest region ${overheadMs} ms after promotion`,
    timing: true,
  });
  if (options.strategy === 'live') {
    const repeated = switches.flatMap((item) => Object.entries(item.regions).filter(([, region]) => (region.repoints ?? 0) > 1).map(([name, region]) => `${item.from} -> ${item.to}: ${name} ${region.repoints}`));
    invariants.push({ name: 'at most one repoint per region per switch', ok: repeated.length === 0, detail: repeated.length ? repeated.join('; ') : 'duplicate and late events changed nothing' });
  }
  invariants.push({ name: 'clean teardown', ok: !cleanupDetail.startsWith('cleanup problems'), detail: cleanupDetail });
  return invariants;
}

/** What must hold in scenario region-outage (issue 9), besides the invariants every scenario has. */
function outageInvariants(switches: readonly DrillSwitch[], records: readonly SwitchRecord[], outage: DrillOutage): DrillInvariant[] {
  const [failover, failback] = switches;
  const invariants: DrillInvariant[] = [];
  const resumed = failover?.writesResumedAfterStartMs;
  const budget = (failover?.promotionMs ?? 0) + 15_000;
  invariants.push({
    name: 'the surviving region writes again after the failover',
    ok: resumed !== undefined,
    detail: resumed === undefined ? 'the new writer acknowledged no write' : `first write on ${failover!.to} ${resumed} ms after the operator's start`,
  });
  invariants.push({
    name: 'the surviving region writes again within promotion + 15 s of the operator\'s start (run-lock waits included)',
    ok: resumed !== undefined && resumed <= budget,
    detail: resumed === undefined ? 'the new writer acknowledged no write' : `first write on ${failover!.to} ${resumed} ms after the start; promotion ${failover!.promotionMs} ms, budget ${budget} ms`,
    timing: true,
  });
  const wanted = outage.controlPlanesDown;
  const note = failover?.trafficNote ?? '';
  const unmentioned = wanted.filter((kind) => !note.includes(kind) || !(failover?.trafficDegraded ?? []).includes(kind));
  invariants.push({
    name: 'the failover succeeds with the dead region\'s traffic control plane unreachable, and says traffic was not moved',
    ok: records[0]?.outcome !== undefined && unmentioned.length === 0,
    detail: wanted.length === 0 ? `no traffic control plane is served from ${outage.region}` : unmentioned.length ? `summary does not name ${unmentioned.join(', ')} as not moved` : note,
  });
  invariants.push({
    name: 'the returning region\'s scheduled reconcile repoints its PgBouncer to the new writer',
    ok: outage.writeRoutedToOnReturn === failover?.to,
    detail: `${outage.region}'s write alias routes to ${outage.writeRoutedToOnReturn ?? 'nothing'} after its scheduled reconcile`,
  });
  if (failback) {
    const failed = Object.entries(failback.regions).map(([region, result]) => `${region} ${result.failed}`);
    const total = Object.values(failback.regions).reduce((sum, region) => sum + region.failed, 0);
    invariants.push({
      name: `failback ${failback.from} -> ${failback.to} fails no write`,
      ok: total === 0,
      detail: `failed transactions per region during the failback: ${failed.join(', ')}`,
    });
  } else {
    invariants.push({ name: 'failback after the region returned', ok: false, detail: 'no failback ran' });
  }
  return invariants;
}

function buildSeries(load: LoadResult, t0: number, regions: DrillRegions): DrillSeries[] {
  const buckets = Math.max(1, Math.ceil((load.endedAt - t0) / BUCKET_MS));
  return regions.map((region) => {
    const commits = new Array<number>(buckets).fill(0);
    const errors = new Array<number>(buckets).fill(0);
    const bucketOf = (at: number) => Math.min(buckets - 1, Math.max(0, Math.floor((at - t0) / BUCKET_MS)));
    for (const commit of load.commits) if (commit.region === region) commits[bucketOf(commit.endedAt)]! += 1;
    for (const error of load.errors) if (error.region === region && error.operation !== 'read') errors[bucketOf(error.at)]! += 1;
    return { region, bucketMs: BUCKET_MS, commits, errors };
  });
}

function startProgress(load: LoadRun, t0: number, phase: () => string, onProgress: DrillOptions['onProgress']): NodeJS.Timeout | undefined {
  if (!onProgress) return undefined;
  let last = { at: nowMs(), commits: 0, errors: 0 };
  const timer = setInterval(() => {
    const now = nowMs();
    const counts = load.progress();
    const seconds = Math.max(0.001, (now - last.at) / 1000);
    onProgress({ phase: phase(), elapsedMs: now - t0, commitsPerSec: (counts.commits - last.commits) / seconds, errorsPerSec: (counts.errors - last.errors) / seconds });
    last = { at: now, commits: counts.commits, errors: counts.errors };
  }, PROGRESS_EVERY_MS);
  timer.unref();
  return timer;
}

function decisionLogger(onDecision: DrillOptions['onDecision']): StepLogger {
  return {
    info: (message, ...extra) => onDecision?.(Object.assign({ level: 'INFO', message, at: new Date().toISOString() }, ...extra)),
    error: (message, ...extra) => onDecision?.(Object.assign({ level: 'ERROR', message, at: new Date().toISOString() }, ...extra)),
  };
}

function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'drill',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function sleepUntil(epochMs: number): Promise<void> {
  const wait = epochMs - nowMs();
  if (wait > 0) await sleep(wait);
}

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}
