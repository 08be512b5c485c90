/** Task `report`. */
import { reportStep, type ReportInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<ReportInput, unknown> = (world, input) => reportStep(world, input);
