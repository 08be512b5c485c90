/** Task `release-peers` (switchover failure path): prepared peers resume now unless the writer moves. */
import { releasePeersStep, type ReleasePeersInput } from '../coordination.ts';
import type { StepRun } from '../step-handler.ts';

export const run: StepRun<ReleasePeersInput, unknown> = (world, input) => releasePeersStep(world, input);
