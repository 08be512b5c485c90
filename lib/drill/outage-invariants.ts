/**
 * Pure checks of scenario region-outage (issue 9) over what the load generator recorded: the returning
 * region's clients, let back in when the region returns, never commit on the old writer and reach the new
 * writer after the repoint; lost acknowledged commits are reported next to the RPO lag at the writer's
 * death, and none may be lost that the replica had received.
 */
import type { CommitRecord, ErrorRecord } from '../local/load-generator.ts';
import type { DrillInvariant, DrillReturningWrites } from './results.ts';

/** Epoch-ms window of the returning region's clients and the two writers' ports. */
export interface ReturningClientsInput {
  readonly region: string;
  readonly oldWriterPort: number;
  readonly newWriterPort: number;
  /** Its clients were let back in (the region returned). */
  readonly clientsBackAt: number;
  /** Its own scheduled reconcile repointed its PgBouncer. */
  readonly repointedAt: number;
  /** The end of the window (the failback's start: the old writer may be writer again after it). */
  readonly until: number;
  readonly commits: readonly CommitRecord[];
  readonly errors: readonly ErrorRecord[];
}

export function returningClientsCheck(input: ReturningClientsInput): { summary: DrillReturningWrites; invariants: DrillInvariant[] } {
  const own = (record: { region: string }) => record.region === input.region;
  const refused = input.errors.filter((error) => own(error) && error.operation !== 'read' && error.at >= input.clientsBackAt && error.at < input.repointedAt);
  const refusedBySqlstate: Record<string, number> = {};
  for (const error of refused) refusedBySqlstate[error.code] = (refusedBySqlstate[error.code] ?? 0) + 1;
  const onOld = input.commits.filter((commit) => own(commit) && commit.serverPort === input.oldWriterPort && commit.endedAt >= input.clientsBackAt && commit.endedAt < input.until);
  const onNew = input.commits.filter((commit) => own(commit) && commit.serverPort === input.newWriterPort && commit.startedAt >= input.repointedAt && commit.endedAt < input.until);
  const summary: DrillReturningWrites = {
    refusedBeforeRepoint: refused.length,
    refusedBySqlstate,
    committedOnOldWriter: onOld.length,
    committedOnNewWriterAfterRepoint: onNew.length,
  };
  const codes = Object.entries(refusedBySqlstate).map(([code, count]) => `${code} x${count}`).join(', ') || 'none';
  return {
    summary,
    invariants: [
      {
        name: `the returning region's clients, back when the region returns, commit nothing on the old writer`,
        ok: onOld.length === 0,
        detail: `${onOld.length} write(s) from ${input.region} acknowledged by the old writer after its return; ${refused.length} refused before the repoint (${codes})`,
      },
      {
        name: `after its repoint, the returning region's writes reach the new writer`,
        ok: onNew.length > 0,
        detail: `${onNew.length} write(s) from ${input.region} acknowledged by the new writer between its repoint and the failback`,
      },
    ],
  };
}

/** The RPO at the writer's death: its flushed LSN read just before the SIGKILL against the replica's received LSN. */
export interface RpoInput {
  /** Epoch ms when the writer's flush LSN was read (just before the SIGKILL). */
  readonly flushReadAt: number;
  /** Flushed-at-death minus received by the replica, in bytes (0 when the replica had received it all). */
  readonly lagBytes: number;
  /** The writer's death minus the commit time of the replica's last replayed transaction, where known. */
  readonly lagMs?: number;
  /** Acknowledged commits missing on the final writer. */
  readonly lost: readonly CommitRecord[];
}

export function rpoCheck(input: RpoInput): DrillInvariant {
  // A commit acknowledged before the read has its WAL at or below the flush LSN read: with lag 0 the replica has it.
  const unseen = input.lost.filter((commit) => commit.endedAt >= input.flushReadAt).length;
  const seen = input.lost.length - unseen;
  return {
    name: 'lost acknowledged commits: reported next to the RPO lag at the writer\'s death, none the replica had received',
    ok: seen === 0 || input.lagBytes > 0,
    detail:
      `${input.lost.length} acknowledged commit(s) missing on the final writer` +
      (unseen ? ` (${unseen} of them acknowledged after the writer's flush LSN was read, in the instant before the SIGKILL)` : '') +
      `; the replica lacked ${input.lagBytes} bytes of the WAL the writer had flushed` +
      (input.lagMs === undefined ? '' : `, its last replayed commit ${input.lagMs} ms before the writer died`),
  };
}
