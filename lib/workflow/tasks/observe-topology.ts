/** Task `observe-topology`: validates the run input, then observes the global cluster. */
import { parseWithSchema, reconcileInputSchema } from '../../core/workflow-input.ts';
import { observeTopologyStep, type ObserveInput } from '../reconcile.ts';
import type { StepRun } from '../step-handler.ts';

export type ObserveTaskInput = ObserveInput & { readonly input: unknown };

export const run: StepRun<ObserveTaskInput, unknown> = async (world, input) => {
  const runInput = parseWithSchema(reconcileInputSchema, input.input, 'reconcile input');
  return observeTopologyStep(world, { globalClusterId: runInput.globalClusterId, executionStartTime: input.executionStartTime });
};
