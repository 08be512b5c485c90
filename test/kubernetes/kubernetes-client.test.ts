import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import { ConflictError, ServiceUnavailableError, ThrottledError, UpstreamError } from '../../lib/core/errors.ts';
import { FakeKubernetesServer } from '../support/kubernetes-server.ts';
import { createTestCertificates, type TestCertificates } from '../support/test-ca.ts';

const TOKEN = 'k8s-aws-v1.test-token';
let certificates: TestCertificates;
let otherCa: TestCertificates;
let server: FakeKubernetesServer;
let url: string;

beforeAll(async () => {
  certificates = createTestCertificates();
  otherCa = createTestCertificates('some-other-ca');
  server = new FakeKubernetesServer({ token: TOKEN, certificates });
  url = await server.start();
});
afterAll(async () => {
  await server.stop();
  certificates.cleanup();
  otherCa.cleanup();
});
beforeEach(() => {
  server.requests.length = 0;
  server.concurrentWritesBeforePatch = 0;
  server.failConfigMapPatchWith = null;
});

function client(token = TOKEN, ca = certificates.caCert): KubernetesClient {
  return new KubernetesClient({ server: url, certificateAuthority: ca, token }, { requestTimeoutMs: 5_000, execTimeoutMs: 5_000 });
}

describe('KubernetesClient against a local HTTPS API server', () => {
  it('reads a ConfigMap with the bearer token over verified TLS', async () => {
    // Prepare
    const version = server.setConfigMap('pgbouncer', 'pgbouncer-config', { 'pgbouncer.ini': '[databases]\n' });

    // Act
    const snapshot = await client().getConfigMap('pgbouncer', 'pgbouncer-config');

    // Assess
    expect(snapshot).toEqual({ data: { 'pgbouncer.ini': '[databases]\n' }, annotations: {}, resourceVersion: version });
    expect(server.requests).toMatchObject([{ method: 'GET', path: '/api/v1/namespaces/pgbouncer/configmaps/pgbouncer-config', authorization: `Bearer ${TOKEN}` }]);
  });

  it('patches one key as a JSON merge patch carrying the resourceVersion precondition', async () => {
    // Prepare
    const version = server.setConfigMap('pgbouncer', 'cm-patch', { 'pgbouncer.ini': 'old', other: 'keep' });

    // Act
    const snapshot = await client().patchConfigMapKey('pgbouncer', 'cm-patch', 'pgbouncer.ini', 'new', version);

    // Assess
    expect(snapshot.data).toEqual({ 'pgbouncer.ini': 'new', other: 'keep' });
    expect(snapshot.resourceVersion).not.toBe(version);
    const patch = server.requests.at(-1)!;
    expect(patch).toMatchObject({ method: 'PATCH', path: '/api/v1/namespaces/pgbouncer/configmaps/cm-patch', contentType: 'application/merge-patch+json' });
    expect(JSON.parse(patch.body)).toEqual({ metadata: { resourceVersion: version }, data: { 'pgbouncer.ini': 'new' } });
  });

  it('maps a stale resourceVersion (409) to ConflictError naming the ConfigMap, and changes nothing', async () => {
    // Prepare
    const stale = server.setConfigMap('pgbouncer', 'cm-stale', { 'pgbouncer.ini': 'old' });
    server.setConfigMap('pgbouncer', 'cm-stale', { 'pgbouncer.ini': 'changed by someone else' });

    // Act
    const attempt = client().patchConfigMapKey('pgbouncer', 'cm-stale', 'pgbouncer.ini', 'new', stale);

    // Assess
    await expect(attempt).rejects.toThrow(ConflictError);
    await expect(attempt).rejects.toThrow(/configmap pgbouncer\/cm-stale failed \(409: Operation cannot be fulfilled/);
    expect(server.configMap('pgbouncer', 'cm-stale')?.data['pgbouncer.ini']).toBe('changed by someone else');
  });

  it('maps 429 to ThrottledError, 5xx to ServiceUnavailableError, 401 and 404 to UpstreamError', async () => {
    // Prepare
    const version = server.setConfigMap('pgbouncer', 'cm-errors', { k: 'v' });

    // Act + Assess
    server.failConfigMapPatchWith = 429;
    await expect(client().patchConfigMapKey('pgbouncer', 'cm-errors', 'k', 'x', version)).rejects.toThrow(ThrottledError);
    server.failConfigMapPatchWith = 503;
    await expect(client().patchConfigMapKey('pgbouncer', 'cm-errors', 'k', 'x', version)).rejects.toThrow(ServiceUnavailableError);
    await expect(client('wrong-token').getConfigMap('pgbouncer', 'cm-errors')).rejects.toThrow(UpstreamError);
    await expect(client().getConfigMap('pgbouncer', 'missing')).rejects.toThrow(/configmap pgbouncer\/missing failed \(404/);
  });

  it('refuses a server whose certificate is not signed by the given cluster CA', async () => {
    // Act
    const attempt = client(TOKEN, otherCa.caCert).getConfigMap('pgbouncer', 'pgbouncer-config');

    // Assess
    await expect(attempt).rejects.toThrow(UpstreamError);
    await expect(attempt).rejects.toThrow(/TLS verification of https:\/\/127\.0\.0\.1:\d+ failed \(\w+\)/);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses exec too when the CA is wrong', async () => {
    // Prepare
    server.addPod('tls', { name: 'p', labels: {}, containers: ['pgbouncer-admin'] });

    // Act
    const attempt = client(TOKEN, otherCa.caCert).execInPod('tls', 'p', 'pgbouncer-admin', ['true']);

    // Assess
    await expect(attempt).rejects.toThrow(/TLS verification .* failed/);
  });

  it('keeps verifying TLS on exec (WebSocket) and on requests when NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    // Prepare: the variable that turns off default certificate checks in Node, and a pod the exec could reach
    server.addPod('tls-env', { name: 'p', labels: {}, containers: ['pgbouncer-admin'] });
    server.execHandler = async () => ({ stdout: 'reached the pod', exitCode: 0 });
    const previous = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    try {
      // Act + Assess
      await expect(client(TOKEN, otherCa.caCert).execInPod('tls-env', 'p', 'pgbouncer-admin', ['true'])).rejects.toThrow(
        /TLS verification of https:\/\/127\.0\.0\.1:\d+ failed/,
      );
      await expect(client(TOKEN, otherCa.caCert).getConfigMap('tls-env', 'any')).rejects.toThrow(/TLS verification of https:\/\/127\.0\.0\.1:\d+ failed/);
      expect(server.requests).toHaveLength(0);
    } finally {
      if (previous === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = previous;
    }
  });

  it('restarts a workload by stamping kubectl.kubernetes.io/restartedAt with a merge patch', async () => {
    // Prepare
    server.addWorkload('pgbouncer', 'deployments', 'pgbouncer');

    // Act
    await client().restartWorkload('pgbouncer', 'Deployment', 'pgbouncer', new Date('2025-03-04T05:06:07.890Z'));

    // Assess
    expect(server.requests.at(-1)).toMatchObject({ method: 'PATCH', path: '/apis/apps/v1/namespaces/pgbouncer/deployments/pgbouncer', contentType: 'application/merge-patch+json' });
    expect(server.workloadAnnotations.get('pgbouncer/deployments/pgbouncer')).toEqual({ 'kubectl.kubernetes.io/restartedAt': '2025-03-04T05:06:07Z' });
  });

  it('lists the Running pods matching the label selector, Ready or not, without terminating or pending ones', async () => {
    // Prepare
    server.addPod('list', { name: 'ready', uid: 'u-1', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    server.addPod('list', { name: 'not-ready', uid: 'u-2', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], ready: false, creationTimestamp: '2026-11-30T18:00:00Z' });
    server.addPod('list', { name: 'pending', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], phase: 'Pending', ready: false });
    server.addPod('list', { name: 'terminating', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], deletionTimestamp: '2026-11-30T18:00:00Z' });
    server.addPod('list', { name: 'other-app', labels: { app: 'web' }, containers: ['web'] });

    // Act
    const pods = await client().listPods('list', 'app=pgbouncer');

    // Assess
    expect(pods).toEqual([
      { name: 'ready', uid: 'u-1', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'], ready: true, creationTimestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) },
      { name: 'not-ready', uid: 'u-2', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], ready: false, creationTimestamp: '2026-11-30T18:00:00Z' },
    ]);
    expect(server.requests.at(-1)).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/list/pods' });
    expect(server.requests.at(-1)!.query.get('labelSelector')).toBe('app=pgbouncer');
  });

  it('execs a command with stdin over the v5 channel protocol and returns stdout, stderr and the exit code', async () => {
    // Prepare
    server.addPod('exec', { name: 'pod-a', labels: {}, containers: ['pgbouncer-admin'] });
    server.execHandler = async (call) => ({ stdout: `got ${call.stdin.length} bytes for ${call.command.join(' ')}`, stderr: 'warn', exitCode: 3 });

    // Act
    const result = await client().execInPod('exec', 'pod-a', 'pgbouncer-admin', ['sh', '-c', 'cat'], { stdin: 'secret ini' });

    // Assess
    expect(result).toEqual({ stdout: 'got 10 bytes for sh -c cat', stderr: 'warn', exitCode: 3 });
    const request = server.requests.at(-1)!;
    expect(request).toMatchObject({ method: 'GET', path: '/api/v1/namespaces/exec/pods/pod-a/exec', authorization: `Bearer ${TOKEN}` });
    expect(request.query.getAll('command')).toEqual(['sh', '-c', 'cat']);
    expect(request.query.get('container')).toBe('pgbouncer-admin');
    expect(request.protocol).toContain('v5.channel.k8s.io');
  });

  it('bounds an exec that never finishes with UpstreamTimeoutError', async () => {
    // Prepare
    server.addPod('slow', { name: 'pod-slow', labels: {}, containers: ['pgbouncer-admin'] });
    server.execHandler = () => new Promise(() => undefined);

    // Act
    const attempt = client().execInPod('slow', 'pod-slow', 'pgbouncer-admin', ['sleep', '999'], { timeoutMs: 300 });

    // Assess
    await expect(attempt).rejects.toThrow(/exec in pod slow\/pod-slow container pgbouncer-admin did not finish within 300 ms/);
  });

  it('evicts a pod with a policy/v1 Eviction (201), and reports a pod that is already gone (404)', async () => {
    // Prepare
    server.addPod('evict', { name: 'pod-x', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'] });

    // Act
    const first = await client().evictPod('evict', 'pod-x');
    const second = await client().evictPod('evict', 'pod-x');

    // Assess
    expect([first, second]).toEqual([{ outcome: 'evicted' }, { outcome: 'gone' }]);
    expect(server.evictedPods).toEqual(['evict/pod-x']);
    const posts = server.requests.filter((request) => request.method === 'POST');
    expect(posts.map((request) => [request.path, request.contentType])).toEqual([
      ['/api/v1/namespaces/evict/pods/pod-x/eviction', 'application/json'],
      ['/api/v1/namespaces/evict/pods/pod-x/eviction', 'application/json'],
    ]);
    expect(JSON.parse(posts[0]!.body)).toEqual({ apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: 'pod-x', namespace: 'evict' } });
    expect(server.requests.some((request) => request.method === 'DELETE')).toBe(false);
  });

  it('reports an eviction a PodDisruptionBudget refuses (429) as refused, naming the budget, and keeps the pod', async () => {
    // Prepare
    server.addPod('pdb', { name: 'pod-a', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'] });
    server.addPod('pdb', { name: 'pod-b', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'] });
    server.addDisruptionBudget('pdb', { name: 'pgbouncer', matchLabels: { app: 'pgbouncer' }, minAvailable: 2 });

    // Act
    const result = await client().evictPod('pdb', 'pod-a');

    // Assess
    expect(result).toEqual({
      outcome: 'refused',
      reason: expect.stringMatching(/\(429: Cannot evict pod as it would violate the pod's disruption budget\. The disruption budget pgbouncer needs 2 healthy pods and has 2 currently\)/),
    });
    expect(server.pods('pdb').map((pod) => pod.name)).toEqual(['pod-a', 'pod-b']);
  });

  it('annotates a ConfigMap with a merge patch of metadata.annotations only', async () => {
    // Prepare
    server.setConfigMap('pgbouncer', 'cm-annotate', { 'pgbouncer.ini': 'keep' });

    // Act
    const snapshot = await client().annotateConfigMap('pgbouncer', 'cm-annotate', { 'example.com/a': 'x' });
    const removed = await client().annotateConfigMap('pgbouncer', 'cm-annotate', { 'example.com/a': null });

    // Assess
    expect(snapshot).toMatchObject({ data: { 'pgbouncer.ini': 'keep' }, annotations: { 'example.com/a': 'x' } });
    expect(removed.annotations).toEqual({});
    expect(JSON.parse(server.requests.at(-2)!.body)).toEqual({ metadata: { annotations: { 'example.com/a': 'x' } } });
    expect(server.requests.at(-2)!.contentType).toBe('application/merge-patch+json');
  });
});
