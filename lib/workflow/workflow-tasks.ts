/**
 * Every Task state of both state machines, by its stable name in statemachines/*.asl.json, with the
 * Lambda function that runs it. Each step lives in its own module (./tasks/<key>.ts), which its Lambda
 * handler (functions/<key>.ts) imports alone; this table serves the local executions in tests and the
 * drill (aws-local-stepfunctions overrides are keyed by state name).
 */
import { run as acquireRunLock } from './tasks/acquire-run-lock.ts';
import { run as observeTopology } from './tasks/observe-topology.ts';
import { run as verifyWriter } from './tasks/verify-writer.ts';
import { run as plan } from './tasks/plan.ts';
import { run as applyPooler } from './tasks/apply-pooler.ts';
import { run as shiftTraffic } from './tasks/shift-traffic.ts';
import { run as report } from './tasks/report.ts';
import { run as resumePoolers } from './tasks/resume-poolers.ts';
import { run as reportFailure } from './tasks/report-failure.ts';
import { run as preflight } from './tasks/preflight.ts';
import { run as pausePoolers } from './tasks/pause-poolers.ts';
import { run as executeSwitch } from './tasks/execute-switch.ts';
import { run as checkSwitch } from './tasks/check-switch.ts';
import { run as resumeEarly } from './tasks/resume-early.ts';
import { run as summarizeSwitchover } from './tasks/summarize-switchover.ts';
import { run as preparePeers } from './tasks/prepare-peers.ts';
import { run as releasePeers } from './tasks/release-peers.ts';
import { run as checkFollow } from './tasks/check-follow.ts';
import type { StepRun } from './step-handler.ts';

/** Lambda function key (serverless.yml, and the suffix of the ASL placeholder ARNs) -> step. */
export const workflowFunctions = {
  'acquire-run-lock': acquireRunLock,
  'observe-topology': observeTopology,
  'verify-writer': verifyWriter,
  plan,
  'apply-pooler': applyPooler,
  'shift-traffic': shiftTraffic,
  report,
  'resume-poolers': resumePoolers,
  'report-failure': reportFailure,
  preflight,
  'pause-poolers': pausePoolers,
  'execute-switch': executeSwitch,
  'check-switch': checkSwitch,
  'resume-early': resumeEarly,
  'summarize-switchover': summarizeSwitchover,
  'prepare-peers': preparePeers,
  'release-peers': releasePeers,
  'check-follow': checkFollow,
} as const satisfies Record<string, StepRun<never, unknown>>;

export type WorkflowFunction = keyof typeof workflowFunctions;

/** The placeholder Lambda ARN prefix in the ASL files; the function key follows it. */
export const PLACEHOLDER_FUNCTION_ARN_PREFIX = 'arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-';
/** The placeholder for the reconcile state machine's ARN in switchover.asl.json. */
export const PLACEHOLDER_RECONCILE_STATE_MACHINE_ARN = 'arn:aws:states:us-east-1:000000000000:stateMachine:aurora-failover-reconcile';

/** The function key a Task state's placeholder Resource names, or undefined for service integrations. */
export function functionOfResource(resource: string): WorkflowFunction | undefined {
  if (!resource.startsWith(PLACEHOLDER_FUNCTION_ARN_PREFIX)) return undefined;
  const key = resource.slice(PLACEHOLDER_FUNCTION_ARN_PREFIX.length);
  return key in workflowFunctions ? (key as WorkflowFunction) : undefined;
}
