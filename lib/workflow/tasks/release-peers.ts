/** Task `release-peers` (switchover failure path): prepared peers resume now unless the writer moves. */
import { releasePeersStep, type PreparePeersInput } from '../coordination.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<PreparePeersInput, unknown> = (world, input) => releasePeersStep(world, input);
