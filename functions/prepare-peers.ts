/** Workflow task `prepare-peers` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: the peer stacks (Lambda). */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/prepare-peers.ts';
import { peersPart } from '../lib/workflow/aws-parts/peers.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { peers: peersPart };
export const handler = lambdaStepHandler('prepare-peers', run, parts);
