/**
 * The EKS `live` mechanism's in-pod script (lib/core/live-switch-script.ts) against real servers: a writer
 * and its streaming replica (PostgreSQL 15), one real PgBouncer in transaction mode, the real /usr/bin/psql
 * and /bin/sh, with the environment the `pgbouncer-admin` sidecar gets (deploy/kubernetes/pgbouncer.yaml).
 * The script runs as the servers' user, as the sidecar shares PgBouncer's uid in the pod.
 * LIVE_SWITCH_BUSYBOX=/path/to/busybox runs it with busybox sh and applets (timeout, awk, wc, ...) instead,
 * as in the postgres:15-alpine sidecar image.
 */
import { spawn } from 'node:child_process';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { formatEndpoint, type Endpoint } from '../../lib/core/endpoint.ts';
import {
  buildAdminCommandScript,
  buildLiveSwitchScript,
  buildShowRoutesScript,
  parseScriptResult,
  type ScriptResult,
} from '../../lib/core/live-switch-script.ts';
import { effectiveSettings, readPoolMode, setAliasEndpoints } from '../../lib/core/pgbouncer-ini.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../../lib/local/environment.ts';
import { fence, promote, waitForReplay } from '../../lib/local/global-cluster.ts';
import { READ_ALIAS, startWriterReplicaBouncer, WRITE_ALIAS, type StageOptions } from '../support/local-stage.ts';
import { fetchCommittedKeys, startLoad } from '../../lib/local/load-generator.ts';
import { commitsOnServerAfter, missingAcknowledged, summarizeLoad } from '../../lib/local/load-summary.ts';
import { LocalPgBouncer } from '../../lib/local/pgbouncer.ts';
import { LOCAL_HOST, SUPERUSER, sleep, type LocalPostgres } from '../../lib/local/postgres.ts';

const LOAD_MS = 4_000;
const SWITCH_AFTER_MS = 1_500;
const COMMAND_TIMEOUT_SECONDS = 5;
/** The adapter's exec bound is the command bound + 2 s; a script still running after this is a hang. */
const EXEC_OVERHEAD_MS = 2_000;

let env: LocalEnvironment | undefined;
afterEach(async () => {
  const report = await env?.cleanup();
  env = undefined;
  expect(report?.failed ?? []).toEqual([]);
});

interface Stage {
  readonly env: LocalEnvironment;
  readonly writer: LocalPostgres;
  readonly replica: LocalPostgres;
  readonly bouncer: LocalPgBouncer;
  /** PATH inside the simulated admin container. */
  readonly adminPath: string;
  readonly writeAlias: string;
  readonly readAlias: string;
}

async function prepareStage(options: StageOptions = {}): Promise<Stage> {
  const local = createLocalEnvironment();
  env = local;
  const { writer, replica, bouncer } = await startWriterReplicaBouncer(local, options);
  return {
    env: local,
    writer,
    replica,
    bouncer,
    adminPath: await adminContainerPath(local),
    writeAlias: options.writeAlias ?? WRITE_ALIAS,
    readAlias: options.readAlias ?? READ_ALIAS,
  };
}

/** BEGIN without COMMIT through the write alias: pins one server connection, so PAUSE must wait for it. */
async function holdTransactionOpen(stage: Stage): Promise<pg.Client> {
  const holder = new pg.Client({ ...stage.bouncer.endpoint, user: SUPERUSER, database: WRITE_ALIAS });
  holder.on('error', () => undefined);
  await holder.connect();
  await holder.query('BEGIN');
  await holder.query('SELECT txid_current()');
  return holder;
}

interface ScriptRun {
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly elapsedMs: number;
  readonly result: ScriptResult;
}

const BUSYBOX = process.env.LIVE_SWITCH_BUSYBOX;
const SCRIPT_TOOLS = ['sh', 'timeout', 'awk', 'wc', 'tr', 'mv', 'rm', 'cat', 'head'];

/** PATH for the script: the Debian tools, or a dir of busybox applets (+ the real psql) in front of them. */
async function adminContainerPath(local: LocalEnvironment): Promise<string> {
  if (!BUSYBOX) return '/usr/bin:/bin';
  const bin = join(local.workspace.root, 'busybox-bin');
  await mkdir(bin, { recursive: true });
  await Promise.all([...SCRIPT_TOOLS.map((tool) => symlink(BUSYBOX, join(bin, tool))), symlink('/usr/bin/psql', join(bin, 'psql'))]);
  return bin;
}

/**
 * `sh -c <script>` as the pod's admin container runs it: PG* for the admin console, PGBOUNCER_CONFIG_DIR =
 * the directory of the running PgBouncer's ini, no password (trust on 127.0.0.1), the ini on stdin.
 */
function runInAdminContainer(stage: Stage, script: string, stdin = '', options: { readonly closeStdout?: boolean } = {}): Promise<ScriptRun> {
  const path = stage.adminPath;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(BUSYBOX ? join(path, 'sh') : '/bin/sh', ['-c', script], {
      cwd: dirname(stage.bouncer.iniPath),
      env: {
        PATH: path,
        HOME: stage.env.workspace.root,
        LANG: 'C.UTF-8',
        PGBOUNCER_CONFIG_DIR: dirname(stage.bouncer.iniPath),
        PGHOST: LOCAL_HOST,
        PGPORT: String(stage.bouncer.port),
        PGUSER: SUPERUSER,
        PGDATABASE: 'pgbouncer',
        PGSSLMODE: 'disable',
        PGCONNECT_TIMEOUT: '5',
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: COMMAND_TIMEOUT_SECONDS * 1000 + EXEC_OVERHEAD_MS,
      killSignal: 'SIGKILL',
      ...(stage.env.runAs ? { uid: stage.env.runAs.uid, gid: stage.env.runAs.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    // closeStdout: the exec's stdout reader is gone (API server connection dropped): writes get SIGPIPE/EPIPE.
    if (options.closeStdout) child.stdout.destroy();
    else child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (exitCode) => resolve({ exitCode, stderr, elapsedMs: Date.now() - started, result: parseScriptResult(stdout) }));
    child.stdin.end(stdin);
  });
}

function switchScript(stage: Stage, ini: string, expectedWrite: Endpoint, commandTimeoutSeconds = COMMAND_TIMEOUT_SECONDS): string {
  return buildLiveSwitchScript({
    fileName: basename(stage.bouncer.iniPath),
    iniBytes: Buffer.byteLength(ini, 'utf8'),
    writeAlias: stage.writeAlias,
    readAlias: stage.readAlias,
    expectedWrite,
    expectedRead: stage.writer.endpoint,
    // As the EKS adapter decides it: PAUSE only in transaction pool mode.
    pauseWrites: readPoolMode(ini, stage.writeAlias) === 'transaction',
    commandTimeoutSeconds,
  });
}

async function writeAliasRow(stage: Stage) {
  const console = stage.bouncer.console();
  try {
    return (await console.showDatabases()).find((row) => row.name === stage.writeAlias);
  } finally {
    await console.close();
  }
}

/** One INSERT through the write alias, bounded: it only succeeds when the pool is not paused. */
async function writeThroughPooler(stage: Stage, timeoutMs: number): Promise<number> {
  const client = new pg.Client({ ...stage.bouncer.endpoint, user: SUPERUSER, database: stage.writeAlias, query_timeout: timeoutMs, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => undefined);
  try {
    await client.connect();
    const result = await client.query<{ server_port: number }>('SELECT inet_server_port() AS server_port');
    return Number(result.rows[0]?.server_port);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function leftoverScriptFiles(stage: Stage): Promise<string[]> {
  return (await readdir(dirname(stage.bouncer.iniPath))).filter((name) => name.startsWith('.aurora-failover'));
}

describe('EKS live switch script against real PgBouncer 1.18 and psql (transaction mode)', () => {
  it('PAUSE, fence, replay, promote, then the script (rewrite, RELOAD, SHOW DATABASES, RESUME) under ~1000 TPS loses nothing', async () => {
    // Prepare
    const stage = await prepareStage();
    const newIni = setAliasEndpoints(await stage.bouncer.readIni(), [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]);
    const load = startLoad({
      regions: [{ region: 'region-a', pooler: stage.bouncer.endpoint, writeAlias: WRITE_ALIAS, readAlias: READ_ALIAS }],
      clientsPerRegion: 8,
      durationMs: LOAD_MS,
      targetWriteTps: 1_000,
      readEveryWrites: 5,
    });
    await sleep(SWITCH_AFTER_MS);

    // Act: the workflow's pauseWrites, Aurora's switchover, then the adapter's per-pod script.
    const paused = await runInAdminContainer(stage, buildAdminCommandScript('PAUSE', WRITE_ALIAS, COMMAND_TIMEOUT_SECONDS));
    let promotedAt = 0;
    try {
      const fenced = await fence(stage.writer);
      await waitForReplay(stage.replica, fenced.detail.lsn);
      promotedAt = (await promote(stage.replica)).endedAt;
    } finally {
      if (promotedAt === 0) await runInAdminContainer(stage, buildAdminCommandScript('RESUME', WRITE_ALIAS, COMMAND_TIMEOUT_SECONDS));
    }
    const switched = await runInAdminContainer(stage, switchScript(stage, newIni, stage.replica.endpoint), newIni);
    const result = await load.done;

    // Assess
    const summary = summarizeLoad(result);
    const onNewWriter = await fetchCommittedKeys(stage.replica);
    const routes = await runInAdminContainer(stage, buildShowRoutesScript(WRITE_ALIAS, READ_ALIAS, COMMAND_TIMEOUT_SECONDS));
    console.info(
      `live switch script: ${JSON.stringify({ tps: Math.round(summary.tps), committed: summary.committed, failed: summary.failed, writeGapMs: summary.writeGapMs, p99Ms: summary.p99Ms, scriptMs: switched.elapsedMs, pauseMs: paused.elapsedMs })}`,
    );
    expect(paused.result).toMatchObject({ ok: true, status: 'paused' });
    expect(switched.stderr).toBe('');
    expect(switched.exitCode).toBe(0);
    expect(switched.result).toEqual({
      ok: true,
      status: 'switched',
      fields: { status: 'switched', write: formatEndpoint(stage.replica.endpoint), read: formatEndpoint(stage.writer.endpoint), paused: '1', hold: 'pause' },
    });
    expect(routes.result.fields).toMatchObject({ write: formatEndpoint(stage.replica.endpoint), read: formatEndpoint(stage.writer.endpoint) });
    expect(await writeAliasRow(stage)).toMatchObject({ host: LOCAL_HOST, port: stage.replica.port, paused: false });
    expect(await stage.bouncer.readIni()).toBe(newIni);
    expect(await leftoverScriptFiles(stage)).toEqual([]);
    expect(summary.failedBySqlstate).toEqual({});
    expect(summary.failed).toBe(0);
    expect(missingAcknowledged(result.commits, onNewWriter)).toEqual([]);
    expect(commitsOnServerAfter(result.commits, stage.writer.port, promotedAt)).toEqual([]);
    // The load really moved (how much depends on how busy the machine is; the count is printed, not asserted).
    expect(result.commits.filter((commit) => commit.serverPort === stage.replica.port).length).toBeGreaterThan(0);
  });

  it('a PAUSE that cannot complete (a transaction held open on the write alias) times out, resumes and reports failure', async () => {
    // Prepare: BEGIN without COMMIT pins one server connection; PAUSE waits for it to be released.
    const stage = await prepareStage();
    const holder = await holdTransactionOpen(stage);
    const newIni = setAliasEndpoints(await stage.bouncer.readIni(), [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]);
    const boundSeconds = 2;

    // Act
    const run = await runInAdminContainer(stage, switchScript(stage, newIni, stage.replica.endpoint, boundSeconds), newIni);

    // Assess
    console.info(`pause bound: ${JSON.stringify({ elapsedMs: run.elapsedMs, exitCode: run.exitCode, status: run.result.status, timeoutExit: run.result.fields.exit })}`);
    expect(run.result).toMatchObject({ ok: false, status: 'pause' });
    // The bound ran out (coreutils timeout: 124, busybox: 143), not some other console error.
    expect(['124', '143']).toContain(run.result.fields.exit);
    expect(run.exitCode).not.toBe(0);
    // Resumed by the EXIT trap: a new client's query is served at once, and nothing was reloaded.
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.writer.port, paused: false });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.writer.port);
    // The held transaction was never disturbed.
    await holder.query('COMMIT');
    await holder.end();
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });

  it('a standalone PAUSE (the workflow pauseWrites) that times out keeps pausing until RESUME: why every failure path resumes', async () => {
    // Prepare
    const stage = await prepareStage();
    const holder = await holdTransactionOpen(stage);

    // Act
    const pause = await runInAdminContainer(stage, buildAdminCommandScript('PAUSE', WRITE_ALIAS, 1));
    await holder.query('COMMIT');
    const stillPaused = await writeAliasRow(stage);
    const heldWrite = await writeThroughPooler(stage, 500).then(
      (port) => `served by :${port}`,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const resume = await runInAdminContainer(stage, buildAdminCommandScript('RESUME', WRITE_ALIAS, COMMAND_TIMEOUT_SECONDS));

    // Assess
    expect(pause.result).toMatchObject({ ok: false, status: 'pause' });
    expect(['124', '143']).toContain(pause.result.fields.exit);
    expect(stillPaused?.paused).toBe(true);
    expect(heldWrite).toMatch(/timeout/i);
    expect(resume.result).toMatchObject({ ok: true, status: 'resumed' });
    expect(await writeAliasRow(stage)).toMatchObject({ paused: false });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.writer.port);
    await holder.end();
  });

  it('refuses a truncated stdin before touching anything, and rolls back and resumes after a RELOAD that does not route as expected', async () => {
    // Prepare
    const stage = await prepareStage();
    const before = await stage.bouncer.readIni();
    const newIni = setAliasEndpoints(before, [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]);
    const elsewhere: Endpoint = { host: LOCAL_HOST, port: stage.replica.port + 1 };

    // Act
    const truncated = await runInAdminContainer(stage, switchScript(stage, newIni, stage.replica.endpoint), newIni.slice(0, -10));
    const iniAfterTruncated = await stage.bouncer.readIni();
    const mismatch = await runInAdminContainer(stage, switchScript(stage, newIni, elsewhere), newIni);

    // Assess
    expect(truncated.result).toMatchObject({ ok: false, status: 'short-stdin' });
    expect(iniAfterTruncated).toBe(before);
    expect(mismatch.result).toMatchObject({ ok: false, status: 'write-alias-not-switched', fields: { now: formatEndpoint(stage.replica.endpoint), 'rolled-back': '1' } });
    // Rolled back: the file PgBouncer ran before is back and loaded, and the alias is resumed.
    expect(await stage.bouncer.readIni()).toBe(before);
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.writer.port, paused: false });
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });
});

describe('hardening against real PgBouncer 1.18 (issue 10)', () => {
  it('switches aliases named app-db and app-db.ro: every admin command quotes the name', async () => {
    // Prepare: the admin console rejects `PAUSE app-db` (invalid command) but accepts `PAUSE "app-db"`.
    const stage = await prepareStage({ writeAlias: 'app-db', readAlias: 'app-db.ro' });
    const newIni = setAliasEndpoints(await stage.bouncer.readIni(), [{ alias: 'app-db', endpoint: stage.replica.endpoint }]);

    // Act
    const paused = await runInAdminContainer(stage, buildAdminCommandScript('PAUSE', 'app-db', COMMAND_TIMEOUT_SECONDS));
    const pausedRow = await writeAliasRow(stage);
    const switched = await runInAdminContainer(stage, switchScript(stage, newIni, stage.replica.endpoint), newIni);
    const routes = await runInAdminContainer(stage, buildShowRoutesScript('app-db', 'app-db.ro', COMMAND_TIMEOUT_SECONDS));
    const resumed = await runInAdminContainer(stage, buildAdminCommandScript('RESUME', 'app-db', COMMAND_TIMEOUT_SECONDS));

    // Assess
    expect(paused.result).toMatchObject({ ok: true, status: 'paused' });
    expect(pausedRow?.paused).toBe(true);
    expect(switched.result).toMatchObject({ ok: true, status: 'switched', fields: { write: formatEndpoint(stage.replica.endpoint), read: formatEndpoint(stage.writer.endpoint) } });
    expect(routes.result.fields).toMatchObject({ write: formatEndpoint(stage.replica.endpoint), read: formatEndpoint(stage.writer.endpoint), paused: '0' });
    expect(resumed.result).toMatchObject({ ok: true, status: 'resumed' });
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.replica.port, paused: false });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.replica.port);
  });

  it('resumes even when the reader of its stdout is gone (SIGPIPE), and the route check reports a paused alias', async () => {
    // Prepare: the switch fails its check after PAUSE, and its stdout is closed: the failure line hits a broken pipe.
    const stage = await prepareStage();
    const newIni = setAliasEndpoints(await stage.bouncer.readIni(), [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]);
    const elsewhere: Endpoint = { host: LOCAL_HOST, port: stage.replica.port + 1 };

    // Act
    const run = await runInAdminContainer(stage, switchScript(stage, newIni, elsewhere), newIni, { closeStdout: true });
    const afterRun = await writeAliasRow(stage);
    // A PAUSE left behind by someone else: the route check must say so, so the pod check does not call it converged.
    await runInAdminContainer(stage, buildAdminCommandScript('PAUSE', WRITE_ALIAS, COMMAND_TIMEOUT_SECONDS));
    const routesWhilePaused = await runInAdminContainer(stage, buildShowRoutesScript(WRITE_ALIAS, READ_ALIAS, COMMAND_TIMEOUT_SECONDS));
    await runInAdminContainer(stage, buildAdminCommandScript('RESUME', WRITE_ALIAS, COMMAND_TIMEOUT_SECONDS));

    // Assess
    expect(run.exitCode).not.toBe(0);
    expect(afterRun?.paused).toBe(false);
    expect(routesWhilePaused.result.fields).toMatchObject({ paused: '1' });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.writer.port);
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });

  it('a RELOAD that exits 0 but does not apply a changed setting rolls the file back, reloads it, resumes and reports', async () => {
    // Prepare: PgBouncer 1.18 answers RELOAD with success, logs "config file loading failed", and has already
    // taken the [databases] lines above the bad value: the routing check alone would call this a success.
    const stage = await prepareStage();
    const before = await stage.bouncer.readIni();
    const newIni = setAliasEndpoints(before, [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]).replace(
      /^pool_mode = transaction$/m,
      'pool_mode = transaction\nserver_lifetime = soon',
    );

    // Act
    const run = await runInAdminContainer(
      stage,
      buildLiveSwitchScript({
        fileName: basename(stage.bouncer.iniPath),
        iniBytes: Buffer.byteLength(newIni, 'utf8'),
        writeAlias: WRITE_ALIAS,
        readAlias: READ_ALIAS,
        expectedWrite: stage.replica.endpoint,
        expectedRead: stage.writer.endpoint,
        pauseWrites: true,
        commandTimeoutSeconds: COMMAND_TIMEOUT_SECONDS,
        // As the EKS adapter passes them: every setting of the new file.
        expectedSettings: effectiveSettings(newIni),
      }),
      newIni,
    );

    // Assess
    console.info(`bad setting: ${JSON.stringify(run.result)} ${run.stderr}`);
    expect(run.result).toMatchObject({ ok: false, status: 'setting-not-applied', fields: { key: 'server_lifetime', 'rolled-back': '1' } });
    expect(await stage.bouncer.readIni()).toBe(before);
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.writer.port, paused: false });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.writer.port);
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });

  it('judges the settings against the new file: a running file that differs in a setting (and a runtime SET) still switches and routes to the new writer', async () => {
    // Prepare: the pod runs the copy its init container made at start, without default_pool_size (an operator
    // added it to the ConfigMap later, which restarts nothing), and an admin SET moved log_pooler_errors at runtime.
    // max_client_conn is written in octal in both files: SHOW CONFIG shows it as 1000.
    const stage = await prepareStage();
    const shipped = (await stage.bouncer.readIni()).replace(/^max_client_conn = 1000$/m, 'max_client_conn = 01750');
    const running = shipped.replace(/^default_pool_size = .*\n/m, '');
    await stage.bouncer.writeIni(running);
    const admin = stage.bouncer.console();
    try {
      await admin.reload();
      await admin.set('log_pooler_errors', '0');
    } finally {
      await admin.close();
    }
    const newIni = setAliasEndpoints(shipped.replace(/^default_pool_size = .*$/m, 'default_pool_size = 30'), [{ alias: WRITE_ALIAS, endpoint: stage.replica.endpoint }]);

    // Act: the script as the EKS adapter builds it (every setting of the new file, lib/adapters/pooler-eks.ts).
    const run = await runInAdminContainer(
      stage,
      buildLiveSwitchScript({
        fileName: basename(stage.bouncer.iniPath),
        iniBytes: Buffer.byteLength(newIni, 'utf8'),
        writeAlias: WRITE_ALIAS,
        readAlias: READ_ALIAS,
        expectedWrite: stage.replica.endpoint,
        expectedRead: stage.writer.endpoint,
        pauseWrites: true,
        commandTimeoutSeconds: COMMAND_TIMEOUT_SECONDS,
        expectedSettings: effectiveSettings(newIni),
      }),
      newIni,
    );

    // Assess
    expect(run.result).toMatchObject({ ok: true, status: 'switched', fields: { write: formatEndpoint(stage.replica.endpoint) } });
    expect(await stage.bouncer.readIni()).toBe(newIni);
    expect(await writeAliasRow(stage)).toMatchObject({ port: stage.replica.port, paused: false });
    expect(await writeThroughPooler(stage, 2_000)).toBe(stage.replica.port);
    const check = stage.bouncer.console();
    try {
      const config = await check.showConfig();
      expect(config.find((row) => row.key === 'default_pool_size')?.value).toBe('30');
    } finally {
      await check.close();
    }
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });
});

describe('EKS live switch script, session pool mode, against real PgBouncer 1.18', () => {
  it('KILL before the fence, a client connecting during the hold, then the script: one error per old session, the newcomer lands on the new writer without a server_login_retry stall', async () => {
    // Prepare: session pooling with PgBouncer's default server_login_retry (15 s).
    const stage = await prepareStage({ writeAlias: 'app-db', readAlias: 'app-db.ro', poolMode: 'session' });
    await stage.bouncer.writeIni((await stage.bouncer.readIni()).replace(/^server_login_retry = \d+$/m, 'server_login_retry = 15'));
    const admin = stage.bouncer.console();
    await admin.reload();
    await admin.close();
    const old = new pg.Client({ ...stage.bouncer.endpoint, user: SUPERUSER, database: 'app-db' });
    old.on('error', () => undefined);
    await old.connect();
    await old.query('SELECT pg_advisory_lock(7)');
    const newIni = setAliasEndpoints(await stage.bouncer.readIni(), [{ alias: 'app-db', endpoint: stage.replica.endpoint }]);

    // Act
    const killed = await runInAdminContainer(stage, buildAdminCommandScript('KILL', 'app-db', COMMAND_TIMEOUT_SECONDS));
    const killedAgain = await runInAdminContainer(stage, buildAdminCommandScript('KILL', 'app-db', COMMAND_TIMEOUT_SECONDS));
    // Its 8 s bound is below server_login_retry: a login stall after RESUME fails it.
    const newcomer = writeThroughPooler(stage, 8_000);
    const fenced = await fence(stage.writer);
    await waitForReplay(stage.replica, fenced.detail.lsn);
    await promote(stage.replica);
    const switched = await runInAdminContainer(
      stage,
      buildLiveSwitchScript({
        fileName: basename(stage.bouncer.iniPath),
        iniBytes: Buffer.byteLength(newIni, 'utf8'),
        writeAlias: 'app-db',
        readAlias: 'app-db.ro',
        expectedWrite: stage.replica.endpoint,
        expectedRead: stage.writer.endpoint,
        hold: 'kill',
        commandTimeoutSeconds: COMMAND_TIMEOUT_SECONDS,
      }),
      newIni,
    );

    // Assess
    expect(killed.result).toMatchObject({ ok: true, status: 'killed', fields: { already: '0' } });
    expect(killedAgain.result).toMatchObject({ ok: true, status: 'killed', fields: { already: '1' } });
    expect(switched.result).toMatchObject({ ok: true, status: 'switched', fields: { write: formatEndpoint(stage.replica.endpoint), hold: 'kill' } });
    expect(await newcomer).toBe(stage.replica.port);
    await expect(old.query('SELECT 1')).rejects.toThrow();
    await old.end().catch(() => undefined);
    expect(await writeThroughPooler(stage, 5_000)).toBe(stage.replica.port);
    const console = stage.bouncer.console();
    try {
      expect((await console.showConfig()).find((row) => row.key === 'server_login_retry')?.value).toBe('15');
    } finally {
      await console.close();
    }
    expect(await writeAliasRow(stage)).toMatchObject({ paused: false });
    expect(await leftoverScriptFiles(stage)).toEqual([]);
  });
});
