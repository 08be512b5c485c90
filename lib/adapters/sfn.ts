/**
 * Step Functions adapter: start an execution under a caller-chosen (deterministic) name.
 * A name that already exists is success: the earlier delivery of the same trigger started it.
 */
import { ExecutionAlreadyExists, SFNClient, SFNServiceException, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ServiceUnavailableError, ThrottledError, UpstreamError } from '../core/errors.ts';

export interface StartExecutionRequest {
  readonly stateMachineArn: string;
  /** Deterministic name (<= 80 chars, [A-Za-z0-9-_]): the dedupe key. */
  readonly name: string;
  readonly input: unknown;
}

export interface StartExecutionResult {
  /** False when an execution with this name already existed. */
  readonly started: boolean;
  /** The new execution's ARN; absent when it already existed. */
  readonly executionArn?: string;
}

export type ExecutionStarter = (request: StartExecutionRequest) => Promise<StartExecutionResult>;

const THROTTLING_ERRORS = new Set(['ThrottlingException', 'KmsThrottlingException', 'TooManyRequestsException']);

/**
 * @example
 * const start = createExecutionStarter(new SFNClient({}));
 * await start({ stateMachineArn, name: 'evt-app-global-0185-1a2b3c4d5e6f7a8b', input: { trigger: 'event' } });
 */
export function createExecutionStarter(client: SFNClient): ExecutionStarter {
  return async ({ stateMachineArn, name, input }) => {
    try {
      const output = await client.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      return { started: true, executionArn: output.executionArn };
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists || (error as { name?: unknown }).name === 'ExecutionAlreadyExists') {
        return { started: false };
      }
      throw classifySfnError(error, name);
    }
  };
}

/** Maps an SDK failure onto the service's transient/fatal error classes. */
export function classifySfnError(error: unknown, executionName: string): Error {
  const message = `StartExecution ${executionName} failed: ${(error as Error).message ?? String(error)}`;
  const name = (error as { name?: unknown }).name;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if ((typeof name === 'string' && THROTTLING_ERRORS.has(name)) || status === 429) {
    return new ThrottledError(message, { cause: error });
  }
  const serverFault = error instanceof SFNServiceException && error.$fault === 'server';
  if (serverFault || (status !== undefined && status >= 500) || !(error instanceof SFNServiceException)) {
    // No service exception at all means the request never got an answer (network, timeout).
    return new ServiceUnavailableError(message, { cause: error });
  }
  return new UpstreamError(message, { cause: error });
}
