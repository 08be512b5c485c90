/** Workflow task `resume-early` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: EKS + Kubernetes. */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/resume-early.ts';
import { eksPart } from '../lib/workflow/aws-parts/eks.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { eks: eksPart };
export const handler = lambdaStepHandler('resume-early', run, parts);
