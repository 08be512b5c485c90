/**
 * `prepare-for-switch`: called by a peer region's switchover (a synchronous cross-region Lambda Invoke, see
 * docs/coordination.md), never by this stack's own state machines. Thin: `probe` reads this region's
 * pooler targets; `prepare` starts this region's follow run, then pauses this region's write aliases
 * (lib/workflow/coordination.ts); `release` resumes them unless the writer moves. Named errors propagate so the
 * caller sees their names. Talks to: EKS + Kubernetes, RDS (World parts), Step Functions (its own starter).
 */
import type { Context } from 'aws-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { InvalidConfigError } from '../lib/core/errors.ts';
import { createExecutionStarter, type ExecutionStarter } from '../lib/adapters/sfn.ts';
import { createTelemetry, withTelemetry } from '../lib/adapters/telemetry.ts';
import { awsWorld } from '../lib/workflow/aws-world.ts';
import { eksPart } from '../lib/workflow/aws-parts/eks.ts';
import { rdsPart } from '../lib/workflow/aws-parts/rds.ts';
import { prepareForSwitch, type PrepareForSwitchAnswer } from '../lib/workflow/coordination.ts';
import { createStepHandler, type StepLogger } from '../lib/workflow/step-handler.ts';
import type { World } from '../lib/workflow/world.ts';

export interface PrepareForSwitchHandlerDeps {
  readonly world: () => Promise<World>;
  readonly startExecution: ExecutionStarter;
  /** This stack's reconcile state machine (env RECONCILE_STATE_MACHINE_ARN in Lambda). */
  readonly reconcileStateMachineArn: string;
  readonly logger?: StepLogger;
}

export function createPrepareForSwitchHandler(deps: PrepareForSwitchHandlerDeps): (payload: unknown) => Promise<PrepareForSwitchAnswer> {
  return createStepHandler(
    'prepare-for-switch',
    (world, payload: unknown) => prepareForSwitch({ world, startExecution: deps.startExecution, reconcileStateMachineArn: deps.reconcileStateMachineArn }, payload),
    deps.world,
    deps.logger,
  );
}

/**
 * The AWS parts this function's World is packaged with: the same systems its IAM role may call
 * (serverless/function-roles.cjs); `startFollowRun` is this handler's own Step Functions starter, not a part.
 */
export const parts = { eks: eksPart, rds: rdsPart };

let deployed: ((payload: unknown, context: Context) => Promise<PrepareForSwitchAnswer>) | undefined;

/** The Lambda entry: real dependencies, built on first use so importing this module has no side effects. */
export const handler = (payload: unknown, context: Context): Promise<PrepareForSwitchAnswer> => {
  if (!deployed) {
    const reconcileStateMachineArn = process.env.RECONCILE_STATE_MACHINE_ARN;
    if (!reconcileStateMachineArn) throw new InvalidConfigError('RECONCILE_STATE_MACHINE_ARN is not set: the function was deployed without serverless.yml');
    const telemetry = createTelemetry();
    const inner = createPrepareForSwitchHandler({ world: () => awsWorld(parts, telemetry), startExecution: createExecutionStarter(new SFNClient({})), reconcileStateMachineArn, logger: telemetry.logger });
    deployed = withTelemetry<unknown, PrepareForSwitchAnswer>((input) => inner(input), telemetry);
  }
  return deployed(payload, context);
};
