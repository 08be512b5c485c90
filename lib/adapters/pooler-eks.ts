/**
 * One PgBouncer deployment in EKS as a PoolerTargetAdapter. The ConfigMap is the durable source
 * (compare-and-set with its resourceVersion); the reload strategy decides how running pods follow:
 * `rollout-restart` restarts the workload, `live` writes the new ini into every ready pod through the
 * admin container and switches it with PAUSE (transaction mode) -> RELOAD -> SHOW DATABASES -> RESUME.
 * Pods that do not switch in time are deleted, so their controller recreates them from the ConfigMap.
 */
import type { EKSClient } from '@aws-sdk/client-eks';
import { ReloadStrategy } from '../core/constants.ts';
import type { PoolerTargetConfig } from '../core/config.ts';
import { decide, type Decision } from '../core/decision.ts';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../core/endpoint.ts';
import { ConflictError, InvalidInputError, StaleChangeError, TargetFailedError, UpstreamError } from '../core/errors.ts';
import { readAliasEndpoints, readPoolMode, setAliasEndpoints } from '../core/pgbouncer-ini.ts';
import {
  buildAdminCommandScript,
  buildLiveSwitchScript,
  LiveHold,
  buildShowRoutesScript,
  parseScriptResult,
} from '../core/live-switch-script.ts';
import type { PoolMode } from '../core/pgbouncer-console.ts';
import type { PodOutcome, PoolerApplyResult, PoolerChange, PoolerPlan, PoolerTargetAdapter, PoolerTargetState } from '../core/types.ts';
import { describeEksCluster } from './eks-cluster.ts';
import { createEksToken, type AwsCredentialsSource } from './eks-token.ts';
import { KubernetesClient, type KubernetesApi, type PodSummary } from './kubernetes.ts';

/** Attempts of the ConfigMap compare-and-set when another writer moves it under us (HTTP 409). */
export const CONFIGMAP_PATCH_ATTEMPTS = 3;
/** Exec start-up and stream overhead allowed on top of the pod's switch bound. */
const EXEC_OVERHEAD_MS = 2_000;

export interface EksPoolerTargetOptions {
  readonly target: PoolerTargetConfig;
  readonly region: string;
  readonly api: KubernetesApi;
  /** Milliseconds clock for durations (tests pin it). */
  readonly clock?: () => number;
}

/**
 * @example
 * const target = await connectEksPoolerTarget({ target: config.regions['us-east-2'].poolers[0], region: 'us-east-2', eks, credentials });
 * const state = await target.observe();
 */
export async function connectEksPoolerTarget(input: {
  target: PoolerTargetConfig;
  region: string;
  eks: EKSClient;
  credentials: AwsCredentialsSource;
}): Promise<EksPoolerTarget> {
  const cluster = await describeEksCluster(input.eks, input.target.eksCluster);
  const token = await createEksToken({ clusterName: input.target.eksCluster, region: input.region, credentials: input.credentials });
  const api = new KubernetesClient({ server: cluster.endpoint, certificateAuthority: cluster.certificateAuthority, token });
  return new EksPoolerTarget({ target: input.target, region: input.region, api });
}

interface PatchedConfig {
  readonly ini: string;
  readonly resourceVersion: string;
  readonly applied: readonly PoolerChange[];
}

export class EksPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  readonly #config: PoolerTargetConfig;
  readonly #api: KubernetesApi;
  readonly #clock: () => number;
  readonly #step: string;

  constructor(options: EksPoolerTargetOptions) {
    this.#config = options.target;
    this.target = options.target.name;
    this.region = options.region;
    this.#api = options.api;
    this.#clock = options.clock ?? Date.now;
    this.#step = `pooler:${options.target.name}`;
  }

  async observe(): Promise<PoolerTargetState> {
    const { ini, resourceVersion } = await this.#readConfig();
    return {
      target: this.target,
      region: this.region,
      reloadStrategy: this.#config.reloadStrategy,
      aliases: readAliasEndpoints(ini, [this.#config.aliases.write, this.#config.aliases.read]),
      version: resourceVersion,
    };
  }

  async apply(plan: PoolerPlan): Promise<PoolerApplyResult> {
    const started = this.#clock();
    this.#assertPlanIsOurs(plan);
    const patched = await this.#compareAndSet(plan.changes);
    if (patched.applied.length === 0) {
      // The ConfigMap is right; with `live`, pods may still lag (a run that died between patch and switch).
      if (this.#config.reloadStrategy === ReloadStrategy.RolloutRestart) {
        return this.#result(started, false, decide(this.#step, 'nothing-to-do', `configmap ${this.#configMapName()} already routes ${this.#routes(patched.ini)}`), []);
      }
      return this.#verifyPods(started, patched.ini);
    }
    const summary = patched.applied.map((change) => `${change.alias} ${formatEndpoint(change.from)} -> ${formatEndpoint(change.to)}`).join(', ');
    if (this.#config.reloadStrategy === ReloadStrategy.RolloutRestart) {
      const { kind, name } = this.#config.workload;
      await this.#api.restartWorkload(this.#config.namespace, kind, name, new Date());
      return this.#result(
        started,
        true,
        decide(this.#step, 'restarted', `patched configmap ${this.#configMapName()} (${summary}) and restarted ${kind} ${this.#config.namespace}/${name}`),
        [],
      );
    }
    const pods = await this.#api.listPods(this.#config.namespace, this.#config.podSelector);
    const outcomes = await Promise.all(pods.map((pod) => this.#switchPod(pod, patched.ini)));
    this.#throwIfAnyFailed(outcomes);
    return this.#result(started, true, this.#liveDecision(outcomes, `patched configmap ${this.#configMapName()} (${summary})`), outcomes);
  }

  async pauseWrites(): Promise<Decision> {
    const skip = await this.#pauseSkipReason();
    if (typeof skip === 'string') return decide(this.#step, 'skip-pause', skip);
    // Session pool mode: KILL ends each session once and holds new ones until RESUME (docs/pool-modes.md).
    const command = skip.hold === LiveHold.Kill ? 'KILL' : 'PAUSE';
    const alias = this.#config.aliases.write;
    const pods = await this.#api.listPods(this.#config.namespace, this.#config.podSelector);
    const results = await Promise.all(pods.map(async (pod) => ({ pod: pod.name, error: await this.#adminCommand(pod, command) })));
    const failed = results.filter((result) => result.error !== null);
    if (failed.length > 0) {
      // Never leave a partial pause behind: resume the pods that did pause, then report.
      await Promise.all(pods.map((pod) => this.#adminCommand(pod, 'RESUME')));
      throw new TargetFailedError(`${this.target}: ${command} ${alias} failed on ${failed.map((result) => `${result.pod} (${result.error})`).join(', ')}; resumed the others`);
    }
    const what = command === 'KILL' ? `KILL ${alias} (session pool mode: each session ended once, new ones wait for RESUME)` : `PAUSE ${alias}`;
    return decide(this.#step, 'paused', `${what} on ${pods.length} pod(s): ${pods.map((pod) => pod.name).join(', ') || 'none ready'}`);
  }

  async resumeWrites(): Promise<Decision> {
    if (this.#config.reloadStrategy !== ReloadStrategy.Live) {
      return decide(this.#step, 'skip-resume', 'reloadStrategy rollout-restart never pauses (no admin container)');
    }
    const alias = this.#config.aliases.write;
    const pods = await this.#api.listPods(this.#config.namespace, this.#config.podSelector);
    const results = await Promise.all(pods.map(async (pod) => ({ pod: pod.name, error: await this.#adminCommand(pod, 'RESUME') })));
    const failed = results.filter((result) => result.error !== null);
    if (failed.length > 0) {
      throw new TargetFailedError(`${this.target}: RESUME ${alias} failed on ${failed.map((result) => `${result.pod} (${result.error})`).join(', ')}`);
    }
    return decide(this.#step, 'resumed', `RESUME ${alias} on ${pods.length} pod(s): ${pods.map((pod) => pod.name).join(', ') || 'none ready'}`);
  }

  /** Re-read, check every change's `from`, patch with the resourceVersion precondition; on 409 start over. */
  async #compareAndSet(changes: readonly PoolerChange[]): Promise<PatchedConfig> {
    for (let attempt = 1; ; attempt += 1) {
      const { ini, resourceVersion } = await this.#readConfig();
      const current = readAliasEndpoints(ini, changes.map((change) => change.alias));
      const pending = changes.filter((change) => {
        const now = current[change.alias] ?? null;
        if (sameEndpoint(now, change.to)) return false;
        if (sameEndpoint(now, change.from)) return true;
        throw new StaleChangeError(
          `${this.target}: ${change.alias} routes to ${formatEndpoint(now)}, but the plan expected ${formatEndpoint(change.from)} (or already ${formatEndpoint(change.to)}); re-observe and re-plan`,
        );
      });
      if (pending.length === 0) return { ini, resourceVersion, applied: [] };
      const next = setAliasEndpoints(ini, pending.map((change) => ({ alias: change.alias, endpoint: change.to })));
      try {
        const patched = await this.#api.patchConfigMapKey(this.#config.namespace, this.#config.configMap, this.#config.key, next, resourceVersion);
        return { ini: next, resourceVersion: patched.resourceVersion, applied: pending };
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (attempt >= CONFIGMAP_PATCH_ATTEMPTS) {
          throw new ConflictError(`${this.target}: configmap ${this.#configMapName()} changed under every one of ${CONFIGMAP_PATCH_ATTEMPTS} patch attempts`, { cause: error });
        }
      }
    }
  }

  /** The ConfigMap is already right: check what each pod's PgBouncer routes to and switch the laggards. */
  async #verifyPods(started: number, ini: string): Promise<PoolerApplyResult> {
    const expected = this.#expected(ini);
    const pods = await this.#api.listPods(this.#config.namespace, this.#config.podSelector);
    const outcomes = await Promise.all(
      pods.map(async (pod): Promise<PodOutcome> => {
        const routes = await this.#showRoutes(pod);
        if ('error' in routes) return { pod: pod.name, outcome: 'failed', reason: `could not read SHOW DATABASES: ${routes.error}` };
        // A write alias left paused (a run that died between PAUSE and RESUME) is not converged: the switch resumes it.
        if (routes.write === formatEndpoint(expected.write) && routes.read === formatEndpoint(expected.read) && !routes.paused) {
          return { pod: pod.name, outcome: 'unchanged', reason: 'already routes as the configmap says' };
        }
        return this.#switchPod(pod, ini);
      }),
    );
    this.#throwIfAnyFailed(outcomes);
    if (outcomes.every((outcome) => outcome.outcome === 'unchanged')) {
      return this.#result(started, false, decide(this.#step, 'nothing-to-do', `configmap ${this.#configMapName()} and ${outcomes.length} ready pod(s) already route ${this.#routes(ini)}`), outcomes);
    }
    return this.#result(started, true, this.#liveDecision(outcomes, `configmap ${this.#configMapName()} was already right but some pods lagged`), outcomes);
  }

  /** Runs the live switch in one pod; a pod that does not converge in time is deleted (recreated from the ConfigMap). */
  async #switchPod(pod: PodSummary, ini: string): Promise<PodOutcome> {
    const expected = this.#expected(ini);
    let failure: string;
    if (!pod.containers.includes(this.#config.adminContainer)) {
      failure = `has no ${this.#config.adminContainer} container`;
    } else {
      const script = buildLiveSwitchScript({
        fileName: this.#config.key,
        iniBytes: Buffer.byteLength(ini, 'utf8'),
        writeAlias: this.#config.aliases.write,
        readAlias: this.#config.aliases.read,
        expectedWrite: expected.write,
        expectedRead: expected.read,
        // transaction: PAUSE (nothing fails); session: KILL (one error per session, new ones wait for RESUME).
        hold: liveHold(readPoolMode(ini, this.#config.aliases.write)),
        commandTimeoutSeconds: this.#config.liveSwitchTimeoutSeconds,
      });
      failure = await this.#exec(pod, script, ini).then(
        (result) => (result.ok && result.status === 'switched' ? '' : `live switch failed at ${result.status}`),
        (error: unknown) => `live switch failed: ${error instanceof Error ? error.message : String(error)}`,
      );
      if (failure === '') {
        return { pod: pod.name, outcome: 'switched', reason: `PgBouncer routes ${this.#routes(ini)} (verified with SHOW DATABASES)` };
      }
    }
    try {
      await this.#api.deletePod(this.#config.namespace, pod.name);
      return { pod: pod.name, outcome: 'restarted', reason: `${failure}; deleted so it restarts from the configmap` };
    } catch (error) {
      return { pod: pod.name, outcome: 'failed', reason: `${failure}; delete failed too: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  async #exec(pod: PodSummary, script: string, stdin?: string): Promise<ReturnType<typeof parseScriptResult>> {
    const result = await this.#api.execInPod(this.#config.namespace, pod.name, this.#config.adminContainer, ['sh', '-c', script], {
      ...(stdin === undefined ? {} : { stdin }),
      timeoutMs: this.#config.liveSwitchTimeoutSeconds * 1000 + EXEC_OVERHEAD_MS,
    });
    const parsed = parseScriptResult(result.stdout);
    if (result.exitCode !== 0 && parsed.ok) return { ok: false, status: `exit-${result.exitCode}`, fields: parsed.fields };
    if (result.failure && !parsed.ok) return { ok: false, status: parsed.status === 'no-result' ? `exec: ${result.failure}` : parsed.status, fields: parsed.fields };
    return parsed;
  }

  async #showRoutes(pod: PodSummary): Promise<{ write: string; read: string; paused: boolean } | { error: string }> {
    if (!pod.containers.includes(this.#config.adminContainer)) return { error: `has no ${this.#config.adminContainer} container` };
    try {
      const result = await this.#exec(pod, buildShowRoutesScript(this.#config.aliases.write, this.#config.aliases.read, this.#config.liveSwitchTimeoutSeconds));
      if (!result.ok) return { error: result.status };
      return { write: result.fields.write ?? '', read: result.fields.read ?? '', paused: result.fields.paused === '1' };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error) };
    }
  }

  /** null on success, else why the command failed on this pod. */
  async #adminCommand(pod: PodSummary, command: 'PAUSE' | 'RESUME' | 'KILL'): Promise<string | null> {
    if (!pod.containers.includes(this.#config.adminContainer)) return `has no ${this.#config.adminContainer} container`;
    try {
      const result = await this.#exec(pod, buildAdminCommandScript(command, this.#config.aliases.write, this.#config.liveSwitchTimeoutSeconds));
      return result.ok ? null : result.status;
    } catch (error) {
      return error instanceof Error ? error.message : String(error);
    }
  }

  /** Why writes cannot be held, or how to hold them. */
  async #pauseSkipReason(): Promise<string | { hold: LiveHold }> {
    if (this.#config.reloadStrategy !== ReloadStrategy.Live) return 'reloadStrategy rollout-restart has no admin container to PAUSE through; writes are not paused';
    const { ini } = await this.#readConfig();
    const mode = readPoolMode(ini, this.#config.aliases.write);
    const hold = liveHold(mode);
    if (hold === LiveHold.None) return `pool_mode of ${this.#config.aliases.write} is ${mode}: writes are not paused`;
    return { hold };
  }

  async #readConfig(): Promise<{ ini: string; resourceVersion: string }> {
    const snapshot = await this.#api.getConfigMap(this.#config.namespace, this.#config.configMap);
    const ini = snapshot.data[this.#config.key];
    if (ini === undefined) throw new UpstreamError(`configmap ${this.#configMapName()} has no key ${this.#config.key}`);
    return { ini, resourceVersion: snapshot.resourceVersion };
  }

  #assertPlanIsOurs(plan: PoolerPlan): void {
    if (plan.target !== this.target) throw new InvalidInputError(`plan for target ${plan.target} was given to target ${this.target}`);
    const managed = new Set([this.#config.aliases.write, this.#config.aliases.read]);
    const foreign = plan.changes.filter((change) => !managed.has(change.alias));
    if (foreign.length > 0) throw new InvalidInputError(`${this.target}: plan changes unmanaged alias(es) ${foreign.map((change) => change.alias).join(', ')}`);
  }

  #expected(ini: string): { write: Endpoint | null; read: Endpoint | null } {
    const endpoints = readAliasEndpoints(ini, [this.#config.aliases.write, this.#config.aliases.read]);
    return { write: endpoints[this.#config.aliases.write] ?? null, read: endpoints[this.#config.aliases.read] ?? null };
  }

  #routes(ini: string): string {
    const expected = this.#expected(ini);
    return `${this.#config.aliases.write} -> ${formatEndpoint(expected.write)}, ${this.#config.aliases.read} -> ${formatEndpoint(expected.read)}`;
  }

  #liveDecision(outcomes: readonly PodOutcome[], prefix: string): Decision {
    const count = (kind: PodOutcome['outcome']) => outcomes.filter((outcome) => outcome.outcome === kind).length;
    if (outcomes.length === 0) {
      return decide(this.#step, 'patched-config', `${prefix}; no ready pods matched ${this.#config.podSelector}, pods that start read the new configmap`);
    }
    const restarted = outcomes.filter((outcome) => outcome.outcome === 'restarted').map((outcome) => outcome.pod);
    if (restarted.length > 0) {
      return decide(this.#step, 'switched-with-restarts', `${prefix}; ${count('switched')} pod(s) switched live, ${restarted.length} restarted (${restarted.join(', ')})`);
    }
    return decide(this.#step, 'switched', `${prefix}; ${count('switched')} pod(s) switched live without restarts${count('unchanged') ? `, ${count('unchanged')} already right` : ''}`);
  }

  #throwIfAnyFailed(outcomes: readonly PodOutcome[]): void {
    const failed = outcomes.filter((outcome) => outcome.outcome === 'failed');
    if (failed.length === 0) return;
    throw new TargetFailedError(`${this.target}: pod(s) neither switched nor restarted: ${failed.map((outcome) => `${outcome.pod} (${outcome.reason})`).join('; ')}`);
  }

  #result(started: number, changed: boolean, decision: Decision, pods: readonly PodOutcome[]): PoolerApplyResult {
    return { target: this.target, region: this.region, changed, decision, durationMs: Math.max(0, this.#clock() - started), pods };
  }

  #configMapName(): string {
    return `${this.#config.namespace}/${this.#config.configMap}`;
  }
}

function liveHold(mode: PoolMode): LiveHold {
  if (mode === 'transaction') return LiveHold.Pause;
  return mode === 'session' ? LiveHold.Kill : LiveHold.None;
}
