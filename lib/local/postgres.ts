import { readdirSync, readFileSync } from 'node:fs';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Endpoint } from '../core/endpoint.ts';
import type { CleanupRegistry } from './cleanup.ts';
import type { LocalBinaries } from './binaries.ts';
import type { RunAs } from './os-user.ts';
import { ManagedProcess, runCommand } from './process.ts';
import { freePort } from './ports.ts';
import { own, type Workspace } from './workspace.ts';

export const LOCAL_HOST = '127.0.0.1';
export const SUPERUSER = 'postgres';

export type ServerRole = 'writer' | 'replica';

/**
 * Settings every local server shares (appended to postgresql.conf, so base backups and pg_rewind carry them).
 * fsync=off: these servers never survive an OS crash, and a process crash loses nothing with fsync off
 * (the data is in the kernel's page cache). synchronous_commit stays on: a commit is acknowledged only after
 * its WAL is written, which is what the lost-commit checks rely on; streaming sends only that WAL.
 * wal_log_hints + full_page_writes: pg_rewind needs them to turn an old writer into a replica.
 */
const SHARED_SETTINGS = `
# --- aurora-failover local cluster settings ---
listen_addresses = '${LOCAL_HOST}'
unix_socket_directories = ''
fsync = off
synchronous_commit = on
full_page_writes = on
wal_log_hints = on
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = 512MB
hot_standby = on
max_connections = 200
shared_buffers = 64MB
wal_writer_delay = 10ms
wal_receiver_status_interval = 1s
logging_collector = off
log_min_messages = warning
log_line_prefix = '%m [%p] '
`;

export interface LocalPostgresOptions {
  /** The region this server stands for, e.g. `region-a`. */
  readonly region: string;
  readonly binaries: LocalBinaries;
  readonly workspace: Workspace;
  readonly registry: CleanupRegistry;
  readonly runAs: RunAs | undefined;
}

/** One real PostgreSQL 15 server on 127.0.0.1, run in the foreground under our supervision. */
export class LocalPostgres {
  readonly region: string;
  readonly dataDir: string;
  readonly port: number;
  role: ServerRole;
  readonly #options: LocalPostgresOptions;
  #process: ManagedProcess | undefined;

  private constructor(options: LocalPostgresOptions, dataDir: string, port: number, role: ServerRole) {
    this.#options = options;
    this.region = options.region;
    this.dataDir = dataDir;
    this.port = port;
    this.role = role;
  }

  /** initdb (trust auth on 127.0.0.1, no sync) into a fresh data dir; does not start the server. */
  static async initialize(options: LocalPostgresOptions): Promise<LocalPostgres> {
    const dataDir = join(options.workspace.dir(`pg-${options.region}`), 'data');
    await runCommand({
      name: `initdb ${options.region}`,
      command: options.binaries.initdb,
      args: ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--no-sync', '--no-instructions', '-E', 'UTF8', '--locale=C'],
      runAs: options.runAs,
      cwd: options.workspace.root,
    });
    await appendFile(join(dataDir, 'postgresql.conf'), SHARED_SETTINGS);
    return new LocalPostgres(options, dataDir, await freePort(), 'writer');
  }

  /** A server whose data dir is a base backup of `source` (filled by the caller); not started. */
  static async forReplica(options: LocalPostgresOptions): Promise<LocalPostgres> {
    const parent = options.workspace.dir(`pg-${options.region}`);
    return new LocalPostgres(options, join(parent, 'data'), await freePort(), 'replica');
  }

  get endpoint(): Endpoint {
    return { host: LOCAL_HOST, port: this.port };
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** libpq keyword/value connection string (no password: trust auth on 127.0.0.1). */
  conninfo(applicationName: string): string {
    return `host=${LOCAL_HOST} port=${this.port} user=${SUPERUSER} dbname=postgres application_name=${applicationName}`;
  }

  /** Starts the server and waits (bounded) until it accepts connections. */
  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) return;
    const process = ManagedProcess.start(
      {
        name: `postgres ${this.region} :${this.port}`,
        command: this.#options.binaries.postgres,
        args: ['-D', this.dataDir, '-p', String(this.port)],
        runAs: this.#options.runAs,
        // SIGTERM is a smart shutdown that waits for every session to end; SIGINT ends them (fast shutdown).
        stopSignal: 'SIGINT',
        cwd: this.#options.workspace.root,
      },
      this.#options.registry,
    );
    this.#process = process;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!process.running) throw new Error(`${process.name} exited during startup: ${process.output()}`);
      try {
        await this.query('SELECT 1');
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          await process.stop({ signal: 'SIGQUIT', graceMs: 2_000 });
          throw new Error(`${process.name} did not accept connections within ${timeoutMs} ms: ${process.output()}`, { cause: error });
        }
        await sleep(50);
      }
    }
  }

  /** Fast shutdown (SIGINT: clean, rolls back open transactions), SIGKILL after the bound. */
  async stop(graceMs = 15_000): Promise<void> {
    await this.#process?.stop({ signal: 'SIGINT', graceMs });
  }

  /**
   * SIGKILL to the postmaster and every one of its children at once, as when a host vanishes: no shutdown
   * checkpoint, no fence, and no backend left to finish a commit after the postmaster is gone.
   */
  async kill(): Promise<void> {
    const process = this.#process;
    if (!process?.running || process.pid === undefined) return;
    for (const pid of [...childPids(process.pid), process.pid]) {
      try {
        globalThis.process.kill(pid, 'SIGKILL');
      } catch {
        // It exited on its own meanwhile.
      }
    }
    await process.exited;
  }

  /** The last lines the server logged. */
  output(): string {
    return this.#process?.output() ?? '';
  }

  connect(applicationName = 'aurora-failover-control'): Promise<pg.Client> {
    return connectClient({ ...this.endpoint, user: SUPERUSER, database: 'postgres', application_name: applicationName });
  }

  /** One statement on a short-lived connection. */
  async query<Row extends pg.QueryResultRow = pg.QueryResultRow>(text: string, values?: readonly unknown[]): Promise<Row[]> {
    const client = await this.connect();
    try {
      const result = await client.query<Row>(text, values as unknown[] | undefined);
      return result.rows;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  async isInRecovery(): Promise<boolean> {
    const rows = await this.query<{ recovery: boolean }>('SELECT pg_is_in_recovery() AS recovery');
    return rows[0]?.recovery === true;
  }

  /** Makes this (stopped) data dir a streaming standby of `primary`: standby.signal + primary_conninfo. */
  async writeStandbyConfig(primary: LocalPostgres): Promise<void> {
    // Overwrite postgresql.auto.conf wholesale: it also drops a fence (default_transaction_read_only) that
    // ALTER SYSTEM left behind when this server was the writer, so a later promotion accepts writes.
    const autoConf = join(this.dataDir, 'postgresql.auto.conf');
    await writeFile(autoConf, `# written by aurora-failover local cluster\nprimary_conninfo = '${primary.conninfo(this.region)}'\n`);
    const signal = join(this.dataDir, 'standby.signal');
    await writeFile(signal, '');
    own(autoConf, this.#options.runAs);
    own(signal, this.#options.runAs);
    this.role = 'replica';
  }

  /** Empties the data dir (for a fresh base backup). Server must be stopped. */
  async removeData(): Promise<void> {
    await rm(this.dataDir, { recursive: true, force: true });
  }

  get options(): LocalPostgresOptions {
    return this.#options;
  }
}

export async function connectClient(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client({ connectionTimeoutMillis: 5_000, ...config });
  // An idle control connection whose server goes away must not crash the process.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** Direct children of `parent` (from /proc/<pid>/stat: pid (comm) state ppid ...). */
function childPids(parent: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === parent) children.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return children;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
