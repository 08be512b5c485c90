/** Task `plan`. */
import { planStep, type PlanInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<PlanInput, unknown> = (world, input) => planStep(world, input);
