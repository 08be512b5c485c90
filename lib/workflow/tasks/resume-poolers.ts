/** Task `resume-poolers` (failure paths and the ABORTED/TIMED_OUT rule). */
import { resumePoolersStep } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<unknown, unknown> = (world) => resumePoolersStep(world);
