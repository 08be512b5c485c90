/**
 * Intake of RDS global-failover events (EventBridge, default bus). Thin: parse and decide
 * (lib/core/rds-event.ts), start the reconcile workflow when the writer moved, log and emit metrics.
 * Never throws on malformed input, so EventBridge does not retry it forever.
 */
import type { Context } from 'aws-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { Config } from '../lib/core/config.ts';
import { decide, type Decision } from '../lib/core/decision.ts';
import { InvalidConfigError } from '../lib/core/errors.ts';
import { MetricDimension, MetricName } from '../lib/core/metrics.ts';
import { Trigger } from '../lib/core/constants.ts';
import { INTAKE_STEP, IntakeOutcome, planIntake } from '../lib/core/rds-event.ts';
import { loadDeployedConfig } from '../lib/adapters/deployed-config.ts';
import { createExecutionStarter, type ExecutionStarter } from '../lib/adapters/sfn.ts';
import { createTelemetry, emitMetrics, withTelemetry, type Telemetry } from '../lib/adapters/telemetry.ts';

export interface OnRdsEventDeps {
  readonly config: Config;
  /** The reconcile state machine (env RECONCILE_STATE_MACHINE_ARN in Lambda). */
  readonly stateMachineArn: string;
  readonly startExecution: ExecutionStarter;
  readonly telemetry: Telemetry;
}

export interface OnRdsEventResult extends Decision {
  /** The reconcile execution's name when the event started (or had already started) one. */
  readonly executionName?: string;
}

export function createOnRdsEventHandler(deps: OnRdsEventDeps) {
  const { config, stateMachineArn, startExecution, telemetry } = deps;
  const { logger } = telemetry;

  return withTelemetry(async (event: unknown): Promise<OnRdsEventResult> => {
    const plan = planIntake(event, config);
    emitMetrics(telemetry, plan.metrics);

    if (!plan.start) {
      const log = plan.outcome === IntakeOutcome.Rejected ? logger.warn.bind(logger) : logger.info.bind(logger);
      log(plan.decision.reason, { decision: plan.decision, ...plan.logFields });
      return plan.decision;
    }

    const { name, input } = plan.start;
    const result = await startExecution({ stateMachineArn, name, input });
    if (result.started) {
      emitMetrics(telemetry, [
        { name: MetricName.ReconcileStarted, value: 1, dimensions: { [MetricDimension.GlobalClusterId]: config.globalClusterId, [MetricDimension.Trigger]: Trigger.Event } },
      ]);
    }
    const decision = result.started
      ? plan.decision
      : decide(INTAKE_STEP, IntakeOutcome.Started, `${input.event.eventId} was delivered again: execution ${name} already exists, nothing new started`);
    logger.info(decision.reason, { decision, executionName: name, executionArn: result.executionArn ?? '', ...plan.logFields });
    return { ...decision, executionName: name };
  }, telemetry);
}

function realDeps(env: NodeJS.ProcessEnv = process.env): OnRdsEventDeps {
  const stateMachineArn = env.RECONCILE_STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new InvalidConfigError('RECONCILE_STATE_MACHINE_ARN is not set: the function was deployed without serverless.yml');
  return {
    config: loadDeployedConfig(),
    stateMachineArn,
    startExecution: createExecutionStarter(new SFNClient({})),
    telemetry: createTelemetry(),
  };
}

let deployedHandler: ReturnType<typeof createOnRdsEventHandler> | undefined;

/** The Lambda entry: real dependencies, built on first use so importing this module has no side effects. */
export const handler = (event: unknown, context: Context): Promise<OnRdsEventResult> => {
  deployedHandler ??= createOnRdsEventHandler(realDeps());
  return deployedHandler(event, context);
};
