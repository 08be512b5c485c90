/** Task `pause-poolers` (switchover). */
import { pausePoolersStep } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<unknown, unknown> = (world) => pausePoolersStep(world);
