/** Workflow task `report-failure` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: SNS. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/report-failure.ts';
import { snsPart } from '../lib/workflow/aws-parts/sns.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { sns: snsPart };
export const handler = lambdaStepHandler('report-failure', run, parts);
