/** Task `preflight` (switchover). */
import { preflightStep, type PreflightStepInput } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<PreflightStepInput, unknown> = (world, input) => preflightStep(world, input);
