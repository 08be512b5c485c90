/** Task `check-switch` (switchover): the pause, if any, rides in the execution state. */
import { checkSwitchStep, type CheckSwitchInput, type PauseResult } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<CheckSwitchInput & { state?: { pause?: PauseResult } }, unknown> = (world, input) =>
  checkSwitchStep(world, { ...input, pause: input.state?.pause });
