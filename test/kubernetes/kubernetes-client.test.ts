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
    expect(snapshot).toEqual({ data: { 'pgbouncer.ini': '[databases]\n' }, resourceVersion: version });
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

  it('lists only Running and Ready pods matching the label selector', async () => {
    // Prepare
    server.addPod('list', { name: 'ready', labels: { app: 'pgbouncer' }, containers: ['pgbouncer', 'pgbouncer-admin'] });
    server.addPod('list', { name: 'not-ready', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], ready: false });
    server.addPod('list', { name: 'pending', labels: { app: 'pgbouncer' }, containers: ['pgbouncer'], phase: 'Pending', ready: false });
    server.addPod('list', { name: 'other-app', labels: { app: 'web' }, containers: ['web'] });

    // Act
    const pods = await client().listPods('list', 'app=pgbouncer');

    // Assess
    expect(pods).toEqual([{ name: 'ready', containers: ['pgbouncer', 'pgbouncer-admin'] }]);
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

  it('deletes a pod, and treats an already deleted pod as deleted', async () => {
    // Prepare
    server.addPod('del', { name: 'pod-x', labels: {}, containers: ['pgbouncer'] });

    // Act
    await client().deletePod('del', 'pod-x');
    await client().deletePod('del', 'pod-x');

    // Assess
    expect(server.deletedPods).toContain('del/pod-x');
    expect(server.requests.filter((request) => request.method === 'DELETE').map((request) => request.path)).toEqual([
      '/api/v1/namespaces/del/pods/pod-x',
      '/api/v1/namespaces/del/pods/pod-x',
    ]);
  });
});
