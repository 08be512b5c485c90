/**
 * Executes a state machine definition for real with aws-local-stepfunctions, each Task state running its
 * handler in-process (the same handlers the Lambdas run). Used by the state-machine tests and the drill.
 */
import { readFile } from 'node:fs/promises';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { createStepHandler, silentLogger, type StepLogger, type StepRun } from './step-handler.ts';
import { functionOfResource, workflowFunctions } from './workflow-tasks.ts';
import type { World } from './world.ts';

export type LocalTaskHandler = (input: unknown) => Promise<unknown>;

export interface LocalExecutionOptions {
  readonly definition: StateMachineDefinition;
  readonly input: unknown;
  /** Task state name -> handler. Every Task state must have one (nothing is invoked in AWS). */
  readonly tasks: Readonly<Record<string, LocalTaskHandler>>;
  /** Wait state name -> milliseconds, to shorten waits in tests and the drill. */
  readonly waitMs?: Readonly<Record<string, number>>;
  /** State name -> retry interval in milliseconds. */
  readonly retryMs?: Readonly<Record<string, number>>;
  /** Context object fields, e.g. `{ Execution: { Name, StartTime } }`. */
  readonly context?: Record<string, unknown>;
}

export interface LocalExecutionResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: unknown;
  readonly error?: string;
  readonly cause?: string;
  /** States entered, as Step Functions bills them (each entered state is one transition). */
  readonly transitions: number;
  /** State names in the order they were entered (Map iterations included). */
  readonly path: readonly string[];
}

export async function loadDefinition(path: string): Promise<StateMachineDefinition> {
  return JSON.parse(await readFile(path, 'utf8')) as StateMachineDefinition;
}

export async function runLocally(options: LocalExecutionOptions): Promise<LocalExecutionResult> {
  const machine = machineFor(options.definition);
  const taskResourceLocalHandlers = Object.fromEntries(
    Object.entries(options.tasks).map(([state, handler]) => [
      state,
      // JSON round trips make each call behave like a Lambda invocation: no shared object identity.
      async (input: unknown) => roundTrip(await handler(roundTrip(input))),
    ]),
  );
  const execution = machine.run(roundTrip(options.input) as never, {
    overrides: {
      taskResourceLocalHandlers: taskResourceLocalHandlers as never,
      waitTimeOverrides: options.waitMs as Record<string, number> | undefined,
      retryIntervalOverrides: options.retryMs as Record<string, number> | undefined,
    },
    ...(options.context ? { context: options.context as never } : {}),
  });

  const path: string[] = [];
  const logs = (async () => {
    for await (const event of execution.eventLogs) {
      if (event.type === 'StateEntered') path.push(event.state.name);
    }
  })();

  try {
    const output = await execution.result;
    await logs;
    return { status: 'SUCCEEDED', output, transitions: path.length, path };
  } catch (error) {
    await logs.catch(() => undefined);
    const failure = (error as { cause?: { name?: string; message?: string } }).cause ?? (error as Error);
    return { status: 'FAILED', error: failure.name, cause: failure.message, transitions: path.length, path };
  }
}

// Validating a definition is synchronous and takes ~100 ms: do it once per definition, not per execution.
const machines = new WeakMap<StateMachineDefinition, StateMachine>();

function machineFor(definition: StateMachineDefinition): StateMachine {
  let machine = machines.get(definition);
  if (!machine) {
    machine = new StateMachine(definition, { validationOptions: { checkArn: true, checkPaths: true } });
    machines.set(definition, machine);
  }
  return machine;
}

/** Validates a definition now (throws on an invalid one) so the first execution does not pay for it. */
export function prepareDefinition(definition: StateMachineDefinition): void {
  machineFor(definition);
}

function roundTrip(value: unknown): unknown {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

/**
 * Handlers for every Task state of a definition whose Resource is a placeholder function ARN, each
 * running the real step against `world`. `extra` adds handlers for other Task states (service
 * integrations such as the nested reconcile run) or replaces one.
 */
export function localTasksFor(
  definition: StateMachineDefinition,
  world: World,
  extra: Readonly<Record<string, LocalTaskHandler>> = {},
  logger: StepLogger = silentLogger,
): Record<string, LocalTaskHandler> {
  const tasks: Record<string, LocalTaskHandler> = {};
  for (const [stateName, state] of allStates(definition)) {
    if (state.Type !== 'Task' || typeof state.Resource !== 'string') continue;
    const fn = functionOfResource(state.Resource);
    if (fn) tasks[stateName] = createStepHandler(fn, workflowFunctions[fn] as StepRun<unknown, unknown>, async () => world, logger);
  }
  return { ...tasks, ...extra };
}

interface AnyState {
  readonly Type: string;
  readonly Resource?: unknown;
  readonly ItemProcessor?: { readonly States: Record<string, AnyState> };
  readonly Iterator?: { readonly States: Record<string, AnyState> };
  readonly Branches?: ReadonlyArray<{ readonly States: Record<string, AnyState> }>;
}

/** Every state of a definition by name, those inside Map and Parallel states included (names are unique across a definition). */
export function* allStates(definition: { readonly States: Record<string, AnyState> } | StateMachineDefinition): Generator<[string, AnyState]> {
  for (const [name, state] of Object.entries((definition as { States: Record<string, AnyState> }).States)) {
    yield [name, state];
    const nested = state.ItemProcessor ?? state.Iterator;
    if (nested) yield* allStates(nested);
    for (const branch of state.Branches ?? []) yield* allStates(branch);
  }
}
