/**
 * The `live` switch against real servers: a writer and its streaming replica (PostgreSQL 15) and one
 * PgBouncer in transaction mode, under ~1000 write TPS through PgBouncer. The switchover does what Aurora
 * does (fence, wait for replay, promote) and PgBouncer follows with PAUSE -> rewrite -> RELOAD -> RESUME.
 * The `reload` strategy under the same load is the baseline that must lose transactions.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PoolerPlan } from '../../lib/core/types.ts';
import { LocalPoolerTarget, type LocalSwitchStrategy } from '../../lib/adapters/pooler-local.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../../lib/local/environment.ts';
import { fence, promote, waitForReplay } from '../../lib/local/global-cluster.ts';
import { READ_ALIAS, startWriterReplicaBouncer, WRITE_ALIAS } from '../support/local-stage.ts';
import { fetchCommittedKeys, startLoad } from '../../lib/local/load-generator.ts';
import { commitsOnServerAfter, missingAcknowledged, summarizeLoad } from '../../lib/local/load-summary.ts';
import { LocalPgBouncer } from '../../lib/local/pgbouncer.ts';
import type { LocalPostgres } from '../../lib/local/postgres.ts';
import { sleep } from '../../lib/local/postgres.ts';

const LOAD_MS = 4_000;
const SWITCH_AFTER_MS = 1_500;

let env: LocalEnvironment | undefined;
afterEach(async () => {
  const report = await env?.cleanup();
  env = undefined;
  expect(report?.failed ?? []).toEqual([]);
});

interface Stage {
  readonly writer: LocalPostgres;
  readonly replica: LocalPostgres;
  readonly target: LocalPoolerTarget;
  readonly bouncer: LocalPgBouncer;
}

async function prepareStage(strategy: LocalSwitchStrategy): Promise<Stage> {
  env = createLocalEnvironment();
  const { writer, replica, bouncer } = await startWriterReplicaBouncer(env);
  const target = new LocalPoolerTarget({ target: 'pgbouncer-region-a', region: 'region-a', pooler: bouncer, writeAlias: WRITE_ALIAS, readAlias: READ_ALIAS, strategy });
  return { writer, replica, target, bouncer };
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

function startWriteLoad(stage: Stage) {
  return startLoad({
    regions: [{ region: 'region-a', pooler: stage.bouncer.endpoint, writeAlias: WRITE_ALIAS, readAlias: READ_ALIAS }],
    clientsPerRegion: 8,
    durationMs: LOAD_MS,
    targetWriteTps: 1_000,
    readEveryWrites: 5,
  });
}

describe('switchover under write load through one PgBouncer (transaction mode)', () => {
  it('live: PAUSE, fence, replay, promote, rewrite + RELOAD, RESUME loses no transaction and no acknowledged commit', async () => {
    // Prepare
    const stage = await prepareStage('live');
    const load = startWriteLoad(stage);
    await sleep(SWITCH_AFTER_MS);

    // Act
    const paused = await stage.target.pauseWrites();
    let promotedAt = 0;
    try {
      const fenced = await fence(stage.writer);
      await waitForReplay(stage.replica, fenced.detail.lsn);
      promotedAt = (await promote(stage.replica)).endedAt;
    } finally {
      // apply() ends with RESUME; on a failure above, resume here so the load is not held.
      if (promotedAt === 0) await stage.target.resumeWrites();
    }
    const applied = await stage.target.apply(writeAliasTo(stage));
    const result = await load.done;
    await stage.target.close();

    // Assess
    const summary = summarizeLoad(result);
    const onNewWriter = await fetchCommittedKeys(stage.replica);
    console.info(`live: ${JSON.stringify({ ...summary, acknowledged: summary.acknowledged.length, switch: applied.decision.reason })}`);
    expect(paused.decision).toBe('paused');
    expect(applied.decision.decision).toBe('switched');
    expect(summary.failedBySqlstate).toEqual({});
    expect(summary.failed).toBe(0);
    expect(missingAcknowledged(result.commits, onNewWriter)).toEqual([]);
    expect(commitsOnServerAfter(result.commits, stage.writer.port, promotedAt)).toEqual([]);
    // The load really moved: commits acknowledged by the new writer after the switch. TPS and the write
    // gap are printed above; they depend on how busy the machine is, so no test asserts them.
    expect(result.commits.filter((commit) => commit.serverPort === stage.replica.port).length).toBeGreaterThan(0);
  });

  it('reload without PAUSE under the same load fails transactions (the baseline live must beat)', async () => {
    // Prepare
    const stage = await prepareStage('reload');
    const load = startWriteLoad(stage);
    await sleep(SWITCH_AFTER_MS);

    // Act
    const fenced = await fence(stage.writer);
    await waitForReplay(stage.replica, fenced.detail.lsn);
    const promotedAt = (await promote(stage.replica)).endedAt;
    const applied = await stage.target.apply(writeAliasTo(stage));
    const result = await load.done;
    await stage.target.close();

    // Assess
    const summary = summarizeLoad(result);
    const onNewWriter = await fetchCommittedKeys(stage.replica);
    console.info(`reload: ${JSON.stringify({ ...summary, acknowledged: summary.acknowledged.length })}`);
    expect(applied.decision.decision).toBe('switched');
    expect(summary.failed).toBeGreaterThan(0);
    // Fencing still protects acknowledged commits; only clients suffer.
    expect(missingAcknowledged(result.commits, onNewWriter)).toEqual([]);
    expect(commitsOnServerAfter(result.commits, stage.writer.port, promotedAt)).toEqual([]);
  });

  it('refuses a stale change: the ini no longer routes the write alias where the plan expected', async () => {
    // Prepare
    const stage = await prepareStage('live');
    const stale: PoolerPlan = { ...writeAliasTo(stage), changes: [{ alias: WRITE_ALIAS, role: 'write', from: { host: '127.0.0.1', port: 1 }, to: stage.replica.endpoint }] };

    // Act
    const attempt = stage.target.apply(stale);

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'StaleChangeError' });
    expect((await stage.target.observe()).aliases[WRITE_ALIAS]).toEqual(stage.writer.endpoint);
    await stage.target.close();
  });

  it('the admin console over pg tolerates repeated PAUSE/RESUME and a PAUSE outlives its connection', async () => {
    // Prepare
    const stage = await prepareStage('live');
    const first = stage.bouncer.console();
    const second = stage.bouncer.console();

    // Act
    await first.pause(WRITE_ALIAS);
    await first.pause(WRITE_ALIAS);
    await first.close();
    const whilePaused = await second.showDatabases();
    await second.resume(WRITE_ALIAS);
    await second.resume(WRITE_ALIAS);
    const afterResume = await second.showDatabases();
    await second.close();

    // Assess
    const writeRow = (rows: typeof whilePaused) => rows.find((row) => row.name === WRITE_ALIAS);
    expect(writeRow(whilePaused)).toMatchObject({ host: '127.0.0.1', port: stage.writer.port, database: 'postgres', paused: true });
    expect(writeRow(afterResume)?.paused).toBe(false);
    expect(whilePaused.find((row) => row.name === READ_ALIAS)?.paused).toBe(false);
  });
});
