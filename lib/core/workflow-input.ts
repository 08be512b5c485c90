import { describeIssues } from './validation.ts';
import * as z from 'zod';
import { Trigger } from './constants.ts';
import { InvalidInputError } from './errors.ts';

/**
 * A follow run's `follow` block (lib/core/peers.ts): a peer region's switchover asked this stack to pause
 * and to follow the writer to `targetDbClusterArn`, resuming at the latest when the lease ends.
 */
export const followSchema = z.strictObject({
  targetDbClusterArn: z.string().min(1),
  targetRegion: z.string().min(1),
  /** ISO 8601: when the switchover asked; the lease counts from here. */
  requestedAt: z.string().refine((value) => Number.isFinite(Date.parse(value)), 'must be an ISO timestamp'),
  leaseSeconds: z.number().int().min(1).max(7200),
  /** The asking switchover execution's ARN. */
  requestedBy: z.string().min(1),
});
export type FollowSpec = z.infer<typeof followSchema>;

/** The reconcile state machine's execution input (event intake, schedule, switchover, console). */
export const reconcileInputSchema = z.strictObject({
  trigger: z.enum([Trigger.Event, Trigger.Schedule, Trigger.Manual]),
  globalClusterId: z.string().min(1),
  dryRun: z.boolean().optional(),
  event: z
    .strictObject({
      id: z.string().optional(),
      eventId: z.string().optional(),
      time: z.string().optional(),
      sourceArn: z.string().optional(),
    })
    .optional(),
  /** Present only in a follow run started by a peer region's switchover (prepare-for-switch). */
  follow: followSchema.optional(),
  /** Set by the switchover workflow when it starts this run. */
  switchoverExecutionArn: z.string().optional(),
  /** Step Functions links a nested execution to its parent through this key. */
  AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: z.string().optional(),
});

export type ReconcileExecutionInput = z.infer<typeof reconcileInputSchema>;

/** Validates with a message naming each bad field; throws InvalidInputError. */
export function parseWithSchema<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw new InvalidInputError(`${what} is invalid: ${problems.join('; ')}`);
}
