/**
 * Write (and optional read) load through each region's PgBouncer, recording every acknowledged commit
 * (with the port of the server that acknowledged it) and every error (with its SQLSTATE), so a drill can
 * prove no acknowledged commit was lost and none landed on the old writer after promotion.
 */
import pg from 'pg';
import type { Endpoint } from '../core/endpoint.ts';
import { nowMs } from './clock.ts';
import type { LocalPostgres } from './postgres.ts';
import { SUPERUSER, sleep } from './postgres.ts';

export const LOAD_TABLE = 'drill_writes';

export interface LoadRegion {
  readonly region: string;
  /** The region's PgBouncer. */
  readonly pooler: Endpoint;
  readonly writeAlias: string;
  /** When set, clients also read through this alias. */
  readonly readAlias?: string;
}

export interface LoadOptions {
  readonly regions: readonly LoadRegion[];
  readonly clientsPerRegion: number;
  /** The load stops by itself after this long (it can be stopped earlier). */
  readonly durationMs: number;
  /** One read through the read alias after every N writes; 0 or absent: no reads. */
  readonly readEveryWrites?: number;
  /** Pause after a failed transaction or connection attempt before trying again. */
  readonly backoffMs?: number;
  /**
   * Total committed-write rate to aim for across all clients (each client is paced to its share);
   * absent: as fast as the machine goes (about 12,000/s here with fsync off).
   */
  readonly targetWriteTps?: number;
  /**
   * SQLSTATEs after which a client drops its connection and reconnects, as application pools that discard a
   * connection on error do (e.g. `25006`: in session pool mode a client stays on the fenced old writer
   * until it reconnects). Connection-level errors always reconnect.
   */
  readonly reconnectOnSqlstates?: readonly string[];
  /** Client-side bound for one statement (a paused pool holds statements; a stuck one must not hang the run). */
  readonly statementTimeoutMs?: number;
}

export interface CommitRecord {
  readonly clientId: number;
  readonly seq: number;
  readonly region: string;
  readonly startedAt: number;
  readonly endedAt: number;
  /** The port of the PostgreSQL server that acknowledged the commit (`inet_server_port()`). */
  readonly serverPort: number;
}

export type LoadOperation = 'write' | 'read' | 'connect';

export interface ErrorRecord {
  readonly clientId: number;
  readonly region: string;
  readonly operation: LoadOperation;
  readonly at: number;
  /** SQLSTATE, a socket error code (ECONNREFUSED), or `connection-lost` / `timeout`. */
  readonly code: string;
}

export interface LoadResult {
  readonly startedAt: number;
  readonly endedAt: number;
  readonly commits: readonly CommitRecord[];
  readonly errors: readonly ErrorRecord[];
  readonly reads: number;
}

export interface LoadRun {
  /** Live counters for a progress line. */
  progress(): { readonly commits: number; readonly errors: number; readonly reads: number };
  /**
   * The region's clients close their connections and make no attempt (counting nothing) until release():
   * its application is gone with the region, or users are kept out of it.
   */
  hold(region: string): void;
  release(region: string): void;
  /** Stops every client after its current statement; resolves with everything recorded. */
  stop(): Promise<LoadResult>;
  /** Resolves when the duration has elapsed (or stop() was called) and every client has closed. */
  readonly done: Promise<LoadResult>;
}

/** Creates the table the load writes into (run on the writer before replicas are created or while they stream). */
export async function prepareLoadTable(writer: LocalPostgres): Promise<void> {
  await writer.query(
    `CREATE TABLE IF NOT EXISTS ${LOAD_TABLE} (
       client_id integer NOT NULL,
       seq bigint NOT NULL,
       region text NOT NULL,
       server_port integer NOT NULL,
       committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
       PRIMARY KEY (client_id, seq))`,
  );
}

const INSERT = `INSERT INTO ${LOAD_TABLE} (client_id, seq, region, server_port) VALUES ($1, $2, $3, inet_server_port()) RETURNING server_port`;
const READ = 'SELECT inet_server_port() AS server_port';

export function startLoad(options: LoadOptions): LoadRun {
  const commits: CommitRecord[] = [];
  const errors: ErrorRecord[] = [];
  let reads = 0;
  let stopped = false;
  const held = new Set<string>();
  const startedAt = nowMs();
  const backoffMs = options.backoffMs ?? 20;

  const connect = async (region: LoadRegion, database: string): Promise<pg.Client> => {
    const client = new pg.Client({
      ...region.pooler,
      user: SUPERUSER,
      database,
      application_name: `load-${region.region}`,
      connectionTimeoutMillis: 5_000,
      query_timeout: options.statementTimeoutMs ?? 20_000,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  };

  const runClient = async (region: LoadRegion, clientId: number): Promise<void> => {
    let writer: pg.Client | undefined;
    let reader: pg.Client | undefined;
    let seq = 0;
    const totalClients = options.clientsPerRegion * options.regions.length;
    const intervalMs = options.targetWriteTps ? (1000 * totalClients) / options.targetWriteTps : 0;
    // Spread the clients' first writes over one interval so they do not fire in lockstep.
    let nextStart = nowMs() + (intervalMs * (clientId % 10_000)) / Math.max(1, options.clientsPerRegion);
    const fail = (operation: LoadOperation, error: unknown) => errors.push({ clientId, region: region.region, operation, at: nowMs(), code: errorCode(error) });
    try {
      while (!stopped) {
        if (held.has(region.region)) {
          if (writer || reader) {
            await Promise.all([writer?.end().catch(() => undefined), reader?.end().catch(() => undefined)]);
            writer = undefined;
            reader = undefined;
          }
          await sleep(backoffMs);
          nextStart = nowMs();
          continue;
        }
        if (!writer) {
          try {
            writer = await connect(region, region.writeAlias);
          } catch (error) {
            fail('connect', error);
            await sleep(backoffMs);
            continue;
          }
        }
        if (intervalMs > 0) {
          const wait = nextStart - nowMs();
          if (wait > 0) await sleep(wait);
          // After a stall, continue at the target rate instead of bursting to catch up.
          nextStart = Math.max(nextStart + intervalMs, nowMs());
          if (stopped) break;
        }
        seq += 1;
        const started = nowMs();
        try {
          const result = await writer.query<{ server_port: number }>(INSERT, [clientId, seq, region.region]);
          commits.push({ clientId, seq, region: region.region, startedAt: started, endedAt: nowMs(), serverPort: Number(result.rows[0]?.server_port) });
        } catch (error) {
          fail('write', error);
          if (breaksConnection(error) || options.reconnectOnSqlstates?.includes(errorCode(error))) {
            await writer.end().catch(() => undefined);
            writer = undefined;
          }
          await sleep(backoffMs);
          continue;
        }
        if (region.readAlias && options.readEveryWrites && seq % options.readEveryWrites === 0) {
          try {
            reader ??= await connect(region, region.readAlias);
            await reader.query(READ);
            reads += 1;
          } catch (error) {
            fail('read', error);
            await reader?.end().catch(() => undefined);
            reader = undefined;
          }
        }
      }
    } finally {
      await Promise.all([writer?.end().catch(() => undefined), reader?.end().catch(() => undefined)]);
    }
  };

  const clients: Promise<void>[] = [];
  options.regions.forEach((region, regionIndex) => {
    for (let index = 0; index < options.clientsPerRegion; index += 1) {
      // Ids unique across regions so acknowledged commits can be checked on one writer.
      clients.push(runClient(region, (regionIndex + 1) * 10_000 + index));
    }
  });
  const timer = setTimeout(() => (stopped = true), options.durationMs);
  const done = Promise.all(clients).then((): LoadResult => {
    clearTimeout(timer);
    return { startedAt, endedAt: nowMs(), commits, errors, reads };
  });
  return {
    progress: () => ({ commits: commits.length, errors: errors.length, reads }),
    hold: (region) => void held.add(region),
    release: (region) => void held.delete(region),
    stop: () => {
      stopped = true;
      return done;
    },
    done,
  };
}

/** `client:seq` of an acknowledged commit: the key the lost-commit check compares. */
export function commitKey(commit: { clientId: number; seq: number }): string {
  return `${commit.clientId}:${commit.seq}`;
}

/** Every `client:seq` present on a server (the new writer, after the switch). */
export async function fetchCommittedKeys(server: LocalPostgres): Promise<Set<string>> {
  const rows = await server.query<{ client_id: number; seq: string }>(`SELECT client_id, seq FROM ${LOAD_TABLE}`);
  return new Set(rows.map((row) => `${row.client_id}:${row.seq}`));
}

function errorCode(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as Error & { code?: unknown }).code;
    if (typeof code === 'string' && code !== '') return code;
    if (/timeout/i.test(error.message)) return 'timeout';
    if (/terminated|closed|ended|connection error|not queryable|ECONNRESET|EPIPE/i.test(error.message)) return 'connection-lost';
  }
  return 'unknown';
}

/** After these the connection is unusable (or its state unknown): reconnect. */
function breaksConnection(error: unknown): boolean {
  const code = error instanceof Error ? (error as Error & { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return true;
  // Class 08 connection exceptions, 57P0x admin shutdown / crash, 08P01 from PgBouncer, socket errors.
  return code.startsWith('08') || code.startsWith('57P') || code.startsWith('E') || !/^[0-9A-Z]{5}$/.test(code);
}
