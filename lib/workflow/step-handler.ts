/**
 * Turns a workflow step (World + input -> output) into a handler: lazily builds the World once per
 * container, logs the step's decisions once, and lets named errors propagate so the state machine's
 * Retry/Catch see their names. The local drill and tests call `createStepHandler` with their own World;
 * Lambdas use `lambdaStepHandler`, which adds Powertools logging with the execution name as correlation id.
 */
import type { Decision } from '../core/decision.ts';
import { describeError } from '../core/errors.ts';
import type { World } from './world.ts';

export interface StepLogger {
  info(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export type StepRun<I, O> = (world: World, input: I) => Promise<O>;

export function createStepHandler<I, O>(step: string, run: StepRun<I, O>, worldProvider: () => Promise<World>, logger: StepLogger = jsonLineLogger) {
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

/** One JSON object per line, like the Lambda logs, for local runs that have no Powertools logger. */
export const jsonLineLogger: StepLogger = {
  info: (message, ...extra) => console.log(JSON.stringify(Object.assign({ level: 'INFO', message }, ...extra))),
  error: (message, ...extra) => console.error(JSON.stringify(Object.assign({ level: 'ERROR', message }, ...extra))),
};

/** A logger that drops everything (the drill prints its own progress). */
export const silentLogger: StepLogger = { info: () => undefined, error: () => undefined };
