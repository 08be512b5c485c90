/**
 * The few Kubernetes API calls a PgBouncer target needs, nothing more (the RBAC Role in
 * deploy/kubernetes/rbac.yaml grants exactly these). REST calls go over node:https with an agent that
 * trusts only the cluster CA; exec speaks the `v5.channel.k8s.io` WebSocket subprotocol directly over the
 * `ws` package, with the same CA and token. TLS verification is never switched off.
 *
 * Why not @kubernetes/client-node: its generated CoreV1Api (2.x) defaults patches to
 * `application/json-patch+json` and needs per-call middleware for the merge-patch content type and a
 * timeout, and its Exec comes with KubeConfig, whose module pulls in undici and about 2 MB more into every
 * bundle that talks to Kubernetes (170-250 ms to import on the dev VM). Five small explicit requests and
 * one small exec keep the content type, the timeout, TLS and the mapping of Kubernetes Status errors in
 * plain sight (and in the tests).
 */
import type { IncomingMessage } from 'node:http';
import https from 'node:https';
import WebSocket from 'ws';
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
  /**
   * metadata.creationTimestamp (RFC 3339, whole seconds, the API server's clock); null when absent. Tells an
   * evicted pod's replacement from a pod created earlier (Pending pods are not listed, so one can appear late).
   */
  readonly creationTimestamp: string | null;
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
const EXEC_PROTOCOL = 'v5.channel.k8s.io';
/** The first byte of every exec frame (v5.channel.k8s.io). */
const Channel = { Stdin: 0, Stdout: 1, Stderr: 2, Error: 3, Close: 255 } as const;
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
 * @example
 * const api = new KubernetesClient({ server: cluster.endpoint, certificateAuthority: cluster.certificateAuthority, token });
 * const { data, resourceVersion } = await api.getConfigMap('pgbouncer', 'pgbouncer-config');
 */
export class KubernetesClient implements KubernetesApi {
  readonly #server: URL;
  readonly #token: string;
  readonly #certificateAuthority: string;
  readonly #agent: https.Agent;
  readonly #requestTimeoutMs: number;
  readonly #execTimeoutMs: number;

  constructor(access: KubernetesAccess, options: KubernetesClientOptions = {}) {
    assertHttps(access.server);
    this.#server = new URL(access.server);
    this.#token = access.token;
    this.#certificateAuthority = access.certificateAuthority;
    this.#agent = new https.Agent({ ca: access.certificateAuthority, rejectUnauthorized: true, keepAlive: true });
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
      creationTimestamp: typeof pod.metadata.creationTimestamp === 'string' ? pod.metadata.creationTimestamp : null,
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

  /**
   * One command over the `v5.channel.k8s.io` subprotocol (Kubernetes 1.30+): GET .../pods/{pod}/exec upgraded to
   * a WebSocket; each binary frame starts with its channel byte (0 stdin, 1 stdout, 2 stderr, 3 the v1 Status
   * that ends the command, 255 close: `[255, 0]` closes stdin). Stdin, when given, is sent and then closed;
   * the result comes from the Status. Only v5 is offered: v4 can close stdin only by closing the socket,
   * which would lose the output and the exit code.
   */
  async execInPod(namespace: string, pod: string, container: string, command: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const what = `exec in pod ${namespace}/${pod} container ${container}`;
    const timeoutMs = options.timeoutMs ?? this.#execTimeoutMs;
    const query = new URLSearchParams({ container });
    for (const argument of command) query.append('command', argument);
    query.set('stdin', String(options.stdin !== undefined));
    query.set('stdout', 'true');
    query.set('stderr', 'true');
    query.set('tty', 'false');
    const url = new URL(`/api/v1/namespaces/${seg(namespace)}/pods/${seg(pod)}/exec?${query.toString()}`, this.#server);
    url.protocol = 'wss:';
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const status: Buffer[] = [];
    return await new Promise<ExecResult>((resolve, reject) => {
      let settled = false;
      const socket = new WebSocket(url, [EXEC_PROTOCOL], {
        ca: this.#certificateAuthority,
        // Set explicitly so no process-wide environment setting can weaken verification of the cluster CA.
        rejectUnauthorized: true,
        headers: { Authorization: `Bearer ${this.#token}` },
        handshakeTimeout: timeoutMs,
        followRedirects: false,
        perMessageDeflate: false,
      });
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
        if (socket.readyState === WebSocket.OPEN) socket.close(1000);
        else if (socket.readyState === WebSocket.CONNECTING) socket.terminate();
      };
      const fail = (error: Error) => settle(() => reject(error));
      const timer = setTimeout(() => {
        fail(new UpstreamTimeoutError(`${what} did not finish within ${timeoutMs} ms`));
        // An API server that stopped answering would not answer the close handshake either.
        socket.terminate();
      }, timeoutMs);
      socket.on('unexpected-response', (_request, response: IncomingMessage) => {
        // The upgrade was refused (401, 403, 404, 429, 5xx...): the body, if any, is a Kubernetes Status.
        readLimited(response, 16_384).then(
          (text) => fail(statusError(response.statusCode ?? 0, text, what)),
          () => fail(statusError(response.statusCode ?? 0, '', what)),
        );
      });
      socket.on('error', (error) => fail(this.#execConnectionError(error, what)));
      socket.on('open', () => {
        if (socket.protocol !== EXEC_PROTOCOL) {
          fail(new UpstreamError(`${what}: the API server chose the subprotocol ${JSON.stringify(socket.protocol)}, not ${EXEC_PROTOCOL} (Kubernetes 1.30+ is needed)`));
          return;
        }
        if (options.stdin === undefined) return;
        socket.send(Buffer.concat([Buffer.from([Channel.Stdin]), Buffer.from(options.stdin, 'utf8')]));
        socket.send(Buffer.from([Channel.Close, Channel.Stdin]));
      });
      socket.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
        const frame = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
        const payload = frame.subarray(1);
        switch (frame[0]) {
          case Channel.Stdout:
            stdout.push(payload);
            return;
          case Channel.Stderr:
            stderr.push(payload);
            return;
          case Channel.Error: {
            // The Status is one JSON document; should it come in pieces, wait for the rest.
            status.push(payload);
            const parsed = parseStatus(Buffer.concat(status).toString('utf8'));
            if (!parsed) return;
            const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString('utf8');
            settle(() => resolve({ stdout: text(stdout), stderr: text(stderr), ...exitCodeOf(parsed) }));
            return;
          }
          default:
            // 255 (the server closing one of its streams), 4 (resize) or unknown: nothing to collect.
            return;
        }
      });
      socket.on('close', (code) => {
        const partial = status.length > 0 ? ' (its status frame was not valid JSON)' : '';
        fail(new ServiceUnavailableError(`${what}: the stream closed (${code}) before the command reported its exit status${partial}`));
      });
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

  /** A WebSocket failure before or during the exec: TLS and connection errors as for REST; a bad handshake is fatal. */
  #execConnectionError(error: Error, what: string): Error {
    if (/^Server sent (no|an invalid) subprotocol|^Invalid Sec-WebSocket-Accept|^Invalid Upgrade header/.test(error.message)) {
      return new UpstreamError(`${what}: the API server did not accept the ${EXEC_PROTOCOL} subprotocol (${error.message}; Kubernetes 1.30+ is needed)`, { cause: error });
    }
    if (error.message === 'Opening handshake has timed out') return new UpstreamTimeoutError(`${what}: the WebSocket upgrade got no answer`, { cause: error });
    return this.#connectionError(error, what);
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
  metadata: { name: string; uid?: string; labels?: Record<string, string>; creationTimestamp?: string; deletionTimestamp?: string };
  spec?: { containers?: Array<{ name: string }> };
  status?: { phase?: string; conditions?: Array<{ type?: string; status?: string }> };
}

/** Running (its containers started, so exec can reach it) and not terminating; Ready or not. */
function isRunningPod(value: unknown): value is PodObject {
  const pod = value as PodObject;
  if (typeof pod?.metadata?.name !== 'string' || pod.metadata.deletionTimestamp) return false;
  return pod.status?.phase === 'Running';
}

/** The v1 Status a finished exec sends on channel 3 (only the fields read here). */
interface ExecStatus {
  readonly status?: string;
  readonly message?: string;
  readonly reason?: string;
  readonly details?: { readonly causes?: ReadonlyArray<{ readonly reason?: string; readonly message?: string }> };
}

/** The Status object, or null while the bytes are not (yet) one whole JSON object. */
function parseStatus(text: string): ExecStatus | null {
  try {
    const parsed = JSON.parse(text) as unknown;
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ExecStatus) : null;
  } catch {
    return null;
  }
}

function exitCodeOf(status: ExecStatus): { exitCode: number; failure?: string } {
  if (status.status === 'Success') return { exitCode: 0 };
  const cause = status.details?.causes?.find((item) => item.reason === 'ExitCode');
  const code = cause?.message === undefined ? Number.NaN : Number.parseInt(cause.message, 10);
  if (status.reason === 'NonZeroExitCode' && Number.isInteger(code)) return { exitCode: code };
  return { exitCode: -1, failure: String(status.message ?? status.reason ?? 'exec failed').slice(0, 200) };
}

/** A response body as text, at most `limit` bytes (the rest is dropped). */
function readLimited(response: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    response.on('data', (chunk: Buffer) => {
      if (size < limit) chunks.push(chunk.subarray(0, limit - size));
      size += chunk.length;
    });
    response.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    response.on('error', reject);
  });
}

function assertHttps(server: string): void {
  if (!/^https:\/\//.test(server)) throw new UpstreamError(`Kubernetes API server must be an https URL, got ${JSON.stringify(server).slice(0, 80)}`);
}

function seg(value: string): string {
  return encodeURIComponent(value);
}
