import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';

export const INSTALL_COMMAND = 'apt-get install postgresql pgbouncer';

/** A server binary the local run needs is not installed. */
export class MissingBinaryError extends Error {
  override readonly name = 'MissingBinaryError';
}

export interface LocalBinaries {
  readonly initdb: string;
  readonly postgres: string;
  readonly pgBasebackup: string;
  readonly pgRewind: string;
  readonly pgbouncer: string;
}

export interface BinaryLocations {
  /** Directory of the PostgreSQL server binaries; default /usr/lib/postgresql/15/bin. */
  readonly postgresBinDir?: string;
  /** Default /usr/sbin/pgbouncer. */
  readonly pgbouncer?: string;
}

export const DEFAULT_POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';
export const DEFAULT_PGBOUNCER = '/usr/sbin/pgbouncer';

/** Finds the binaries or throws MissingBinaryError naming every missing one and the install command. */
export function locateBinaries(locations: BinaryLocations = {}): LocalBinaries {
  const binDir = locations.postgresBinDir ?? process.env.POSTGRES_BIN_DIR ?? DEFAULT_POSTGRES_BIN_DIR;
  const binaries: LocalBinaries = {
    initdb: join(binDir, 'initdb'),
    postgres: join(binDir, 'postgres'),
    pgBasebackup: join(binDir, 'pg_basebackup'),
    pgRewind: join(binDir, 'pg_rewind'),
    pgbouncer: locations.pgbouncer ?? process.env.PGBOUNCER_BIN ?? DEFAULT_PGBOUNCER,
  };
  const missing = Object.values(binaries).filter((path) => !isExecutable(path));
  if (missing.length > 0) {
    throw new MissingBinaryError(
      `missing ${missing.join(', ')}: install PostgreSQL 15 and PgBouncer with \`${INSTALL_COMMAND}\` ` +
        '(or set POSTGRES_BIN_DIR / PGBOUNCER_BIN)',
    );
  }
  return binaries;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
