/** The Lambda edge of a workflow step: Powertools logger + correlation id around createStepHandler. */
import { createTelemetry, withTelemetry } from '../adapters/telemetry.ts';
import { createStepHandler, type StepRun } from './step-handler.ts';
import { awsWorld } from './aws-world.ts';
import type { AwsParts } from './aws-parts/types.ts';

/**
 * @param parts the AWS parts the step calls (lib/workflow/aws-parts/); only these are bundled.
 * @example
 * export const parts = { rds: rdsPart };
 * export const handler = lambdaStepHandler('verify-writer', run, parts);
 */
export function lambdaStepHandler<I, O>(step: string, run: StepRun<I, O>, parts: AwsParts) {
  const telemetry = createTelemetry();
  const inner = createStepHandler(step, run, () => awsWorld(parts, telemetry), telemetry.logger);
  return withTelemetry<I, O>((input) => inner(input), telemetry);
}
