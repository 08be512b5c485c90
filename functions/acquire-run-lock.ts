/** Workflow task `acquire-run-lock` (statemachines/*.asl.json): the step lives in lib/workflow. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { workflowFunctions } from '../lib/workflow/workflow-tasks.ts';

export const handler = lambdaStepHandler('acquire-run-lock', workflowFunctions['acquire-run-lock']);
