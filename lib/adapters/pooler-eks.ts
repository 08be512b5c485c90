/**
 * One PgBouncer deployment in EKS as a PoolerTargetAdapter. The ConfigMap is the durable source
 * (compare-and-set with its resourceVersion); the reload strategy decides how running pods follow:
 * `rollout-restart` restarts the workload, `live` writes the new ini into every ready pod through the
 * admin container and switches it with PAUSE (transaction mode) -> RELOAD -> SHOW DATABASES -> RESUME.
 * Every run checks every Running pod it selects (Ready or not), also pods that started during the switch.
 * A Ready pod that does not switch is evicted (Eviction API, so its PodDisruptionBudget holds), one pod at a
 * time, and its replacement is verified before the next; if a fresh pod routes wrongly too, restarts cannot
 * fix the target: it is reported `needs-operator` and marked, so later runs do not restart pods again.
 * Only pods that match the target's selector and carry the admin container are ever exec'd into or evicted.
 */
import { createHash } from 'node:crypto';
import type { EKSClient } from '@aws-sdk/client-eks';
import { POOLER_NEEDS_OPERATOR, ReloadStrategy } from '../core/constants.ts';
import type { PoolerTargetConfig } from '../core/config.ts';
import { decide, type Decision } from '../core/decision.ts';
import { formatEndpoint, sameEndpoint, type Endpoint } from '../core/endpoint.ts';
import { ConflictError, InvalidConfigError, InvalidInputError, isTransient, ServiceUnavailableError, StaleChangeError, TargetFailedError, UpstreamError } from '../core/errors.ts';
import { labelSelectorProblem, matchesLabels, parseLabelSelector, type LabelTerm } from '../core/label-selector.ts';
import { effectiveSettings, readAliasEndpoints, readPoolMode, setAliasEndpoints } from '../core/pgbouncer-ini.ts';
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
/** ConfigMap annotation: why restarting pods does not fix this target (set by the run that found out). */
export const NEEDS_OPERATOR_ANNOTATION = 'aurora-failover.io/needs-operator';
/** ConfigMap annotation: sha256 of the ini text that was found wanting; a different text clears the mark. */
export const NEEDS_OPERATOR_CONFIG_ANNOTATION = 'aurora-failover.io/needs-operator-config-sha256';

/** Bounds of the one-pod-at-a-time restarts inside one apply (the apply-pooler Lambda has 290 s). */
export interface RestartBounds {
  /** How long an evicted pod's replacement may take to become Ready. */
  readonly readyTimeoutMs: number;
  /** Interval between pod listings while waiting for it. */
  readonly pollMs: number;
  /** No eviction starts unless its wait and verification fit in this much time from the start of apply. */
  readonly budgetMs: number;
}
export const DEFAULT_RESTART_BOUNDS: RestartBounds = { readyTimeoutMs: 120_000, pollMs: 3_000, budgetMs: 240_000 };

export interface EksPoolerTargetOptions {
  readonly target: PoolerTargetConfig;
  readonly region: string;
  readonly api: KubernetesApi;
  /**
   * Milliseconds wall clock (default Date.now): durations, and the eviction time a replacement pod's
   * creationTimestamp (the API server's clock) must not precede.
   */
  readonly clock?: () => number;
  readonly restartBounds?: Partial<RestartBounds>;
  readonly sleep?: (ms: number) => Promise<void>;
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
  readonly annotations: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
  readonly applied: readonly PoolerChange[];
}

/** One pod after the live pass: settled, or waiting for a restart (Ready pods only). */
type PodPass =
  | { readonly settled: PodOutcome; readonly heldByMark?: true }
  | { readonly restart: { readonly pod: PodSummary; readonly failure: string } };

interface RestartStep {
  readonly ok: boolean;
  readonly reason: string;
  /** Set when no further pod may be restarted in this run, and why. */
  readonly stop?: string;
  /** Set when a fresh pod routes wrongly too: restarts cannot fix the target. */
  readonly needsOperator?: string;
}

export class EksPoolerTarget implements PoolerTargetAdapter {
  readonly target: string;
  readonly region: string;
  readonly #config: PoolerTargetConfig;
  readonly #api: KubernetesApi;
  readonly #clock: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #bounds: RestartBounds;
  readonly #selector: readonly LabelTerm[];
  readonly #step: string;

  constructor(options: EksPoolerTargetOptions) {
    const problem = labelSelectorProblem(options.target.podSelector);
    if (problem) throw new InvalidConfigError(`${options.target.name}: podSelector ${problem}`);
    this.#config = options.target;
    this.target = options.target.name;
    this.region = options.region;
    this.#api = options.api;
    this.#clock = options.clock ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#bounds = { ...DEFAULT_RESTART_BOUNDS, ...options.restartBounds };
    this.#selector = parseLabelSelector(options.target.podSelector);
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
    if (patched.applied.length === 0 && this.#config.reloadStrategy === ReloadStrategy.RolloutRestart) {
      return this.#result(started, false, decide(this.#step, 'nothing-to-do', `configmap ${this.#configMapName()} already routes ${this.#routes(patched.ini)}`), []);
    }
    const summary = patched.applied.map((change) => `${change.alias} ${formatEndpoint(change.from)} -> ${formatEndpoint(change.to)}`).join(', ');
    if (this.#config.reloadStrategy === ReloadStrategy.Live) {
      // The ConfigMap may already be right while pods lag (a run that died mid-switch, a pod not Ready then,
      // a pod that copied the ConfigMap just before the patch): every run checks every pod.
      const prefix = patched.applied.length > 0 ? `patched configmap ${this.#configMapName()} (${summary})` : `configmap ${this.#configMapName()} already routes ${this.#routes(patched.ini)}`;
      return this.#convergePods(started, patched, prefix);
    }
    const { kind, name } = this.#config.workload;
    await this.#api.restartWorkload(this.#config.namespace, kind, name, new Date());
    return this.#result(
      started,
      true,
      decide(this.#step, 'restarted', `patched configmap ${this.#configMapName()} (${summary}) and restarted ${kind} ${this.#config.namespace}/${name}`),
      [],
    );
  }

  async pauseWrites(): Promise<Decision> {
    const skip = await this.#pauseSkipReason();
    if (typeof skip === 'string') return decide(this.#step, 'skip-pause', skip);
    // Session pool mode: KILL ends each session once and holds new ones until RESUME (docs/pool-modes.md).
    const command = skip.hold === LiveHold.Kill ? 'KILL' : 'PAUSE';
    const alias = this.#config.aliases.write;
    // Ready pods carry the traffic; a pod that is not Ready gets the new file (or a restart) before it serves.
    const pods = (await this.#targetPods()).filter((pod) => pod.ready);
    const transient = new Set<string>();
    const results = await Promise.all(pods.map(async (pod) => ({ pod: pod.name, error: await this.#adminCommand(pod, command, transient) })));
    const failed = results.filter((result) => result.error !== null);
    if (failed.length > 0) {
      // Never leave a partial pause behind: resume the pods that did pause, then report.
      await Promise.all(pods.map((pod) => this.#adminCommand(pod, 'RESUME')));
      const message = `${this.target}: ${command} ${alias} failed on ${failed.map((result) => `${result.pod} (${result.error})`).join(', ')}; resumed the others`;
      throw failed.every((result) => transient.has(result.pod)) ? new ServiceUnavailableError(message) : new TargetFailedError(message);
    }
    const what = command === 'KILL' ? `KILL ${alias} (session pool mode: each session ended once, new ones wait for RESUME)` : `PAUSE ${alias}`;
    return decide(this.#step, 'paused', `${what} on ${pods.length} pod(s): ${pods.map((pod) => pod.name).join(', ') || 'none ready'}`);
  }

  async resumeWrites(): Promise<Decision> {
    if (this.#config.reloadStrategy !== ReloadStrategy.Live) {
      return decide(this.#step, 'skip-resume', 'reloadStrategy rollout-restart never pauses (no admin container)');
    }
    const alias = this.#config.aliases.write;
    const pods = await this.#targetPods();
    const transient = new Set<string>();
    const results = await Promise.all(pods.map(async (pod) => ({ pod, error: await this.#adminCommand(pod, 'RESUME', transient) })));
    const failed = results.filter((result) => result.error !== null);
    const describe = (list: typeof results) => list.map((result) => `${result.pod.name} (${result.error})`).join(', ');
    const failedReady = failed.filter((result) => result.pod.ready);
    if (failedReady.length > 0) {
      const message = `${this.target}: RESUME ${alias} failed on ${describe(failed)}`;
      throw failedReady.every((result) => transient.has(result.pod.name)) ? new ServiceUnavailableError(message) : new TargetFailedError(message);
    }
    const resumed = results.filter((result) => result.error === null).map((result) => result.pod.name);
    const notReady = failed.length > 0 ? `; not resumed on pod(s) that are not Ready (no traffic): ${describe(failed)}` : '';
    return decide(this.#step, 'resumed', `RESUME ${alias} on ${resumed.length} pod(s): ${resumed.join(', ') || 'none running'}${notReady}`);
  }

  /** Re-read, check every change's `from`, patch with the resourceVersion precondition; on 409 start over. */
  async #compareAndSet(changes: readonly PoolerChange[]): Promise<PatchedConfig> {
    for (let attempt = 1; ; attempt += 1) {
      const { ini, annotations, resourceVersion } = await this.#readConfig();
      const current = readAliasEndpoints(ini, changes.map((change) => change.alias));
      const pending = changes.filter((change) => {
        const now = current[change.alias] ?? null;
        if (sameEndpoint(now, change.to)) return false;
        if (sameEndpoint(now, change.from)) return true;
        throw new StaleChangeError(
          `${this.target}: ${change.alias} routes to ${formatEndpoint(now)}, but the plan expected ${formatEndpoint(change.from)} (or already ${formatEndpoint(change.to)}); re-observe and re-plan`,
        );
      });
      if (pending.length === 0) return { ini, annotations, resourceVersion, applied: [] };
      const next = setAliasEndpoints(ini, pending.map((change) => ({ alias: change.alias, endpoint: change.to })));
      try {
        const patched = await this.#api.patchConfigMapKey(this.#config.namespace, this.#config.configMap, this.#config.key, next, resourceVersion);
        return { ini: next, annotations: patched.annotations, resourceVersion: patched.resourceVersion, applied: pending };
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        if (attempt >= CONFIGMAP_PATCH_ATTEMPTS) {
          throw new ConflictError(`${this.target}: configmap ${this.#configMapName()} changed under every one of ${CONFIGMAP_PATCH_ATTEMPTS} patch attempts`, { cause: error });
        }
      }
    }
  }

  /**
   * Live strategy: every selected pod ends `unchanged`, `switched`, `restarted`, `skipped` (not Ready, never
   * evicted) or `failed`. Pass 1 switches (or checks) the listed pods in parallel; pass 2 takes the pods that
   * started meanwhile (they may have copied the ConfigMap before the patch); then Ready laggards are evicted
   * one at a time, each replacement verified before the next eviction.
   */
  async #convergePods(started: number, config: PatchedConfig, prefix: string): Promise<PoolerApplyResult> {
    const { ini } = config;
    const marker = this.#needsOperatorMark(config.annotations, ini);
    const seen = new Set<string>();
    const outcomes: PodOutcome[] = [];
    const laggards: Array<{ pod: PodSummary; failure: string }> = [];
    let heldByMark = false;
    const transient = new Set<string>();
    for (let pass = 1; pass <= 2; pass += 1) {
      const fresh = (await this.#targetPods()).filter((pod) => !seen.has(pod.uid));
      if (fresh.length === 0) break;
      for (const pod of fresh) seen.add(pod.uid);
      const switchFirst = pass === 1 && config.applied.length > 0 && marker === null;
      const results = await Promise.all(fresh.map((pod) => this.#convergePod(pod, ini, switchFirst, marker, transient)));
      for (const result of results) {
        if ('settled' in result) {
          outcomes.push(result.settled);
          if (result.heldByMark) heldByMark = true;
        } else laggards.push(result.restart);
      }
    }
    const restarts = await this.#restartOneByOne(started, laggards, ini, seen);
    outcomes.push(...restarts.outcomes);

    const failed = outcomes.filter((outcome) => outcome.outcome === 'failed');
    const needsOperator = restarts.needsOperator ?? (heldByMark ? marker : null);
    const changed = config.applied.length > 0 || outcomes.some((outcome) => outcome.outcome === 'switched' || outcome.outcome === 'restarted');
    if (needsOperator !== null) {
      const reason = `${prefix}; pod(s) ${failed.map((outcome) => outcome.pod).join(', ')} still route wrongly and restarting does not fix it: ${needsOperator}. No pod is restarted for this configmap text until an operator fixes the config (or removes the annotation ${NEEDS_OPERATOR_ANNOTATION})`;
      return this.#result(started, changed, decide(this.#step, POOLER_NEEDS_OPERATOR, reason), outcomes);
    }
    if (marker !== null && failed.length === 0) await this.#clearNeedsOperatorMark();
    this.#throwIfAnyFailed(outcomes, transient);
    if (!changed) {
      const skipped = outcomes.filter((outcome) => outcome.outcome === 'skipped').map((outcome) => outcome.pod);
      const notReady = skipped.length > 0 ? `; ${skipped.length} pod(s) not Ready and not right yet (${skipped.join(', ')}): the next run checks them again` : '';
      const reason = `configmap ${this.#configMapName()} and ${outcomes.length - skipped.length} pod(s) already route ${this.#routes(ini)}${notReady}`;
      return this.#result(started, false, decide(this.#step, 'nothing-to-do', reason), outcomes);
    }
    return this.#result(started, true, this.#liveDecision(outcomes, prefix), outcomes);
  }

  /** One pod: check it (or switch it right away after a patch); what is still wrong afterwards is queued for a restart if Ready. */
  async #convergePod(pod: PodSummary, ini: string, switchFirst: boolean, marker: string | null, transient: Set<string>): Promise<PodPass> {
    const admin = this.#config.adminContainer;
    if (!pod.containers.includes(admin)) {
      const reason = `matches ${this.#config.podSelector} but has no ${admin} container: never exec'd into or evicted; fix the podSelector or the pod template`;
      return { settled: { pod: pod.name, outcome: 'failed', reason } };
    }
    let wrong = '';
    if (!switchFirst) {
      const routes = await this.#showRoutes(pod);
      if ('error' in routes) {
        if (routes.transient) transient.add(pod.name);
        return this.#notConverged(pod, `could not read SHOW DATABASES: ${routes.error}`, false);
      }
      if (this.#routesMatch(routes, ini)) return { settled: { pod: pod.name, outcome: 'unchanged', reason: 'already routes as the configmap says' } };
      wrong = `routes ${this.#describeRoutes(routes)}; `;
    }
    // A needs-operator mark blocks evictions only: the live switch is harmless (it ends in RESUME, or rolls back and
    // resumes), so it still runs, and resumes a pod a dead run left paused.
    const switched = await this.#liveSwitch(pod, ini);
    if (switched === null) return { settled: { pod: pod.name, outcome: 'switched', reason: `PgBouncer routes ${this.#routes(ini)} (verified with SHOW DATABASES)` } };
    if (switched.transient) {
      // The Kubernetes API failed, not the pod: evicting it would not help. The step fails transiently and is retried.
      transient.add(pod.name);
      return this.#notConverged(pod, `${switched.failure}; not evicted (a transient Kubernetes error)`, false);
    }
    if (marker !== null) {
      const pass = this.#notConverged(pod, `${wrong}${switched.failure}; not restarted: ${marker}`, false);
      return pod.ready && 'settled' in pass ? { settled: pass.settled, heldByMark: true } : pass;
    }
    return this.#notConverged(pod, switched.failure, true);
  }

  /** A pod that is not right: a Ready one that failed to switch is queued for a restart; a pod that is not Ready is never evicted. */
  #notConverged(pod: PodSummary, failure: string, restartable: boolean): PodPass {
    if (!pod.ready) {
      return { settled: { pod: pod.name, outcome: 'skipped', reason: `${failure}; not Ready (no Service traffic), so never evicted: the next run checks it again` } };
    }
    if (!restartable) return { settled: { pod: pod.name, outcome: 'failed', reason: failure } };
    return { restart: { pod, failure } };
  }

  /** Evicts the laggards one at a time; stops at the first refusal, missing replacement or wrong replacement. */
  async #restartOneByOne(
    started: number,
    laggards: ReadonlyArray<{ pod: PodSummary; failure: string }>,
    ini: string,
    seen: Set<string>,
  ): Promise<{ outcomes: PodOutcome[]; needsOperator: string | null }> {
    const outcomes: PodOutcome[] = [];
    let stop: string | null = null;
    let needsOperator: string | null = null;
    const verifyMs = this.#config.liveSwitchTimeoutSeconds * 1000 + EXEC_OVERHEAD_MS;
    for (const { pod, failure } of laggards) {
      if (stop === null && this.#clock() + this.#bounds.readyTimeoutMs + verifyMs > started + this.#bounds.budgetMs) {
        stop = `this run's restart budget (${Math.round(this.#bounds.budgetMs / 1000)} s) is used up; the next run continues`;
      }
      if (stop !== null) {
        outcomes.push({ pod: pod.name, outcome: 'failed', reason: `${failure}; not restarted: ${stop}` });
        continue;
      }
      const step = await this.#restartPod(pod, ini, seen);
      outcomes.push({ pod: pod.name, outcome: step.ok ? 'restarted' : 'failed', reason: `${failure}; ${step.reason}` });
      if (step.stop) stop = step.stop;
      if (step.needsOperator) needsOperator = step.needsOperator;
    }
    if (needsOperator !== null) await this.#markNeedsOperator(ini, needsOperator);
    return { outcomes, needsOperator };
  }

  async #restartPod(pod: PodSummary, ini: string, seen: Set<string>): Promise<RestartStep> {
    const evictedAt = this.#clock();
    const eviction = await this.#api.evictPod(this.#config.namespace, pod.name);
    if (eviction.outcome === 'refused') {
      return { ok: false, reason: `eviction refused: ${eviction.reason}`, stop: 'an eviction was refused (PodDisruptionBudget); no pod is deleted instead, the next run tries again' };
    }
    const evicted = eviction.outcome === 'evicted' ? 'evicted' : 'already gone';
    const replacement = await this.#awaitReplacement(seen, evictedAt);
    if (!replacement) {
      const seconds = Math.round(this.#bounds.readyTimeoutMs / 1000);
      return { ok: false, reason: `${evicted}, but no new pod became Ready within ${seconds} s`, stop: 'a replacement did not become Ready in time; restarting more pods could take the target down' };
    }
    seen.add(replacement.uid);
    const routes = await this.#showRoutes(replacement);
    if ('error' in routes) {
      return { ok: false, reason: `${evicted}; its replacement ${replacement.name} could not be verified: ${routes.error}`, stop: 'a replacement could not be verified' };
    }
    if (this.#routesMatch(routes, ini)) {
      return { ok: true, reason: `${evicted}; its replacement ${replacement.name} routes ${this.#routes(ini)} (verified with SHOW DATABASES)` };
    }
    // It may have copied the ConfigMap before the patch (a kubelet cache that lags): a live switch fixes that. Only
    // a pod that still routes wrongly after one shows that restarts cannot fix the target.
    const switched = await this.#liveSwitch(replacement, ini);
    if (switched === null) {
      return { ok: true, reason: `${evicted}; its replacement ${replacement.name} routed ${this.#describeRoutes(routes)} and was switched live: routes ${this.#routes(ini)} (verified with SHOW DATABASES)` };
    }
    if (switched.transient) {
      return { ok: false, reason: `${evicted}; its replacement ${replacement.name} routes ${this.#describeRoutes(routes)} and ${switched.failure}`, stop: 'a replacement could not be switched (a transient Kubernetes error)' };
    }
    const after = await this.#showRoutes(replacement);
    if ('error' in after) {
      return { ok: false, reason: `${evicted}; its replacement ${replacement.name} routed ${this.#describeRoutes(routes)}, ${switched.failure}, and could not be verified: ${after.error}`, stop: 'a replacement could not be verified' };
    }
    if (this.#routesMatch(after, ini)) {
      return { ok: true, reason: `${evicted}; its replacement ${replacement.name} routes ${this.#routes(ini)} (verified with SHOW DATABASES after a live switch that reported ${switched.failure})` };
    }
    const why = `pod ${replacement.name}, freshly started from configmap ${this.#configMapName()}, routes ${this.#describeRoutes(after)} instead of ${this.#routes(ini)}, also after a live switch (${switched.failure}) (e.g. an %include or a line that PgBouncer reads differently)`;
    return { ok: false, reason: `${evicted}; ${why}`, stop: 'a freshly started pod routes wrongly too: restarting more pods cannot help', needsOperator: why };
  }

  /**
   * The first Ready selected pod this run has not seen yet and that was created after the eviction call (the
   * evicted pod's replacement, or a new replica). A pod created earlier (Pending while the run listed pods, so
   * never seen) may have copied the ConfigMap before the patch: it is not taken for the replacement. The API
   * server stamps creationTimestamp in whole seconds, so the eviction time is cut to the second too.
   */
  async #awaitReplacement(seen: ReadonlySet<string>, evictedAt: number): Promise<PodSummary | null> {
    const deadline = this.#clock() + this.#bounds.readyTimeoutMs;
    const notBefore = Math.floor(evictedAt / 1000) * 1000;
    const createdAfterEviction = (pod: PodSummary) => pod.creationTimestamp !== null && Date.parse(pod.creationTimestamp) >= notBefore;
    for (;;) {
      const fresh = (await this.#targetPods()).find((pod) => pod.ready && !seen.has(pod.uid) && createdAfterEviction(pod));
      if (fresh) return fresh;
      if (this.#clock() >= deadline) return null;
      await this.#sleep(this.#bounds.pollMs);
    }
  }

  /** Why this ConfigMap text must not trigger restarts (an earlier run found a fresh pod routing wrongly), or null. */
  #needsOperatorMark(annotations: Readonly<Record<string, string>>, ini: string): string | null {
    if (annotations[NEEDS_OPERATOR_CONFIG_ANNOTATION] !== sha256(ini)) return null;
    return `an earlier run found that ${annotations[NEEDS_OPERATOR_ANNOTATION] ?? 'a freshly started pod routes wrongly'}`;
  }

  async #markNeedsOperator(ini: string, why: string): Promise<void> {
    // Best effort: without the mark the next run evicts one more pod (one at a time, PDB-bound) and finds out again.
    const annotations = { [NEEDS_OPERATOR_ANNOTATION]: why.slice(0, 1000), [NEEDS_OPERATOR_CONFIG_ANNOTATION]: sha256(ini) };
    await this.#api.annotateConfigMap(this.#config.namespace, this.#config.configMap, annotations).catch(() => undefined);
  }

  async #clearNeedsOperatorMark(): Promise<void> {
    // Every pod routes right for the marked text (an operator fixed what it includes): lift the mark.
    const annotations = { [NEEDS_OPERATOR_ANNOTATION]: null, [NEEDS_OPERATOR_CONFIG_ANNOTATION]: null };
    await this.#api.annotateConfigMap(this.#config.namespace, this.#config.configMap, annotations).catch(() => undefined);
  }

  /** Runs the live switch script in one pod: null when SHOW DATABASES confirms the new routes, else why not. */
  /** null when switched; else why not, and whether Kubernetes itself failed transiently (the script may never have run). */
  async #liveSwitch(pod: PodSummary, ini: string): Promise<{ failure: string; transient: boolean } | null> {
    const expected = this.#expected(ini);
    const script = buildLiveSwitchScript({
      fileName: this.#config.key,
      iniBytes: Buffer.byteLength(ini, 'utf8'),
      writeAlias: this.#config.aliases.write,
      readAlias: this.#config.aliases.read,
      expectedWrite: expected.write,
      expectedRead: expected.read,
      // transaction: PAUSE (nothing fails); session: KILL (one error per session, new ones wait for RESUME).
      hold: liveHold(readPoolMode(ini, this.#config.aliases.write)),
      // Judged against the new file: the pod may run an older copy of the ConfigMap, or a SET from the console.
      expectedSettings: effectiveSettings(ini),
      commandTimeoutSeconds: this.#config.liveSwitchTimeoutSeconds,
    });
    return this.#exec(pod, script, ini).then(
      (result) => (result.ok && result.status === 'switched' ? null : { failure: `live switch failed at ${result.status}`, transient: false }),
      (error: unknown) => ({ failure: `live switch failed: ${error instanceof Error ? error.message : String(error)}`, transient: isTransient(error) }),
    );
  }

  /** Routes as the file says and not left paused (a run that died between PAUSE and RESUME): the switch resumes it. */
  #routesMatch(routes: { write: string; read: string; paused: boolean }, ini: string): boolean {
    const expected = this.#expected(ini);
    return routes.write === formatEndpoint(expected.write) && routes.read === formatEndpoint(expected.read) && !routes.paused;
  }

  #describeRoutes(routes: { write: string; read: string; paused: boolean }): string {
    return `${this.#config.aliases.write} -> ${routes.write || 'none'}${routes.paused ? ' (paused)' : ''}, ${this.#config.aliases.read} -> ${routes.read || 'none'}`;
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

  /** `transient`: Kubernetes answered 5xx/429, timed out or broke the stream: trying the step again may work. */
  async #showRoutes(pod: PodSummary): Promise<{ write: string; read: string; paused: boolean } | { error: string; transient: boolean }> {
    if (!pod.containers.includes(this.#config.adminContainer)) return { error: `has no ${this.#config.adminContainer} container`, transient: false };
    try {
      const result = await this.#exec(pod, buildShowRoutesScript(this.#config.aliases.write, this.#config.aliases.read, this.#config.liveSwitchTimeoutSeconds));
      if (!result.ok) return { error: result.status, transient: false };
      return { write: result.fields.write ?? '', read: result.fields.read ?? '', paused: result.fields.paused === '1' };
    } catch (error) {
      return { error: error instanceof Error ? error.message : String(error), transient: isTransient(error) };
    }
  }

  /** null on success, else why the command failed on this pod; a pod whose failure was transient is added to `transient`. */
  async #adminCommand(pod: PodSummary, command: 'PAUSE' | 'RESUME' | 'KILL', transient?: Set<string>): Promise<string | null> {
    if (!pod.containers.includes(this.#config.adminContainer)) return `has no ${this.#config.adminContainer} container`;
    try {
      const result = await this.#exec(pod, buildAdminCommandScript(command, this.#config.aliases.write, this.#config.liveSwitchTimeoutSeconds));
      return result.ok ? null : result.status;
    } catch (error) {
      if (isTransient(error)) transient?.add(pod.name);
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

  async #readConfig(): Promise<{ ini: string; annotations: Readonly<Record<string, string>>; resourceVersion: string }> {
    const snapshot = await this.#api.getConfigMap(this.#config.namespace, this.#config.configMap);
    const ini = snapshot.data[this.#config.key];
    if (ini === undefined) throw new UpstreamError(`configmap ${this.#configMapName()} has no key ${this.#config.key}`);
    return { ini, annotations: snapshot.annotations, resourceVersion: snapshot.resourceVersion };
  }

  /** The selected pods, re-checked against the selector here too: nothing else is ever exec'd into or evicted. */
  async #targetPods(): Promise<PodSummary[]> {
    const pods = await this.#api.listPods(this.#config.namespace, this.#config.podSelector);
    return pods.filter((pod) => matchesLabels(this.#selector, pod.labels));
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
    const skipped = outcomes.filter((outcome) => outcome.outcome === 'skipped').map((outcome) => outcome.pod);
    const notReady = skipped.length > 0 ? `; ${skipped.length} not Ready and not yet right (${skipped.join(', ')}): the next run checks them again` : '';
    if (restarted.length > 0) {
      return decide(this.#step, 'switched-with-restarts', `${prefix}; ${count('switched')} pod(s) switched live, ${restarted.length} evicted and replaced one at a time (${restarted.join(', ')})${notReady}`);
    }
    return decide(this.#step, 'switched', `${prefix}; ${count('switched')} pod(s) switched live without restarts${count('unchanged') ? `, ${count('unchanged')} already right` : ''}${notReady}`);
  }

  /**
   * A failed pod fails the target. When every failure was transient (Kubernetes 5xx/429, a timeout, a
   * broken exec stream) the error is ServiceUnavailableError, which the state machine retries; otherwise
   * TargetFailedError (fatal, reported by name).
   */
  #throwIfAnyFailed(outcomes: readonly PodOutcome[], transient: ReadonlySet<string>): void {
    const failed = outcomes.filter((outcome) => outcome.outcome === 'failed');
    if (failed.length === 0) return;
    const message = `${this.target}: pod(s) neither switched nor restarted: ${failed.map((outcome) => `${outcome.pod} (${outcome.reason})`).join('; ')}`;
    if (failed.every((outcome) => transient.has(outcome.pod))) throw new ServiceUnavailableError(`${message}; transient, the step may be tried again`);
    throw new TargetFailedError(message);
  }

  #result(started: number, changed: boolean, decision: Decision, pods: readonly PodOutcome[]): PoolerApplyResult {
    return { target: this.target, region: this.region, changed, decision, durationMs: Math.max(0, this.#clock() - started), pods };
  }

  #configMapName(): string {
    return `${this.#config.namespace}/${this.#config.configMap}`;
  }
}

function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

function liveHold(mode: PoolMode): LiveHold {
  if (mode === 'transaction') return LiveHold.Pause;
  return mode === 'session' ? LiveHold.Kill : LiveHold.None;
}
