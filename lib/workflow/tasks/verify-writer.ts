/** Task `verify-writer`. */
import { verifyWriterStep, type VerifyInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<VerifyInput, unknown> = (world, input) => verifyWriterStep(world, input);
