/**
 * A local stand-in for an Aurora Global Database over real PostgreSQL servers, one per region: it answers
 * like DescribeGlobalClusters / DescribeDBClusters and moves the writer the way Aurora does. A switchover
 * fences the old writer (no new writes, in-flight ones finish), waits until the target has replayed the
 * writer's last WAL position, promotes it, then turns the old writer into a replica of the new one
 * (pg_rewind or a fresh base backup) so that a failback works. A failover stops the old writer at once and
 * promotes without waiting (data loss allowed). It emits the RDS event sequence while it works, each event
 * only into the regional buses that the event-delivery mode names (RDS raises each global-failover event in
 * one member's region, which one is undocumented), after an EventBridge-like delay, optionally twice.
 */
import { randomUUID } from 'node:crypto';
import type { GlobalCluster } from '@aws-sdk/client-rds';
import { RdsEventId } from '../core/constants.ts';
import { decide, type Decision } from '../core/decision.ts';
import { InvalidInputError } from '../core/errors.ts';
import type { MemberEndpoints } from '../core/topology.ts';
import type { LocalEnvironment } from '../local/environment.ts';
import { demoteToReplica, fence, promote, waitForReplay } from '../local/global-cluster.ts';
import { sleep, type LocalPostgres } from '../local/postgres.ts';
import { nowMs } from '../local/clock.ts';
import type { DrillEventDelivery } from './results.ts';

export interface EventDeliveryOptions {
  /** Which regions' default event buses receive a global-failover event. */
  readonly mode: DrillEventDelivery;
  /** EventBridge's delivery delay (typically around a second or two). */
  readonly delayMs: number;
  /** Deliver every event twice (same EventBridge id), as EventBridge's at-least-once delivery may. */
  readonly duplicate: boolean;
}

export interface LocalMember {
  readonly region: string;
  readonly dbClusterArn: string;
  readonly server: LocalPostgres;
}

/** What one writer move did, with epoch-ms timings for the drill's report. */
export interface WriterMove {
  readonly mode: 'switchover' | 'failover';
  readonly from: LocalMember;
  readonly to: LocalMember;
  readonly startedAt: number;
  /** The target accepts writes. */
  promotedAt?: number;
  /** Every event delivered to a bus while (and shortly after) this move ran. */
  readonly deliveries: EventDeliveryRecord[];
  /** The old writer streams from the new one again. */
  rejoinedAt?: number;
  readonly decisions: Decision[];
  /** Settles when the move is complete (old writer rejoined) or failed. */
  done: Promise<void>;
}

export interface LocalRdsEvent {
  /** The EventBridge event id: the same on a duplicate delivery. */
  readonly id: string;
  readonly eventId: string;
  readonly member: LocalMember;
  readonly message: string;
  readonly at: Date;
}

/** One region's default event bus (its intake). */
export type RdsEventBus = (event: LocalRdsEvent) => Promise<unknown>;

/** One event put on one region's bus, for the drill's report. */
export interface EventDeliveryRecord {
  readonly region: string;
  readonly eventId: string;
  readonly at: number;
}

export class LocalAuroraGlobalCluster {
  readonly globalClusterId: string;
  readonly members: readonly LocalMember[];
  readonly moves: WriterMove[] = [];
  #writer: LocalMember;
  #moving: WriterMove | undefined;
  /** Members that are not streaming from the writer right now (being rewound). */
  readonly #resyncing = new Set<string>();
  readonly #env: LocalEnvironment;
  readonly #buses: Readonly<Record<string, RdsEventBus>>;
  readonly #delivery: EventDeliveryOptions;
  readonly #promotionHoldMs: number;
  readonly #pendingDeliveries = new Set<Promise<unknown>>();
  /** Regions that are down (scenario region-outage), each with the resolver of its return. */
  readonly #down = new Map<string, { back: Promise<void>; resolve: () => void }>();

  constructor(options: {
    env: LocalEnvironment;
    globalClusterId: string;
    members: readonly LocalMember[];
    writerRegion: string;
    /** Region -> its default event bus. */
    buses: Readonly<Record<string, RdsEventBus>>;
    delivery: EventDeliveryOptions;
    /** The database stays fenced and unpromoted at least this long after a move starts (Aurora takes tens of seconds). */
    promotionHoldMs?: number;
  }) {
    this.#env = options.env;
    this.globalClusterId = options.globalClusterId;
    this.members = options.members;
    this.#buses = options.buses;
    this.#delivery = options.delivery;
    this.#promotionHoldMs = options.promotionHoldMs ?? 0;
    this.#writer = this.member(options.writerRegion);
  }

  /** Resolves when every event delivery scheduled so far has been handed to its bus's intake and returned. */
  async deliveriesSettled(): Promise<void> {
    while (this.#pendingDeliveries.size > 0) await Promise.allSettled([...this.#pendingDeliveries]);
  }

  /** The regions whose bus receives the events of `move` under the delivery mode. */
  #busRegionsFor(move: WriterMove): string[] {
    switch (this.#delivery.mode) {
      case 'all':
        return this.members.map((member) => member.region);
      case 'old-writer':
        return [move.from.region];
      case 'new-writer':
        return [move.to.region];
      case 'none':
        return [];
    }
  }

  /** The region is gone at once (its servers were killed by the caller): its APIs and event bus fail until regionUp. */
  regionDown(region: string): void {
    this.member(region);
    if (this.#down.has(region)) return;
    let resolve = () => {};
    const back = new Promise<void>((done) => (resolve = done));
    this.#down.set(region, { back, resolve });
  }

  /** The region is back: a failover whose old writer is there can now rebuild it as a replica. */
  regionUp(region: string): void {
    this.#down.get(region)?.resolve();
    this.#down.delete(region);
  }

  isDown(region: string): boolean {
    return this.#down.has(region);
  }

  #emit(move: WriterMove, eventId: string, member: LocalMember, message: string): void {
    const event: LocalRdsEvent = { id: randomUUID(), eventId, member, message, at: new Date() };
    const copies = this.#delivery.duplicate ? 2 : 1;
    for (const region of this.#busRegionsFor(move)) {
      const bus = this.#buses[region];
      // A dead region's EventBridge delivers nothing.
      if (!bus || this.isDown(region)) continue;
      for (let copy = 0; copy < copies; copy += 1) {
        const delivery = sleep(this.#delivery.delayMs + copy * 50).then(() => {
          move.deliveries.push({ region, eventId, at: nowMs() });
          return bus(event).catch(() => undefined);
        });
        this.#pendingDeliveries.add(delivery);
        void delivery.finally(() => this.#pendingDeliveries.delete(delivery));
      }
    }
  }

  get writer(): LocalMember {
    return this.#writer;
  }

  member(regionOrArn: string): LocalMember {
    const found = this.members.find((member) => member.region === regionOrArn || member.dbClusterArn === regionOrArn);
    if (!found) throw new InvalidInputError(`${regionOrArn} is not a member of the local global cluster ${this.globalClusterId}`);
    return found;
  }

  /** Shaped like one DescribeGlobalClusters `GlobalClusters[]` entry. */
  describe(): GlobalCluster {
    const moving = this.#moving;
    // After a failover whose old writer's region is down, the global cluster does not report `available`
    // (the old primary cannot be rebuilt yet), with no FailoverState: the case reconcile.unavailableGraceSeconds bounds.
    const orphaned = moving?.promotedAt !== undefined && moving.mode === 'failover' && this.isDown(moving.from.region);
    return {
      GlobalClusterIdentifier: this.globalClusterId,
      Status: moving && moving.promotedAt === undefined ? (moving.mode === 'switchover' ? 'switching-over' : 'failing-over') : orphaned ? 'failing-over' : 'available',
      Engine: 'aurora-postgresql',
      Endpoint: `${this.globalClusterId}.global-local.global.rds.amazonaws.com`,
      GlobalClusterMembers: this.members.map((member) => ({
        DBClusterArn: member.dbClusterArn,
        IsWriter: member === this.#writer,
        Readers: member === this.#writer ? this.members.filter((other) => other !== member).map((other) => other.dbClusterArn) : [],
        GlobalWriteForwardingStatus: 'disabled',
        ...(member === this.#writer ? {} : { SynchronizationStatus: this.#resyncing.has(member.region) ? 'pending-resync' : 'connected' }),
      })),
      ...(moving && moving.promotedAt === undefined
        ? { FailoverState: { Status: moving.mode === 'switchover' ? 'switching-over' : 'failing-over', FromDbClusterArn: moving.from.dbClusterArn, ToDbClusterArn: moving.to.dbClusterArn, IsDataLossAllowed: moving.mode === 'failover' } }
        : {}),
    } as GlobalCluster;
  }

  /** DescribeDBClusters per member: each region's own server is its cluster (writer) and reader endpoint. */
  memberEndpoints(): Record<string, MemberEndpoints> {
    return Object.fromEntries(this.members.map((member) => [member.dbClusterArn, { writer: member.server.endpoint, reader: member.server.endpoint }]));
  }

  /** Like SwitchoverGlobalCluster / FailoverGlobalCluster: accepted at once, carried out in the background. */
  startMove(targetArn: string, mode: 'switchover' | 'failover'): Decision {
    if (this.#moving) throw new InvalidInputError(`a ${this.#moving.mode} of ${this.globalClusterId} is already in progress`);
    const to = this.member(targetArn);
    if (to === this.#writer) throw new InvalidInputError(`${to.region} is already the writer`);
    if (this.#resyncing.has(to.region)) throw new InvalidInputError(`${to.region} is not connected (still resynchronizing)`);
    const move: WriterMove = { mode, from: this.#writer, to, startedAt: nowMs(), deliveries: [], decisions: [], done: Promise.resolve() };
    this.#moving = move;
    this.moves.push(move);
    move.done = this.#carryOut(move).finally(() => {
      if (this.#moving === move) this.#moving = undefined;
    });
    move.done.catch(() => undefined); // observed by the workflow through the topology; awaited by the drill
    return decide(mode, 'started', `local ${mode} of ${this.globalClusterId} to ${to.region} accepted`);
  }

  async #carryOut(move: WriterMove): Promise<void> {
    const { from, to } = move;
    const emit = (eventId: string, member: LocalMember, message: string) => this.#emit(move, eventId, member, message);
    if (move.mode === 'switchover') {
      emit(RdsEventId.SwitchoverStarted, from, `Global switchover to DB cluster ${to.dbClusterArn} in Region ${to.region} started.`);
      const fenced = await fence(from.server);
      move.decisions.push(fenced.decision);
      emit(RdsEventId.OldPrimaryShutDown, from, `The primary DB cluster ${from.dbClusterArn} no longer accepts writes.`);
      emit(RdsEventId.WaitingForSync, to, `Waiting for ${to.dbClusterArn} to catch up with the primary.`);
      move.decisions.push((await waitForReplay(to.server, fenced.detail.lsn)).decision);
    } else if (this.isDown(from.region)) {
      move.decisions.push(decide(`failover:${from.region}`, 'gone', `${from.region} is down (killed, not fenced): promoting what ${to.region} has replayed`));
    } else {
      // Unplanned: the old writer is gone; promote what the target has (acknowledged commits may be lost).
      await from.server.stop();
      move.decisions.push(decide(`failover:${from.region}`, 'stopped', `${from.region} stopped at once, as in a regional outage`));
    }
    const holdMs = move.startedAt + this.#promotionHoldMs - nowMs();
    if (holdMs > 0) {
      // Aurora's own switchover window: the old writer is fenced, the new one not yet promoted.
      await sleep(holdMs);
      move.decisions.push(decide(`promotion:${to.region}`, 'held', `promotion held ${Math.round(holdMs)} ms more to stand in for Aurora's switchover window`));
    }
    const promoted = await promote(to.server);
    move.decisions.push(promoted.decision);
    move.promotedAt = promoted.endedAt;
    this.#resyncing.add(from.region);
    this.#writer = to;
    if (move.mode === 'switchover') {
      emit(RdsEventId.NewPrimaryPromoted, to, `DB cluster ${to.dbClusterArn} was promoted to primary.`);
      emit(RdsEventId.SwitchoverFinished, from, `Global switchover to DB cluster ${to.dbClusterArn} in Region ${to.region} finished.`);
    } else {
      emit(RdsEventId.FailoverCompleted, to, `Global failover to DB cluster ${to.dbClusterArn} in Region ${to.region} completed.`);
    }
    const down = this.#down.get(from.region);
    if (down) {
      // Aurora rebuilds the old primary as a secondary only once its region is back; it never takes a write again.
      move.decisions.push(decide(`rejoin:${from.region}`, 'waiting', `${from.region} is down: it is rebuilt as a replica of ${to.region} when it returns`));
      await down.back;
    }
    const demoted = await demoteToReplica(this.#env, from.server, to.server);
    move.decisions.push(demoted.decision);
    this.#resyncing.delete(from.region);
    move.rejoinedAt = demoted.endedAt;
  }

  /** The writer's own word: it is not in recovery. */
  async verifyWriter(dbClusterArn: string): Promise<{ ok: boolean; reason: string }> {
    const member = this.member(dbClusterArn);
    const inRecovery = await member.server.isInRecovery();
    return inRecovery
      ? { ok: false, reason: `${member.region} is still in recovery (not promoted)` }
      : { ok: true, reason: `${member.region} answers pg_is_in_recovery() = false` };
  }

  /**
   * The writer's flushed WAL position and its own clock, read just before it dies: every commit it had
   * acknowledged when the read started is at or below `lsn` (a commit is acknowledged only once flushed).
   */
  async writerFlushedLsn(dbClusterArn: string): Promise<{ lsn: string; clockMs: number }> {
    const member = this.member(dbClusterArn);
    const rows = await member.server.query<{ lsn: string; clock_ms: number }>(
      'SELECT pg_current_wal_flush_lsn()::text AS lsn, (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS clock_ms',
    );
    if (!rows[0]) throw new Error(`${member.region} returned no WAL position`);
    return { lsn: rows[0].lsn, clockMs: Number(rows[0].clock_ms) };
  }

  /**
   * The RPO lag of a replica against a writer that died having flushed `writerLsn` (its clock then:
   * `writerClockMs`), as RPO is defined: the flushed WAL the replica never received, in bytes, and the time
   * between the replica's last replayed commit and the writer's death (under steady load, the RPO in time).
   */
  async rpoLagAgainst(dbClusterArn: string, writerLsn: string, writerClockMs: number): Promise<{ receivedLsn: string; lagBytes: number; lagMs?: number }> {
    const member = this.member(dbClusterArn);
    const rows = await member.server.query<{ received: string | null; lag_bytes: string | null; lag_ms: string | null }>(
      `SELECT pg_last_wal_receive_lsn()::text AS received,
              greatest(0, pg_wal_lsn_diff($1::pg_lsn, pg_last_wal_receive_lsn()))::bigint AS lag_bytes,
              greatest(0, round($2::float8 - extract(epoch FROM pg_last_xact_replay_timestamp()) * 1000))::bigint AS lag_ms`,
      [writerLsn, writerClockMs],
    );
    const row = rows[0];
    if (!row?.received || row.lag_bytes === null) throw new Error(`${member.region} has received no WAL by streaming: no RPO lag to measure`);
    return { receivedLsn: row.received, lagBytes: Number(row.lag_bytes), ...(row.lag_ms === null ? {} : { lagMs: Number(row.lag_ms) }) };
  }

  /** Replication lag of a replica in milliseconds (0 when it has replayed everything it received). */
  async replicationLagMs(dbClusterArn: string): Promise<number> {
    const member = this.member(dbClusterArn);
    const rows = await member.server.query<{ lag_ms: string | null }>(
      `SELECT CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
                   ELSE round(extract(epoch FROM now() - pg_last_xact_replay_timestamp()) * 1000) END AS lag_ms`,
    );
    return Number(rows[0]?.lag_ms ?? 0);
  }
}
