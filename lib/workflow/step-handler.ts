/**
 * Turns a workflow step (World + input -> output) into a Lambda handler: lazily builds the World once per
 * container, logs the step's decision once, and lets named errors propagate so the state machine's
 * Retry/Catch see their names. Tests and the local drill call `createHandler(world)` with their own World.
 */
import type { Decision } from '../core/decision.ts';
import { describeError } from '../core/errors.ts';
import type { World } from './world.ts';

export interface StepLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

export type StepRun<I, O> = (world: World, input: I) => Promise<O>;

export interface StepHandlerOptions {
  readonly logger?: StepLogger;
}

export function createStepHandler<I, O>(step: string, run: StepRun<I, O>, worldProvider: () => Promise<World>, options: StepHandlerOptions = {}) {
  const logger = options.logger ?? consoleLogger;
  let world: Promise<World> | undefined;
  return async (input: I): Promise<O> => {
    world ??= worldProvider().catch((error: unknown) => {
      world = undefined; // a failed cold start is tried again on the next invocation
      throw error;
    });
    try {
      const output = await run(await world, input);
      logger.info(`${step} done`, { step, decisions: decisionsOf(output) });
      return output;
    } catch (error) {
      logger.error(`${step} failed`, { step, error: describeError(error) });
      throw error;
    }
  };
}

function decisionsOf(output: unknown): Decision[] {
  if (!output || typeof output !== 'object') return [];
  const record = output as { decision?: Decision; decisions?: Decision[] };
  if (Array.isArray(record.decisions)) return record.decisions;
  return record.decision ? [record.decision] : [];
}

const consoleLogger: StepLogger = {
  info: (message, extra) => console.log(JSON.stringify({ level: 'INFO', message, ...extra })),
  error: (message, extra) => console.error(JSON.stringify({ level: 'ERROR', message, ...extra })),
};
