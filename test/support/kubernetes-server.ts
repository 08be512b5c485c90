/**
 * A local Kubernetes API server fake on 127.0.0.1 over HTTPS (test CA), strict where the real one is:
 * it demands the bearer token, the merge-patch content type and a matching resourceVersion (real 409
 * Status body), lists only what matches the label selector, and serves pods/exec over WebSocket with the
 * v5.channel.k8s.io protocol (channel 0 stdin, 1 stdout, 2 stderr, 3 status; 255 closes a stream).
 * Evictions (policy/v1 Eviction subresource) answer as the API server does: 201 with a Success Status,
 * 429 with a DisruptionBudget cause when a PodDisruptionBudget forbids it, 404 for a pod that is gone,
 * 400 when the body's name differs from the URL's. A test's `onEvicted` plays the workload controller.
 * What an exec does is up to the test (`execHandler`). Every request is recorded.
 */
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { TestCertificates } from './test-ca.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly authorization: string | undefined;
  readonly body: string;
  /** Set for exec: the negotiated WebSocket subprotocol. */
  readonly protocol?: string;
}

export interface FakePod {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containers: readonly string[];
  /** Set by addPod when absent: each pod object (also a StatefulSet pod recreated under its old name) gets its own. */
  uid?: string;
  /** metadata.creationTimestamp; addPod sets the current time in whole seconds (as the API server does) when absent. */
  creationTimestamp?: string;
  phase?: string;
  ready?: boolean;
  /** Set: the pod is terminating (listed with metadata.deletionTimestamp). */
  deletionTimestamp?: string;
}

/** One rule of an RBAC Role, as in deploy/kubernetes/rbac.yaml. */
export interface FakeRbacRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly verbs: readonly string[];
}

/** A PodDisruptionBudget reduced to what eviction checks: its selector (matchLabels) and minAvailable. */
export interface FakeDisruptionBudget {
  readonly name: string;
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly minAvailable: number;
}

export interface ExecCall {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
  readonly stdin: string;
}

export interface ExecOutcome {
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exitCode: number;
}

export type ExecHandler = (call: ExecCall) => Promise<ExecOutcome>;

interface StoredConfigMap {
  data: Record<string, string>;
  annotations: Record<string, string>;
  resourceVersion: number;
}

const EXEC_PROTOCOLS = ['v5.channel.k8s.io', 'v4.channel.k8s.io'];

export class FakeKubernetesServer {
  readonly requests: RecordedRequest[] = [];
  readonly deletedPods: string[] = [];
  /** `namespace/name` of every pod an eviction removed, in order. */
  readonly evictedPods: string[] = [];
  /** Called after an eviction removed a pod: the test's stand-in for the ReplicaSet/StatefulSet controller. */
  onEvicted: ((namespace: string, pod: FakePod) => void) | null = null;
  /** Pod template annotations of each workload, by `namespace/kind/name` (kind: deployments|statefulsets). */
  readonly workloadAnnotations = new Map<string, Record<string, string>>();
  /** Each of the next N ConfigMap PATCHes finds the object changed by another writer just before it. */
  concurrentWritesBeforePatch = 0;
  /** Answer every ConfigMap PATCH with this status instead (e.g. 429, 503); null = behave. */
  failConfigMapPatchWith: number | null = null;
  /** Answer pod lists as if the selector were not there (a misbehaving proxy): the adapter must re-check labels. */
  ignoreLabelSelector = false;
  /**
   * Set: the caller holds exactly these Role rules; a request no rule allows gets 403 Forbidden, as from the
   * RBAC authorizer (WebSocket exec is authorized as `create` on pods/exec, as Kubernetes 1.31+ does).
   */
  rbacRules: readonly FakeRbacRule[] | null = null;
  /** Pods (`namespace/name`) whose DELETE answers 500. */
  readonly refuseDeleteOf = new Set<string>();
  execHandler: ExecHandler = async () => ({ stdout: '', exitCode: 0 });
  /** Answer every exec upgrade with this HTTP status line instead (e.g. `503 Service Unavailable`); null = behave. */
  execUpgradeStatus: string | null = null;

  readonly #token: string;
  readonly #certificates: TestCertificates;
  readonly #configMaps = new Map<string, StoredConfigMap>();
  readonly #pods = new Map<string, FakePod[]>();
  readonly #budgets = new Map<string, FakeDisruptionBudget[]>();
  #nextUid = 1;
  readonly #sockets = new Set<Socket>();
  #server: https.Server | undefined;
  #webSockets: WebSocketServer | undefined;
  #nextResourceVersion = 1000;

  constructor(options: { token: string; certificates: TestCertificates }) {
    this.#token = options.token;
    this.#certificates = options.certificates;
  }

  setConfigMap(namespace: string, name: string, data: Record<string, string>): string {
    const stored = { data: { ...data }, annotations: {}, resourceVersion: this.#nextResourceVersion++ };
    this.#configMaps.set(`${namespace}/${name}`, stored);
    return String(stored.resourceVersion);
  }

  configMap(namespace: string, name: string): { data: Record<string, string>; annotations: Record<string, string>; resourceVersion: string } | undefined {
    const stored = this.#configMaps.get(`${namespace}/${name}`);
    return stored && { data: { ...stored.data }, annotations: { ...stored.annotations }, resourceVersion: String(stored.resourceVersion) };
  }

  /** Sets annotations on a stored ConfigMap, as another writer (an earlier run, an operator) would. */
  annotateConfigMap(namespace: string, name: string, annotations: Record<string, string>): void {
    const stored = this.#configMaps.get(`${namespace}/${name}`);
    if (!stored) throw new Error(`no configmap ${namespace}/${name}`);
    Object.assign(stored.annotations, annotations);
    stored.resourceVersion = this.#nextResourceVersion++;
  }

  addWorkload(namespace: string, kind: 'deployments' | 'statefulsets', name: string): void {
    this.workloadAnnotations.set(`${namespace}/${kind}/${name}`, {});
  }

  addPod(namespace: string, pod: FakePod): void {
    const creationTimestamp = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.#pods.set(namespace, [...(this.#pods.get(namespace) ?? []), { phase: 'Running', ready: true, uid: `uid-${this.#nextUid++}`, creationTimestamp, ...pod }]);
  }

  addDisruptionBudget(namespace: string, budget: FakeDisruptionBudget): void {
    this.#budgets.set(namespace, [...(this.#budgets.get(namespace) ?? []), budget]);
  }

  pods(namespace: string): readonly FakePod[] {
    return this.#pods.get(namespace) ?? [];
  }

  /** Starts listening; returns the server URL (https://127.0.0.1:<port>). */
  async start(): Promise<string> {
    const server = https.createServer({ cert: this.#certificates.serverCert, key: this.#certificates.serverKey }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => this.#handle(request, response, Buffer.concat(chunks).toString('utf8')));
    });
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#webSockets = new WebSocketServer({
      noServer: true,
      handleProtocols: (offered) => EXEC_PROTOCOLS.find((protocol) => offered.has(protocol)) ?? false,
    });
    server.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => this.#upgrade(request, socket, head));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.#server = server;
    return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const client of this.#webSockets?.clients ?? []) client.terminate();
    this.#webSockets?.close();
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  #record(request: IncomingMessage, body: string, protocol?: string): RecordedRequest {
    const url = new URL(request.url ?? '/', 'https://127.0.0.1');
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      contentType: request.headers['content-type'],
      authorization: request.headers.authorization,
      body,
      ...(protocol ? { protocol } : {}),
    };
    this.requests.push(recorded);
    return recorded;
  }

  #handle(request: IncomingMessage, response: ServerResponse, body: string): void {
    const recorded = this.#record(request, body);
    if (recorded.authorization !== `Bearer ${this.#token}`) return sendStatus(response, 401, 'Unauthorized', 'Unauthorized');
    const forbidden = this.#forbidden(recorded);
    if (forbidden) return sendStatus(response, 403, 'Forbidden', forbidden);
    const configMap = /^\/api\/v1\/namespaces\/([^/]+)\/configmaps\/([^/]+)$/.exec(recorded.path);
    const workload = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)$/.exec(recorded.path);
    const podList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(recorded.path);
    const pod = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)$/.exec(recorded.path);
    const eviction = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/eviction$/.exec(recorded.path);
    if (configMap && recorded.method === 'GET') return this.#getConfigMap(response, configMap[1]!, configMap[2]!);
    if (configMap && recorded.method === 'PATCH') return this.#patchConfigMap(response, configMap[1]!, configMap[2]!, recorded);
    if (workload && recorded.method === 'PATCH') return this.#patchWorkload(response, workload[1]!, workload[2]!, workload[3]!, recorded);
    if (podList && recorded.method === 'GET') return this.#listPods(response, podList[1]!, recorded.query.get('labelSelector') ?? '');
    if (pod && recorded.method === 'DELETE') return this.#deletePod(response, pod[1]!, pod[2]!);
    if (eviction && recorded.method === 'POST') return this.#evictPod(response, eviction[1]!, eviction[2]!, recorded);
    sendStatus(response, 404, 'NotFound', `the server could not find the requested resource (${recorded.method} ${recorded.path})`);
  }

  /** Why RBAC refuses this request (the API server's Forbidden message), or null when a rule allows it. */
  #forbidden(recorded: RecordedRequest): string | null {
    if (!this.rbacRules) return null;
    const core = /^\/api\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+)(?:\/([^/]+))?)?$/.exec(recorded.path);
    const apps = /^\/apis\/(apps)\/v1\/namespaces\/([^/]+)\/([^/]+)(?:\/([^/]+))?$/.exec(recorded.path);
    const [apiGroup, namespace, collection, name, subresource] = core
      ? ['', core[1]!, core[2]!, core[3], core[4]]
      : apps
        ? ['apps', apps[2]!, apps[3]!, apps[4], undefined]
        : ['?', '?', '?', undefined, undefined];
    const resource = subresource ? `${collection}/${subresource}` : collection;
    const verb =
      subresource === 'exec' || subresource === 'eviction'
        ? 'create'
        : ({ GET: name ? 'get' : 'list', PATCH: 'patch', PUT: 'update', POST: 'create', DELETE: name ? 'delete' : 'deletecollection' } as Record<string, string>)[recorded.method] ?? '?';
    const allowed = this.rbacRules.some(
      (rule) =>
        rule.apiGroups.includes(apiGroup) &&
        rule.resources.includes(resource) &&
        rule.verbs.includes(verb) &&
        (!rule.resourceNames || (name !== undefined && rule.resourceNames.includes(name))),
    );
    if (allowed) return null;
    const object = name ? `${collection} "${name}"` : collection;
    return `${object} is forbidden: User "aurora-failover" cannot ${verb} resource "${resource}" in API group "${apiGroup}" in the namespace "${namespace}"`;
  }

  /** policy/v1 Eviction, as pkg/registry/core/pod/storage/eviction.go answers it (IfHealthyBudget policy). */
  #evictPod(response: ServerResponse, namespace: string, name: string, recorded: RecordedRequest): void {
    if (recorded.contentType !== 'application/json') return sendStatus(response, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/vnd.kubernetes.protobuf`);
    let body: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } };
    try {
      body = JSON.parse(recorded.body) as typeof body;
    } catch {
      return sendStatus(response, 400, 'BadRequest', 'the object provided is unrecognized (must be of type Eviction)');
    }
    if (body.kind !== 'Eviction' || body.apiVersion !== 'policy/v1') return sendStatus(response, 400, 'BadRequest', `the object provided is unrecognized (must be of type Eviction)`);
    if (body.metadata?.name !== name) return sendStatus(response, 400, 'BadRequest', 'name in URL does not match name in Eviction object');
    const pods = this.pods(namespace);
    const pod = pods.find((candidate) => candidate.name === name);
    if (!pod) return sendStatus(response, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
    const budgets = (this.#budgets.get(namespace) ?? []).filter((budget) => matchesAll(budget.matchLabels, pod.labels));
    if (budgets.length > 1) return sendStatus(response, 500, 'InternalError', 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.');
    const budget = budgets[0];
    if (budget && !pod.deletionTimestamp) {
      const healthy = pods.filter((candidate) => isHealthy(candidate) && matchesAll(budget.matchLabels, candidate.labels)).length;
      // A healthy pod may go only if the rest still meet minAvailable; an unhealthy one only while the budget is met.
      const allowed = isHealthy(pod) ? healthy - 1 >= budget.minAvailable : healthy >= budget.minAvailable;
      if (!allowed) {
        return sendStatus(response, 429, 'TooManyRequests', "Cannot evict pod as it would violate the pod's disruption budget.", {
          causes: [{ reason: 'DisruptionBudget', message: `The disruption budget ${budget.name} needs ${budget.minAvailable} healthy pods and has ${healthy} currently` }],
        });
      }
    }
    this.#pods.set(namespace, pods.filter((candidate) => candidate !== pod));
    this.evictedPods.push(`${namespace}/${name}`);
    sendJson(response, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    this.onEvicted?.(namespace, pod);
  }

  #getConfigMap(response: ServerResponse, namespace: string, name: string): void {
    const stored = this.#configMaps.get(`${namespace}/${name}`);
    if (!stored) return sendStatus(response, 404, 'NotFound', `configmaps "${name}" not found`);
    sendJson(response, 200, configMapObject(namespace, name, stored));
  }

  #patchConfigMap(response: ServerResponse, namespace: string, name: string, recorded: RecordedRequest): void {
    if (recorded.contentType !== 'application/merge-patch+json') {
      return sendStatus(response, 415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/merge-patch+json`);
    }
    if (this.failConfigMapPatchWith !== null) return sendStatus(response, this.failConfigMapPatchWith, 'InternalError', 'injected failure');
    const stored = this.#configMaps.get(`${namespace}/${name}`);
    if (!stored) return sendStatus(response, 404, 'NotFound', `configmaps "${name}" not found`);
    if (this.concurrentWritesBeforePatch > 0) {
      this.concurrentWritesBeforePatch -= 1;
      stored.resourceVersion = this.#nextResourceVersion++;
    }
    const patch = JSON.parse(recorded.body) as { metadata?: { resourceVersion?: string; annotations?: Record<string, string | null> }; data?: Record<string, string | null> };
    const precondition = patch.metadata?.resourceVersion;
    if (precondition !== undefined && precondition !== String(stored.resourceVersion)) {
      return sendStatus(response, 409, 'Conflict', `Operation cannot be fulfilled on configmaps "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: 'configmaps' });
    }
    for (const [key, value] of Object.entries(patch.data ?? {})) {
      if (value === null) delete stored.data[key];
      else stored.data[key] = value;
    }
    for (const [key, value] of Object.entries(patch.metadata?.annotations ?? {})) {
      if (value === null) delete stored.annotations[key];
      else stored.annotations[key] = value;
    }
    stored.resourceVersion = this.#nextResourceVersion++;
    sendJson(response, 200, configMapObject(namespace, name, stored));
  }

  #patchWorkload(response: ServerResponse, namespace: string, kind: string, name: string, recorded: RecordedRequest): void {
    if (recorded.contentType !== 'application/merge-patch+json') return sendStatus(response, 415, 'UnsupportedMediaType', 'unsupported patch type');
    const annotations = this.workloadAnnotations.get(`${namespace}/${kind}/${name}`);
    if (!annotations) return sendStatus(response, 404, 'NotFound', `${kind}.apps "${name}" not found`);
    const patch = JSON.parse(recorded.body) as { spec?: { template?: { metadata?: { annotations?: Record<string, string> } } } };
    Object.assign(annotations, patch.spec?.template?.metadata?.annotations ?? {});
    sendJson(response, 200, { kind: kind === 'deployments' ? 'Deployment' : 'StatefulSet', metadata: { name, namespace }, spec: { template: { metadata: { annotations } } } });
  }

  #listPods(response: ServerResponse, namespace: string, requested: string): void {
    const selector = this.ignoreLabelSelector ? '' : requested;
    // Equality-based terms as the API server reads them: `k=v`, `k==v`, and `k!=v` (also true when k is absent).
    const wanted = selector
      .split(',')
      .filter(Boolean)
      .map((term) => /^([^!=]+)(!=|==|=)(.*)$/.exec(term.trim()) ?? [term, term, '=', '\u0000'])
      .map(([, key, operator, value]) => ({ key: key!, negated: operator === '!=', value: value! }));
    const items = this.pods(namespace)
      .filter((pod) => wanted.every(({ key, negated, value }) => (pod.labels[key] === value) !== negated))
      .map((pod) => ({
        metadata: {
          name: pod.name,
          namespace,
          uid: pod.uid,
          labels: pod.labels,
          ...(pod.creationTimestamp ? { creationTimestamp: pod.creationTimestamp } : {}),
          ...(pod.deletionTimestamp ? { deletionTimestamp: pod.deletionTimestamp } : {}),
        },
        spec: { containers: pod.containers.map((container) => ({ name: container })) },
        status: { phase: pod.phase, conditions: [{ type: 'Ready', status: pod.ready ? 'True' : 'False' }] },
      }));
    sendJson(response, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.#nextResourceVersion) }, items });
  }

  #deletePod(response: ServerResponse, namespace: string, name: string): void {
    const pods = this.pods(namespace);
    const pod = pods.find((candidate) => candidate.name === name);
    if (!pod) return sendStatus(response, 404, 'NotFound', `pods "${name}" not found`);
    if (this.refuseDeleteOf.has(`${namespace}/${name}`)) return sendStatus(response, 500, 'InternalError', 'etcdserver: request timed out');
    this.#pods.set(namespace, pods.filter((candidate) => candidate !== pod));
    this.deletedPods.push(`${namespace}/${name}`);
    sendJson(response, 200, { kind: 'Pod', metadata: { name, namespace, deletionTimestamp: new Date().toISOString() } });
  }

  #upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    const offered = String(request.headers['sec-websocket-protocol'] ?? '');
    const recorded = this.#record(request, '', offered);
    const exec = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/.exec(recorded.path);
    const refuse = (status: string) => {
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (recorded.authorization !== `Bearer ${this.#token}`) return refuse('401 Unauthorized');
    if (this.execUpgradeStatus) return refuse(this.execUpgradeStatus);
    if (!exec || (recorded.method !== 'GET' && recorded.method !== 'POST')) return refuse('404 Not Found');
    if (this.#forbidden(recorded)) return refuse('403 Forbidden');
    const namespace = exec[1]!;
    const podName = exec[2]!;
    const container = recorded.query.get('container') ?? '';
    const pod = this.pods(namespace).find((candidate) => candidate.name === podName);
    if (!pod) return refuse('404 Not Found');
    if (!pod.containers.includes(container)) return refuse('400 Bad Request');
    this.#webSockets!.handleUpgrade(request, socket, head, (webSocket) => {
      const call = { namespace, pod: podName, container, command: recorded.query.getAll('command') };
      this.#serveExec(webSocket, call, recorded.query.get('stdin') === 'true');
    });
  }

  #serveExec(webSocket: WebSocket, call: Omit<ExecCall, 'stdin'>, expectsStdin: boolean): void {
    const stdin: Buffer[] = [];
    let started = false;
    const run = () => {
      if (started) return;
      started = true;
      void this.execHandler({ ...call, stdin: Buffer.concat(stdin).toString('utf8') }).then(
        (outcome) => {
          if (outcome.stdout) webSocket.send(frame(1, outcome.stdout));
          if (outcome.stderr) webSocket.send(frame(2, outcome.stderr));
          webSocket.send(frame(3, JSON.stringify(execStatus(outcome.exitCode))));
          webSocket.close(1000);
        },
        (error: unknown) => {
          webSocket.send(frame(3, JSON.stringify({ metadata: {}, status: 'Failure', message: String(error), reason: 'InternalError' })));
          webSocket.close(1000);
        },
      );
    };
    webSocket.on('message', (data: Buffer) => {
      const channel = data[0];
      if (channel === 0) stdin.push(data.subarray(1));
      // v5: [255, 0] closes stdin; the command then sees EOF and runs.
      if (channel === 255 && data[1] === 0) run();
    });
    if (!expectsStdin) run();
  }
}

function frame(channel: number, text: string): Buffer {
  return Buffer.concat([Buffer.from([channel]), Buffer.from(text, 'utf8')]);
}

function execStatus(exitCode: number): object {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command, exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

function configMapObject(namespace: string, name: string, stored: StoredConfigMap): object {
  const annotations = Object.keys(stored.annotations).length > 0 ? { annotations: { ...stored.annotations } } : {};
  return { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name, namespace, resourceVersion: String(stored.resourceVersion), ...annotations }, data: { ...stored.data } };
}

function matchesAll(wanted: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean {
  return Object.entries(wanted).every(([key, value]) => labels[key] === value);
}

function isHealthy(pod: FakePod): boolean {
  return pod.phase === 'Running' && pod.ready === true && !pod.deletionTimestamp;
}

function sendJson(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { 'Content-Type': 'application/json' });
  response.end(JSON.stringify(body));
}

function sendStatus(response: ServerResponse, code: number, reason: string, message: string, details?: object): void {
  sendJson(response, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}
