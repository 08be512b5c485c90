/** Workflow task `acquire-run-lock` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: Step Functions. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/acquire-run-lock.ts';
import { sfnPart } from '../lib/workflow/aws-parts/sfn.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { sfn: sfnPart };
export const handler = lambdaStepHandler('acquire-run-lock', run, parts);
