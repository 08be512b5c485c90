/** Task `apply-pooler` (Map item). */
import { applyPoolerStep, type PoolerWorkItem } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<{ item: PoolerWorkItem }, unknown> = (world, input) => applyPoolerStep(world, input.item);
