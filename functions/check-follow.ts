/** Workflow task `check-follow` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: RDS, Step Functions (ListExecutions at lease end). */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/check-follow.ts';
import { rdsPart } from '../lib/workflow/aws-parts/rds.ts';
import { sfnPart } from '../lib/workflow/aws-parts/sfn.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { rds: rdsPart, sfn: sfnPart };
export const handler = lambdaStepHandler('check-follow', run, parts);
