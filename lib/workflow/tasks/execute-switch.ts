/** Task `execute-switch` (switchover). */
import { executeSwitchStep, type ExecuteSwitchInput } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<ExecuteSwitchInput, unknown> = (world, input) => executeSwitchStep(world, input);
