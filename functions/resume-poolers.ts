/** Workflow task `resume-poolers` (statemachines/*.asl.json): the step lives in lib/workflow. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { workflowFunctions } from '../lib/workflow/workflow-tasks.ts';

export const handler = lambdaStepHandler('resume-poolers', workflowFunctions['resume-poolers']);
