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

export interface PgBouncerConsole {
  /** `PAUSE db`: resolves once every server connection of `db` is released; new queries then wait. */
  pause(database: string): Promise<void>;
  /** `RESUME db`. Resuming a database that is not paused is not an error. */
  resume(database: string): Promise<void>;
  /** `RELOAD`: re-reads pgbouncer.ini. */
  reload(): Promise<void>;
  showDatabases(): Promise<PgBouncerDatabaseRow[]>;
  close(): Promise<void>;
}
