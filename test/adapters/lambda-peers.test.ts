/**
 * The peer port in AWS: a synchronous cross-region Invoke of the peer stack's prepare-for-switch function,
 * shaped like the Lambda API reference (Invoke: StatusCode, FunctionError, Payload).
 */
import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import { InvokeCommand, LambdaClient, type InvokeCommandOutput } from '@aws-sdk/client-lambda';
import { createLambdaPeers } from '../../lib/adapters/lambda-peers.ts';
import { ThrottledError, UpstreamError } from '../../lib/core/errors.ts';
import type { PrepareRequest } from '../../lib/core/peers.ts';
import { sdkError } from './aws-fixtures.ts';

const lambda = mockClient(LambdaClient);
const FUNCTION = 'aurora-global-failover-prod-prepare-for-switch';
// The SDK wraps the payload bytes in a blob adapter; the bytes are what the adapter reads.
const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value)) as NonNullable<InvokeCommandOutput['Payload']>;
const REQUEST: PrepareRequest = {
  globalClusterId: 'app-global',
  targetDbClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2',
  targetRegion: 'us-west-2',
  pause: true,
  leaseSeconds: 60,
  requestedAt: '2026-11-30T18:00:00.000Z',
  requestedBy: 'arn:aws:states:us-east-2:123456789012:execution:aurora-global-failover-prod-switchover:planned',
};

beforeEach(() => lambda.reset());

describe('createLambdaPeers', () => {
  it('prepare invokes the peer function synchronously in the peer region and returns its answer', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      ExecutedVersion: '$LATEST',
      Payload: encode({ region: 'us-west-2', followExecutionName: 'follow-us-west-2-0123456789abcdef', started: true, decisions: [{ step: 'pause:pgb', decision: 'paused', reason: 'ok' }] }),
    });
    const regions: string[] = [];
    const peers = createLambdaPeers({
      functionName: FUNCTION,
      globalClusterId: 'app-global',
      clientFor: (region) => {
        regions.push(region);
        return new LambdaClient({ region });
      },
    });

    // Act
    const result = await peers.prepare('us-west-2', REQUEST);

    // Assess
    expect(regions).toEqual(['us-west-2']);
    expect(lambda).toHaveReceivedCommandExactlyOnceWith(InvokeCommand, { FunctionName: FUNCTION, InvocationType: 'RequestResponse' });
    const payload = JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array)) as unknown;
    expect(payload).toEqual({ action: 'prepare', request: REQUEST });
    expect(result).toEqual({ region: 'us-west-2', followExecutionName: 'follow-us-west-2-0123456789abcdef', started: true, decisions: [{ step: 'pause:pgb', decision: 'paused', reason: 'ok' }] });
  });

  it('a function error keeps a transient name (retried by the state machine) and turns anything else into UpstreamError naming the peer', async () => {
    // Prepare
    const peers = createLambdaPeers({ functionName: FUNCTION, globalClusterId: 'app-global', clientFor: (region) => new LambdaClient({ region }) });
    lambda.on(InvokeCommand).resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: encode({ errorType: 'ThrottledError', errorMessage: 'eks:DescribeCluster throttled' }) })
      .resolvesOnce({ StatusCode: 200, FunctionError: 'Unhandled', Payload: encode({ errorType: 'InvalidInputError', errorMessage: 'target mars-1 is not a configured member' }) });

    // Act + Assess
    await expect(peers.prepare('us-west-2', REQUEST)).rejects.toBeInstanceOf(ThrottledError);
    const fatal = peers.prepare('us-west-2', REQUEST);
    await expect(fatal).rejects.toBeInstanceOf(UpstreamError);
    await expect(fatal).rejects.toThrow(/in us-west-2: the peer stack failed: InvalidInputError: target mars-1/);
  });

  it('probe is a decision, never a throw: an Invoke the caller may not make is unreachable with the reason', async () => {
    // Prepare
    lambda.on(InvokeCommand).rejects(sdkError('AccessDeniedException', { status: 403, message: 'not authorized to perform lambda:InvokeFunction' }));
    const peers = createLambdaPeers({ functionName: FUNCTION, globalClusterId: 'app-global', clientFor: (region) => new LambdaClient({ region }) });

    // Act
    const probe = await peers.probe('us-west-2');

    // Assess
    expect(probe).toMatchObject({ region: 'us-west-2', reachable: false });
    expect(probe.reason).toContain('AccessDeniedException');
    const payload = JSON.parse(new TextDecoder().decode(lambda.commandCalls(InvokeCommand)[0]!.args[0].input.Payload as Uint8Array)) as unknown;
    expect(payload).toEqual({ action: 'probe', globalClusterId: 'app-global' });
  });
});
