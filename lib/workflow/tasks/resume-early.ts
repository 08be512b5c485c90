/** Task `resume-early` (switchover): RESUME when the pause budget is spent. */
import { resumeEarlyStep, type PauseResult } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<{ pause: PauseResult }, unknown> = (world, input) => resumeEarlyStep(world, input);
