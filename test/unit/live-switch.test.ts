/** switchWriterLive's sequence and its failure paths, against a recording console (no servers). */
import { describe, expect, it } from 'vitest';
import type { PgBouncerConsole, PgBouncerDatabaseRow, PoolMode } from '../../lib/core/pgbouncer-console.ts';
import { switchWriterLive } from '../../lib/workflow/live-switch.ts';

const OLD = { host: '10.0.0.1', port: 5432 };
const NEW = { host: '10.0.0.2', port: 5432 };
const READ = { host: '10.0.0.3', port: 5432 };

/** Routes the aliases to OLD until a file is written and RELOAD is sent; records every call in order. */
class RecordingConsole implements PgBouncerConsole {
  readonly calls: string[] = [];
  written = '';
  loaded = '';
  pauseNeverReturns = false;
  reloadIgnored = false;
  async pause(database: string): Promise<void> {
    this.calls.push(`PAUSE ${database}`);
    if (this.pauseNeverReturns) await new Promise(() => undefined);
  }
  async resume(database: string): Promise<void> {
    this.calls.push(`RESUME ${database}`);
  }
  async reload(): Promise<void> {
    this.calls.push('RELOAD');
    if (!this.reloadIgnored) this.loaded = this.written;
  }
  async showDatabases(): Promise<PgBouncerDatabaseRow[]> {
    this.calls.push('SHOW DATABASES');
    const write = this.loaded === 'new' ? NEW : OLD;
    return [
      { name: 'appdb', ...write, database: 'app', poolMode: null, paused: false },
      { name: 'appdb_ro', ...READ, database: 'app', poolMode: null, paused: false },
    ];
  }
  async close(): Promise<void> {}
}

function input(console: RecordingConsole, poolMode: PoolMode, timeoutMs = 1_000) {
  return {
    console,
    writeIni: async (text: string) => {
      console.calls.push('write file');
      console.written = text;
    },
    newIni: 'new',
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
    expect(console.calls).toEqual(['PAUSE appdb', 'write file', 'RELOAD', 'SHOW DATABASES', 'RESUME appdb']);
    expect(result.paused).toBe(true);
    expect(result.decision.decision).toBe('switched');
    expect(result.decision.reason).toContain('appdb -> 10.0.0.2:5432');
  });

  it('session mode: no PAUSE (it would wait for clients to disconnect), and the decision says so', async () => {
    // Prepare
    const console = new RecordingConsole();

    // Act
    const result = await switchWriterLive(input(console, 'session'));

    // Assess
    expect(console.calls).not.toContain('PAUSE appdb');
    expect(console.calls.slice(0, 2)).toEqual(['write file', 'RELOAD']);
    expect(result.paused).toBe(false);
    expect(result.decision.reason).toMatch(/session pool mode: reloaded without PAUSE/);
  });

  it('a PAUSE that does not return within the bound fails with UpstreamTimeoutError and still RESUMEs', async () => {
    // Prepare
    const console = new RecordingConsole();
    console.pauseNeverReturns = true;

    // Act
    const attempt = switchWriterLive(input(console, 'transaction', 100));

    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'UpstreamTimeoutError' });
    expect(console.calls).toEqual(['PAUSE appdb', 'RESUME appdb']);
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
