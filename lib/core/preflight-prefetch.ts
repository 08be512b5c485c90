/**
 * Preflight's slow reads, taken early (docs/outage.md, "Where the time goes"). A switchover waits 5 s
 * (LetConcurrentRunsAppear) before its run lock decides; a region that is down answers no call until the SDK
 * gives up (AWS_DEAD_REGION_CALL_MS, 6 s). So the reads that can meet a dead region and do not depend on the
 * lock run alongside that wait (statemachines/switchover.asl.json, PrefetchPreflight): the RDS probe of every
 * other region (failover), the peer stacks' probes and the traffic weights. Preflight, after the lock,
 * uses them when they are fresh and reads the topology, the pooler targets and the RPO lag itself.
 *
 * What the lock protects (no other run moves the writer or rewrites the poolers meanwhile) is read after the
 * lock as before. The prefetched reads are facts about the world that no run changes: whether a region's
 * API answers, whether a peer stack answers, the traffic weights (which Preflight only checks a plan
 * against; ShiftTraffic reads them again before changing anything). They are used only when at most
 * PREFETCH_MAX_AGE_MS old, and an early "no answer" is never trusted alone: Preflight asks again
 * (lib/workflow/early-reads.ts). Pure: no I/O.
 */
import * as z from 'zod/mini';
import { decide, type Decision } from './decision.ts';
import { TrafficKind } from './types.ts';
import { describeIssues } from './validation.ts';

/**
 * Step name of the early reads' decisions: theirs (`read`) and Preflight's on them (`used`, `none`, `skipped`,
 * `stale`, `ignored`). Not a `preflight:<check>`: it never passes or refuses anything.
 */
export const PREFETCH_STEP = 'prefetch';

/**
 * How long the prefetch's reads may take: one dead-region call (6 s) and some slack. A read still running
 * then is left out (Preflight reads it). The state machine also stops waiting for the whole Task after its
 * TimeoutSeconds (12 s), whatever hangs.
 */
export const PREFETCH_BUDGET_MS = 8_000;

/**
 * How old (from the prefetch's start) the early reads may be when Preflight uses them. They are taken during
 * the 5 s wait and end within PREFETCH_BUDGET_MS; the first lock check and a Preflight retry fit in the rest.
 * A run that waited for another run's lock (WaitForRunLock, 15 s) is past it at its Preflight, so it reads
 * everything itself (test/unit/preflight-prefetch.test.ts pins these numbers to the state machine).
 */
export const PREFETCH_MAX_AGE_MS = 15_000;

const oneEachRegion = (probes: readonly { readonly region: string }[]) => new Set(probes.map((probe) => probe.region)).size === probes.length;
const probeSchema = z.strictObject({ region: z.string().check(z.minLength(1)), reachable: z.boolean(), reason: z.string() });
const decisionSchema = z.strictObject({ step: z.string(), decision: z.string(), reason: z.string() });
const trafficKindSchema = z.enum([TrafficKind.GlobalAccelerator, TrafficKind.Route53]);

/** The early reads, as PrefetchPreflight returns them and the state machine hands them to Preflight. */
export const preflightPrefetchSchema = z.strictObject({
  /** ISO 8601: when the reads started (their age counts from here). */
  startedAt: z.iso.datetime(),
  /** The RDS API probe of each region read in time (failover mode: every region but the target's). */
  regionProbes: z.array(probeSchema).check(z.refine(oneEachRegion, 'names a region twice')),
  /** The peer stacks' probes, when every one answered in time (absent: Preflight probes them). */
  peers: z.optional(z.array(probeSchema).check(z.refine(oneEachRegion, 'names a region twice'))),
  /**
   * The traffic weights, when read in time and without an error other than "unreachable" (absent:
   * Preflight reads them). Errors are not carried across: ShiftTraffic must see them itself.
   */
  traffic: z.optional(
    z.strictObject({
      read: z.boolean(),
      states: z.array(
        z.strictObject({
          kind: trafficKindSchema,
          region: z.string(),
          resource: z.string(),
          weight: z.number(),
          withoutHealthCheck: z.optional(z.literal(true)),
        }),
      ),
      degraded: z.array(z.strictObject({ kind: trafficKindSchema, reason: z.string() })),
      failed: z.array(z.never()),
      decisions: z.array(decisionSchema),
    }),
  ),
  decision: decisionSchema,
});
export type PreflightPrefetch = z.infer<typeof preflightPrefetchSchema>;

/** What the state machine passes when PrefetchPreflight failed (PrefetchSkipped): the error's name. */
const skippedSchema = z.strictObject({ skipped: z.string() });

export interface PrefetchUse {
  /** The early reads Preflight may use; undefined when it reads everything itself. */
  readonly prefetch?: PreflightPrefetch;
  readonly decision: Decision;
}

/**
 * Whether Preflight may use the early reads it was handed, and why (a decision in its checks either way).
 *
 * @example
 * usablePrefetch(undefined, Date.now()).decision.decision // 'none'
 * usablePrefetch({ skipped: 'States.Timeout' }, Date.now()).decision.decision // 'skipped'
 */
export function usablePrefetch(raw: unknown, nowMs: number): PrefetchUse {
  if (raw === undefined || raw === null) return { decision: decide(PREFETCH_STEP, 'none', 'no early reads were taken: every read is taken now') };
  const skipped = skippedSchema.safeParse(raw);
  if (skipped.success) return { decision: decide(PREFETCH_STEP, 'skipped', `the early reads failed (${skipped.data.skipped}): every read is taken now`) };
  const parsed = preflightPrefetchSchema.safeParse(raw);
  if (!parsed.success) return { decision: decide(PREFETCH_STEP, 'ignored', `the early reads are malformed (${describeIssues(parsed.error).join('; ')}): every read is taken now`) };
  const ageMs = nowMs - Date.parse(parsed.data.startedAt);
  if (ageMs < 0 || ageMs > PREFETCH_MAX_AGE_MS) {
    return { decision: decide(PREFETCH_STEP, 'stale', `the early reads started ${Math.round(ageMs / 1000)} s ago, outside 0-${PREFETCH_MAX_AGE_MS / 1000} s: every read is taken now`) };
  }
  const used = [
    parsed.data.regionProbes.length > 0 ? `RDS probes of ${parsed.data.regionProbes.map((probe) => `${probe.region} (${probe.reachable ? 'answered' : 'no answer'})`).join(', ')}` : undefined,
    parsed.data.peers ? `${parsed.data.peers.length} peer probe(s)` : undefined,
    parsed.data.traffic ? 'traffic weights' : undefined,
  ].filter((part) => part !== undefined);
  return {
    prefetch: parsed.data,
    decision: decide(
      PREFETCH_STEP,
      'used',
      `${used.length ? used.join(', ') : 'nothing'} read ${Math.round(ageMs / 100) / 10} s ago, during LetConcurrentRunsAppear (${parsed.data.decision.reason}); an early "no answer" is asked again; the topology, pooler targets and RPO lag are read now`,
    ),
  };
}

/**
 * The regions whose RDS API did not answer the early probe: Preflight's topology read does not wait for
 * their members (a member not read in time is recorded unanswered, as after any bounded read).
 */
export function silentRegionsOf(prefetch: PreflightPrefetch | undefined, targetRegion: string): string[] {
  // Never the target's own region: Preflight must see the member it is about to promote.
  return (prefetch?.regionProbes ?? []).filter((probe) => !probe.reachable && probe.region !== targetRegion).map((probe) => probe.region);
}
