/**
 * RDS global-failover events as EventBridge delivers them ("RDS DB Cluster Event"): the envelope
 * schema, the classification (start the reconcile workflow, record progress, ignore, reject) and the
 * deterministic execution name that makes a duplicate delivery start nothing new. Pure: no I/O.
 *
 * Events are triggers, never truth: the workflow they start reads the topology itself.
 */
import { describeIssues } from './validation.ts';
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import type { Config } from './config.ts';
import { PROGRESS_EVENT_IDS, RdsEventId, TRIGGERING_EVENT_IDS, Trigger } from './constants.ts';
import { decide, type Decision } from './decision.ts';
import { MetricDimension, MetricName, type MetricDatum } from './metrics.ts';

export const RDS_EVENT_SOURCE = 'aws.rds';
export const RDS_CLUSTER_EVENT_DETAIL_TYPE = 'RDS DB Cluster Event';
/** Step name in decisions and logs. */
export const INTAKE_STEP = 'on-rds-event';

/** What the intake did with one event; stable values asserted by tests and shown in logs. */
export const IntakeOutcome = {
  /** A reconcile execution was started (or an earlier delivery of the same event already started it). */
  Started: 'started',
  /** A progress/failure or endpoint event of our global cluster: metric and log line only. */
  Recorded: 'recorded',
  /** Another global cluster's event, or an event id this service does not act on. */
  Ignored: 'ignored',
  /** Not a valid RDS DB Cluster Event envelope. */
  Rejected: 'rejected',
} as const;
export type IntakeOutcome = (typeof IntakeOutcome)[keyof typeof IntakeOutcome];

const EVENT_ID = /^RDS-EVENT-\d{4}$/;

/** The `detail` of an RDS DB Cluster Event as AWS documents it; unknown extra keys are tolerated. */
export const rdsClusterEventDetailSchema = z.object({
  EventCategories: z._default(z.array(z.string()), []),
  SourceType: z.optional(z.string()),
  SourceArn: z.optional(z.string().check(z.minLength(1))),
  Date: z.optional(z.string()),
  Message: z.optional(z.string()),
  /** The DB cluster identifier, sometimes prefixed with `rds:`. */
  SourceIdentifier: z.optional(z.string().check(z.minLength(1))),
  EventID: z.string().check(z.regex(EVENT_ID, 'must look like RDS-EVENT-0185')),
});
export type RdsClusterEventDetail = z.infer<typeof rdsClusterEventDetailSchema>;

/** The EventBridge envelope (Powertools parser schema) with the RDS detail. */
/**
 * The EventBridge envelope, field for field Powertools' `EventBridgeSchema` (@aws-lambda-powertools/parser):
 * written out here because that module imports zod as `{ z }`, which pulls every zod locale into the
 * intake's bundle (~580 KB of its ~860 KB).
 */
const eventBridgeEnvelopeSchema = z.object({
  version: z.string(),
  id: z.string(),
  source: z.string(),
  account: z.string(),
  time: z.iso.datetime(),
  region: z.string(),
  resources: z.array(z.string()),
  'detail-type': z.string(),
  detail: z.unknown(),
  'replay-name': z.optional(z.string()),
});

export const rdsClusterEventSchema = z.extend(eventBridgeEnvelopeSchema, {
  source: z.literal(RDS_EVENT_SOURCE),
  'detail-type': z.literal(RDS_CLUSTER_EVENT_DETAIL_TYPE),
  detail: rdsClusterEventDetailSchema,
});
export type RdsClusterEvent = z.infer<typeof rdsClusterEventSchema>;

/** The reconcile workflow's input when an event starts it. */
export interface EventReconcileInput {
  readonly trigger: typeof Trigger.Event;
  readonly globalClusterId: string;
  readonly event: {
    /** EventBridge event id (the same on every redelivery). */
    readonly id: string;
    readonly eventId: string;
    readonly time: string;
    readonly sourceArn: string;
  };
}

export interface StartRequest {
  readonly name: string;
  readonly input: EventReconcileInput;
}

/** The pure verdict on one event: what to decide, which metrics to emit, and what (if anything) to start. */
export interface IntakePlan {
  readonly outcome: IntakeOutcome;
  readonly decision: Decision;
  readonly metrics: readonly MetricDatum[];
  /** Present only when the reconcile workflow must be started. */
  readonly start?: StartRequest;
  /** Fields for the log line; never the whole event. */
  readonly logFields: Readonly<Record<string, string | readonly string[]>>;
}

const MAX_EXECUTION_NAME = 80;
const HASH_LENGTH = 16;

/**
 * Deterministic Step Functions execution name for one event: the same EventBridge event (same `id`
 * and EventID) always yields the same name, so a redelivery cannot start a second run.
 * Shape: `evt-<globalClusterId>-<event number>-<hash>`, at most 80 chars of [A-Za-z0-9-_].
 *
 * @example
 * executionNameForEvent('app-global', 'RDS-EVENT-0185', '5f1c...') // 'evt-app-global-0185-1a2b3c4d5e6f7a8b'
 */
export function executionNameForEvent(globalClusterId: string, eventId: string, eventBridgeId: string): string {
  const hash = createHash('sha256').update(`${globalClusterId}\n${eventId}\n${eventBridgeId}`).digest('hex').slice(0, HASH_LENGTH);
  const eventNumber = sanitize(eventId.replace(/^RDS-EVENT-/, ''));
  const fixedLength = 'evt-'.length + 1 + eventNumber.length + 1 + HASH_LENGTH;
  const cluster = sanitize(globalClusterId).slice(0, MAX_EXECUTION_NAME - fixedLength);
  return `evt-${cluster}-${eventNumber}-${hash}`;
}

function sanitize(value: string): string {
  return value.replace(/[^A-Za-z0-9_-]/g, '-');
}

/** `rds:my-cluster` -> `my-cluster`. */
export function stripRdsPrefix(sourceIdentifier: string): string {
  return sourceIdentifier.startsWith('rds:') ? sourceIdentifier.slice('rds:'.length) : sourceIdentifier;
}

const CLUSTER_ARN = /^arn:(aws[a-z-]*):rds:([a-z0-9-]+):(\d{12}):cluster:(.+)$/;

/**
 * The ARN of the DB cluster the event is about: `SourceArn` when present, otherwise built from the
 * envelope's region and account and the (possibly `rds:`-prefixed) SourceIdentifier, in the
 * partition of the configured members.
 */
export function eventSourceArn(event: RdsClusterEvent, config: Config): string | undefined {
  if (event.detail.SourceArn) return event.detail.SourceArn;
  if (!event.detail.SourceIdentifier) return undefined;
  const firstMember = Object.values(config.regions)[0];
  const partition = (firstMember && CLUSTER_ARN.exec(firstMember.dbClusterArn)?.[1]) ?? 'aws';
  return `arn:${partition}:rds:${event.region}:${event.account}:cluster:${stripRdsPrefix(event.detail.SourceIdentifier)}`;
}

/** True when the ARN names a configured member of the global cluster (identifiers compare case-insensitively). */
export function isMemberArn(sourceArn: string, config: Config): boolean {
  const wanted = sourceArn.toLowerCase();
  return Object.values(config.regions).some((member) => member.dbClusterArn.toLowerCase() === wanted);
}

/**
 * Decides what to do with one raw event. Never throws: malformed input is an outcome
 * (`rejected`), so EventBridge does not retry it forever.
 */
export function planIntake(raw: unknown, config: Config): IntakePlan {
  const globalClusterId = config.globalClusterId;
  const clusterDimension = { [MetricDimension.GlobalClusterId]: globalClusterId };
  const parsed = rdsClusterEventSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    return {
      outcome: IntakeOutcome.Rejected,
      decision: decide(INTAKE_STEP, IntakeOutcome.Rejected, `not a valid RDS DB Cluster Event: ${summarize(problems)}`),
      metrics: [{ name: MetricName.MalformedEvents, value: 1, dimensions: clusterDimension }],
      logFields: { problems },
    };
  }

  const event = parsed.data;
  const eventId = event.detail.EventID;
  const sourceArn = eventSourceArn(event, config);
  const logFields = {
    eventBridgeId: event.id,
    eventId,
    eventTime: event.time,
    sourceArn: sourceArn ?? '(none)',
    rdsMessage: event.detail.Message ?? '',
  };
  if (!sourceArn) {
    return {
      outcome: IntakeOutcome.Rejected,
      decision: decide(INTAKE_STEP, IntakeOutcome.Rejected, `${eventId} names no DB cluster: detail has neither SourceArn nor SourceIdentifier`),
      metrics: [{ name: MetricName.MalformedEvents, value: 1, dimensions: clusterDimension }],
      logFields,
    };
  }
  if (!isMemberArn(sourceArn, config)) {
    return {
      outcome: IntakeOutcome.Ignored,
      decision: decide(INTAKE_STEP, IntakeOutcome.Ignored, `${eventId} is about ${sourceArn}, which is not a configured member of global cluster ${globalClusterId}`),
      metrics: [{ name: MetricName.IgnoredEvents, value: 1, dimensions: clusterDimension }],
      logFields,
    };
  }

  const eventDimensions = { ...clusterDimension, [MetricDimension.EventId]: eventId };
  if (isOneOf(eventId, TRIGGERING_EVENT_IDS)) {
    const input: EventReconcileInput = {
      trigger: Trigger.Event,
      globalClusterId,
      event: { id: event.id, eventId, time: event.time, sourceArn },
    };
    const name = executionNameForEvent(globalClusterId, eventId, event.id);
    return {
      outcome: IntakeOutcome.Started,
      decision: decide(INTAKE_STEP, IntakeOutcome.Started, `${eventId} for member ${sourceArn}: the writer moved, reconcile ${globalClusterId} (execution ${name})`),
      metrics: [{ name: MetricName.FailoversDetected, value: 1, dimensions: eventDimensions }],
      start: { name, input },
      logFields,
    };
  }
  if (isOneOf(eventId, PROGRESS_EVENT_IDS) || eventId === RdsEventId.GlobalWriterEndpointUpdated) {
    return {
      outcome: IntakeOutcome.Recorded,
      decision: decide(INTAKE_STEP, IntakeOutcome.Recorded, `${eventId} for member ${sourceArn} recorded; only 0185 and 0238 start the reconcile workflow`),
      metrics: [{ name: MetricName.FailoverProgressEvents, value: 1, dimensions: eventDimensions }],
      logFields,
    };
  }
  return {
    outcome: IntakeOutcome.Ignored,
    decision: decide(INTAKE_STEP, IntakeOutcome.Ignored, `${eventId} is not a global-failover event this service acts on`),
    metrics: [{ name: MetricName.IgnoredEvents, value: 1, dimensions: eventDimensions }],
    logFields,
  };
}

const MAX_PROBLEMS_IN_REASON = 3;

function summarize(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_IN_REASON).join('; ');
  const more = problems.length - MAX_PROBLEMS_IN_REASON;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function isOneOf(eventId: string, ids: readonly RdsEventId[]): boolean {
  return (ids as readonly string[]).includes(eventId);
}
