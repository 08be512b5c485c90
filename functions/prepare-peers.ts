/** Workflow task `prepare-peers` (statemachines/*.asl.json): the step lives in lib/workflow. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { workflowFunctions } from '../lib/workflow/workflow-tasks.ts';

export const handler = lambdaStepHandler('prepare-peers', workflowFunctions['prepare-peers']);
