/** Task `summarize-switchover` (switchover). */
import { summarizeSwitchoverStep, type SwitchoverSummaryInput } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<SwitchoverSummaryInput, unknown> = (world, input) => summarizeSwitchoverStep(world, input);
