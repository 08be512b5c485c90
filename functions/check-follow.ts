/** Workflow task `check-follow` (statemachines/*.asl.json): the step lives in lib/workflow. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { workflowFunctions } from '../lib/workflow/workflow-tasks.ts';

export const handler = lambdaStepHandler('check-follow', workflowFunctions['check-follow']);
