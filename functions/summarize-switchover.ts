/** Workflow task `summarize-switchover` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: no AWS API. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/summarize-switchover.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = {};
export const handler = lambdaStepHandler('summarize-switchover', run, parts);
