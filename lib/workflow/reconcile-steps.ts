/**
 * The reconcile state machine's Task states, by their stable names in statemachines/reconcile.asl.json,
 * with the Lambda function each one runs. One table serves the Lambda handlers (functions/), the local
 * executions in tests and the drill (aws-local-stepfunctions overrides are keyed by state name).
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
import type { StepRun } from './step-handler.ts';

export const ReconcileTask = {
  ObserveTopology: 'ObserveTopology',
  VerifyWriter: 'VerifyWriter',
  Plan: 'Plan',
  ApplyPooler: 'ApplyPooler',
  ShiftTraffic: 'ShiftTraffic',
  Report: 'Report',
  ResumePoolers: 'ResumePoolers',
  ReportFailure: 'ReportFailure',
} as const;
export type ReconcileTask = (typeof ReconcileTask)[keyof typeof ReconcileTask];

/** State name -> Lambda function key in serverless.yml (and the suffix of the ASL's placeholder ARN). */
export const RECONCILE_FUNCTIONS: Readonly<Record<ReconcileTask, string>> = {
  ObserveTopology: 'observe-topology',
  VerifyWriter: 'verify-writer',
  Plan: 'plan',
  ApplyPooler: 'apply-pooler',
  ShiftTraffic: 'shift-traffic',
  Report: 'report',
  ResumePoolers: 'resume-poolers',
  ReportFailure: 'report-failure',
};

type ObserveTaskInput = ObserveInput & { readonly input: unknown };

export const reconcileSteps: { readonly [K in ReconcileTask]: StepRun<never, unknown> } = {
  ObserveTopology: (async (world, input: ObserveTaskInput) => {
    const runInput = parseWithSchema(reconcileInputSchema, input.input, 'reconcile input');
    return observeTopologyStep(world, { globalClusterId: runInput.globalClusterId, executionStartTime: input.executionStartTime });
  }) as StepRun<ObserveTaskInput, unknown>,
  VerifyWriter: ((world, input: VerifyInput) => verifyWriterStep(world, input)) as StepRun<VerifyInput, unknown>,
  Plan: ((world, input: PlanInput) => planStep(world, input)) as StepRun<PlanInput, unknown>,
  ApplyPooler: ((world, input: PoolerWorkItem) => applyPoolerStep(world, input)) as StepRun<PoolerWorkItem, unknown>,
  ShiftTraffic: ((world, input: ShiftTrafficInput) => shiftTrafficStep(world, input)) as StepRun<ShiftTrafficInput, unknown>,
  Report: ((world, input: ReportInput) => reportStep(world, input)) as StepRun<ReportInput, unknown>,
  ResumePoolers: ((world) => resumePoolersStep(world)) as StepRun<unknown, unknown>,
  ReportFailure: ((world, input: FailureInput) => reportFailureStep(world, input)) as StepRun<FailureInput, unknown>,
};
