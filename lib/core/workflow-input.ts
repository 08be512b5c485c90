import { describeIssues } from './validation.ts';
import * as z from 'zod/mini';
import { Trigger } from './constants.ts';
import { InvalidInputError } from './errors.ts';

/** A string of at least one character. */
export const nonEmptyString = () => z.string().check(z.minLength(1));

/** A string that Date.parse reads as a time (ISO 8601 in practice). */
export const isoTimestamp = () => z.string().check(z.refine((value) => Number.isFinite(Date.parse(value)), 'must be an ISO timestamp'));

/**
 * A follow run's `follow` block (lib/core/peers.ts): a peer region's switchover asked this stack to pause
 * and to follow the writer to `targetDbClusterArn`, resuming at the latest when the lease ends.
 */
export const followSchema = z.strictObject({
  targetDbClusterArn: nonEmptyString(),
  targetRegion: nonEmptyString(),
  /** ISO 8601: when the switchover asked; the lease counts from here. */
  requestedAt: isoTimestamp(),
  leaseSeconds: z.number().check(z.int(), z.gte(1), z.lte(7200)),
  /** The asking switchover execution's ARN. */
  requestedBy: nonEmptyString(),
});
export type FollowSpec = z.infer<typeof followSchema>;

/** The reconcile state machine's execution input (event intake, schedule, switchover, console). */
export const reconcileInputSchema = z.strictObject({
  trigger: z.enum([Trigger.Event, Trigger.Schedule, Trigger.Manual]),
  globalClusterId: nonEmptyString(),
  dryRun: z.optional(z.boolean()),
  event: z.optional(
    z.strictObject({
      id: z.optional(z.string()),
      eventId: z.optional(z.string()),
      time: z.optional(z.string()),
      sourceArn: z.optional(z.string()),
    }),
  ),
  /** Present only in a follow run started by a peer region's switchover (prepare-for-switch). */
  follow: z.optional(followSchema),
  /** Set by the switchover workflow when it starts this run. */
  switchoverExecutionArn: z.optional(z.string()),
  /** Step Functions links a nested execution to its parent through this key. */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.optional(z.string()),
});

export type ReconcileExecutionInput = z.infer<typeof reconcileInputSchema>;

/** Validates with a message naming each bad field; throws InvalidInputError. */
export function parseWithSchema<T>(schema: z.ZodMiniType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw new InvalidInputError(`${what} is invalid: ${problems.join('; ')}`);
}
