/** Reconcile state machine Task `Report`: see lib/workflow/reconcile.ts. */
import { createStepHandler } from '../lib/workflow/step-handler.ts';
import { reconcileSteps } from '../lib/workflow/reconcile-steps.ts';
import { awsWorld } from '../lib/workflow/aws-world.ts';

export const handler = createStepHandler('report', reconcileSteps.Report, awsWorld);
