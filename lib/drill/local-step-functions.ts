/**
 * The drill's stand-in for Step Functions in each region: executes the real definitions with the real
 * step handlers (aws-local-stepfunctions), lists RUNNING executions per region for the run lock, dedupes
 * StartExecution by name, and keeps waits short (the drill's clock is real, its waits need not be).
 */
import { randomUUID } from 'node:crypto';
import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import type { ExecutionStarter } from '../adapters/sfn.ts';
import { loadDefinition, localTasksFor, prepareDefinition, runLocally, type LocalExecutionResult, type LocalTaskHandler } from '../workflow/local-execution.ts';
import type { StepLogger } from '../workflow/step-handler.ts';
import type { World } from '../workflow/world.ts';
import { drillExecutionArn, drillStateMachineArn } from './drill-config.ts';
import { LocalRunRegistry } from './local-world.ts';

export type WorkflowKind = 'reconcile' | 'switchover';

/** Wait states -> milliseconds in the drill. */
// The drill's run registry is consistent at once, so the settle wait can be ~0.
const WAIT_MS: Record<string, number> = { LetConcurrentRunsAppear: 1, WaitForRunLock: 20, WaitForStableTopology: 50, WaitForSwitch: 10, WaitForFollow: 20 };
const RETRY_MS = 100;

export interface ExecutionRecord {
  readonly kind: WorkflowKind;
  readonly region: string;
  readonly name: string;
  readonly startedAt: number;
  endedAt?: number;
  result?: LocalExecutionResult;
}

export class LocalStepFunctions {
  readonly executions: ExecutionRecord[] = [];
  readonly #definitions: Record<WorkflowKind, StateMachineDefinition>;
  readonly #registries = new Map<string, LocalRunRegistry>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #names = new Set<string>();
  readonly #logger: StepLogger;
  readonly #waitMs: Readonly<Record<string, number>>;
  readonly #lambdaLatencyMs: number;

  private constructor(definitions: Record<WorkflowKind, StateMachineDefinition>, logger: StepLogger, waitMs: Readonly<Record<string, number>>, lambdaLatencyMs: number) {
    this.#definitions = definitions;
    this.#logger = logger;
    this.#waitMs = waitMs;
    this.#lambdaLatencyMs = lambdaLatencyMs;
  }

  /**
   * `waitMs` overrides the drill's short waits per Wait state (e.g. the ASL's own 5 s LetConcurrentRunsAppear).
   * `lambdaLatencyMs` delays every Lambda Task's start, like Lambda's invoke overhead and cold starts.
   */
  static async load(statemachinesDir: URL, logger: StepLogger, waitMs: Readonly<Record<string, number>> = {}, lambdaLatencyMs = 0): Promise<LocalStepFunctions> {
    const [reconcile, switchover] = await Promise.all([
      loadDefinition(new URL('reconcile.asl.json', statemachinesDir).pathname),
      loadDefinition(new URL('switchover.asl.json', statemachinesDir).pathname),
    ]);
    prepareDefinition(reconcile);
    prepareDefinition(switchover);
    return new LocalStepFunctions({ reconcile, switchover }, logger, { ...WAIT_MS, ...waitMs }, lambdaLatencyMs);
  }

  /**
   * The RUNNING executions of one registry (a region, or one shared by several worlds). A nested
   * reconcile may name only an execution of `switchoverStateMachineArn` as its parent.
   */
  registry(region: string, switchoverStateMachineArn = drillStateMachineArn(region, 'switchover')): LocalRunRegistry {
    let registry = this.#registries.get(region);
    if (!registry) {
      registry = new LocalRunRegistry(switchoverStateMachineArn);
      this.#registries.set(region, registry);
    }
    return registry;
  }

  /** Runs one execution to its end; it is listed as RUNNING in its region meanwhile. */
  async run(kind: WorkflowKind, world: World, input: unknown, options: { name?: string; extraTasks?: Record<string, LocalTaskHandler> } = {}): Promise<LocalExecutionResult> {
    const name = options.name ?? `${kind}-${randomUUID()}`;
    const executionArn = drillExecutionArn(world.region, kind, name);
    const startTime = new Date();
    const record: ExecutionRecord = { kind, region: world.region, name, startedAt: startTime.getTime() };
    this.executions.push(record);
    const registry = world.runs instanceof LocalRunRegistry ? world.runs : this.registry(world.region);
    registry.add({ executionArn, name, stateMachineArn: drillStateMachineArn(world.region, kind), startedAtMs: startTime.getTime() });
    const definition = this.#definitions[kind];
    const promise = runLocally({
      definition,
      input,
      tasks: this.tasksFor(kind, world, options.extraTasks),
      waitMs: this.#waitMs,
      retryMs: Object.fromEntries(Object.keys(definition.States).map((state) => [state, RETRY_MS])),
      context: { Execution: { Id: executionArn, Name: name, StartTime: startTime.toISOString(), Input: input, RoleArn: 'arn:aws:iam::000000000000:role/drill' } },
    }).finally(() => {
      registry.remove(executionArn);
      record.endedAt = Date.now();
    });
    this.#inFlight.add(promise);
    try {
      record.result = await promise;
      return record.result;
    } finally {
      this.#inFlight.delete(promise);
    }
  }

  /**
   * The Task handlers of one execution: every Lambda Task on its real step, started late by the invoke latency
   * (those inside the switchover's Parallel too); `extra` (service integrations such as the nested reconcile
   * run) without it.
   */
  tasksFor(kind: WorkflowKind, world: World, extra: Readonly<Record<string, LocalTaskHandler>> = {}): Record<string, LocalTaskHandler> {
    return { ...withLatency(localTasksFor(this.#definitions[kind], world, {}, this.#logger), this.#lambdaLatencyMs), ...extra };
  }

  /** A StartExecution for the intake: deduped by name, runs in the background like Step Functions. */
  starter(world: World): ExecutionStarter {
    return async ({ name, input }) => {
      const key = `${world.region}/${name}`;
      if (this.#names.has(key)) return { started: false };
      this.#names.add(key);
      void this.run('reconcile', world, input, { name }).catch(() => undefined);
      return { started: true, executionArn: drillExecutionArn(world.region, 'reconcile', name) };
    };
  }

  /** Resolves when every execution started so far (and any they start) has ended. */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }
}

/**
 * Each handler waits `latencyMs` before it runs, as a Lambda invocation starts late (invoke overhead, a cold
 * start). `sleep` is injectable for tests.
 *
 * @example
 * withLatency({ Preflight: run }, 250) // Preflight runs 250 ms after the state entered it
 */
export function withLatency<H extends (input: never) => Promise<unknown>>(handlers: Readonly<Record<string, H>>, latencyMs: number, sleep: (ms: number) => Promise<unknown> = wait): Record<string, H> {
  if (latencyMs <= 0) return { ...handlers };
  return Object.fromEntries(Object.entries(handlers).map(([name, handler]) => [name, (async (input: never) => (await sleep(latencyMs), handler(input))) as H]));
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
