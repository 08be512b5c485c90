/** Workflow task `preflight` (statemachines/*.asl.json); the step lives in lib/workflow/tasks. Talks to: RDS, CloudWatch, EKS + Kubernetes, Global Accelerator + Route 53, the peer stacks (Lambda). */
import { lambdaStepHandler } from '../lib/workflow/lambda-step.ts';
import { run } from '../lib/workflow/tasks/preflight.ts';
import { rdsPart } from '../lib/workflow/aws-parts/rds.ts';
import { cloudWatchPart } from '../lib/workflow/aws-parts/cloudwatch.ts';
import { eksPart } from '../lib/workflow/aws-parts/eks.ts';
import { trafficPart } from '../lib/workflow/aws-parts/traffic.ts';
import { peersPart } from '../lib/workflow/aws-parts/peers.ts';

/** The AWS parts this function is packaged with: the same systems its IAM role may call (serverless/function-roles.cjs). */
export const parts = { rds: rdsPart, cloudwatch: cloudWatchPart, eks: eksPart, traffic: trafficPart, peers: peersPart };
export const handler = lambdaStepHandler('preflight', run, parts);
