/** Workflow task `shift-traffic` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: Global Accelerator + Route 53. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/shift-traffic.ts';
import { trafficPart } from '../lib/workflow/aws-parts/traffic.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { traffic: trafficPart };
export const handler = lambdaStepHandler('shift-traffic', run, parts);
