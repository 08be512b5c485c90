/**
 * A World that can only look. `aurora-failover plan --live` runs the reconcile workflow's own steps on
 * it, so the preview shares their code and still cannot change anything: every port that would change
 * something (pooler apply/pause/resume, traffic apply, starting a switchover, notifications) throws, and
 * metrics are dropped (EMF would print them on stdout).
 *
 * The Plan step turns an observation that failed into an "observe again" decision, which suits a
 * workflow that retries but not a one-shot preview; the failures are kept here so the CLI can name them.
 */
import type { PoolerTargetAdapter, TrafficAdapter } from '../core/types.ts';
import type { World } from '../workflow/world.ts';

/** A mutating port was called on a read-only World: a bug in the caller, never an input problem. */
export class ReadOnlyWorldError extends Error {
  override readonly name = 'ReadOnlyWorldError';
}

export interface ObservationFailures {
  /** The error each pooler target's observe() threw, by target name. */
  readonly poolers: ReadonlyMap<string, unknown>;
  /** The error each traffic adapter's observe() threw, by kind. */
  readonly traffic: ReadonlyMap<string, unknown>;
}

export interface ObserveOnlyWorld extends World {
  readonly observationFailures: ObservationFailures;
}

/**
 * @example
 * const world = observeOnlyWorld(createAwsWorld({ config, region, clients, telemetry: undefined, stateMachineArns: [] }));
 * const plan = await planStep(world, { topology: await world.observeTopology() });
 */
export function observeOnlyWorld(world: World): ObserveOnlyWorld {
  const poolerFailures = new Map<string, unknown>();
  const trafficFailures = new Map<string, unknown>();
  const poolers = world.poolerTargets().map((adapter) => observeOnlyPooler(adapter, poolerFailures));
  const traffic = world.trafficAdapters().map((adapter) => observeOnlyTraffic(adapter, trafficFailures));
  return {
    region: world.region,
    config: world.config,
    observeTopology: (options) => world.observeTopology(options),
    verifyWriter: (writer) => world.verifyWriter(writer),
    poolerTargets: () => poolers,
    trafficAdapters: () => traffic,
    emitMetrics: async () => undefined,
    notify: refuse('notify'),
    now: () => world.now(),
    switchover: {
      readRpoLag: (target) => world.switchover.readRpoLag(target),
      probeRegion: (region) => world.switchover.probeRegion(region),
      startSwitch: refuse('switchover.startSwitch'),
    },
    runs: { listRunning: () => world.runs.listRunning(), switchoverStateMachineArn: world.runs.switchoverStateMachineArn },
    observationFailures: { poolers: poolerFailures, traffic: trafficFailures },
  };
}

function observeOnlyPooler(adapter: PoolerTargetAdapter, failures: Map<string, unknown>): PoolerTargetAdapter {
  return {
    target: adapter.target,
    region: adapter.region,
    observe: async () => {
      try {
        return await adapter.observe();
      } catch (error) {
        failures.set(adapter.target, error);
        throw error;
      }
    },
    apply: refuse(`pooler ${adapter.target} apply`),
    pauseWrites: refuse(`pooler ${adapter.target} pauseWrites`),
    resumeWrites: refuse(`pooler ${adapter.target} resumeWrites`),
  };
}

function observeOnlyTraffic(adapter: TrafficAdapter, failures: Map<string, unknown>): TrafficAdapter {
  return {
    kind: adapter.kind,
    observe: async () => {
      try {
        return await adapter.observe();
      } catch (error) {
        failures.set(adapter.kind, error);
        throw error;
      }
    },
    apply: refuse(`traffic ${adapter.kind} apply`),
  };
}

function refuse(port: string): () => Promise<never> {
  return async () => {
    throw new ReadOnlyWorldError(`${port} called on a read-only world: plan --live only observes`);
  };
}
