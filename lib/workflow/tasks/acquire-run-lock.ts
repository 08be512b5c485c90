/** Task `acquire-run-lock` (statemachines/*.asl.json AcquireRunLock): one run at a time. */
import { acquireRunLockStep, type RunLockStepInput } from '../run-lock-step.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<RunLockStepInput, unknown> = (world, input) => acquireRunLockStep(world, input);
