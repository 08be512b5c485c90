/**
 * PoolerTargetAdapter for one local PgBouncer process: its pgbouncer.ini file is the config, its admin
 * console the control. Compare-and-set like the EKS adapter. Three switch strategies so the benchmark can
 * compare them under the same load:
 *  - live:    PAUSE (session mode: KILL) write alias -> write file -> RELOAD -> verify -> RESUME (switchWriterLive);
 *  - reload:  write file -> RELOAD -> verify, no pause (transactions in flight on the old writer fail);
 *  - restart: write file -> stop and start PgBouncer (every client connection drops), like a pod restart.
 */
import { createHash } from 'node:crypto';
import { ReloadStrategy } from '../core/constants.ts';
import { decide, type Decision } from '../core/decision.ts';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../core/endpoint.ts';
import { StaleChangeError, TargetFailedError, UpstreamTimeoutError } from '../core/errors.ts';
import type { PgBouncerConsole } from '../core/pgbouncer-console.ts';
import { readAliasEndpoints, readPoolMode, setAliasEndpoints } from '../core/pgbouncer-ini.ts';
import type { PoolerApplyResult, PoolerPlan, PoolerTargetAdapter, PoolerTargetState } from '../core/types.ts';
import { routingMismatch, switchWriterLive } from '../workflow/live-switch.ts';

export const LocalSwitchStrategy = { Live: 'live', Reload: 'reload', Restart: 'restart' } as const;
export type LocalSwitchStrategy = (typeof LocalSwitchStrategy)[keyof typeof LocalSwitchStrategy];

/** What the adapter needs from a local PgBouncer process (LocalPgBouncer provides it). */
export interface LocalPoolerProcess {
  readIni(): Promise<string>;
  writeIni(text: string): Promise<void>;
  console(): PgBouncerConsole;
  /** Stop and start again with the current file. */
  restart(): Promise<void>;
}

export interface LocalPoolerTargetOptions {
  readonly target: string;
  readonly region: string;
  readonly pooler: LocalPoolerProcess;
  readonly writeAlias: string;
  readonly readAlias: string;
  readonly strategy: LocalSwitchStrategy;
  /** Bound for one switch (PAUSE included) and for pauseWrites. */
  readonly switchTimeoutMs?: number;
}

export class LocalPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  readonly #options: LocalPoolerTargetOptions;
  #console: PgBouncerConsole | undefined;

  constructor(options: LocalPoolerTargetOptions) {
    this.#options = options;
    this.target = options.target;
    this.region = options.region;
  }

  async observe(): Promise<PoolerTargetState> {
    const ini = await this.#options.pooler.readIni();
    return {
      target: this.target,
      region: this.region,
      // The contract knows live and rollout-restart; a local restart is the latter, reload is reported as live.
      reloadStrategy: this.#options.strategy === LocalSwitchStrategy.Restart ? ReloadStrategy.RolloutRestart : ReloadStrategy.Live,
      aliases: readAliasEndpoints(ini, [this.#options.writeAlias, this.#options.readAlias]),
      version: createHash('sha256').update(ini).digest('hex').slice(0, 16),
    };
  }

  async apply(plan: PoolerPlan): Promise<PoolerApplyResult> {
    const started = performance.now();
    const step = `pooler:${this.target}`;
    const ini = await this.#options.pooler.readIni();
    const current = readAliasEndpoints(ini, plan.changes.map((change) => change.alias));
    const pending = plan.changes.filter((change) => {
      const now = current[change.alias] ?? null;
      if (sameEndpoint(now, change.to)) return false;
      if (sameEndpoint(now, change.from)) return true;
      throw new StaleChangeError(
        `${this.target}: ${change.alias} routes to ${formatEndpoint(now)}, but the plan expected ${formatEndpoint(change.from)}: re-observe and re-plan`,
      );
    });
    if (pending.length === 0) {
      const decision = decide(step, 'nothing-to-do', `${this.target} already routes every managed alias as planned`);
      return this.#result(decision, false, started, 'unchanged');
    }
    const newIni = setAliasEndpoints(ini, pending.map((change) => ({ alias: change.alias, endpoint: change.to })));
    const expect = this.#expectedRouting(newIni);
    const console = this.#adminConsole();
    const strategy = this.#options.strategy;
    const changed = pending.map((change) => `${change.alias} ${formatEndpoint(change.from)} -> ${formatEndpoint(change.to)}`).join(', ');
    if (strategy === LocalSwitchStrategy.Live) {
      const result = await switchWriterLive({
        console,
        writeIni: (text) => this.#options.pooler.writeIni(text),
        newIni,
        previousIni: ini,
        writeAlias: this.#options.writeAlias,
        readAlias: this.#options.readAlias,
        poolMode: readPoolMode(newIni, this.#options.writeAlias),
        expect,
        timeoutMs: this.#timeoutMs(),
        step,
      });
      return this.#result(decide(step, 'switched', `${changed}: ${result.decision.reason}`), true, started, 'switched');
    }
    await this.#options.pooler.writeIni(newIni);
    if (strategy === LocalSwitchStrategy.Reload) {
      await console.reload();
    } else {
      // The old console connection died with the process.
      await this.close();
      await this.#options.pooler.restart();
    }
    const mismatch = routingMismatch(await this.#adminConsole().showDatabases(), { ...this.#aliases(), expect });
    if (mismatch !== '') throw new TargetFailedError(`${this.target}: after ${strategy} PgBouncer still ${mismatch}`);
    const how = strategy === LocalSwitchStrategy.Reload ? 'rewrote the file and sent RELOAD without pausing' : 'rewrote the file and restarted PgBouncer';
    return this.#result(decide(step, 'switched', `${changed}: ${how}; SHOW DATABASES confirms`), true, started, strategy === LocalSwitchStrategy.Reload ? 'switched' : 'restarted');
  }

  async pauseWrites(): Promise<Decision> {
    const step = `pause:${this.target}`;
    const mode = readPoolMode(await this.#options.pooler.readIni(), this.#options.writeAlias);
    const started = performance.now();
    if (mode === 'session') {
      // PAUSE would wait for every client to disconnect: KILL ends each session once and holds new ones.
      const console = this.#adminConsole();
      const row = (await console.showDatabases()).find((candidate) => candidate.name === this.#options.writeAlias);
      if (row?.paused) return decide(step, 'paused', `${this.#options.writeAlias} is already held: its sessions are not ended twice`);
      await bounded(console.kill(this.#options.writeAlias), this.#timeoutMs(), `KILL ${this.#options.writeAlias} on ${this.target}`);
      return decide(
        step,
        'paused',
        `session pool mode: KILL ${this.#options.writeAlias} ended each session once (one error per client) and holds new connections until RESUME (${(performance.now() - started).toFixed(0)} ms)`,
      );
    }
    try {
      await bounded(this.#adminConsole().pause(this.#options.writeAlias), this.#timeoutMs(), `PAUSE ${this.#options.writeAlias} on ${this.target}`);
    } catch (error) {
      // A PAUSE still waiting would hold writes later: cancel it before reporting the failure.
      await this.#adminConsole().resume(this.#options.writeAlias).catch(() => undefined);
      throw error;
    }
    return decide(step, 'paused', `${this.#options.writeAlias} paused after ${(performance.now() - started).toFixed(0)} ms: new write transactions wait in PgBouncer`);
  }

  async resumeWrites(): Promise<Decision> {
    await this.#adminConsole().resume(this.#options.writeAlias);
    return decide(`resume:${this.target}`, 'resumed', `${this.#options.writeAlias} resumed (or was not paused)`);
  }

  /** Closes the admin console connection(s). */
  async close(): Promise<void> {
    const console = this.#console;
    this.#console = undefined;
    await console?.close();
  }

  #adminConsole(): PgBouncerConsole {
    this.#console ??= this.#options.pooler.console();
    return this.#console;
  }

  #aliases(): { writeAlias: string; readAlias: string } {
    return { writeAlias: this.#options.writeAlias, readAlias: this.#options.readAlias };
  }

  #expectedRouting(newIni: string): { write: Endpoint; read: Endpoint } {
    const routes = readAliasEndpoints(newIni, [this.#options.writeAlias, this.#options.readAlias]);
    const write = routes[this.#options.writeAlias];
    const read = routes[this.#options.readAlias];
    if (!write || !read) throw new TargetFailedError(`${this.target}: the new pgbouncer.ini lacks ${write ? this.#options.readAlias : this.#options.writeAlias}`);
    return { write, read };
  }

  #timeoutMs(): number {
    return this.#options.switchTimeoutMs ?? 10_000;
  }

  #result(decision: Decision, changed: boolean, started: number, outcome: 'switched' | 'restarted' | 'unchanged'): PoolerApplyResult {
    return {
      target: this.target,
      region: this.region,
      changed,
      decision,
      durationMs: performance.now() - started,
      pods: [{ pod: this.target, outcome, reason: decision.reason }],
    };
  }
}

async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UpstreamTimeoutError(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
