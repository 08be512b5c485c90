/**
 * A local stand-in for an Aurora global cluster: real PostgreSQL servers, one per "region", one writer
 * and streaming replicas. Each primitive is one step of an Aurora-like switchover and returns what it
 * decided, why, and how long it took, so the drill can compose them and report a timeline.
 */
import { decide, type Decision } from '../core/decision.ts';
import { UpstreamTimeoutError, WriterNotVerifiedError } from '../core/errors.ts';
import { nowMs } from './clock.ts';
import type { LocalEnvironment } from './environment.ts';
import { LocalPostgres, LOCAL_HOST, SUPERUSER, sleep } from './postgres.ts';
import { runCommand } from './process.ts';

export interface StepOutcome<Detail = Record<string, never>> {
  readonly decision: Decision;
  /** Epoch ms (sub-ms precision) when the step started and ended. */
  readonly startedAt: number;
  readonly endedAt: number;
  readonly durationMs: number;
  readonly detail: Detail;
}

async function timed<Detail>(run: () => Promise<{ decision: Decision; detail: Detail }>): Promise<StepOutcome<Detail>> {
  const startedAt = nowMs();
  const { decision, detail } = await run();
  const endedAt = nowMs();
  return { decision, detail, startedAt, endedAt, durationMs: endedAt - startedAt };
}

/** initdb + start: the region's server, the global writer. */
export async function initPrimary(env: LocalEnvironment, region: string): Promise<StepOutcome<{ server: LocalPostgres }>> {
  return timed(async () => {
    const server = await LocalPostgres.initialize({ ...env, region });
    await server.start();
    return {
      decision: decide(`init-primary:${region}`, 'started', `initialized and started the writer for ${region} on ${LOCAL_HOST}:${server.port}`),
      detail: { server },
    };
  });
}

/** pg_basebackup from the writer, then start as its streaming replica and wait until it streams. */
export async function createReplica(
  env: LocalEnvironment,
  fromPrimary: LocalPostgres,
  region: string,
  timeoutMs = 30_000,
): Promise<StepOutcome<{ server: LocalPostgres }>> {
  return timed(async () => {
    const server = await LocalPostgres.forReplica({ ...env, region });
    await baseBackup(env, fromPrimary, server);
    await server.writeStandbyConfig(fromPrimary);
    await server.start();
    await waitForStreaming(fromPrimary, server, timeoutMs);
    return {
      decision: decide(`create-replica:${region}`, 'streaming', `${region} streams from ${fromPrimary.region} (base backup, then standby on ${LOCAL_HOST}:${server.port})`),
      detail: { server },
    };
  });
}

export interface FenceDetail {
  /** The writer's WAL write position once nothing can write any more: replicas must replay up to it. */
  readonly lsn: string;
  readonly inFlightAtFence: number;
  readonly terminatedSessions: number;
}

/**
 * Stops new writes on the writer: `default_transaction_read_only = on` (ALTER SYSTEM + reload), waits
 * (bounded) for transactions that already wrote to finish, then terminates every other client session so
 * none keeps a pre-fence setting. Best effort against a superuser who turns read-only off again in a
 * session, as Aurora's own fencing is for a writer that is not shut down.
 */
export async function fence(writer: LocalPostgres, inFlightTimeoutMs = 5_000): Promise<StepOutcome<FenceDetail>> {
  return timed(async () => {
    const client = await writer.connect('aurora-failover-fence');
    try {
      await client.query('ALTER SYSTEM SET default_transaction_read_only = on');
      await client.query('SELECT pg_reload_conf()');
      const countInFlight = async () => {
        const result = await client.query<{ n: string }>(
          `SELECT count(*) AS n FROM pg_stat_activity
            WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() AND backend_xid IS NOT NULL`,
        );
        return Number(result.rows[0]?.n ?? 0);
      };
      const inFlightAtFence = await countInFlight();
      const deadline = Date.now() + inFlightTimeoutMs;
      let inFlight = inFlightAtFence;
      while (inFlight > 0 && Date.now() < deadline) {
        await sleep(10);
        inFlight = await countInFlight();
      }
      const terminated = await client.query<{ n: string }>(
        `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n FROM pg_stat_activity
          WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()`,
      );
      const lsnRow = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = lsnRow.rows[0]?.lsn ?? '0/0';
      const terminatedSessions = Number(terminated.rows[0]?.n ?? 0);
      const waited = inFlight === 0 ? 'no write transaction was left in flight' : `${inFlight} write transaction(s) were still in flight after ${inFlightTimeoutMs} ms and were terminated`;
      return {
        decision: decide(`fence:${writer.region}`, 'fenced', `${writer.region} is read-only at WAL ${lsn}; ${waited}; ${terminatedSessions} session(s) terminated`),
        detail: { lsn, inFlightAtFence, terminatedSessions },
      };
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** Waits (bounded) until the replica has replayed the writer's WAL up to `lsn`. */
export async function waitForReplay(replica: LocalPostgres, lsn: string, timeoutMs = 30_000): Promise<StepOutcome<{ replayLsn: string }>> {
  return timed(async () => {
    const client = await replica.connect('aurora-failover-replay');
    try {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await client.query<{ replay: string | null; caught_up: boolean | null }>(
          'SELECT pg_last_wal_replay_lsn()::text AS replay, pg_wal_lsn_diff(pg_last_wal_replay_lsn(), $1::pg_lsn) >= 0 AS caught_up',
          [lsn],
        );
        const row = result.rows[0];
        if (row?.caught_up) {
          return {
            decision: decide(`wait-for-replay:${replica.region}`, 'caught-up', `${replica.region} replayed WAL ${row.replay} >= writer's ${lsn}`),
            detail: { replayLsn: row.replay ?? lsn },
          };
        }
        if (Date.now() > deadline) {
          throw new UpstreamTimeoutError(`${replica.region} replayed only up to ${row?.replay ?? 'nothing'} of ${lsn} within ${timeoutMs} ms`);
        }
        await sleep(5);
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  });
}

/** pg_promote(wait => true): the replica becomes a writer. Refuses a server that is not in recovery. */
export async function promote(replica: LocalPostgres, timeoutSeconds = 30): Promise<StepOutcome> {
  return timed(async () => {
    if (!(await replica.isInRecovery())) {
      throw new WriterNotVerifiedError(`${replica.region} is not a replica: refusing to promote it`);
    }
    const rows = await replica.query<{ promoted: boolean }>('SELECT pg_promote(true, $1) AS promoted', [timeoutSeconds]);
    if (rows[0]?.promoted !== true) {
      throw new UpstreamTimeoutError(`${replica.region} did not finish promotion within ${timeoutSeconds} s`);
    }
    replica.role = 'writer';
    return { decision: decide(`promote:${replica.region}`, 'promoted', `${replica.region} left recovery and accepts writes`), detail: {} };
  });
}

export type DemotionMethod = 'pg_rewind' | 'base-backup';

/**
 * Turns the old writer into a streaming replica of the new writer so a failback works: stop it, rewind it
 * to the new writer's timeline with pg_rewind (fast), or take a fresh base backup when rewind fails.
 */
export async function demoteToReplica(
  env: LocalEnvironment,
  oldWriter: LocalPostgres,
  newWriter: LocalPostgres,
  timeoutMs = 60_000,
): Promise<StepOutcome<{ method: DemotionMethod }>> {
  return timed(async () => {
    await oldWriter.stop();
    // pg_rewind compares timelines from the source's control file, which a promotion updates only at a checkpoint.
    await newWriter.query('CHECKPOINT');
    let method: DemotionMethod = 'pg_rewind';
    let why = `pg_rewind onto ${newWriter.region}'s timeline`;
    try {
      await runCommand({
        name: `pg_rewind ${oldWriter.region}`,
        command: env.binaries.pgRewind,
        args: ['--target-pgdata', oldWriter.dataDir, '--source-server', newWriter.conninfo(`pg_rewind-${oldWriter.region}`), '--no-sync'],
        runAs: env.runAs,
        cwd: env.workspace.root,
        timeoutMs,
      });
    } catch (error) {
      method = 'base-backup';
      why = `pg_rewind failed (${error instanceof Error ? error.message.split('\n')[0] : String(error)}), took a fresh base backup`;
      await oldWriter.removeData();
      await baseBackup(env, newWriter, oldWriter);
    }
    await oldWriter.writeStandbyConfig(newWriter);
    await oldWriter.start();
    await waitForStreaming(newWriter, oldWriter, timeoutMs);
    return {
      decision: decide(`demote:${oldWriter.region}`, 'replica', `${oldWriter.region} streams from ${newWriter.region} again: ${why}`),
      detail: { method },
    };
  });
}

async function baseBackup(env: LocalEnvironment, source: LocalPostgres, target: LocalPostgres): Promise<void> {
  await runCommand({
    name: `pg_basebackup ${source.region} -> ${target.region}`,
    command: env.binaries.pgBasebackup,
    args: ['-D', target.dataDir, '-h', LOCAL_HOST, '-p', String(source.port), '-U', SUPERUSER, '-X', 'stream', '-c', 'fast', '--no-sync'],
    runAs: env.runAs,
    cwd: env.workspace.root,
  });
}

/** Waits until `writer` reports `replica` (by application_name) as a streaming walsender client. */
async function waitForStreaming(writer: LocalPostgres, replica: LocalPostgres, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await writer.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming'",
      [replica.region],
    );
    if (Number(rows[0]?.n ?? 0) > 0) return;
    if (!replica.running) throw new Error(`${replica.region} exited while starting as a replica: ${replica.output()}`);
    if (Date.now() > deadline) {
      throw new UpstreamTimeoutError(`${replica.region} did not start streaming from ${writer.region} within ${timeoutMs} ms: ${replica.output()}`);
    }
    await sleep(20);
  }
}
