import * as z from 'zod/mini';
import { InvalidInputError } from './errors.ts';
import { nonEmptyString, parseWithSchema } from './workflow-input.ts';
import type { Config } from './config.ts';

/** The switchover state machine's console input (README: "Planned switchover and failback"). */
export const switchoverInputSchema = z
  .strictObject({
    globalClusterId: nonEmptyString(),
    targetRegion: z.optional(nonEmptyString()),
    targetDbClusterArn: z.optional(nonEmptyString()),
    mode: z._default(z.enum(['switchover', 'failover']), 'switchover'),
    acceptDataLoss: z.optional(z.boolean()),
    maxRpoLagMs: z.optional(z.number().check(z.int(), z.gte(0))),
    pausePoolers: z._default(z.boolean(), true),
    dryRun: z._default(z.boolean(), false),
    /** Switch even when a peer region's stack cannot be asked to prepare (its PgBouncers then follow only by event or schedule). */
    acceptUnreachablePeers: z._default(z.boolean(), false),
  })
  .check(
    z.refine((input) => (input.targetRegion === undefined) !== (input.targetDbClusterArn === undefined), {
      message: 'give exactly one of targetRegion or targetDbClusterArn',
      path: ['targetRegion'],
    }),
  );

export type SwitchoverInput = z.infer<typeof switchoverInputSchema>;

export interface SwitchoverTarget {
  readonly region: string;
  readonly dbClusterArn: string;
}

/**
 * Validates the console input against the config: the cluster must be ours and the target a configured
 * member. An unknown region or ARN is named in the error, listing what is configured.
 */
export function parseSwitchoverInput(raw: unknown, config: Config): { input: SwitchoverInput; target: SwitchoverTarget } {
  const input = parseWithSchema(switchoverInputSchema, raw, 'switchover input');
  if (input.globalClusterId !== config.globalClusterId) {
    throw new InvalidInputError(`globalClusterId ${JSON.stringify(input.globalClusterId)} is not the configured global cluster ${config.globalClusterId}`);
  }
  const members = Object.entries(config.regions).map(([region, section]) => ({ region, dbClusterArn: section.dbClusterArn }));
  const target = input.targetRegion
    ? members.find((member) => member.region === input.targetRegion)
    : members.find((member) => member.dbClusterArn === input.targetDbClusterArn);
  if (!target) {
    const field = input.targetRegion ? `targetRegion ${JSON.stringify(input.targetRegion)}` : `targetDbClusterArn ${JSON.stringify(input.targetDbClusterArn)}`;
    throw new InvalidInputError(`${field} is not a configured member of ${config.globalClusterId} (configured: ${members.map((member) => `${member.region} = ${member.dbClusterArn}`).join(', ')})`);
  }
  return { input, target };
}
