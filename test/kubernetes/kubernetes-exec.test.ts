/**
 * The exec path (v5.channel.k8s.io over ws) at the frame level: what the client sends, how it reads what the
 * API server sends, and how a refused or broken stream is classified. Two servers: the shared fake
 * (test/support/kubernetes-server.ts) and, for frames the fake never sends, a scripted one built here.
 */
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { KubernetesClient } from '../../lib/adapters/kubernetes.ts';
import { isTransient, ServiceUnavailableError, ThrottledError, UpstreamError } from '../../lib/core/errors.ts';
import { FakeKubernetesServer } from '../support/kubernetes-server.ts';
import { createTestCertificates, type TestCertificates } from '../support/test-ca.ts';

const TOKEN = 'k8s-aws-v1.exec-test-token-do-not-log';
let certificates: TestCertificates;

beforeAll(() => {
  certificates = createTestCertificates();
});
afterAll(() => certificates.cleanup());

function client(url: string, token = TOKEN): KubernetesClient {
  return new KubernetesClient({ server: url, certificateAuthority: certificates.caCert, token }, { requestTimeoutMs: 5_000, execTimeoutMs: 5_000 });
}

/** The rejection of `attempt`, which must reject. */
async function rejectionOf(attempt: Promise<unknown>): Promise<Error> {
  const outcome = await attempt.then(
    () => null,
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error(`expected a rejection, got ${String(outcome)}`);
  return outcome;
}

describe('exec against the fake API server', () => {
  let server: FakeKubernetesServer;
  let url: string;

  beforeAll(async () => {
    server = new FakeKubernetesServer({ token: TOKEN, certificates });
    url = await server.start();
    server.addPod('exec', { name: 'pod-a', labels: {}, containers: ['pgbouncer-admin'] });
  });
  afterAll(async () => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.execUpgradeStatus = null;
    server.execHandler = async () => ({ stdout: '', exitCode: 0 });
  });

  it('classifies a refused upgrade as the REST calls do: 503 and 429 transient, 401, 403 and 404 fatal, no token in any message', async () => {
    // Act
    server.execUpgradeStatus = '503 Service Unavailable';
    const unavailable = await rejectionOf(client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['true']));
    server.execUpgradeStatus = '429 Too Many Requests';
    const throttled = await rejectionOf(client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['true']));
    server.execUpgradeStatus = '403 Forbidden';
    const forbidden = await rejectionOf(client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['true']));
    server.execUpgradeStatus = null;
    const unauthorized = await rejectionOf(client(url, `${TOKEN}-wrong`).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['true']));
    const missing = await rejectionOf(client(url).execInPod('exec', 'no-such-pod', 'pgbouncer-admin', ['true']));

    // Assess
    expect(unavailable).toBeInstanceOf(ServiceUnavailableError);
    expect(unavailable.message).toBe('exec in pod exec/pod-a container pgbouncer-admin failed (503)');
    expect(throttled).toBeInstanceOf(ThrottledError);
    for (const [error, status] of [[forbidden, 403], [unauthorized, 401], [missing, 404]] as const) {
      expect(error).toBeInstanceOf(UpstreamError);
      expect(isTransient(error)).toBe(false);
      expect(error.message).toMatch(new RegExp(`^exec in pod exec/[a-z-]+ container pgbouncer-admin failed \\(${status}\\)$`));
    }
    for (const error of [unavailable, throttled, forbidden, unauthorized, missing]) expect(String(error.stack)).not.toContain('exec-test-token');
  });

  it('runs a command without stdin: asks for stdin=false, sends no frame, and reads stdout and exit code 0', async () => {
    // Prepare
    server.execHandler = async (call) => ({ stdout: `ran ${call.command.join(' ')} with ${call.stdin.length} bytes of stdin`, exitCode: 0 });

    // Act
    const result = await client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['pgbouncer', '--version']);

    // Assess
    expect(result).toEqual({ stdout: 'ran pgbouncer --version with 0 bytes of stdin', stderr: '', exitCode: 0 });
    const query = server.requests.at(-1)!.query;
    expect(Object.fromEntries(['stdin', 'stdout', 'stderr', 'tty'].map((name) => [name, query.get(name)]))).toEqual({ stdin: 'false', stdout: 'true', stderr: 'true', tty: 'false' });
  });

  it('reports a Failure Status without an exit code (Kubernetes could not run the command) as exit code -1 with the reason', async () => {
    // Prepare
    server.execHandler = async () => {
      throw new Error('container not found ("pgbouncer-admin")');
    };

    // Act
    const result = await client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['true']);

    // Assess
    expect(result).toEqual({ stdout: '', stderr: '', exitCode: -1, failure: 'Error: container not found ("pgbouncer-admin")' });
  });

  it('sends only what is offered on the wire: the v5 subprotocol alone, the bearer token as a header, never in the URL', async () => {
    // Act
    await client(url).execInPod('exec', 'pod-a', 'pgbouncer-admin', ['sh', '-c', 'cat >/dev/null'], { stdin: 'x' });

    // Assess
    const request = server.requests.at(-1)!;
    expect(request.protocol).toBe('v5.channel.k8s.io');
    expect(request.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request.query.toString()).not.toContain('token');
  });
});

/** What the scripted server does once a client connected: it gets the socket and the frames received so far. */
type Script = (socket: WebSocket, received: Buffer[]) => void;

describe('exec against a scripted v5 server (frames the fake does not send)', () => {
  let httpsServer: https.Server;
  let webSockets: WebSocketServer;
  let url: string;
  let script: Script;
  let chooseProtocol: string | false;
  let refuseWith: { status: string; body: string } | null;
  const sockets = new Set<Socket>();
  let received: Buffer[];

  beforeAll(async () => {
    httpsServer = https.createServer({ cert: certificates.serverCert, key: certificates.serverKey });
    httpsServer.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    webSockets = new WebSocketServer({ noServer: true, handleProtocols: () => chooseProtocol });
    httpsServer.on('upgrade', (request: IncomingMessage, socket: Socket, head: Buffer) => {
      if (refuseWith) {
        const body = refuseWith.body;
        socket.end(`HTTP/1.1 ${refuseWith.status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
        return;
      }
      webSockets.handleUpgrade(request, socket, head, (webSocket) => {
        webSocket.on('message', (data: Buffer) => {
          received.push(Buffer.from(data));
          script(webSocket, received);
        });
        script(webSocket, received);
      });
    });
    await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(httpsServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const webSocket of webSockets.clients) webSocket.terminate();
    webSockets.close();
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => httpsServer.close(() => resolve()));
  });
  beforeEach(() => {
    received = [];
    chooseProtocol = 'v5.channel.k8s.io';
    refuseWith = null;
    script = () => undefined;
  });
  afterEach(() => {
    for (const webSocket of webSockets.clients) webSocket.terminate();
  });

  const frame = (channel: number, text: string) => Buffer.concat([Buffer.from([channel]), Buffer.from(text, 'utf8')]);
  const closeStdinFrame = Buffer.from([255, 0]);

  it('writes stdin as one channel-0 frame then [255, 0], and joins split stdout, stderr and a Status sent in two frames', async () => {
    // Prepare: once stdin is closed, answer as the kubelet may: output in pieces, the server closing stdout, the Status split
    const status = JSON.stringify({
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command, exit code 7',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '7' }] },
    });
    script = (socket, frames) => {
      if (!frames.some((data) => data.equals(closeStdinFrame))) return;
      socket.send(frame(1, 'hello '));
      socket.send(frame(2, 'warn: '));
      socket.send(frame(1, 'wörld'));
      socket.send(frame(2, 'careful'));
      socket.send(Buffer.from([255, 1]));
      socket.send(frame(3, status.slice(0, 20)));
      socket.send(frame(3, status.slice(20)));
    };

    // Act
    const result = await client(url).execInPod('ns', 'pod', 'pgbouncer-admin', ['sh', '-c', 'cat'], { stdin: 'ini with a pässword' });

    // Assess
    expect(result).toEqual({ stdout: 'hello wörld', stderr: 'warn: careful', exitCode: 7 });
    expect(received).toEqual([frame(0, 'ini with a pässword'), closeStdinFrame]);
  });

  it('fails transiently when the stream closes before the Status, keeping what it would have lost out of the message', async () => {
    // Prepare: output, then the connection closes with no Status (an API server restart, a proxy timeout)
    script = (socket, frames) => {
      if (frames.length < 2) return;
      socket.send(frame(1, 'partial'));
      socket.close(1011);
    };

    // Act
    const error = await rejectionOf(client(url).execInPod('ns', 'pod', 'pgbouncer-admin', ['sh', '-c', 'cat'], { stdin: 'secret ini' }));

    // Assess
    expect(error).toBeInstanceOf(ServiceUnavailableError);
    expect(error.message).toBe('exec in pod ns/pod container pgbouncer-admin: the stream closed (1011) before the command reported its exit status');
  });

  it('refuses, as a fatal error, a server that does not speak v5.channel.k8s.io (it could not close stdin)', async () => {
    // Prepare: an API server older than 1.30 accepts the upgrade without the v5 subprotocol
    chooseProtocol = false;

    // Act
    const error = await rejectionOf(client(url).execInPod('ns', 'pod', 'pgbouncer-admin', ['true']));

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toMatch(/^exec in pod ns\/pod container pgbouncer-admin: the API server did not accept the v5\.channel\.k8s\.io subprotocol \(Server sent no subprotocol; Kubernetes 1\.30\+ is needed\)$/);
  });

  it('names the Status message of a refused upgrade (RBAC 403), fatal, without the token', async () => {
    // Prepare
    refuseWith = {
      status: '403 Forbidden',
      body: JSON.stringify({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'pods "pod" is forbidden: User "aurora-failover" cannot create resource "pods/exec" in API group "" in the namespace "ns"',
        reason: 'Forbidden',
        code: 403,
      }),
    };

    // Act
    const error = await rejectionOf(client(url).execInPod('ns', 'pod', 'pgbouncer-admin', ['true']));

    // Assess
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error.message).toBe(
      'exec in pod ns/pod container pgbouncer-admin failed (403: pods "pod" is forbidden: User "aurora-failover" cannot create resource "pods/exec" in API group "" in the namespace "ns")',
    );
    expect(String(error.stack)).not.toContain('exec-test-token');
  });

  it('stops at the timeout while the upgrade is accepted but nothing comes back, and closes the socket', async () => {
    // Act
    const error = await rejectionOf(client(url).execInPod('ns', 'pod', 'pgbouncer-admin', ['sleep', '999'], { timeoutMs: 300 }));

    // Assess
    expect(error.message).toBe('exec in pod ns/pod container pgbouncer-admin did not finish within 300 ms');
    expect(isTransient(error)).toBe(true);
    await expect.poll(() => webSockets.clients.size, { timeout: 2_000 }).toBe(0);
  });
});
