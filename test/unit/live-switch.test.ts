/** switchWriterLive's sequence and its failure paths, against a recording console (no servers). */
import { describe, expect, it } from 'vitest';
import type { PgBouncerConfigRow, PgBouncerConsole, PgBouncerDatabaseRow, PgBouncerPoolRow, PoolMode } from '../../lib/core/pgbouncer-console.ts';
import { switchWriterLive } from '../../lib/workflow/live-switch.ts';

const OLD = { host: '10.0.0.1', port: 5432 };
const NEW = { host: '10.0.0.2', port: 5432 };
const READ = { host: '10.0.0.3', port: 5432 };
const OLD_INI = '; old\n[pgbouncer]\npool_mode = session\n';
const NEW_INI = '; new\n[pgbouncer]\npool_mode = session\n';

/** Routes the aliases to OLD until a file is written and RELOAD is sent; records every call in order. */
class RecordingConsole implements PgBouncerConsole {
  readonly calls: string[] = [];
  written = '';
  loaded = '';
  pauseNeverReturns = false;
  reloadIgnored = false;
  /** RELOAD "succeeds" but the settings stay at their defaults (a bad value stopped the load). */
  settingsIgnored = false;
  alreadyHeld = false;
  async pause(database: string): Promise<void> {
    this.calls.push(`PAUSE ${database}`);
    if (this.pauseNeverReturns) await new Promise(() => undefined);
  }
  async resume(database: string): Promise<void> {
    this.calls.push(`RESUME ${database}`);
  }
  async kill(database: string): Promise<void> {
    this.calls.push(`KILL ${database}`);
  }
  async showConfig(): Promise<PgBouncerConfigRow[]> {
    this.calls.push('SHOW CONFIG');
    const fromFile = this.loaded.includes('pool_mode = transaction') && !this.settingsIgnored ? 'transaction' : 'session';
    return [
      { key: 'pool_mode', value: fromFile, default: 'session' },
      { key: 'server_login_retry', value: '15', default: '15' },
    ];
  }
  async showPools(): Promise<PgBouncerPoolRow[]> {
    this.calls.push('SHOW POOLS');
    return [{ database: 'appdb', user: 'app', clWaiting: 0, svActive: 1, svIdle: 0 }];
  }
  async set(key: string, value: string): Promise<void> {
    this.calls.push(`SET ${key} = ${value}`);
  }
  async reload(): Promise<void> {
    this.calls.push('RELOAD');
    if (!this.reloadIgnored) this.loaded = this.written;
  }
  async showDatabases(): Promise<PgBouncerDatabaseRow[]> {
    this.calls.push('SHOW DATABASES');
    const write = this.loaded.startsWith('; new') ? NEW : OLD;
    return [
      { name: 'appdb', ...write, database: 'app', poolMode: null, paused: this.alreadyHeld },
      { name: 'appdb_ro', ...READ, database: 'app', poolMode: null, paused: false },
    ];
  }
  async close(): Promise<void> {}
}

function input(console: RecordingConsole, poolMode: PoolMode, timeoutMs = 1_000, newIni = NEW_INI) {
  return {
    console,
    writeIni: async (text: string) => {
      console.calls.push('write file');
      console.written = text;
    },
    newIni,
    previousIni: OLD_INI,
    writeAlias: 'appdb',
    readAlias: 'appdb_ro',
    poolMode,
    expect: { write: NEW, read: READ },
    timeoutMs,
  };
}

describe('switchWriterLive', () => {
  it('transaction mode: PAUSE -> write -> RELOAD -> verify -> RESUME', async () => {
    // Prepare
    const console = new RecordingConsole();

    // Act
    const result = await switchWriterLive(input(console, 'transaction'));

    // Assess
    expect(console.calls).toEqual(['SHOW CONFIG', 'PAUSE appdb', 'write file', 'RELOAD', 'SHOW DATABASES', 'SHOW CONFIG', 'RESUME appdb']);
    expect(result.paused).toBe(true);
    expect(result.decision.decision).toBe('switched');
    expect(result.decision.reason).toContain('appdb -> 10.0.0.2:5432');
  });

  it('session mode: KILL before the file changes and RELOAD (never after it), no PAUSE, and RESUME last', async () => {
    // Prepare
    const console = new RecordingConsole();

    // Act
    const result = await switchWriterLive(input(console, 'session'));

    // Assess: KILL after RELOAD could race PgBouncer's server login and stall the pool for server_login_retry.
    expect(console.calls).toEqual([
      'SHOW CONFIG',
      'SHOW DATABASES',
      'KILL appdb',
      'write file',
      'RELOAD',
      'SHOW DATABASES',
      'SHOW CONFIG',
      // A client that connected during the hold made PgBouncer start and abort a server login (pause mode):
      // without this, new sessions would wait server_login_retry after RESUME.
      'SET server_login_retry = 0',
      'RESUME appdb',
      'SHOW POOLS',
      'SET server_login_retry = 15',
    ]);
    expect(result).toMatchObject({ paused: true, hold: 'kill' });
    expect(result.decision.reason).toMatch(/session pool mode: KILL appdb ended each session once and held new ones/);
  });

  it('session mode: an alias already held before the fence is not killed twice (its waiting clients would fail again)', async () => {
    // Prepare
    const console = new RecordingConsole();
    console.alreadyHeld = true;

    // Act
    const result = await switchWriterLive(input(console, 'session'));

    // Assess
    expect(console.calls).not.toContain('KILL appdb');
    expect(console.calls.slice(-4)).toEqual(['SET server_login_retry = 0', 'RESUME appdb', 'SHOW POOLS', 'SET server_login_retry = 15']);
    expect(result.decision.reason).toMatch(/appdb was already held/);
  });

  it('a RELOAD that does not apply a changed setting puts the previous file back, reloads it, then RESUMEs', async () => {
    // Prepare
    const console = new RecordingConsole();
    console.settingsIgnored = true;

    // Act
    const attempt = switchWriterLive(input(console, 'transaction', 1_000, '; new\n[pgbouncer]\npool_mode = transaction\n'));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'TargetFailedError', message: expect.stringMatching(/SHOW CONFIG shows pool_mode not as pgbouncer.ini says.*put the previous pgbouncer.ini back/) });
    expect(console.calls.slice(-4)).toEqual(['SHOW CONFIG', 'write file', 'RELOAD', 'RESUME appdb']);
    expect(console.written).toBe(OLD_INI);
  });

  it('a PAUSE that does not return within the bound fails with UpstreamTimeoutError and still RESUMEs', async () => {
    // Prepare
    const console = new RecordingConsole();
    console.pauseNeverReturns = true;

    // Act
    const attempt = switchWriterLive(input(console, 'transaction', 100));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'UpstreamTimeoutError' });
    expect(console.calls).toEqual(['SHOW CONFIG', 'PAUSE appdb', 'RESUME appdb']);
  });

  it('PgBouncer still routing to the old writer after RELOAD fails the target and still RESUMEs', async () => {
    // Prepare
    const console = new RecordingConsole();
    console.reloadIgnored = true;

    // Act
    const attempt = switchWriterLive(input(console, 'transaction', 200));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'TargetFailedError', message: expect.stringContaining('routes appdb to 10.0.0.1:5432, not 10.0.0.2:5432') });
    expect(console.calls.at(-1)).toBe('RESUME appdb');
  });
});
