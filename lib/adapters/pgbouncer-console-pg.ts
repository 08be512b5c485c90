/**
 * PgBouncerConsole over the PostgreSQL protocol with `pg`, for local PgBouncer processes (drill,
 * integration tests). The admin console speaks only the simple query protocol, so every command is
 * `client.query(text)` without parameters; names are checked against a strict alias pattern first.
 */
import pg from 'pg';
import { InvalidInputError, ServiceUnavailableError, UpstreamError } from '../core/errors.ts';
import { isSafeHost } from '../core/endpoint.ts';
import { consoleIdentifier, type PgBouncerConfigRow, type PgBouncerConsole, type PgBouncerDatabaseRow, type PgBouncerPoolRow, type PoolMode } from '../core/pgbouncer-console.ts';

const ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const SETTING = /^[a-z_]{1,63}$/;
const POOL_MODES: readonly string[] = ['session', 'transaction', 'statement'];
const ALREADY_PAUSED = /already (suspended\/)?paused/i;
const NOT_PAUSED = /not paused/i;

export interface PgBouncerConsoleOptions {
  readonly host: string;
  readonly port: number;
  /** A user listed in PgBouncer's `admin_users`. */
  readonly user: string;
  /** Only when the console's auth_type needs one; never logged. */
  readonly password?: string;
  readonly connectTimeoutMs?: number;
}

interface RawDatabaseRow {
  name: string;
  host: string | null;
  port: number | string;
  database: string;
  pool_mode: string | null;
  paused: number | string;
}

export class PgPgBouncerConsole implements PgBouncerConsole {
  readonly #options: PgBouncerConsoleOptions;
  /** Commands other than PAUSE. */
  #main: Promise<pg.Client> | undefined;
  /**
   * PAUSE blocks its connection until every server connection is released; it runs on its own connection
   * so RESUME (e.g. after the caller's bound ran out) can still be sent on the main one.
   */
  #pauser: Promise<pg.Client> | undefined;

  constructor(options: PgBouncerConsoleOptions) {
    this.#options = options;
  }

  async pause(database: string): Promise<void> {
    const alias = checkedAlias(database);
    this.#pauser ??= this.#connect();
    await this.#run(this.#pauser, `PAUSE ${consoleIdentifier(alias)}`, ALREADY_PAUSED);
  }

  async resume(database: string): Promise<void> {
    const alias = checkedAlias(database);
    this.#main ??= this.#connect();
    await this.#run(this.#main, `RESUME ${consoleIdentifier(alias)}`, NOT_PAUSED);
  }

  async kill(database: string): Promise<void> {
    const alias = checkedAlias(database);
    this.#main ??= this.#connect();
    await this.#run(this.#main, `KILL ${consoleIdentifier(alias)}`);
  }

  async reload(): Promise<void> {
    this.#main ??= this.#connect();
    await this.#run(this.#main, 'RELOAD');
  }

  async showDatabases(): Promise<PgBouncerDatabaseRow[]> {
    this.#main ??= this.#connect();
    const result = await this.#run(this.#main, 'SHOW DATABASES');
    return (result?.rows as RawDatabaseRow[] | undefined ?? []).map(parseDatabaseRow);
  }

  async showConfig(): Promise<PgBouncerConfigRow[]> {
    this.#main ??= this.#connect();
    const result = await this.#run(this.#main, 'SHOW CONFIG');
    return ((result?.rows ?? []) as Array<Record<string, unknown>>).map((row) => ({
      key: String(row.key ?? ''),
      value: String(row.value ?? ''),
      default: String(row.default ?? ''),
    }));
  }

  async showPools(): Promise<PgBouncerPoolRow[]> {
    this.#main ??= this.#connect();
    const result = await this.#run(this.#main, 'SHOW POOLS');
    return ((result?.rows ?? []) as Array<Record<string, unknown>>).map((row) => ({
      database: String(row.database ?? ''),
      user: String(row.user ?? ''),
      clWaiting: Number(row.cl_waiting ?? 0),
      svActive: Number(row.sv_active ?? 0),
      svIdle: Number(row.sv_idle ?? 0),
    }));
  }

  async set(key: string, value: string): Promise<void> {
    if (!SETTING.test(key)) throw new InvalidInputError('setting name must be a plain identifier');
    this.#main ??= this.#connect();
    await this.#run(this.#main, `SET ${key} = '${value.replaceAll("'", "''")}'`);
  }

  async close(): Promise<void> {
    const clients = [this.#main, this.#pauser];
    this.#main = undefined;
    this.#pauser = undefined;
    await Promise.all(
      clients.map(async (pending) => {
        const client = await pending?.catch(() => undefined);
        await client?.end().catch(() => undefined);
      }),
    );
  }

  async #connect(): Promise<pg.Client> {
    const client = new pg.Client({
      host: this.#options.host,
      port: this.#options.port,
      user: this.#options.user,
      password: this.#options.password,
      database: 'pgbouncer',
      connectionTimeoutMillis: this.#options.connectTimeoutMs ?? 5_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw new ServiceUnavailableError(`cannot reach the PgBouncer admin console at ${this.#options.host}:${this.#options.port}: ${messageOf(error)}`, { cause: error });
    }
    return client;
  }

  /** Runs one admin command; `tolerated` matches an error that means "already in the wanted state". */
  async #run(pending: Promise<pg.Client>, command: string, tolerated?: RegExp): Promise<pg.QueryResult | undefined> {
    let client: pg.Client;
    try {
      client = await pending;
    } catch (error) {
      // Forget the failed connection so the next command reconnects.
      if (this.#main === pending) this.#main = undefined;
      if (this.#pauser === pending) this.#pauser = undefined;
      throw error;
    }
    try {
      return await client.query(command);
    } catch (error) {
      if (tolerated && tolerated.test(messageOf(error))) return undefined;
      if (error instanceof Error && 'severity' in error) {
        throw new UpstreamError(`PgBouncer refused ${command.split(' ')[0]}: ${messageOf(error)}`, { cause: error });
      }
      if (this.#main === pending) this.#main = undefined;
      if (this.#pauser === pending) this.#pauser = undefined;
      throw new ServiceUnavailableError(`PgBouncer admin console connection failed during ${command.split(' ')[0]}: ${messageOf(error)}`, { cause: error });
    }
  }
}

function checkedAlias(database: string): string {
  if (!ALIAS.test(database)) throw new InvalidInputError('database alias must be a plain identifier');
  return database;
}

/**
 * What a SHOW DATABASES host that is no DNS name or IP literal becomes: PgBouncer reports the host as its
 * ini gave it, and a tab-glued `password=` is part of that value. It never equals a planned host, and it
 * is what reaches reasons, logs and notifications instead of the value.
 */
export const HIDDEN_HOST = '(not a host name; value hidden)';

export function parseDatabaseRow(row: RawDatabaseRow): PgBouncerDatabaseRow {
  const mode = row.pool_mode ?? '';
  return {
    name: row.name,
    host: row.host === '' || row.host === null ? null : isSafeHost(row.host) ? row.host : HIDDEN_HOST,
    port: Number(row.port),
    database: row.database,
    poolMode: POOL_MODES.includes(mode) ? (mode as PoolMode) : null,
    paused: Number(row.paused) === 1,
  };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
