import { describeIssues } from './validation.ts';
import * as z from 'zod';
import { Trigger } from './constants.ts';
import { InvalidInputError } from './errors.ts';

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
