/**
 * An in-memory PgBouncer target that is stricter than the real one: it refuses a change whose `from`
 * is neither the current value nor already its `to` (StaleChangeError), applies through the real ini
 * editor, and records pauses and resumes so tests can assert that nothing stays paused.
 */
import { readAliasEndpoints, setAliasEndpoints } from '../../lib/core/pgbouncer-ini.ts';
import { decide } from '../../lib/core/decision.ts';
import { sameEndpoint } from '../../lib/core/endpoint.ts';
import { StaleChangeError } from '../../lib/core/errors.ts';
import type { PoolerTargetConfig } from '../../lib/core/config.ts';
import type { PoolerApplyResult, PoolerPlan, PoolerTargetAdapter, PoolerTargetState } from '../../lib/core/types.ts';

export class MemoryPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  ini: string;
  version = 1;
  /** Thrown by apply (and observe, when `failObserve`) to simulate a broken target. */
  failWith: Error | undefined;
  failObserve = false;
  /** Set: apply converges the config but reports, as the EKS adapter does, that a restart cannot fix a pod. */
  needsOperator: string | undefined;
  paused = false;
  readonly calls: string[] = [];
  readonly #config: PoolerTargetConfig;

  constructor(config: PoolerTargetConfig, region: string, ini: string) {
    this.#config = config;
    this.target = config.name;
    this.region = region;
    this.ini = ini;
  }

  get aliases() {
    return readAliasEndpoints(this.ini, [this.#config.aliases.write, this.#config.aliases.read]);
  }

  async observe(): Promise<PoolerTargetState> {
    this.calls.push('observe');
    if (this.failObserve && this.failWith) throw this.failWith;
    return { target: this.target, region: this.region, reloadStrategy: this.#config.reloadStrategy, aliases: this.aliases, version: String(this.version) };
  }

  async apply(plan: PoolerPlan): Promise<PoolerApplyResult> {
    this.calls.push('apply');
    if (this.failWith) throw this.failWith;
    const current = this.aliases;
    const pending = plan.changes.filter((change) => !sameEndpoint(current[change.alias], change.to));
    for (const change of pending) {
      if (!sameEndpoint(current[change.alias], change.from)) {
        throw new StaleChangeError(`${this.target}: ${change.alias} is no longer ${JSON.stringify(change.from)}`);
      }
    }
    if (pending.length > 0) {
      this.ini = setAliasEndpoints(this.ini, pending.map((change) => ({ alias: change.alias, endpoint: change.to })));
      this.version += 1;
    }
    const changed = pending.length > 0;
    if (this.needsOperator) {
      return {
        target: this.target,
        region: this.region,
        changed,
        decision: decide(`pooler:${this.target}`, 'needs-operator', this.needsOperator),
        durationMs: 5,
        pods: [{ pod: `${this.target}-0`, outcome: 'failed', reason: this.needsOperator }],
      };
    }
    return {
      target: this.target,
      region: this.region,
      changed,
      decision: decide(`pooler:${this.target}`, changed ? 'switched' : 'nothing-to-do', changed ? `${pending.length} alias(es) repointed` : 'already converged'),
      durationMs: 5,
      pods: [{ pod: `${this.target}-0`, outcome: changed ? 'switched' : 'unchanged', reason: 'in memory' }],
    };
  }

  async pauseWrites() {
    this.calls.push('pause');
    this.paused = true;
    return decide(`pooler:${this.target}`, 'paused', 'write alias paused');
  }

  async resumeWrites() {
    this.calls.push('resume');
    this.paused = false;
    return decide(`pooler:${this.target}`, 'resumed', 'write alias resumed');
  }
}
