/**
 * The peer port in AWS (docs/coordination.md): a synchronous cross-region Lambda Invoke of the peer stack's
 * `prepare-for-switch` function, named by the stack naming convention (`${service}-${stage}-prepare-for-switch`,
 * the same in every region). A function error comes back with its error name: a transient name (throttled,
 * unavailable, timeout, conflict) stays that class, so the state machine retries exactly those; any other
 * is an UpstreamError naming the peer.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { describeError, ConflictError, ServiceUnavailableError, ThrottledError, TransientErrorName, UpstreamError, UpstreamTimeoutError } from '../core/errors.ts';
import type { PeerProbe, PrepareRequest } from '../core/peers.ts';
import type { PeerPorts, PrepareResult, ReleaseResult } from '../workflow/world.ts';
import { toFailoverError } from './aws-errors.ts';
import { PEER_INVOKE_DEAD_REGION_MS } from './aws-client-pool.ts';

export interface LambdaPeersOptions {
  /** The peer function's name, e.g. `aurora-global-failover-prod-prepare-for-switch`. */
  readonly functionName: string;
  readonly globalClusterId: string;
  /** One client per peer region; defaults to a client whose timeout outlasts the peer's own pause bound. */
  readonly clientFor?: (region: string) => LambdaClient;
}

/** A prepare waits for PAUSE on every peer target (bounded by liveSwitchTimeoutSeconds): allow for it. */
const INVOKE_TIMEOUT_MS = 90_000;


const TRANSIENT: Record<string, new (message: string) => Error> = {
  [TransientErrorName.Throttled]: ThrottledError,
  [TransientErrorName.ServiceUnavailable]: ServiceUnavailableError,
  [TransientErrorName.Timeout]: UpstreamTimeoutError,
  [TransientErrorName.Conflict]: ConflictError,
};

export function createLambdaPeers(options: LambdaPeersOptions): PeerPorts {
  const clients = new Map<string, LambdaClient>();
  const clientFor =
    options.clientFor ??
    ((region: string) => {
      let client = clients.get(region);
      if (!client) {
        // The state machine retries with backoff; one attempt per call here.
        client = new LambdaClient({ region, maxAttempts: 1, requestHandler: { connectionTimeout: PEER_INVOKE_DEAD_REGION_MS, requestTimeout: INVOKE_TIMEOUT_MS } });
        clients.set(region, client);
      }
      return client;
    });

  const invoke = async (region: string, payload: unknown): Promise<unknown> => {
    const what = `lambda:Invoke ${options.functionName} in ${region}`;
    let response;
    try {
      response = await clientFor(region).send(
        new InvokeCommand({ FunctionName: options.functionName, InvocationType: 'RequestResponse', Payload: new TextEncoder().encode(JSON.stringify(payload)) }),
      );
    } catch (error) {
      throw toFailoverError(error, what);
    }
    const text = response.Payload ? new TextDecoder().decode(response.Payload) : 'null';
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new UpstreamError(`${what} answered with a payload that is not JSON`);
    }
    if (response.FunctionError) {
      const { errorType, errorMessage } = (body ?? {}) as { errorType?: unknown; errorMessage?: unknown };
      const name = typeof errorType === 'string' ? errorType : response.FunctionError;
      const message = `${what}: the peer stack failed: ${name}: ${typeof errorMessage === 'string' ? errorMessage : 'no message'}`;
      const Transient = TRANSIENT[name];
      throw Transient ? new Transient(message) : new UpstreamError(message);
    }
    return body;
  };

  return {
    probe: async (region) => {
      try {
        const answer = (await invoke(region, { action: 'probe', globalClusterId: options.globalClusterId })) as PeerProbe;
        return { region, reachable: answer.reachable === true, reason: String(answer.reason ?? 'no reason given') };
      } catch (error) {
        return { region, reachable: false, reason: describeError(error) };
      }
    },
    prepare: async (region, request: PrepareRequest) => {
      const answer = (await invoke(region, { action: 'prepare', request })) as PrepareResult;
      if (!answer || typeof answer.followExecutionName !== 'string') throw new UpstreamError(`lambda:Invoke ${options.functionName} in ${region}: the answer names no follow run`);
      return { region, followExecutionName: answer.followExecutionName, started: answer.started === true, decisions: Array.isArray(answer.decisions) ? answer.decisions : [] };
    },
    release: async (region, request: PrepareRequest) => {
      const answer = (await invoke(region, { action: 'release', request })) as ReleaseResult;
      return { region, resumed: answer?.resumed === true, decisions: Array.isArray(answer?.decisions) ? answer.decisions : [] };
    },
  };
}
