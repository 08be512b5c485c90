/**
 * `aurora-failover plan --live`: the reconcile workflow's ObserveTopology -> VerifyWriter -> Plan, run
 * on the AWS World a Lambda of that region builds (credentials from the default provider chain, EKS
 * access as the Lambda has it), wrapped so that only observe methods can run (observe-only-world.ts).
 * Loaded only with --live, so the file mode never loads the AWS SDK.
 */
import { AwsClients } from '../adapters/aws-clients.ts';
import type { Config } from '../core/config.ts';
import { decide, type Decision } from '../core/decision.ts';
import { describeError, InvalidInputError, UpstreamError, WriterNotVerifiedError } from '../core/errors.ts';
import { assessStability } from '../core/topology.ts';
import { createAwsWorld, type AwsWorldOptions } from '../workflow/aws-world.ts';
import { allAwsParts } from '../workflow/aws-parts/all.ts';
import { planStep, verifyWriterStep } from '../workflow/reconcile.ts';
import { observeOnlyWorld, type ObservationFailures } from './observe-only-world.ts';

/** What `aurora-failover plan` prints (as JSON), offline or --live. */
export interface PlanOutput {
  /** `ini` is absent with --live (a decision in `decisions` says why). */
  poolers: Array<{ target: string; changes: Array<{ alias: string; from: { host: string; port: number } | null; to: { host: string; port: number } }>; ini?: string }>;
  traffic: Array<{ kind: string; region: string; resource: string; from: number; to: number }>;
  decisions: Array<{ step: string; decision: string; reason: string }>;
}

export interface LivePlanDeps {
  /** AWS SDK clients; default: new AwsClients() (the default credential provider chain). */
  readonly awsClients?: AwsClients;
  /** Builds one pooler target's adapter; default: the EKS adapter, as the Lambda does. */
  readonly connectPooler?: AwsWorldOptions['connectPooler'];
}

/** Why `ini` is absent from a live plan's poolers: stated in the output itself. */
export const LIVE_INI_OMITTED = decide(
  'output',
  'omit-ini',
  'with --live the new pgbouncer.ini is not printed: it is read from the ConfigMap only to plan, and that file holds passwords; the changes above are the whole difference',
);

export async function buildLivePlan(config: Config, region: string, deps: LivePlanDeps): Promise<PlanOutput> {
  const world = observeOnlyWorld(
    createAwsWorld({
      config,
      region,
      clients: deps.awsClients ?? new AwsClients(),
      parts: allAwsParts,
      telemetry: undefined,
      stateMachineArns: [],
      ...(deps.connectPooler ? { connectPooler: deps.connectPooler } : {}),
    }),
  );

  const topology = await world.observeTopology();
  const verdict = assessStability(topology);
  if (!verdict.stable) throw new WriterNotVerifiedError(`not planning: ${verdict.reason}`);
  const verification = await verifyWriterStep(world, { topology, executionStartTime: new Date(world.now()).toISOString() });
  if (!verification.verified) throw new WriterNotVerifiedError(`not planning: ${verification.decision.reason}`);

  const plan = await planStep(world, { topology });
  throwObservationFailures(world.observationFailures);

  const poolers = plan.poolers.map((item) => {
    // planStep gives a null plan only for a target it could not observe, and that has thrown above.
    if (!item.plan) throw new UpstreamError(`${item.target}: ${item.decision.reason}`);
    if (item.plan.decision.decision === 'refuse') throw new InvalidInputError(`${item.target}: ${item.plan.decision.reason}`);
    return { target: item.target, changes: item.plan.changes.map((change) => ({ alias: change.alias, from: change.from, to: change.to })) };
  });
  const decisions: Decision[] = [decide('observe-topology', 'proceed', verdict.reason), verification.decision, ...plan.decisions, LIVE_INI_OMITTED];
  return {
    poolers,
    traffic: (plan.traffic?.changes ?? []).map((change) => ({ kind: change.kind, region: change.region, resource: change.resource, from: change.from, to: change.to })),
    decisions: decisions.map((decision) => ({ step: decision.step, decision: decision.decision, reason: decision.reason })),
  };
}

/** A preview that could not see a target is not a plan: name every target or traffic system that failed. */
function throwObservationFailures(failures: ObservationFailures): void {
  const problems = [
    ...[...failures.poolers].map(([target, error]) => `pooler target ${target}: ${describeError(error)}`),
    ...[...failures.traffic].map(([kind, error]) => `traffic ${kind}: ${describeError(error)}`),
  ];
  if (problems.length === 0) return;
  const [first] = [...failures.poolers.values(), ...failures.traffic.values()];
  throw new UpstreamError(`could not observe ${problems.join('; ')}`, { cause: first });
}
