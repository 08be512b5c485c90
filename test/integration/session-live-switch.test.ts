/**
 * The `live` switch for a write alias in session pool mode, against real servers: a writer and its streaming
 * replica (PostgreSQL 15) and one PgBouncer 1.18. PAUSE is impossible there (it waits for every client to
 * disconnect), so the hold is `KILL <alias>`: every session ends once, new client connections wait inside
 * PgBouncer until `RESUME`, and none of them can reach the old writer after the fence. KILL is sent before
 * RELOAD, never after it (RELOAD then KILL/RECONNECT can stall server logins for server_login_retry).
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolerPlan } from '../../lib/core/types.ts';
import { LocalPoolerTarget } from '../../lib/adapters/pooler-local.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../../lib/local/environment.ts';
import { fence, promote, waitForReplay } from '../../lib/local/global-cluster.ts';
import { READ_ALIAS, startWriterReplicaBouncer, WRITE_ALIAS } from '../support/local-stage.ts';
import type { LocalPgBouncer } from '../../lib/local/pgbouncer.ts';
import { SUPERUSER, type LocalPostgres } from '../../lib/local/postgres.ts';

let env: LocalEnvironment | undefined;
const clients: pg.Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
  const report = await env?.cleanup();
  env = undefined;
  expect(report?.failed ?? []).toEqual([]);
});

interface Stage {
  readonly writer: LocalPostgres;
  readonly replica: LocalPostgres;
  readonly bouncer: LocalPgBouncer;
  readonly target: LocalPoolerTarget;
}

/**
 * Transaction pooling in [pgbouncer], session pooling on the write alias's own line: the pool mode is read
 * per alias from the real file. `serverLoginRetry` replaces the stage's 1 s with PgBouncer's own default.
 */
async function prepareStage(serverLoginRetry = 15): Promise<Stage> {
  env = createLocalEnvironment();
  const { writer, replica, bouncer } = await startWriterReplicaBouncer(env);
  const ini = await bouncer.readIni();
  await bouncer.writeIni(
    ini
      .replace(new RegExp(`^(${WRITE_ALIAS} = .*)$`, 'm'), '$1 pool_mode=session')
      .replace(/^server_login_retry = \d+$/m, `server_login_retry = ${serverLoginRetry}`),
  );
  const console = bouncer.console();
  try {
    await console.reload();
  } finally {
    await console.close();
  }
  const target = new LocalPoolerTarget({ target: 'pgbouncer-region-a', region: 'region-a', pooler: bouncer, writeAlias: WRITE_ALIAS, readAlias: READ_ALIAS, strategy: 'live' });
  return { writer, replica, bouncer, target };
}

function writeAliasTo(stage: Stage): PoolerPlan {
  return {
    target: stage.target.target,
    region: 'region-a',
    reloadStrategy: 'live',
    changes: [{ alias: WRITE_ALIAS, role: 'write', from: stage.writer.endpoint, to: stage.replica.endpoint }],
    decision: { step: 'plan', decision: 'change', reason: 'the writer moved to region-b' },
  };
}

async function session(stage: Stage, timeoutMs = 5_000): Promise<pg.Client> {
  const client = new pg.Client({ ...stage.bouncer.endpoint, user: SUPERUSER, database: WRITE_ALIAS, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs });
  client.on('error', () => undefined);
  clients.push(client);
  await client.connect();
  return client;
}

async function serverPort(client: pg.Client): Promise<number> {
  return Number((await client.query<{ port: number }>('SELECT inet_server_port() AS port')).rows[0]?.port);
}

/** What the next statement of a session gets: the server's port, or the error it fails with. */
async function nextStatement(client: pg.Client): Promise<number | string> {
  return serverPort(client).catch((error: unknown) => `error: ${error instanceof Error ? error.message : String(error)}`);
}

async function writeAliasRow(stage: Stage) {
  const console = stage.bouncer.console();
  try {
    return (await console.showDatabases()).find((row) => row.name === WRITE_ALIAS);
  } finally {
    await console.close();
  }
}

describe('live switch of a session-pool-mode write alias (KILL, repoint, verify, RESUME) on real PgBouncer', () => {
  it('an idle session, one inside a transaction and one holding an advisory lock each fail once, then reconnect to the new writer; a client connecting during the hold waits and lands there without a login stall', async () => {
    // Prepare
    const stage = await prepareStage();
    expect((await writeAliasRow(stage))?.poolMode).toBe('session');
    const idle = await session(stage);
    const inTransaction = await session(stage);
    const locker = await session(stage);
    expect(await serverPort(idle)).toBe(stage.writer.port);
    await inTransaction.query('BEGIN');
    await inTransaction.query('SELECT txid_current()');
    await locker.query('SELECT pg_advisory_lock(42)');

    // Act: the workflow's pauseWrites (before the fence), Aurora's switchover, then apply.
    const held = await stage.target.pauseWrites();
    const heldRow = await writeAliasRow(stage);
    let newcomerSettled = false;
    // Its bound (8 s) is below server_login_retry (15 s): a login stall after RESUME fails it.
    const newcomer = session(stage, 8_000).then(async (client) => {
      const port = await serverPort(client);
      newcomerSettled = true;
      return port;
    });
    const fenced = await fence(stage.writer);
    await waitForReplay(stage.replica, fenced.detail.lsn);
    await promote(stage.replica);
    const waitingBeforeResume = !newcomerSettled;
    const applied = await stage.target.apply(writeAliasTo(stage));

    // Assess: one error per session, none after its reconnect, and every connection on the new writer.
    expect(held.decision).toBe('paused');
    expect(held.reason).toMatch(/KILL appdb ended each session once/);
    expect(heldRow?.paused).toBe(true);
    expect(waitingBeforeResume).toBe(true);
    expect(await newcomer).toBe(stage.replica.port);
    expect(applied.decision.reason).toMatch(/appdb was already held/);
    for (const killed of [idle, inTransaction, locker]) expect(await nextStatement(killed)).toMatch(/^error: /);
    const reconnected = await Promise.all([session(stage), session(stage), session(stage)]);
    expect(await Promise.all(reconnected.map(serverPort))).toEqual([stage.replica.port, stage.replica.port, stage.replica.port]);
    // The lock died with its session: a new session on the new writer takes it at once.
    const lock = await reconnected[0]!.query<{ locked: boolean }>('SELECT pg_try_advisory_lock(42) AS locked');
    expect(lock.rows[0]?.locked).toBe(true);
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.replica.port, paused: false });
  });

  it('an unplanned switch (no pauseWrites) KILLs before RELOAD: with server_login_retry = 15 s a new session is served at once', async () => {
    // Prepare: PgBouncer's default server_login_retry; the known race (KILL or RECONNECT right after RELOAD)
    // would stall new server logins for it, beyond this client's 5 s bound.
    const stage = await prepareStage(15);
    const before = await session(stage);
    expect(await serverPort(before)).toBe(stage.writer.port);
    const fenced = await fence(stage.writer);
    await waitForReplay(stage.replica, fenced.detail.lsn);
    await promote(stage.replica);

    // Act
    const applied = await stage.target.apply(writeAliasTo(stage));
    const after = await session(stage, 5_000);

    // Assess
    expect(applied.decision.reason).toMatch(/KILL appdb ended each session once and held new ones/);
    expect(await serverPort(after)).toBe(stage.replica.port);
    expect(await nextStatement(before)).toMatch(/^error: /);
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.replica.port, paused: false });
  });
});
