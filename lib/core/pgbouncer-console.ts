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

/**
 * Which setting shows that a RELOAD did not load the whole file, or null: every setting the new file sets must
 * show the file's value (a secret: present only), and a setting the file does not set is suspect only if it moved
 * away from both its value before the RELOAD and its default (PgBouncer resets the settings after a bad line to
 * their defaults and still answers success). Judged against the new file, not the running one: a ConfigMap edit
 * that never reached this pod, or a console SET, is not a failed load. The live-switch shell script
 * (lib/core/live-switch-script.ts) applies the same rule in awk inside the pod.
 *
 * @example settingNotApplied(before, after, effectiveSettings(newIni)) // 'pool_mode' when it still shows the old mode
 */
export function settingNotApplied(
  before: readonly PgBouncerConfigRow[],
  after: readonly PgBouncerConfigRow[],
  expected: ReadonlyArray<{ readonly key: string; readonly value: string | null; readonly secret: boolean }>,
): string | null {
  const now = new Map(after.map((row) => [row.key, row]));
  for (const setting of expected) {
    const row = now.get(setting.key);
    if (!row) return setting.key;
    if (setting.secret) continue;
    if (!sameSettingValue(row.value, setting.value ?? row.default)) return setting.key;
  }
  const set = new Set(expected.map((setting) => setting.key));
  const old = new Map(before.map((row) => [row.key, row.value]));
  for (const row of after) {
    const previous = old.get(row.key);
    if (set.has(row.key) || previous === undefined) continue;
    if (!sameSettingValue(row.value, previous) && !sameSettingValue(row.value, row.default)) return row.key;
  }
  return null;
}

/** Equal as PgBouncer reads them: the same text (case-insensitive), or the same number (decimal, 0-octal, 0x-hex, 3600.0). */
export function sameSettingValue(shown: string, wanted: string): boolean {
  if (shown.trim().toLowerCase() === wanted.trim().toLowerCase()) return true;
  const a = settingNumber(shown);
  const b = settingNumber(wanted);
  return a !== null && b !== null && a === b;
}

function settingNumber(text: string): number | null {
  const value = text.trim().toLowerCase();
  if (/^0x[0-9a-f]+$/.test(value)) return Number.parseInt(value.slice(2), 16);
  if (/^0[0-7]+$/.test(value)) return Number.parseInt(value.slice(1), 8);
  if (/^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  return null;
}
