/** The Lambda edge of a workflow step: Powertools logger + correlation id around createStepHandler. */
import { createTelemetry, withTelemetry } from '../adapters/telemetry.ts';
import { createStepHandler, type StepRun } from './step-handler.ts';
import { awsWorld } from './aws-world.ts';

export function lambdaStepHandler<I, O>(step: string, run: StepRun<I, O>) {
  const telemetry = createTelemetry();
  const inner = createStepHandler(step, run, () => awsWorld(telemetry), telemetry.logger);
  return withTelemetry<I, O>((input) => inner(input), telemetry);
}
