/** Task `check-follow` (reconcile follow runs): is the requested target the writer, or did the lease end. */
import { checkFollowStep, type CheckFollowInput } from '../coordination.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<CheckFollowInput, unknown> = (world, input) => checkFollowStep(world, input);
