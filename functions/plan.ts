/** Workflow task `plan` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: EKS + Kubernetes, Global Accelerator + Route 53. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/plan.ts';
import { eksPart } from '../lib/workflow/aws-parts/eks.ts';
import { trafficPart } from '../lib/workflow/aws-parts/traffic.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { eks: eksPart, traffic: trafficPart };
export const handler = lambdaStepHandler('plan', run, parts);
