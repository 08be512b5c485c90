/**
 * The `live` switch of one PgBouncer over its admin console: hold the write alias, put the new pgbouncer.ini
 * in place, RELOAD, verify through `SHOW DATABASES` that both aliases target the expected host:port and through
 * `SHOW CONFIG` that the settings the file changes took effect (else put the old file back and RELOAD it), and
 * RESUME — always, also when a step fails or runs out of time.
 *
 * The hold depends on the pool mode:
 * - transaction/statement: `PAUSE` — waits for transactions in flight, holds new ones; nothing fails (measured:
 *   ~100 failed transactions at ~1000 TPS without it, 0 with it, clients wait ~0.16 s).
 * - session: `KILL` — PAUSE would wait for every client to disconnect. KILL ends every session of the alias once
 *   (each client sees one error; its session state lives on the old server and cannot move) and holds new
 *   client connections until RESUME, so no reconnect can land on the old writer. Skipped when the alias is
 *   already held (pauseWrites sent it before the fence): a second KILL would end the waiting sessions too.
 * Order: KILL comes before RELOAD, never after it: `RECONNECT`/`KILL` right after `RELOAD` can race
 * PgBouncer's server login and stall the pool for `server_login_retry` (15 s by default).
 */
import { decide, type Decision } from '../core/decision.ts';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../core/endpoint.ts';
import { describeError, TargetFailedError, UpstreamTimeoutError } from '../core/errors.ts';
import { settingNotApplied, type PgBouncerConfigRow, type PgBouncerConsole, type PgBouncerDatabaseRow, type PoolMode } from '../core/pgbouncer-console.ts';
import { effectiveSettings } from '../core/pgbouncer-ini.ts';

export interface LiveSwitchInput {
  readonly console: PgBouncerConsole;
  /** Puts the new file where PgBouncer reads it (atomically). */
  readonly writeIni: (text: string) => Promise<void>;
  readonly newIni: string;
  /** The file PgBouncer runs now: put back (and RELOADed) when the new one does not take effect. */
  readonly previousIni: string;
  readonly writeAlias: string;
  readonly readAlias: string;
  readonly poolMode: PoolMode;
  /** Where SHOW DATABASES must show each alias after RELOAD. */
  readonly expect: { readonly write: Endpoint; readonly read: Endpoint };
  /** Bound for the whole switch, PAUSE included; RESUME runs after it regardless. */
  readonly timeoutMs: number;
  /** Decision step name, e.g. `live-switch:pgbouncer-region-a`. */
  readonly step?: string;
}

export interface LiveSwitchTimings {
  readonly pauseMs: number;
  readonly writeMs: number;
  readonly reloadMs: number;
  readonly verifyMs: number;
  readonly resumeMs: number;
  /** From PAUSE sent to RESUME acknowledged: how long new write transactions were held. */
  readonly totalMs: number;
}

export interface LiveSwitchResult {
  readonly decision: Decision;
  /** The write alias was held (PAUSE or KILL) while the file changed. */
  readonly paused: boolean;
  readonly hold: 'pause' | 'kill';
  readonly timings: LiveSwitchTimings;
}

const VERIFY_POLL_MS = 10;
/** How long the session-mode switch waits for held clients to get a server before restoring server_login_retry. */
const RESTORE_AFTER_MS = 2_000;

/** Until no client of `database` waits for a server (the held ones got theirs), at most `boundMs`. */
async function waitForHeldClients(console: PgBouncerConsole, database: string, boundMs: number): Promise<void> {
  const deadline = performance.now() + boundMs;
  while (performance.now() < deadline) {
    const pools = await console.showPools().catch(() => []);
    if (pools.filter((pool) => pool.database === database).every((pool) => pool.clWaiting === 0)) return;
    await sleep(VERIFY_POLL_MS);
  }
}

/**
 * @example
 * const result = await switchWriterLive({
 *   console: bouncer.console(), writeIni: (text) => bouncer.writeIni(text), newIni, previousIni: await bouncer.readIni(),
 *   writeAlias: 'appdb', readAlias: 'appdb_ro', poolMode: 'transaction',
 *   expect: { write: newWriter, read: localReader }, timeoutMs: 10_000,
 * });
 * // result.decision.decision === 'switched'
 */
export async function switchWriterLive(input: LiveSwitchInput): Promise<LiveSwitchResult> {
  const step = input.step ?? 'live-switch';
  const started = performance.now();
  const deadline = started + input.timeoutMs;
  const remaining = () => Math.max(0, deadline - performance.now());
  const hold = input.poolMode === 'session' ? 'kill' : 'pause';
  const expected = effectiveSettings(input.newIni);
  const timings = { pauseMs: 0, writeMs: 0, reloadMs: 0, verifyMs: 0, resumeMs: 0, totalMs: 0 };
  let failure: unknown;
  let written = false;
  let verified = false;
  let alreadyHeld = false;
  let rollback = '';
  let loginRetry: string | null = null;
  let configAfter: readonly PgBouncerConfigRow[] = [];
  try {
    const configBefore = await withBound(input.console.showConfig(), remaining(), 'SHOW CONFIG');
    timings.pauseMs = await measure(async () => {
      if (hold === 'pause') return withBound(input.console.pause(input.writeAlias), remaining(), `PAUSE ${input.writeAlias}`);
      const rows = await withBound(input.console.showDatabases(), remaining(), 'SHOW DATABASES');
      alreadyHeld = rows.find((row) => row.name === input.writeAlias)?.paused === true;
      if (!alreadyHeld) await withBound(input.console.kill(input.writeAlias), remaining(), `KILL ${input.writeAlias}`);
    });
    written = true;
    timings.writeMs = await measure(() => withBound(input.writeIni(input.newIni), remaining(), 'writing pgbouncer.ini'));
    timings.reloadMs = await measure(() => withBound(input.console.reload(), remaining(), 'RELOAD'));
    timings.verifyMs = await measure(async () => {
      for (;;) {
        const rows = await withBound(input.console.showDatabases(), remaining(), 'SHOW DATABASES');
        const mismatch = routingMismatch(rows, input);
        if (mismatch === '') break;
        if (remaining() <= VERIFY_POLL_MS) throw new TargetFailedError(`after RELOAD PgBouncer still ${mismatch}`);
        await sleep(VERIFY_POLL_MS);
      }
      configAfter = await withBound(input.console.showConfig(), remaining(), 'SHOW CONFIG');
      const key = settingNotApplied(configBefore, configAfter, expected);
      if (key !== null) {
        throw new TargetFailedError(`after RELOAD SHOW CONFIG shows ${key} not as pgbouncer.ini says: PgBouncer answered RELOAD but did not load the whole file`);
      }
    });
    verified = true;
    if (hold === 'kill') {
      // PgBouncer 1.18 starts a server login for a client that connects to a KILLed (held) database, whose pool
      // KILL freed, and closes it at once ("pause mode"), which counts as a failed login: after RESUME the pool
      // would wait server_login_retry (15 s by default) before logging in again. Zero it across RESUME.
      loginRetry = configAfter.find((row) => row.key === 'server_login_retry')?.value ?? null;
      if (loginRetry !== null && loginRetry !== '0') await withBound(input.console.set('server_login_retry', '0'), remaining(), 'SET server_login_retry');
      else loginRetry = null;
    }
  } catch (error) {
    failure = error;
  } finally {
    if (written && !verified) {
      // Before RESUME: held clients must not be let into a half-loaded PgBouncer.
      try {
        await input.writeIni(input.previousIni);
        await input.console.reload();
        rollback = '; put the previous pgbouncer.ini back and reloaded it';
      } catch (error) {
        rollback = `; putting the previous pgbouncer.ini back failed too: ${describeError(error)}`;
      }
    }
    // Always: a held write alias holds every application write; also undoes a PAUSE/KILL someone sent before us.
    try {
      timings.resumeMs = await measure(() => input.console.resume(input.writeAlias));
    } catch (error) {
      failure ??= new TargetFailedError(`RESUME ${input.writeAlias} failed, writes may be held: ${describeError(error)}`, { cause: error });
    }
    timings.totalMs = performance.now() - started;
    if (loginRetry !== null) {
      try {
        await waitForHeldClients(input.console, input.writeAlias, RESTORE_AFTER_MS);
      } finally {
        try {
          await input.console.set('server_login_retry', loginRetry);
        } catch (error) {
          failure ??= new TargetFailedError(`could not set server_login_retry back to ${loginRetry} after RESUME (the next RELOAD does): ${describeError(error)}`, { cause: error });
        }
      }
    }
  }
  if (failure) {
    if (rollback && failure instanceof TargetFailedError) throw new TargetFailedError(`${failure.message}${rollback}`, { cause: failure });
    throw failure;
  }
  const targets = `${input.writeAlias} -> ${formatEndpoint(input.expect.write)}, ${input.readAlias} -> ${formatEndpoint(input.expect.read)}`;
  const held = `${timings.totalMs.toFixed(0)} ms`;
  const reason =
    hold === 'pause'
      ? `paused ${input.writeAlias}, reloaded and verified ${targets}, resumed: writes were held ${held}`
      : `session pool mode: ${alreadyHeld ? `${input.writeAlias} was already held (its sessions were ended before the fence)` : `KILL ${input.writeAlias} ended each session once and held new ones`}; ` +
        `reloaded and verified ${targets}, resumed: new sessions were held ${held}`;
  return { decision: decide(step, 'switched', reason), paused: true, hold, timings };
}

/**
 * The first setting SHOW CONFIG shows not as the file says, or null: a changed setting must show its new value
 * (its default when the file dropped it; a secret is not compared), every other setting its value from before
 * RELOAD (PgBouncer resets settings to defaults and stops at a bad value, so a half-loaded file moves them).
 */
/** '' when SHOW DATABASES routes both aliases where expected; else what is wrong, in words. */
export function routingMismatch(
  rows: readonly PgBouncerDatabaseRow[],
  input: { readonly writeAlias: string; readonly readAlias: string; readonly expect: { readonly write: Endpoint; readonly read: Endpoint } },
): string {
  const problems: string[] = [];
  for (const [alias, expected] of [
    [input.writeAlias, input.expect.write],
    [input.readAlias, input.expect.read],
  ] as const) {
    const row = rows.find((candidate) => candidate.name === alias);
    const actual = row?.host ? { host: row.host, port: row.port } : null;
    if (!sameEndpoint(actual, expected)) problems.push(`routes ${alias} to ${formatEndpoint(actual)}, not ${formatEndpoint(expected)}`);
  }
  return problems.join(' and ');
}

async function measure(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function withBound<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamTimeoutError(`${what} did not finish within the live switch's bound`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
