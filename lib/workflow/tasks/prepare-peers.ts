/** Task `prepare-peers` (switchover): every peer stack pauses its own write aliases and follows the writer (docs/coordination.md). */
import { preparePeersStep, type PreparePeersInput } from '../coordination.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<PreparePeersInput, unknown> = (world, input) => preparePeersStep(world, input);
