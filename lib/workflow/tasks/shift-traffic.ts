/** Task `shift-traffic`. */
import { shiftTrafficStep, type ShiftTrafficInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<ShiftTrafficInput, unknown> = (world, input) => shiftTrafficStep(world, input);
