import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type ListResourceRecordSetsResponse,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { Route53TrafficAdapter } from '../../lib/adapters/route53.ts';
import { InvalidConfigError, ServiceUnavailableError, StaleChangeError, ThrottledError, UpstreamTimeoutError } from '../../lib/core/errors.ts';
import { TrafficKind, type TrafficChange } from '../../lib/core/types.ts';
import { exampleConfig, regionsOf, sdkError, ZONE } from './aws-fixtures.ts';

const route53 = mockClient(Route53Client);
const HEALTH_CHECK = 'abcdef11-2222-3333-4444-555555fedcba';
const RESOURCE = { east: `${ZONE}/app.example.com/A/us-east-2`, west: `${ZONE}/app.example.com/A/us-west-2` };

/** Weighted A records as ListResourceRecordSets returns them (fully qualified names, whole records). */
function weighted(setIdentifier: string, weight: number): ResourceRecordSet {
  return {
    Name: 'app.example.com.',
    Type: 'A',
    SetIdentifier: setIdentifier,
    Weight: weight,
    TTL: 60,
    ResourceRecords: [{ Value: setIdentifier === 'us-east-2' ? '192.0.2.10' : '198.51.100.20' }],
    HealthCheckId: HEALTH_CHECK,
  };
}

function listing(records: ResourceRecordSet[], next?: Partial<ListResourceRecordSetsResponse>): ListResourceRecordSetsResponse {
  return { ResourceRecordSets: records, IsTruncated: Boolean(next), MaxItems: 100, ...next };
}

function weights(east: number, west: number): void {
  route53.on(ListResourceRecordSetsCommand).resolves(listing([weighted('us-east-2', east), weighted('us-west-2', west), { Name: 'www.example.com.', Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'app.example.com' }] }]));
}

function change(region: 'us-east-2' | 'us-west-2', from: number, to: number): TrafficChange {
  return { kind: TrafficKind.Route53, region, resource: region === 'us-east-2' ? RESOURCE.east : RESOURCE.west, from, to };
}

/** An adapter whose clock only moves when it sleeps, so waits are instant and exact. */
function adapter(timeoutSeconds = 30) {
  const clock = { now: 10_000, sleeps: [] as number[] };
  const instance = new Route53TrafficAdapter(new AwsClients(), exampleConfig({ traffic: { policy: 'follow-writer', route53ChangeTimeoutSeconds: timeoutSeconds } }), {
    now: () => clock.now,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
    pollIntervalMs: 2_000,
  });
  return { instance, clock };
}

beforeEach(() => route53.reset());

describe('Route53TrafficAdapter.observe', () => {
  it('lists the record name and type from the control plane (us-east-1) and reads each region\'s weight by SetIdentifier', async () => {
    // Prepare
    weights(100, 50);

    // Act
    const states = await adapter().instance.observe();

    // Assess
    expect(states).toEqual([
      { kind: 'route53', region: 'us-east-2', resource: RESOURCE.east, weight: 100 },
      { kind: 'route53', region: 'us-west-2', resource: RESOURCE.west, weight: 50 },
    ]);
    // Both regions share one name/type: one listing, starting at that name and type.
    expect(route53).toHaveReceivedCommandExactlyOnceWith(ListResourceRecordSetsCommand, {
      HostedZoneId: ZONE,
      StartRecordName: 'app.example.com',
      StartRecordType: 'A',
      MaxItems: 100,
    });
    expect(await regionsOf(route53.calls())).toEqual(['us-east-1']);
  });

  it('marks a record without a health check (no HealthCheckId, no alias EvaluateTargetHealth): no data-plane failover for its region', async () => {
    // Prepare: us-east-2 health-checked; us-west-2 an alias without EvaluateTargetHealth and no health check
    const { HealthCheckId: _, ResourceRecords: __, TTL: ___, ...west } = weighted('us-west-2', 50);
    route53.on(ListResourceRecordSetsCommand).resolves(
      listing([weighted('us-east-2', 100), { ...west, AliasTarget: { HostedZoneId: 'Z3AADJGX6KTTL2', DNSName: 'app-usw2.us-west-2.elb.amazonaws.com.', EvaluateTargetHealth: false } }]),
    );

    // Act
    const states = await adapter().instance.observe();

    // Assess
    expect(states).toEqual([
      { kind: 'route53', region: 'us-east-2', resource: RESOURCE.east, weight: 100 },
      { kind: 'route53', region: 'us-west-2', resource: RESOURCE.west, weight: 50, withoutHealthCheck: true },
    ]);
  });

  it('Route 53\'s control plane unreachable (us-east-1 down): a transient error, which ShiftTraffic turns into a degraded decision', async () => {
    route53.on(ListResourceRecordSetsCommand).rejects(Object.assign(new Error('connect ETIMEDOUT 205.251.242.103:443'), { code: 'ETIMEDOUT' }));

    await expect(adapter().instance.observe()).rejects.toThrow(ServiceUnavailableError);
  });

  it('follows truncated pages with NextRecordName/Type/Identifier and stops at the next name', async () => {
    route53
      .on(ListResourceRecordSetsCommand)
      .resolvesOnce(listing([weighted('us-east-2', 100)], { NextRecordName: 'app.example.com.', NextRecordType: 'A', NextRecordIdentifier: 'us-west-2' }))
      .resolvesOnce(listing([weighted('us-west-2', 70), { Name: 'www.example.com.', Type: 'CNAME', TTL: 300, ResourceRecords: [{ Value: 'x.example.com' }] }], { NextRecordName: 'zzz.example.com.', NextRecordType: 'A' }));

    const states = await adapter().instance.observe();

    expect(states.map((state) => state.weight)).toEqual([100, 70]);
    expect(route53).toHaveReceivedCommandTimes(ListResourceRecordSetsCommand, 2);
    expect(route53).toHaveReceivedNthCommandWith(ListResourceRecordSetsCommand, 2, {
      HostedZoneId: ZONE,
      StartRecordName: 'app.example.com.',
      StartRecordType: 'A',
      StartRecordIdentifier: 'us-west-2',
    });
  });

  it('a configured SetIdentifier with no record, or a record that is not weighted, is a config error', async () => {
    route53.on(ListResourceRecordSetsCommand).resolvesOnce(listing([weighted('us-east-2', 100)])).resolves(listing([weighted('us-east-2', 100), { ...weighted('us-west-2', 1), Weight: undefined }]));
    const { instance } = adapter();

    await expect(instance.observe()).rejects.toThrow(/no A record app.example.com with SetIdentifier us-west-2/);
    await expect(instance.observe()).rejects.toThrow(InvalidConfigError);
  });
});

describe('Route53TrafficAdapter.apply', () => {
  it('sends one batch of UPSERTs carrying whole records with only Weight changed, then waits PENDING -> INSYNC', async () => {
    // Prepare
    weights(100, 100);
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date('2025-03-01T12:00:00Z') } });
    route53
      .on(GetChangeCommand)
      .resolvesOnce({ ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date('2025-03-01T12:00:00Z') } })
      .resolvesOnce({ ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'PENDING', SubmittedAt: new Date('2025-03-01T12:00:00Z') } })
      .resolves({ ChangeInfo: { Id: '/change/C2682N5HXP0BZ4', Status: 'INSYNC', SubmittedAt: new Date('2025-03-01T12:00:00Z') } });
    const { instance, clock } = adapter();

    // Act
    const result = await instance.apply([change('us-east-2', 100, 255), change('us-west-2', 100, 0)]);

    // Assess
    expect(route53).toHaveReceivedCommandExactlyOnceWith(ChangeResourceRecordSetsCommand, {
      HostedZoneId: ZONE,
      ChangeBatch: {
        Comment: 'aurora-global-failover: traffic weights follow the writer policy',
        Changes: [
          { Action: 'UPSERT', ResourceRecordSet: { ...weighted('us-east-2', 255) } },
          { Action: 'UPSERT', ResourceRecordSet: { ...weighted('us-west-2', 0) } },
        ],
      },
    });
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 3);
    expect(route53).toHaveReceivedCommandWith(GetChangeCommand, { Id: '/change/C2682N5HXP0BZ4' });
    expect(clock.sleeps).toEqual([2_000, 2_000]);
    expect(new Set(await regionsOf(route53.calls()))).toEqual(new Set(['us-east-1']));
    expect(result.durationMs).toBe(4_000);
    expect(result.decision).toEqual({
      step: 'traffic:route53',
      decision: 'applied',
      reason: 'weights set and INSYNC (/change/C2682N5HXP0BZ4): us-east-2 100 -> 255, us-west-2 100 -> 0',
    });
  });

  it('carries an alias record\'s AliasTarget unchanged', async () => {
    const alias: ResourceRecordSet = {
      Name: 'app.example.com.',
      Type: 'A',
      SetIdentifier: 'us-west-2',
      Weight: 100,
      AliasTarget: { HostedZoneId: 'Z1H1FL5HABSF5', DNSName: 'app-usw2-1234567890.us-west-2.elb.amazonaws.com.', EvaluateTargetHealth: true },
    };
    route53.on(ListResourceRecordSetsCommand).resolves(listing([weighted('us-east-2', 100), alias]));
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'PENDING', SubmittedAt: new Date() } });
    route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/C1', Status: 'INSYNC', SubmittedAt: new Date() } });

    await adapter().instance.apply([change('us-west-2', 100, 50)]);

    expect(route53).toHaveReceivedCommandWith(ChangeResourceRecordSetsCommand, {
      ChangeBatch: { Comment: expect.any(String), Changes: [{ Action: 'UPSERT', ResourceRecordSet: { ...alias, Weight: 50 } }] },
    });
  });

  it('already at the target weights: nothing to do, no change batch', async () => {
    weights(255, 0);

    const result = await adapter().instance.apply([change('us-east-2', 100, 255), change('us-west-2', 100, 0)]);

    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
    expect(route53).not.toHaveReceivedCommand(GetChangeCommand);
    expect(result.decision.decision).toBe('nothing-to-do');
  });

  it('refuses the whole batch when one record\'s weight moved since the plan', async () => {
    weights(100, 30);

    const attempt = adapter().instance.apply([change('us-east-2', 100, 255), change('us-west-2', 100, 0)]);

    await expect(attempt).rejects.toThrow(StaleChangeError);
    await expect(attempt).rejects.toThrow(`route 53 weight of ${RESOURCE.west} is 30, not the expected 100`);
    expect(route53).not.toHaveReceivedCommand(ChangeResourceRecordSetsCommand);
  });

  it('a change that stays PENDING past route53ChangeTimeoutSeconds is UpstreamTimeoutError', async () => {
    weights(100, 100);
    route53.on(ChangeResourceRecordSetsCommand).resolves({ ChangeInfo: { Id: '/change/CSLOW', Status: 'PENDING', SubmittedAt: new Date() } });
    route53.on(GetChangeCommand).resolves({ ChangeInfo: { Id: '/change/CSLOW', Status: 'PENDING', SubmittedAt: new Date() } });
    const { instance, clock } = adapter(10);

    const attempt = instance.apply([change('us-west-2', 100, 0)]);

    await expect(attempt).rejects.toThrow(UpstreamTimeoutError);
    await expect(attempt).rejects.toThrow(/change \/change\/CSLOW still PENDING after 10 s/);
    expect(clock.now - 10_000).toBe(10_000);
    expect(route53).toHaveReceivedCommandTimes(GetChangeCommand, 6);
  });

  it('PriorRequestNotComplete from Route 53 is transient', async () => {
    weights(100, 100);
    route53.on(ChangeResourceRecordSetsCommand).rejects(sdkError('PriorRequestNotComplete', { status: 400, message: 'The request was rejected because Route 53 was still processing a prior request.' }));

    await expect(adapter().instance.apply([change('us-west-2', 100, 0)])).rejects.toThrow(ThrottledError);
  });

  it('refuses a weight outside 0..255 before calling Route 53', async () => {
    await expect(adapter().instance.apply([change('us-west-2', 100, 256)])).rejects.toThrow(/integer 0..255/);
    expect(route53.calls()).toHaveLength(0);
  });
});
