/**
 * The few Kubernetes API calls a PgBouncer target needs, nothing more (the RBAC Role in
 * deploy/kubernetes/rbac.yaml grants exactly these). REST calls go over node:https with an agent that
 * trusts only the cluster CA; exec uses @kubernetes/client-node's Exec (WebSocket, v5.channel.k8s.io)
 * with a KubeConfig built from the same endpoint, CA and token. TLS verification is never switched off.
 *
 * Why not client-node's generated CoreV1Api for REST: in 2.x its patch methods default to
 * `application/json-patch+json` and the merge-patch content type and a request timeout each need per-call
 * middleware; five small explicit requests keep the content type, the timeout and the mapping of
 * Kubernetes Status errors in plain sight (and in the tests).
 */
import https from 'node:https';
import { Readable, Writable } from 'node:stream';
import { Exec, KubeConfig, type V1Status } from '@kubernetes/client-node';
import { ConflictError, ServiceUnavailableError, ThrottledError, UpstreamError, UpstreamTimeoutError } from '../core/errors.ts';

export interface KubernetesAccess {
  /** API server URL, `https://...`. */
  readonly server: string;
  /** PEM of the cluster CA: the only CA trusted for this server. */
  readonly certificateAuthority: string;
  /** Bearer token (an EKS token from createEksToken). */
  readonly token: string;
}

export interface ConfigMapSnapshot {
  readonly data: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly resourceVersion: string;
}

export interface PodSummary {
  readonly name: string;
  /** metadata.uid: tells a recreated StatefulSet pod (same name) from the one it replaced. */
  readonly uid: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly string[];
  /** Condition Ready=True: the pod is in its Service's endpoints and counts as healthy for a PodDisruptionBudget. */
  readonly ready: boolean;
}

/**
 * What the Eviction API answered: `evicted` (201; the pod terminates gracefully and its controller replaces it),
 * `gone` (404: nothing to evict), or `refused` (429: a PodDisruptionBudget allows no disruption now; never
 * delete instead, wait for the budget or stop).
 */
export type EvictionResult = { readonly outcome: 'evicted' | 'gone' } | { readonly outcome: 'refused'; readonly reason: string };

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  /** The command's exit code; -1 when Kubernetes could not run it (reason in `failure`). */
  readonly exitCode: number;
  readonly failure?: string;
}

export type WorkloadKind = 'Deployment' | 'StatefulSet';

export interface KubernetesApi {
  getConfigMap(namespace: string, name: string): Promise<ConfigMapSnapshot>;
  /** JSON merge patch of one key, refused with ConflictError (409) unless the object is still at `expectedResourceVersion`. */
  patchConfigMapKey(namespace: string, name: string, key: string, value: string, expectedResourceVersion: string): Promise<ConfigMapSnapshot>;
  /** What `kubectl rollout restart` does: stamps the pod template's `kubectl.kubernetes.io/restartedAt`. */
  restartWorkload(namespace: string, kind: WorkloadKind, name: string, at: Date): Promise<void>;
  /** Merge-patches metadata.annotations (null removes one); leaves data and the other annotations alone. */
  annotateConfigMap(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<ConfigMapSnapshot>;
  /** Pods matching the selector that are Running and not terminating, Ready or not (`ready` says which). */
  listPods(namespace: string, labelSelector: string): Promise<PodSummary[]>;
  execInPod(namespace: string, pod: string, container: string, command: readonly string[], options?: ExecOptions): Promise<ExecResult>;
  /** Asks the Eviction API (policy/v1) to evict one pod, which respects its PodDisruptionBudget. */
  evictPod(namespace: string, name: string): Promise<EvictionResult>;
}

export interface ExecOptions {
  /** Sent on the stdin channel, then stdin is closed. Never logged. */
  readonly stdin?: string;
  readonly timeoutMs?: number;
}

export interface KubernetesClientOptions {
  readonly requestTimeoutMs?: number;
  readonly execTimeoutMs?: number;
}

const MERGE_PATCH = 'application/merge-patch+json';
const RESTARTED_AT_ANNOTATION = 'kubectl.kubernetes.io/restartedAt';
const TLS_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The client library leaves `rejectUnauthorized` unset on its WebSocket (exec) path, so Node falls back to
 * NODE_TLS_REJECT_UNAUTHORIZED, and `=0` there would silently turn verification off. This sets it to
 * true explicitly, before the library builds its agent (so the agent carries it) and after (so the request does).
 */
class VerifiedKubeConfig extends KubeConfig {
  override async applyToHTTPSOptions(opts: Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    opts.rejectUnauthorized = true;
    await super.applyToHTTPSOptions(opts);
    opts.rejectUnauthorized = true;
  }
}

/** A KubeConfig for one cluster: server + CA + bearer token, TLS verified whatever the environment says. */
export function createKubeConfig(access: KubernetesAccess): KubeConfig {
  assertHttps(access.server);
  const kubeConfig = new VerifiedKubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: 'target', server: access.server, caData: Buffer.from(access.certificateAuthority).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'aurora-failover', token: access.token }],
    contexts: [{ name: 'target', cluster: 'target', user: 'aurora-failover' }],
    currentContext: 'target',
  });
  return kubeConfig;
}

/**
 * @example
 * const api = new KubernetesClient({ server: cluster.endpoint, certificateAuthority: cluster.certificateAuthority, token });
 * const { data, resourceVersion } = await api.getConfigMap('pgbouncer', 'pgbouncer-config');
 */
export class KubernetesClient implements KubernetesApi {
  readonly #server: URL;
  readonly #token: string;
  readonly #agent: https.Agent;
  readonly #kubeConfig: KubeConfig;
  readonly #requestTimeoutMs: number;
  readonly #execTimeoutMs: number;

  constructor(access: KubernetesAccess, options: KubernetesClientOptions = {}) {
    assertHttps(access.server);
    this.#server = new URL(access.server);
    this.#token = access.token;
    this.#agent = new https.Agent({ ca: access.certificateAuthority, rejectUnauthorized: true, keepAlive: true });
    this.#kubeConfig = createKubeConfig(access);
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.#execTimeoutMs = options.execTimeoutMs ?? 30_000;
  }

  async getConfigMap(namespace: string, name: string): Promise<ConfigMapSnapshot> {
    const what = `configmap ${namespace}/${name}`;
    const body = await this.#request('GET', `/api/v1/namespaces/${seg(namespace)}/configmaps/${seg(name)}`, what);
    return configMapSnapshot(body, what);
  }

  async patchConfigMapKey(namespace: string, name: string, key: string, value: string, expectedResourceVersion: string): Promise<ConfigMapSnapshot> {
    const what = `configmap ${namespace}/${name}`;
    // A merge patch carrying metadata.resourceVersion is a precondition: the API server answers 409 if it moved.
    const patch = { metadata: { resourceVersion: expectedResourceVersion }, data: { [key]: value } };
    const body = await this.#request('PATCH', `/api/v1/namespaces/${seg(namespace)}/configmaps/${seg(name)}`, what, { body: patch, contentType: MERGE_PATCH });
    return configMapSnapshot(body, what);
  }

  async annotateConfigMap(namespace: string, name: string, annotations: Readonly<Record<string, string | null>>): Promise<ConfigMapSnapshot> {
    const what = `configmap ${namespace}/${name}`;
    const body = await this.#request('PATCH', `/api/v1/namespaces/${seg(namespace)}/configmaps/${seg(name)}`, what, {
      body: { metadata: { annotations } },
      contentType: MERGE_PATCH,
    });
    return configMapSnapshot(body, what);
  }

  async restartWorkload(namespace: string, kind: WorkloadKind, name: string, at: Date): Promise<void> {
    const resource = kind === 'Deployment' ? 'deployments' : 'statefulsets';
    const restartedAt = at.toISOString().replace(/\.\d{3}Z$/, 'Z');
    const patch = { spec: { template: { metadata: { annotations: { [RESTARTED_AT_ANNOTATION]: restartedAt } } } } };
    await this.#request('PATCH', `/apis/apps/v1/namespaces/${seg(namespace)}/${resource}/${seg(name)}`, `${kind.toLowerCase()} ${namespace}/${name}`, {
      body: patch,
      contentType: MERGE_PATCH,
    });
  }

  async listPods(namespace: string, labelSelector: string): Promise<PodSummary[]> {
    const what = `pods in ${namespace} matching ${labelSelector}`;
    const body = await this.#request('GET', `/api/v1/namespaces/${seg(namespace)}/pods?labelSelector=${encodeURIComponent(labelSelector)}`, what);
    const items = (body as { items?: unknown }).items;
    if (!Array.isArray(items)) throw new UpstreamError(`listing ${what} returned no items array`);
    return items.filter(isRunningPod).map((pod) => ({
      name: pod.metadata.name,
      uid: pod.metadata.uid ?? `name:${pod.metadata.name}`,
      labels: { ...(pod.metadata.labels ?? {}) },
      containers: (pod.spec?.containers ?? []).map((container) => container.name),
      ready: (pod.status?.conditions ?? []).some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    }));
  }

  async evictPod(namespace: string, name: string): Promise<EvictionResult> {
    const what = `eviction of pod ${namespace}/${name}`;
    const eviction = { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name, namespace } };
    try {
      await this.#request('POST', `/api/v1/namespaces/${seg(namespace)}/pods/${seg(name)}/eviction`, what, { body: eviction, contentType: 'application/json' });
      return { outcome: 'evicted' };
    } catch (error) {
      if (error instanceof ThrottledError) return { outcome: 'refused', reason: error.message };
      if (error instanceof UpstreamError && /\(404\b/.test(error.message)) return { outcome: 'gone' };
      throw error;
    }
  }

  async execInPod(namespace: string, pod: string, container: string, command: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const what = `exec in pod ${namespace}/${pod} container ${container}`;
    const timeoutMs = options.timeoutMs ?? this.#execTimeoutMs;
    const stdout = new TextCollector();
    const stderr = new TextCollector();
    const stdin = options.stdin === undefined ? null : Readable.from([Buffer.from(options.stdin, 'utf8')]);
    const exec = new Exec(this.#kubeConfig);
    return await new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      let socket: { close(): void } | undefined;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
        socket?.close();
      };
      const timer = setTimeout(() => settle(() => reject(new UpstreamTimeoutError(`${what} did not finish within ${timeoutMs} ms`))), timeoutMs);
      const onStatus = (status: V1Status) =>
        // Let stdout/stderr frames that arrived before the status frame land first.
        setImmediate(() => settle(() => resolve({ stdout: stdout.text(), stderr: stderr.text(), ...exitCodeOf(status) })));
      exec
        .exec(namespace, pod, container, [...command], stdout, stderr, stdin, false, onStatus)
        .then((connection) => {
          socket = connection;
          if (settled) connection.close();
          connection.on('close', () =>
            settle(() => reject(new ServiceUnavailableError(`${what}: the stream closed before the command reported its exit status`))),
          );
        })
        .catch((error: unknown) => settle(() => reject(this.#connectionError(unwrapSocketError(error), what))));
    });
  }

  async #request(method: string, path: string, what: string, payload?: { body: unknown; contentType: string }): Promise<unknown> {
    const url = new URL(path, this.#server);
    const data = payload ? Buffer.from(JSON.stringify(payload.body), 'utf8') : undefined;
    const headers: Record<string, string> = { Accept: 'application/json', Authorization: `Bearer ${this.#token}` };
    if (payload && data) {
      headers['Content-Type'] = payload.contentType;
      headers['Content-Length'] = String(data.length);
    }
    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const request = https.request(url, { method, agent: this.#agent, headers, timeout: this.#requestTimeoutMs }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        response.on('error', (error) => reject(this.#connectionError(error, `${method} ${what}`)));
      });
      request.on('timeout', () => request.destroy(new UpstreamTimeoutError(`${method} ${what} got no answer within ${this.#requestTimeoutMs} ms`)));
      request.on('error', (error) => reject(error instanceof UpstreamTimeoutError ? error : this.#connectionError(error, `${method} ${what}`)));
      request.end(data);
    });
    if (status >= 200 && status < 300) return parseJson(text, `${method} ${what}`);
    throw statusError(status, text, `${method} ${what}`);
  }

  #connectionError(error: unknown, what: string): Error {
    const code = (error as { code?: unknown } | null)?.code;
    const message = error instanceof Error ? error.message : String(error);
    if (typeof code === 'string' && TLS_ERROR_CODES.has(code)) {
      return new UpstreamError(
        `${what}: TLS verification of ${this.#server.origin} failed (${code}): its certificate is not valid for the cluster CA from DescribeCluster`,
        { cause: error },
      );
    }
    const httpStatus = /Unexpected server response: (\d{3})/.exec(message)?.[1];
    if (httpStatus) return statusError(Number(httpStatus), '', what);
    if (code === 'ETIMEDOUT') return new UpstreamTimeoutError(`${what}: connection timed out`, { cause: error });
    return new ServiceUnavailableError(`${what}: connection failed${typeof code === 'string' ? ` (${code})` : ''}: ${message}`, { cause: error });
  }
}

/** Maps a non-2xx answer to the error classes the state machine retries (409, 429, 5xx) or reports. */
function statusError(status: number, text: string, what: string): Error {
  const detail = statusMessage(text);
  const message = `${what} failed (${status}${detail ? `: ${detail}` : ''})`;
  if (status === 409) return new ConflictError(message);
  if (status === 429) return new ThrottledError(message);
  if (status >= 500) return new ServiceUnavailableError(message);
  return new UpstreamError(message);
}

/** The Kubernetes Status message, shortened; object data never appears in Status messages of these calls. */
function statusMessage(text: string): string {
  try {
    const parsed = JSON.parse(text) as { kind?: unknown; message?: unknown; details?: { causes?: Array<{ message?: unknown }> } };
    if (parsed.kind === 'Status' && typeof parsed.message === 'string') {
      // An eviction refused by a PodDisruptionBudget says which budget and how many pods in its cause.
      const causes = (parsed.details?.causes ?? []).map((cause) => cause.message).filter((message): message is string => typeof message === 'string');
      return [parsed.message, ...causes].join(' ').slice(0, 300);
    }
  } catch {
    // not JSON: no detail
  }
  return '';
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UpstreamError(`${what} returned a body that is not JSON`, { cause: error });
  }
}

function configMapSnapshot(body: unknown, what: string): ConfigMapSnapshot {
  const object = body as { data?: unknown; metadata?: { resourceVersion?: unknown; annotations?: unknown } };
  const resourceVersion = object.metadata?.resourceVersion;
  if (typeof resourceVersion !== 'string' || resourceVersion === '') throw new UpstreamError(`${what} has no metadata.resourceVersion`);
  const data: Record<string, string> = {};
  if (object.data && typeof object.data === 'object') {
    for (const [key, value] of Object.entries(object.data)) if (typeof value === 'string') data[key] = value;
  }
  const annotations: Record<string, string> = {};
  const rawAnnotations = object.metadata?.annotations;
  if (rawAnnotations && typeof rawAnnotations === 'object') {
    for (const [key, value] of Object.entries(rawAnnotations)) if (typeof value === 'string') annotations[key] = value;
  }
  return { data, annotations, resourceVersion };
}

interface PodObject {
  metadata: { name: string; uid?: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec?: { containers?: Array<{ name: string }> };
  status?: { phase?: string; conditions?: Array<{ type?: string; status?: string }> };
}

/** Running (its containers started, so exec can reach it) and not terminating; Ready or not. */
function isRunningPod(value: unknown): value is PodObject {
  const pod = value as PodObject;
  if (typeof pod?.metadata?.name !== 'string' || pod.metadata.deletionTimestamp) return false;
  return pod.status?.phase === 'Running';
}

function exitCodeOf(status: V1Status): { exitCode: number; failure?: string } {
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = status.details?.causes?.find((item) => item.reason === 'ExitCode');
  const code = cause?.message === undefined ? Number.NaN : Number.parseInt(cause.message, 10);
  if (status.reason === 'NonZeroExitCode' && Number.isInteger(code)) return { exitCode: code };
  return { exitCode: -1, failure: (status.message ?? status.reason ?? 'exec failed').slice(0, 200) };
}

/** ws reports connection failures as an ErrorEvent whose `error` is the real Error (with its TLS code). */
function unwrapSocketError(error: unknown): unknown {
  const inner = (error as { error?: unknown } | null)?.error;
  return inner instanceof Error ? inner : error;
}

function assertHttps(server: string): void {
  if (!/^https:\/\//.test(server)) throw new UpstreamError(`Kubernetes API server must be an https URL, got ${JSON.stringify(server).slice(0, 80)}`);
}

function seg(value: string): string {
  return encodeURIComponent(value);
}

class TextCollector extends Writable {
  readonly #chunks: Buffer[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.#chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    callback();
  }
  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}
