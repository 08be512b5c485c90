/**
 * Every Task state of both state machines, by its stable name in statemachines/*.asl.json, with the
 * Lambda function that runs it. One table serves the Lambda handlers (functions/), the local executions
 * in tests and the drill (aws-local-stepfunctions overrides are keyed by state name).
 */
import { parseWithSchema, reconcileInputSchema } from '../core/workflow-input.ts';
import {
  applyPoolerStep,
  observeTopologyStep,
  planStep,
  reportFailureStep,
  reportStep,
  resumePoolersStep,
  shiftTrafficStep,
  verifyWriterStep,
  type FailureInput,
  type ObserveInput,
  type PlanInput,
  type PoolerWorkItem,
  type ReportInput,
  type ShiftTrafficInput,
  type VerifyInput,
} from './reconcile.ts';
import {
  checkSwitchStep,
  executeSwitchStep,
  pausePoolersStep,
  preflightStep,
  resumeEarlyStep,
  summarizeSwitchoverStep,
  type CheckSwitchInput,
  type ExecuteSwitchInput,
  type PauseResult,
  type PreflightStepInput,
  type SwitchoverSummaryInput,
} from './switchover.ts';
import { acquireRunLockStep, type RunLockStepInput } from './run-lock-step.ts';
import { checkFollowStep, preparePeersStep, releasePeersStep, type CheckFollowInput, type PreparePeersInput } from './coordination.ts';
import type { StepRun } from './step-handler.ts';

type ObserveTaskInput = ObserveInput & { readonly input: unknown };

/** Lambda function key (serverless.yml, and the suffix of the ASL placeholder ARNs) -> step. */
export const workflowFunctions = {
  'acquire-run-lock': ((world, input: RunLockStepInput) => acquireRunLockStep(world, input)) as StepRun<RunLockStepInput, unknown>,
  'observe-topology': (async (world, input: ObserveTaskInput) => {
    const runInput = parseWithSchema(reconcileInputSchema, input.input, 'reconcile input');
    return observeTopologyStep(world, { globalClusterId: runInput.globalClusterId, executionStartTime: input.executionStartTime });
  }) as StepRun<ObserveTaskInput, unknown>,
  'verify-writer': ((world, input: VerifyInput) => verifyWriterStep(world, input)) as StepRun<VerifyInput, unknown>,
  plan: ((world, input: PlanInput) => planStep(world, input)) as StepRun<PlanInput, unknown>,
  'apply-pooler': ((world, input: { item: PoolerWorkItem }) => applyPoolerStep(world, input.item)) as StepRun<{ item: PoolerWorkItem }, unknown>,
  'shift-traffic': ((world, input: ShiftTrafficInput) => shiftTrafficStep(world, input)) as StepRun<ShiftTrafficInput, unknown>,
  report: ((world, input: ReportInput) => reportStep(world, input)) as StepRun<ReportInput, unknown>,
  'resume-poolers': ((world) => resumePoolersStep(world)) as StepRun<unknown, unknown>,
  'report-failure': ((world, input: FailureInput) => reportFailureStep(world, input)) as StepRun<FailureInput, unknown>,
  preflight: ((world, input: PreflightStepInput) => preflightStep(world, input)) as StepRun<PreflightStepInput, unknown>,
  'pause-poolers': ((world) => pausePoolersStep(world)) as StepRun<unknown, unknown>,
  'execute-switch': ((world, input: ExecuteSwitchInput) => executeSwitchStep(world, input)) as StepRun<ExecuteSwitchInput, unknown>,
  'check-switch': ((world, input: CheckSwitchInput & { state?: { pause?: PauseResult } }) =>
    checkSwitchStep(world, { ...input, pause: input.state?.pause })) as StepRun<CheckSwitchInput, unknown>,
  'resume-early': ((world, input: { pause: PauseResult }) => resumeEarlyStep(world, input)) as StepRun<{ pause: PauseResult }, unknown>,
  'summarize-switchover': ((world, input: SwitchoverSummaryInput) => summarizeSwitchoverStep(world, input)) as StepRun<SwitchoverSummaryInput, unknown>,
  'prepare-peers': ((world, input: PreparePeersInput) => preparePeersStep(world, input)) as StepRun<PreparePeersInput, unknown>,
  'release-peers': ((world, input: PreparePeersInput) => releasePeersStep(world, input)) as StepRun<PreparePeersInput, unknown>,
  'check-follow': ((world, input: CheckFollowInput) => checkFollowStep(world, input)) as StepRun<CheckFollowInput, unknown>,
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
