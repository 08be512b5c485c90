/**
 * The local global cluster primitives on real PostgreSQL servers: a switchover and a failback return the
 * roles, and every way a run can end (success, exception, SIGTERM) leaves no process, port or temp dir.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { locateBinaries, MissingBinaryError } from '../../lib/local/binaries.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../../lib/local/environment.ts';
import { createReplica, demoteToReplica, fence, initPrimary, promote, waitForReplay } from '../../lib/local/global-cluster.ts';
import type { LocalPostgres } from '../../lib/local/postgres.ts';

let env: LocalEnvironment | undefined;
afterEach(async () => {
  await env?.cleanup();
  env = undefined;
});

/** Aurora-like switchover from `writer` to `replica`: fence, wait for replay, promote, demote the old writer. */
async function switchover(environment: LocalEnvironment, writer: LocalPostgres, replica: LocalPostgres) {
  const fenced = await fence(writer);
  const replayed = await waitForReplay(replica, fenced.detail.lsn);
  const promoted = await promote(replica);
  const demoted = await demoteToReplica(environment, writer, replica);
  return { steps: [fenced, replayed, promoted, demoted], demotion: demoted.detail.method };
}

async function rowCount(server: LocalPostgres): Promise<number> {
  const rows = await server.query<{ n: string }>('SELECT count(*) AS n FROM events');
  return Number(rows[0]?.n);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Started {
  readonly root: string;
  readonly pids: number[];
  readonly ports: number[];
}

/** Runs the fixture in a child Node process, waits for its JSON line, then applies `end` to the child. */
function runChild(mode: 'wait' | 'throw', end: (pid: number) => void): Promise<{ started: Started; code: number | null }> {
  const script = fileURLToPath(new URL('./fixtures/hold-local-environment.ts', import.meta.url));
  const child = spawn(process.execPath, [script, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let started: Started | undefined;
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    if (!started && stdout.includes('\n')) {
      started = JSON.parse(stdout.split('\n')[0] as string) as Started;
      end(child.pid as number);
    }
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => (started ? resolve({ started, code }) : reject(new Error(`child exited before starting: ${stderr}`))));
  });
}

describe('local global cluster', () => {
  it('switchover A -> B then failback B -> A returns the roles and keeps every write', async () => {
    // Prepare
    env = createLocalEnvironment();
    const a = (await initPrimary(env, 'region-a')).detail.server;
    await a.query('CREATE TABLE events (id serial PRIMARY KEY, written_on text NOT NULL)');
    const b = (await createReplica(env, a, 'region-b')).detail.server;
    await a.query("INSERT INTO events (written_on) VALUES ('region-a')");

    // Act
    const away = await switchover(env, a, b);
    await b.query("INSERT INTO events (written_on) VALUES ('region-b')");
    const back = await switchover(env, b, a);
    await a.query("INSERT INTO events (written_on) VALUES ('region-a again')");
    const fenced = await fence(a);
    await waitForReplay(b, fenced.detail.lsn);

    // Assess
    expect(away.steps.map((step) => step.decision.decision)).toEqual(['fenced', 'caught-up', 'promoted', 'replica']);
    expect(back.steps.map((step) => step.decision.decision)).toEqual(['fenced', 'caught-up', 'promoted', 'replica']);
    expect([away.demotion, back.demotion]).toEqual(['pg_rewind', 'pg_rewind']);
    expect(await a.isInRecovery()).toBe(false);
    expect(await b.isInRecovery()).toBe(true);
    expect([a.role, b.role]).toEqual(['writer', 'replica']);
    expect(await rowCount(a)).toBe(3);
    expect(await rowCount(b)).toBe(3);
    // The fence left by the first switchover was cleared when region-a became a replica, or the insert above would have failed.
  });

  it('a fenced writer refuses new writes', async () => {
    // Prepare
    env = createLocalEnvironment();
    const a = (await initPrimary(env, 'region-a')).detail.server;
    await a.query('CREATE TABLE events (id serial PRIMARY KEY)');

    // Act
    await fence(a);

    // Assess
    await expect(a.query('INSERT INTO events DEFAULT VALUES')).rejects.toMatchObject({ code: '25006' });
  });

  it('cleanup stops every process and removes the temp dir', async () => {
    // Prepare
    env = createLocalEnvironment();
    const a = (await initPrimary(env, 'region-a')).detail.server;
    const b = (await createReplica(env, a, 'region-b')).detail.server;
    const pids = [a.pid, b.pid] as number[];
    const root = env.workspace.root;

    // Act
    const report = await env.cleanup();

    // Assess
    expect(report.failed).toEqual([]);
    expect(report.done).toHaveLength(3);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(existsSync(root)).toBe(false);
    expect(await isListening(a.port)).toBe(false);
    expect(await isListening(b.port)).toBe(false);
  });

  it.each([
    ['SIGTERM', 'wait', (pid: number): void => void process.kill(pid, 'SIGTERM'), 143],
    ['SIGINT', 'wait', (pid: number): void => void process.kill(pid, 'SIGINT'), 130],
    ['an uncaught exception', 'throw', (): void => undefined, 1],
  ] as const)('%s leaves no server process, port or temp dir behind', async (_name, mode, end, exitCode) => {
    // Act
    const { started, code } = await runChild(mode, end);

    // Assess
    expect(code).toBe(exitCode);
    expect(started.pids.filter(isAlive)).toEqual([]);
    expect(existsSync(started.root)).toBe(false);
    for (const port of started.ports) expect(await isListening(port)).toBe(false);
  });

  it('missing binaries fail with the install command', () => {
    // Act
    const attempt = () => locateBinaries({ postgresBinDir: '/nonexistent/bin', pgbouncer: '/nonexistent/pgbouncer' });

    // Assess
    expect(attempt).toThrow(MissingBinaryError);
    expect(attempt).toThrow(/apt-get install postgresql pgbouncer/);
  });
});
