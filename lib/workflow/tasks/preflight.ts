/** Task `preflight` (switchover), and its early reads: the same function runs PrefetchPreflight (`phase: prefetch`). */
import { prefetchStep, preflightStep, type PreflightStepInput } from '../switchover.ts';
import type { StepRun } from '../step-handler.ts';

export interface PreflightTaskInput extends PreflightStepInput {
  /** `prefetch`: PrefetchPreflight, the reads taken during LetConcurrentRunsAppear (lib/core/preflight-prefetch.ts). */
  readonly phase?: 'prefetch';
}

export const run: StepRun<PreflightTaskInput, unknown> = (world, input) => (input.phase === 'prefetch' ? prefetchStep(world, input) : preflightStep(world, input));
