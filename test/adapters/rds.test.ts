import 'aws-sdk-client-mock-vitest/extend';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeDBClustersCommand,
  type FailoverState,
  type FailoverStatus,
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  GlobalClusterNotFoundFault,
  InvalidGlobalClusterStateFault,
  RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { describeGlobalCluster, describeMemberEndpoints, failoverGlobalCluster, parseDbClusterArn, switchoverGlobalCluster } from '../../lib/adapters/rds.ts';
import { InvalidInputError, ServiceUnavailableError, ThrottledError, UpstreamError } from '../../lib/core/errors.ts';
import {
  describeDbClustersResponse,
  describeGlobalClustersResponse,
  GLOBAL_CLUSTER_ID,
  regionOfClient,
  regionsOf,
  sdkError,
  USE2_ARN,
  USW2_ARN,
} from './aws-fixtures.ts';

const rds = mockClient(RDSClient);

beforeEach(() => rds.reset());
afterEach(() => rds.reset());

describe('describeGlobalCluster', () => {
  it('returns the global cluster as RDS describes it, asked in the given region', async () => {
    // Prepare
    rds.on(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: GLOBAL_CLUSTER_ID }).resolves(describeGlobalClustersResponse());

    // Act
    const cluster = await describeGlobalCluster(new AwsClients(), 'us-west-2', GLOBAL_CLUSTER_ID);

    // Assess
    expect(cluster.GlobalClusterIdentifier).toBe(GLOBAL_CLUSTER_ID);
    expect(cluster.GlobalClusterMembers?.find((member) => member.IsWriter)?.DBClusterArn).toBe(USE2_ARN);
    expect(rds).toHaveReceivedCommandExactlyOnceWith(DescribeGlobalClustersCommand, { GlobalClusterIdentifier: GLOBAL_CLUSTER_ID });
    expect(await regionsOf(rds.calls())).toEqual(['us-west-2']);
  });

  it('reports FailoverState while a switchover runs', async () => {
    // The API reference lists `switching-over`; the SDK's FailoverStatus enum (pending, failing-over, cancelling) lags it.
    const failoverState: FailoverState = { Status: 'switching-over' as FailoverStatus, FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false };
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ failoverState, status: 'switching-over' }));

    const cluster = await describeGlobalCluster(new AwsClients(), 'us-east-2', GLOBAL_CLUSTER_ID);

    expect(cluster.FailoverState).toEqual(failoverState);
    expect(cluster.Status).toBe('switching-over');
  });

  it('an unknown global cluster is InvalidInputError naming the id', async () => {
    rds.on(DescribeGlobalClustersCommand).rejects(
      new GlobalClusterNotFoundFault({ message: 'GlobalCluster not-there not found', $metadata: { httpStatusCode: 404 } }),
    );

    await expect(describeGlobalCluster(new AwsClients(), 'us-east-2', 'not-there')).rejects.toThrow(InvalidInputError);
    await expect(describeGlobalCluster(new AwsClients(), 'us-east-2', 'not-there')).rejects.toThrow(/not-there does not exist/);
  });

  it('throttling is a transient ThrottledError', async () => {
    rds.on(DescribeGlobalClustersCommand).rejects(sdkError('Throttling', { status: 400, message: 'Rate exceeded' }));

    await expect(describeGlobalCluster(new AwsClients(), 'us-east-2', GLOBAL_CLUSTER_ID)).rejects.toThrow(ThrottledError);
  });
});

describe('describeMemberEndpoints', () => {
  it('asks each member in its own region and returns writer and reader endpoints', async () => {
    // Prepare
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USE2_ARN }).resolves(describeDbClustersResponse(USE2_ARN));
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USW2_ARN }).resolves(describeDbClustersResponse(USW2_ARN));

    // Act
    const result = await describeMemberEndpoints(new AwsClients(), [USE2_ARN, USW2_ARN]);

    // Assess
    expect(result.unreachable).toEqual([]);
    expect(result.endpoints[USE2_ARN]).toEqual({
      writer: { host: 'app-use2.cluster-abc123xyz.us-east-2.rds.amazonaws.com', port: 5432 },
      reader: { host: 'app-use2.cluster-ro-abc123xyz.us-east-2.rds.amazonaws.com', port: 5432 },
      status: 'available',
    });
    expect(result.endpoints[USW2_ARN]?.reader?.host).toBe('app-usw2.cluster-ro-abc123xyz.us-west-2.rds.amazonaws.com');
    const calls = rds.commandCalls(DescribeDBClustersCommand);
    const regions = await regionsOf(calls);
    const regionByArn = Object.fromEntries(calls.map((call, index) => [call.args[0].input.DBClusterIdentifier, regions[index]]));
    expect(regionByArn).toEqual({ [USE2_ARN]: 'us-east-2', [USW2_ARN]: 'us-west-2' });
  });

  it('a region that is down is reported unreachable; the other region still answers', async () => {
    // Prepare: us-west-2 refuses connections, us-east-2 answers.
    rds.on(DescribeDBClustersCommand).callsFake(async (input: { DBClusterIdentifier: string }, getClient) => {
      if ((await regionOfClient(getClient)) === 'us-west-2') throw Object.assign(new Error('connect ETIMEDOUT 52.94.0.1:443'), { code: 'ETIMEDOUT' });
      return describeDbClustersResponse(input.DBClusterIdentifier);
    });

    // Act
    const result = await describeMemberEndpoints(new AwsClients(), [USE2_ARN, USW2_ARN]);

    // Assess
    expect(Object.keys(result.endpoints)).toEqual([USE2_ARN]);
    expect(result.endpoints[USE2_ARN]?.writer?.host).toBe('app-use2.cluster-abc123xyz.us-east-2.rds.amazonaws.com');
    expect(result.unreachable).toHaveLength(1);
    expect(result.unreachable[0]).toMatchObject({ dbClusterArn: USW2_ARN, region: 'us-west-2' });
    expect(result.unreachable[0]?.reason).toMatch(/^ServiceUnavailableError: rds:DescribeDBClusters .*app-usw2 in us-west-2 failed: Error \(ETIMEDOUT\)/);
  });

  it('a member that no longer exists is reported, not thrown', async () => {
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USE2_ARN }).resolves(describeDbClustersResponse(USE2_ARN));
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USW2_ARN }).resolves({ DBClusters: [] });

    const result = await describeMemberEndpoints(new AwsClients(), [USE2_ARN, USW2_ARN]);

    expect(result.unreachable).toEqual([{ dbClusterArn: USW2_ARN, region: 'us-west-2', reason: expect.stringContaining('returned no cluster') }]);
    expect(result.endpoints[USE2_ARN]).toBeDefined();
  });

  it('an endpoint that could inject into pgbouncer.ini is refused for that member only', async () => {
    const hostile = describeDbClustersResponse(USW2_ARN);
    hostile.DBClusters[0]!.Endpoint = 'evil.example.com\n%include /etc/passwd';
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USE2_ARN }).resolves(describeDbClustersResponse(USE2_ARN));
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: USW2_ARN }).resolves(hostile);

    const result = await describeMemberEndpoints(new AwsClients(), [USE2_ARN, USW2_ARN]);

    expect(result.unreachable[0]?.reason).toMatch(/^UnsafeValueError: .*Endpoint\.host must be a DNS name/);
    expect(result.endpoints[USE2_ARN]).toBeDefined();
  });

  it('a malformed member ARN is InvalidInputError before any call', async () => {
    await expect(describeMemberEndpoints(new AwsClients(), ['arn:aws:rds:us-east-2:123:db:x'])).rejects.toThrow(InvalidInputError);
    expect(rds.calls()).toHaveLength(0);
  });
});

describe('switchoverGlobalCluster', () => {
  it('calls SwitchoverGlobalCluster in the current primary\'s region and returns a decision', async () => {
    // Prepare
    rds.on(SwitchoverGlobalClusterCommand).resolves({
      GlobalCluster: { ...describeGlobalClustersResponse().GlobalClusters[0], Status: 'switching-over' },
    });

    // Act
    const decision = await switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    // Assess
    expect(rds).toHaveReceivedCommandExactlyOnceWith(SwitchoverGlobalClusterCommand, {
      GlobalClusterIdentifier: GLOBAL_CLUSTER_ID,
      TargetDbClusterIdentifier: USW2_ARN,
    });
    expect(await regionsOf(rds.commandCalls(SwitchoverGlobalClusterCommand))).toEqual(['us-east-2']);
    expect(decision).toEqual({
      step: 'switchover',
      decision: 'started',
      reason: `RDS accepted the switchover of app-global to ${USW2_ARN} (called in us-east-2); global cluster status switching-over`,
    });
  });

  it('a global cluster in the wrong state is a fatal UpstreamError naming the fault', async () => {
    rds.on(SwitchoverGlobalClusterCommand).rejects(
      new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is already switching over', $metadata: { httpStatusCode: 400 } }),
    );

    const attempt = switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    await expect(attempt).rejects.toThrow(UpstreamError);
    await expect(attempt).rejects.toThrow(/SwitchoverGlobalCluster app-global .* in us-east-2 failed: InvalidGlobalClusterStateFault/);
  });

  it('a repeat that meets InvalidGlobalClusterStateFault while FailoverState already targets the requested member counts as started', async () => {
    // Prepare: the first ExecuteSwitch was accepted, its response lost; the retry meets the state fault
    rds.on(SwitchoverGlobalClusterCommand).rejects(
      new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is already switching over', $metadata: { httpStatusCode: 400 } }),
    );
    const switching = { Status: 'switching-over' as FailoverStatus, FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false };
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USE2_ARN, status: 'switching-over', failoverState: switching }));

    // Act
    const decision = await switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    // Assess
    expect(decision.decision).toBe('started');
    expect(decision.reason).toMatch(/InvalidGlobalClusterStateFault, and FailoverState \(switching-over\) already moves app-global to .*app-usw2; counted as started/);
    expect(rds).toHaveReceivedCommandTimes(SwitchoverGlobalClusterCommand, 1);
  });

  it('a state fault while FailoverState moves the writer somewhere else stays a fatal UpstreamError', async () => {
    rds.on(SwitchoverGlobalClusterCommand).rejects(
      new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is already switching over', $metadata: { httpStatusCode: 400 } }),
    );
    const elsewhere = { Status: 'switching-over' as FailoverStatus, FromDbClusterArn: USW2_ARN, ToDbClusterArn: USE2_ARN, IsDataLossAllowed: false };
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USW2_ARN, status: 'switching-over', failoverState: elsewhere }));

    await expect(
      switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' }),
    ).rejects.toThrow(UpstreamError);
  });

  it('is sent through a client that makes exactly one attempt (no blind SDK retry of a request RDS may have accepted)', async () => {
    rds.on(SwitchoverGlobalClusterCommand).resolves({ GlobalCluster: describeGlobalClustersResponse().GlobalClusters[0] });

    await switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    const [call] = rds.commandCalls(SwitchoverGlobalClusterCommand);
    expect(await (call!.thisValue as RDSClient).config.maxAttempts()).toBe(1);
  });

  it('a 503 from RDS is transient', async () => {
    rds.on(SwitchoverGlobalClusterCommand).rejects(sdkError('ServiceUnavailable', { status: 503 }));

    await expect(
      switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' }),
    ).rejects.toThrow(ServiceUnavailableError);
  });
});

describe('failoverGlobalCluster', () => {
  it('calls FailoverGlobalCluster with AllowDataLoss in the target\'s region', async () => {
    rds.on(FailoverGlobalClusterCommand).resolves({ GlobalCluster: { ...describeGlobalClustersResponse().GlobalClusters[0], Status: 'failing-over' } });

    const decision = await failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' });

    expect(rds).toHaveReceivedCommandExactlyOnceWith(FailoverGlobalClusterCommand, {
      GlobalClusterIdentifier: GLOBAL_CLUSTER_ID,
      TargetDbClusterIdentifier: USW2_ARN,
      AllowDataLoss: true,
    });
    expect(await regionsOf(rds.commandCalls(FailoverGlobalClusterCommand))).toEqual(['us-west-2']);
    expect(decision.decision).toBe('started');
    expect(decision.reason).toContain('data loss allowed');
  });

  it('refuses to call from another region than the target\'s, without calling RDS', async () => {
    const attempt = failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    await expect(attempt).rejects.toThrow(InvalidInputError);
    await expect(attempt).rejects.toThrow(/target's region us-west-2/);
    expect(rds.calls()).toHaveLength(0);
  });

  it('a repeat after the failover already finished (the target is the writer, no FailoverState) counts as started', async () => {
    rds.on(FailoverGlobalClusterCommand).rejects(
      new InvalidGlobalClusterStateFault({ message: 'The global cluster is not in a valid state', $metadata: { httpStatusCode: 400 } }),
    );
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USW2_ARN }));

    const decision = await failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' });

    expect(decision).toMatchObject({ step: 'failover', decision: 'started' });
    expect(decision.reason).toContain('is already the writer of app-global');
    expect(await regionsOf(rds.commandCalls(DescribeGlobalClustersCommand))).toEqual(['us-west-2']);
    const [call] = rds.commandCalls(FailoverGlobalClusterCommand);
    expect(await (call!.thisValue as RDSClient).config.maxAttempts()).toBe(1);
  });

  it('a repeat that meets the state fault while FailoverState (failing-over, data loss allowed) targets the requested member counts as started', async () => {
    rds.on(FailoverGlobalClusterCommand).rejects(new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is failing over', $metadata: { httpStatusCode: 400 } }));
    const failing: FailoverState = { Status: 'failing-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: true };
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USE2_ARN, status: 'failing-over', failoverState: failing }));

    const decision = await failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' });

    expect(decision).toMatchObject({ step: 'failover', decision: 'started', reason: expect.stringMatching(/FailoverState \(failing-over\) already moves app-global to .*app-usw2; counted as started/) });
  });

  it.each([
    {
      scenario: 'FailoverState is cancelling (the earlier request is being undone)',
      mode: 'failover' as const,
      state: { Status: 'cancelling', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: true },
    },
    {
      scenario: 'a switchover (no data loss) to the same member runs, but a failover was asked',
      mode: 'failover' as const,
      state: { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: false },
    },
    {
      scenario: 'a failover (data loss allowed) to the same member runs, but a switchover was asked',
      mode: 'switchover' as const,
      state: { Status: 'failing-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN, IsDataLossAllowed: true },
    },
    {
      scenario: 'FailoverState does not say whether data loss is allowed',
      mode: 'switchover' as const,
      state: { Status: 'switching-over', FromDbClusterArn: USE2_ARN, ToDbClusterArn: USW2_ARN },
    },
  ])('a state fault is not counted as started when $scenario: fatal UpstreamError', async ({ mode, state }) => {
    // Prepare
    const fault = new InvalidGlobalClusterStateFault({ message: 'Global cluster app-global is busy', $metadata: { httpStatusCode: 400 } });
    rds.on(FailoverGlobalClusterCommand).rejects(fault);
    rds.on(SwitchoverGlobalClusterCommand).rejects(fault);
    rds.on(DescribeGlobalClustersCommand).resolves(describeGlobalClustersResponse({ writerArn: USE2_ARN, status: state.Status, failoverState: state as FailoverState }));

    // Act
    const attempt =
      mode === 'failover'
        ? failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' })
        : switchoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-east-2' });

    // Assess
    await expect(attempt).rejects.toThrow(UpstreamError);
    await expect(attempt).rejects.toThrow(/InvalidGlobalClusterStateFault/);
    expect(rds).toHaveReceivedCommand(DescribeGlobalClustersCommand);
  });

  it('a network error (the region does not answer) is transient and is not taken for a started failover', async () => {
    rds.on(FailoverGlobalClusterCommand).rejects(Object.assign(new Error('connect ETIMEDOUT 52.94.0.1:443'), { code: 'ETIMEDOUT' }));

    await expect(
      failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' }),
    ).rejects.toThrow(ServiceUnavailableError);
    expect(rds).not.toHaveReceivedCommand(DescribeGlobalClustersCommand);
  });

  it('a target that is not a member is InvalidInputError', async () => {
    rds.on(FailoverGlobalClusterCommand).rejects(sdkError('DBClusterNotFoundFault', { status: 404 }));

    await expect(
      failoverGlobalCluster(new AwsClients(), { globalClusterId: GLOBAL_CLUSTER_ID, targetDbClusterArn: USW2_ARN, callRegion: 'us-west-2' }),
    ).rejects.toThrow(InvalidInputError);
  });
});

describe('parseDbClusterArn', () => {
  it('splits region, account and identifier', () => {
    expect(parseDbClusterArn(USW2_ARN)).toEqual({ region: 'us-west-2', accountId: '123456789012', dbClusterIdentifier: 'app-usw2' });
    expect(parseDbClusterArn('arn:aws-us-gov:rds:us-gov-west-1:123456789012:cluster:gov-db').region).toBe('us-gov-west-1');
  });
});
