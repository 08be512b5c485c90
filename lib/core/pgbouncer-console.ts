/**
 * The PgBouncer admin console operations the live switch needs. Implemented directly over the
 * PostgreSQL protocol (local drill, integration tests) and, in EKS, by a script run through the
 * Kubernetes exec API in each pod's admin container.
 */
export type PoolMode = 'session' | 'transaction' | 'statement';

/** One row of `SHOW DATABASES`, the columns the service uses. */
export interface PgBouncerDatabaseRow {
  readonly name: string;
  readonly host: string | null;
  readonly port: number;
  readonly database: string;
  readonly poolMode: PoolMode | null;
  readonly paused: boolean;
}

/** One row of `SHOW CONFIG`. */
export interface PgBouncerConfigRow {
  readonly key: string;
  readonly value: string;
  readonly default: string;
}

/** One row of `SHOW POOLS`: the counts the live switch waits on. */
export interface PgBouncerPoolRow {
  readonly database: string;
  readonly user: string;
  /** Clients waiting for a server connection (held by PAUSE/KILL, or by a server login that has not happened). */
  readonly clWaiting: number;
  readonly svActive: number;
  readonly svIdle: number;
}

/**
 * A database name as an admin console argument. The console's grammar takes a bare word only for
 * `[0-9a-z_]+` (src/admin.c WORD) and rejects `PAUSE app-db` as an invalid command; a double-quoted word
 * (`""` for a quote) is taken verbatim, so every name is quoted.
 *
 * @example consoleIdentifier('app-db.ro') // '"app-db.ro"'
 */
export function consoleIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

export interface PgBouncerConsole {
  /** `PAUSE db`: resolves once every server connection of `db` is released; new queries then wait. */
  pause(database: string): Promise<void>;
  /** `RESUME db`. Resuming a database that is not paused is not an error. */
  resume(database: string): Promise<void>;
  /**
   * `KILL db`: drops every client and server connection of `db` at once and holds new client connections
   * (SHOW DATABASES `paused` = 1) until `RESUME db`. The session-pool-mode fence: PAUSE would wait for clients.
   */
  kill(database: string): Promise<void>;
  /** `RELOAD`: re-reads pgbouncer.ini. Success does not mean the file loaded: check SHOW CONFIG / SHOW DATABASES. */
  reload(): Promise<void>;
  showDatabases(): Promise<PgBouncerDatabaseRow[]>;
  showConfig(): Promise<PgBouncerConfigRow[]>;
  showPools(): Promise<PgBouncerPoolRow[]>;
  /** `SET key = value` on the running process (until the next RELOAD); `key` must be a setting name. */
  set(key: string, value: string): Promise<void>;
  close(): Promise<void>;
}
