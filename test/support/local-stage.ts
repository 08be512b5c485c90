/**
 * The stage the real-process switch tests share: a writer with the load table, its streaming replica,
 * and one PgBouncer (transaction mode unless asked) routing both aliases to the writer (127.0.0.1 only).
 */
import type { PoolMode } from '../../lib/core/pgbouncer-console.ts';
import type { LocalEnvironment } from '../../lib/local/environment.ts';
import { createReplica, initPrimary } from '../../lib/local/global-cluster.ts';
import { prepareLoadTable } from '../../lib/local/load-generator.ts';
import { LocalPgBouncer } from '../../lib/local/pgbouncer.ts';
import type { LocalPostgres } from '../../lib/local/postgres.ts';

export const WRITE_ALIAS = 'appdb';
export const READ_ALIAS = 'appdb_ro';

export interface WriterReplicaBouncer {
  readonly writer: LocalPostgres;
  readonly replica: LocalPostgres;
  readonly bouncer: LocalPgBouncer;
}

export interface StageOptions {
  readonly writeAlias?: string;
  readonly readAlias?: string;
  readonly poolMode?: PoolMode;
}

export async function startWriterReplicaBouncer(env: LocalEnvironment, options: StageOptions = {}): Promise<WriterReplicaBouncer> {
  const writer = (await initPrimary(env, 'region-a')).detail.server;
  await prepareLoadTable(writer);
  const replica = (await createReplica(env, writer, 'region-b')).detail.server;
  const bouncer = await LocalPgBouncer.start(env, {
    region: 'region-a',
    writeAlias: options.writeAlias ?? WRITE_ALIAS,
    readAlias: options.readAlias ?? READ_ALIAS,
    write: writer.endpoint,
    read: writer.endpoint,
    poolMode: options.poolMode ?? 'transaction',
  });
  return { writer, replica, bouncer };
}
