/** Task `report-failure`. */
import { reportFailureStep, type FailureInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<FailureInput, unknown> = (world, input) => reportFailureStep(world, input);
