/**
 * Cross-region coordination of a switchover (docs/coordination.md), the pure part: what a switchover asks
 * of a peer region's stack (a "prepare" request), the follow run's deterministic name, and the decisions
 * about unreachable peers and about a follow run's progress. No I/O.
 *
 * A prepare request asks a peer stack to pause its own write aliases and to start a "follow" run of its own
 * reconcile workflow. The follow run holds the peer's run lock, waits until the topology shows the
 * requested target as the writer, reconciles (repoint, verify, resume) and always ends in RESUME: at the
 * latest when the lease runs out, even if the switchover that asked never calls back.
 */
import { createHash } from 'node:crypto';
// A namespace import lets esbuild keep only the zod functions used (lib/core/validation.ts).
import * as z from 'zod/mini';
import { decide, type Decision } from './decision.ts';
import { InvalidInputError } from './errors.ts';
import type { Config } from './config.ts';
import type { Topology } from './types.ts';
import type { RunningExecution } from './run-lock.ts';
import { isoTimestamp, nonEmptyString, parseWithSchema, type FollowSpec } from './workflow-input.ts';

export type { FollowSpec };

/** Step name prefix of every peer decision. */
export const PEER_STEP = 'peer';

/** What the switchover sends to each peer stack's prepare-for-switch function. */
export const prepareRequestSchema = z.strictObject({
  globalClusterId: nonEmptyString(),
  /** The member that is to become the writer. */
  targetDbClusterArn: nonEmptyString(),
  targetRegion: nonEmptyString(),
  /** PAUSE the peer's write aliases until its own reconcile has repointed them (the live strategy). */
  pause: z.boolean(),
  /** The pause and the follow run end (with RESUME) at the latest this long after `requestedAt`. */
  leaseSeconds: z.number().check(z.int(), z.gte(1), z.lte(7200)),
  /** ISO 8601: when the switchover asked. */
  requestedAt: isoTimestamp(),
  /** The asking switchover execution's ARN: the follow run's name derives from it (a retry starts nothing new). */
  requestedBy: nonEmptyString(),
});
export type PrepareRequest = z.infer<typeof prepareRequestSchema>;

/** The payload of one prepare-for-switch invocation. */
export const peerCallSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal('probe'), globalClusterId: nonEmptyString() }),
  z.strictObject({ action: z.literal('prepare'), request: prepareRequestSchema }),
  /** The asking switchover failed: resume now unless the writer is moving or moved (then the follow run repoints). */
  z.strictObject({ action: z.literal('release'), request: prepareRequestSchema }),
]);
export type PeerCall = z.infer<typeof peerCallSchema>;

/** How far ahead of this stack's clock a caller's `requestedAt` may be (clock skew between regions). */
export const REQUESTED_AT_SKEW_MS = 5000;

/**
 * Validates a prepare request against this stack's config: our global cluster, a configured target, a
 * `requestedAt` not in the future (else the lease would not run out). The lease is this stack's to bound:
 * the caller's `leaseSeconds` is clamped to our own `switchover.pauseBudgetSeconds`.
 */
export function parsePrepareRequest(raw: unknown, config: Config, nowMs: number = Date.now()): PrepareRequest {
  const request = parseWithSchema(prepareRequestSchema, raw, 'prepare-for-switch request');
  if (Date.parse(request.requestedAt) > nowMs + REQUESTED_AT_SKEW_MS) {
    throw new InvalidInputError(
      `requestedAt ${request.requestedAt} is in the future (this stack's clock says ${new Date(nowMs).toISOString()}, ${REQUESTED_AT_SKEW_MS / 1000} s skew allowed): the lease would not run out`,
    );
  }
  if (request.globalClusterId !== config.globalClusterId) {
    throw new InvalidInputError(`globalClusterId ${JSON.stringify(request.globalClusterId)} is not the configured global cluster ${config.globalClusterId}`);
  }
  const member = config.regions[request.targetRegion];
  if (!member || member.dbClusterArn !== request.targetDbClusterArn) {
    throw new InvalidInputError(`target ${request.targetRegion} = ${request.targetDbClusterArn} is not a configured member of ${config.globalClusterId}`);
  }
  return { ...request, leaseSeconds: Math.min(request.leaseSeconds, config.switchover.pauseBudgetSeconds) };
}

/**
 * Deterministic name of the follow run one switchover asks for in one region: a retried or repeated
 * prepare call finds ExecutionAlreadyExists and starts nothing new.
 *
 * @example
 * followExecutionName('us-west-2', request) // 'follow-us-west-2-3f9c0a1b2c3d4e5f'
 */
export function followExecutionName(region: string, request: Pick<PrepareRequest, 'requestedBy' | 'targetDbClusterArn'>): string {
  const hash = createHash('sha256').update(`${request.requestedBy}\n${request.targetDbClusterArn}\n${region}`).digest('hex').slice(0, 16);
  return `follow-${region.replace(/[^A-Za-z0-9_-]/g, '-')}-${hash}`;
}

/** The regions a stack must coordinate with: every configured region but its own. */
export function peerRegions(config: Config, ownRegion: string): string[] {
  return Object.keys(config.regions).filter((region) => region !== ownRegion);
}

export interface PeerProbe {
  readonly region: string;
  readonly reachable: boolean;
  readonly reason: string;
}

export interface PeerVerdict {
  /** False when an unreachable peer was not accepted: the switchover must not start. */
  readonly proceed: boolean;
  readonly decisions: readonly Decision[];
  readonly decision: Decision;
}

/**
 * Preflight over the peer probes. Refuse by default when a peer cannot be reached: its PgBouncers would
 * keep sending writes to the fenced old writer until an event or a scheduled run reaches it. The operator
 * may accept that (`acceptUnreachablePeers: true`).
 *
 * @example
 * decidePeers([{ region: 'us-west-2', reachable: false, reason: 'timeout' }], false).proceed // false
 */
export function decidePeers(probes: readonly PeerProbe[], acceptUnreachable: boolean): PeerVerdict {
  const decisions = probes.map((probe) => decide(`${PEER_STEP}:${probe.region}`, probe.reachable ? 'reachable' : 'unreachable', probe.reason));
  const unreachable = probes.filter((probe) => !probe.reachable);
  if (probes.length === 0) return { proceed: true, decisions, decision: decide(PEER_STEP, 'proceed', 'no peer region is configured') };
  if (unreachable.length === 0) {
    return { proceed: true, decisions, decision: decide(PEER_STEP, 'proceed', `every peer stack answered (${probes.map((probe) => probe.region).join(', ')})`) };
  }
  const names = unreachable.map((probe) => `${probe.region} (${probe.reason})`).join(', ');
  if (acceptUnreachable) {
    return {
      proceed: true,
      decisions,
      decision: decide(PEER_STEP, 'accept-unreachable', `peer stack(s) unreachable: ${names}; accepted by acceptUnreachablePeers: their PgBouncers follow only by event or schedule`),
    };
  }
  return {
    proceed: false,
    decisions,
    decision: decide(
      PEER_STEP,
      'refuse',
      `peer stack(s) unreachable: ${names}; their PgBouncers would keep sending writes to the fenced old writer. Fix the peer or start again with acceptUnreachablePeers: true`,
    ),
  };
}

/**
 * A release (the asking switchover failed): resume the paused write aliases now, unless the writer is moving
 * to the target or already there. Then resuming would send writes to the fenced old writer; the follow run
 * repoints and resumes within a second of the promotion instead.
 *
 * @example
 * decideRelease(request, topology).release // true when the old writer is still the stable writer
 */
export function decideRelease(request: Pick<PrepareRequest, 'targetDbClusterArn' | 'targetRegion'>, topology: Topology): { release: boolean; decision: Decision } {
  const target = topology.members.find((member) => member.dbClusterArn === request.targetDbClusterArn);
  if (topology.failoverState) {
    return { release: false, decision: decide('release', 'keep-paused', `RDS is still moving the writer (${topology.failoverState.status}): the follow run repoints and resumes`) };
  }
  if (target?.isWriter) {
    return { release: false, decision: decide('release', 'keep-paused', `${request.targetRegion} is already the writer: the follow run repoints and resumes`) };
  }
  return { release: true, decision: decide('release', 'resume', `the switchover to ${request.targetRegion} failed and the writer did not move: resuming now instead of at the lease end`) };
}

export const FollowProgress = { Moved: 'moved', Waiting: 'waiting', LeaseEnded: 'lease-ended', Superseded: 'superseded' } as const;
export type FollowProgress = (typeof FollowProgress)[keyof typeof FollowProgress];

/**
 * At lease end: a newer follow run RUNNING in this region (a later switchover's prepare paused the same
 * write aliases, and that run waits for our lock) owns the pause now; resuming would cancel its pause. It
 * ends with a RESUME itself (repointed, lease end, failure, or the ABORTED/TIMED_OUT rule), so leaving the
 * pause to it never leaves the aliases paused. Switchover executions are never follow runs, whatever their name.
 *
 * @example
 * newerFollowRun({ executionArn: a, startedAtMs: 1 }, [{ executionArn: b, name: 'follow-x', startedAtMs: 2 }], undefined) // b's entry
 */
export function newerFollowRun(
  self: { readonly executionArn: string; readonly startedAtMs: number },
  running: readonly RunningExecution[],
  switchoverStateMachineArn: string | undefined,
): RunningExecution | undefined {
  const nameOf = (execution: RunningExecution) => execution.name ?? execution.executionArn.slice(execution.executionArn.lastIndexOf(':') + 1);
  return running.find(
    (execution) =>
      execution.executionArn !== self.executionArn &&
      execution.startedAtMs > self.startedAtMs &&
      nameOf(execution).startsWith('follow-') &&
      (execution.stateMachineArn === undefined || execution.stateMachineArn !== switchoverStateMachineArn),
  );
}

/** The decision of a follow run whose lease ended while a newer follow run holds the pause. */
export function supersededDecision(follow: FollowSpec, newer: RunningExecution): Decision {
  const name = newer.name ?? newer.executionArn.slice(newer.executionArn.lastIndexOf(':') + 1);
  return decide('follow', 'superseded', `the ${follow.leaseSeconds} s lease ended, but the newer follow run ${name} is running in this region and owns the pause: not resuming (it resumes when it ends)`);
}

/**
 * Where a follow run stands: `moved` once the topology shows the requested target as the single, stable
 * writer (the reconcile then repoints, verifies and resumes); `lease-ended` when the lease ran out first
 * (resume and end: events and the schedule still repair this region later); else `waiting`.
 */
export function decideFollow(follow: FollowSpec, topology: Topology, stable: { readonly stable: boolean; readonly reason: string }, nowMs: number): { progress: FollowProgress; decision: Decision } {
  const target = topology.members.find((member) => member.dbClusterArn === follow.targetDbClusterArn);
  const elapsedMs = Math.max(0, nowMs - Date.parse(follow.requestedAt));
  if (target?.isWriter && stable.stable) {
    return { progress: FollowProgress.Moved, decision: decide('follow', 'proceed', `${follow.targetRegion} is the writer ${elapsedMs} ms after the switchover asked; reconciling this region`) };
  }
  if (elapsedMs >= follow.leaseSeconds * 1000) {
    return {
      progress: FollowProgress.LeaseEnded,
      decision: decide('follow', 'lease-ended', `${follow.targetRegion} is still not the writer after the ${follow.leaseSeconds} s lease (${stable.reason}); resuming this region's write aliases`),
    };
  }
  return { progress: FollowProgress.Waiting, decision: decide('follow', 'wait', `waiting for ${follow.targetRegion} to become the writer: ${stable.reason}`) };
}
