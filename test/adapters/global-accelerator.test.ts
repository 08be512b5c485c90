import 'aws-sdk-client-mock-vitest/extend';
import { beforeEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  DescribeEndpointGroupCommand,
  GlobalAcceleratorClient,
  UpdateEndpointGroupCommand,
  type DescribeEndpointGroupResponse,
} from '@aws-sdk/client-global-accelerator';
import { AwsClients } from '../../lib/adapters/aws-clients.ts';
import { GlobalAcceleratorTrafficAdapter } from '../../lib/adapters/global-accelerator.ts';
import { InvalidConfigError, InvalidInputError, StaleChangeError, ThrottledError, UpstreamError } from '../../lib/core/errors.ts';
import { TrafficKind, type TrafficChange } from '../../lib/core/types.ts';
import { ACCOUNT, exampleConfig, GA_USE2, GA_USW2, regionsOf, sdkError } from './aws-fixtures.ts';

const ga = mockClient(GlobalAcceleratorClient);

/** DescribeEndpointGroup response shaped like the Global Accelerator API reference. */
function endpointGroup(arn: string, region: string, dial: number): DescribeEndpointGroupResponse {
  return {
    EndpointGroup: {
      EndpointGroupArn: arn,
      EndpointGroupRegion: region,
      EndpointDescriptions: [
        {
          EndpointId: `arn:aws:elasticloadbalancing:${region}:${ACCOUNT}:loadbalancer/app/app-${region}/50dc6c495c0c9188`,
          Weight: 128,
          HealthState: 'HEALTHY',
          ClientIPPreservationEnabled: true,
        },
        { EndpointId: 'eipalloc-0abc1234def567890', Weight: 0, HealthState: 'UNHEALTHY', HealthReason: 'Weight is 0', ClientIPPreservationEnabled: false },
      ],
      TrafficDialPercentage: dial,
      HealthCheckPort: 443,
      HealthCheckProtocol: 'TCP',
      HealthCheckIntervalSeconds: 30,
      ThresholdCount: 3,
      PortOverrides: [],
    },
  };
}

function dials(values: { east: number; west: number }): void {
  ga.on(DescribeEndpointGroupCommand, { EndpointGroupArn: GA_USE2 }).resolves(endpointGroup(GA_USE2, 'us-east-2', values.east));
  ga.on(DescribeEndpointGroupCommand, { EndpointGroupArn: GA_USW2 }).resolves(endpointGroup(GA_USW2, 'us-west-2', values.west));
}

function change(region: 'us-east-2' | 'us-west-2', from: number, to: number): TrafficChange {
  return { kind: TrafficKind.GlobalAccelerator, region, resource: region === 'us-east-2' ? GA_USE2 : GA_USW2, from, to };
}

function adapter(): GlobalAcceleratorTrafficAdapter {
  let clock = 1_000;
  return new GlobalAcceleratorTrafficAdapter(new AwsClients(), exampleConfig(), { now: () => (clock += 250) });
}

beforeEach(() => ga.reset());

describe('GlobalAcceleratorTrafficAdapter.observe', () => {
  it('reads each configured endpoint group\'s traffic dial through the us-west-2 API', async () => {
    // Prepare
    dials({ east: 100, west: 50 });

    // Act
    const states = await adapter().observe();

    // Assess
    expect(states).toEqual([
      { kind: 'global-accelerator', region: 'us-east-2', resource: GA_USE2, weight: 100 },
      { kind: 'global-accelerator', region: 'us-west-2', resource: GA_USW2, weight: 50 },
    ]);
    expect(ga).toHaveReceivedCommandTimes(DescribeEndpointGroupCommand, 2);
    expect(await regionsOf(ga.calls())).toEqual(['us-west-2', 'us-west-2']);
  });

  it('an endpoint group that serves another region than configured is a config error', async () => {
    ga.on(DescribeEndpointGroupCommand).resolves(endpointGroup(GA_USE2, 'eu-west-1', 100));

    await expect(adapter().observe()).rejects.toThrow(InvalidConfigError);
    await expect(adapter().observe()).rejects.toThrow(/serves eu-west-1, not us-east-2/);
  });

  it('is not configured when no region has a globalAccelerator section', () => {
    const config = exampleConfig({
      regions: { 'us-east-2': { dbClusterArn: `arn:aws:rds:us-east-2:${ACCOUNT}:cluster:app-use2` } },
    });

    expect(new GlobalAcceleratorTrafficAdapter(new AwsClients(), config).configured).toBe(false);
    expect(adapter().configured).toBe(true);
  });
});

describe('GlobalAcceleratorTrafficAdapter.apply', () => {
  it('re-describes, then sends only the dial: endpoints (and their AttachmentArns) are left untouched', async () => {
    // Prepare
    dials({ east: 100, west: 100 });
    ga.on(UpdateEndpointGroupCommand).resolves(endpointGroup(GA_USW2, 'us-west-2', 50));

    // Act
    const result = await adapter().apply([change('us-west-2', 100, 50)]);

    // Assess
    expect(ga).toHaveReceivedCommandTimes(UpdateEndpointGroupCommand, 1);
    // Exactly these two fields: EndpointConfigurations would replace the endpoint list (dropping AttachmentArns).
    expect(ga.commandCalls(UpdateEndpointGroupCommand)[0]?.args[0].input).toStrictEqual({ EndpointGroupArn: GA_USW2, TrafficDialPercentage: 50 });
    expect(ga).toHaveReceivedCommandWith(DescribeEndpointGroupCommand, { EndpointGroupArn: GA_USW2 });
    expect(await regionsOf(ga.calls())).toEqual(['us-west-2', 'us-west-2']);
    expect(result.decision).toEqual({ step: 'traffic:global-accelerator', decision: 'applied', reason: 'traffic dials set: us-west-2 100% -> 50%' });
    expect(result.durationMs).toBe(250);
  });

  it('a change already at its target is skipped: nothing to do, no update', async () => {
    dials({ east: 100, west: 50 });

    const result = await adapter().apply([change('us-west-2', 100, 50)]);

    expect(ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
    expect(result.decision.decision).toBe('nothing-to-do');
  });

  it('refuses a stale change (the dial is neither from nor to) without updating', async () => {
    dials({ east: 100, west: 20 });

    const attempt = adapter().apply([change('us-west-2', 100, 50)]);

    await expect(attempt).rejects.toThrow(StaleChangeError);
    await expect(attempt).rejects.toThrow(/is 20%, not the expected 100%/);
    expect(ga).not.toHaveReceivedCommand(UpdateEndpointGroupCommand);
  });

  it('refuses a change for another traffic kind, an unconfigured group or a dial out of range', async () => {
    dials({ east: 100, west: 100 });
    const a = adapter();

    await expect(a.apply([{ ...change('us-west-2', 100, 50), kind: TrafficKind.Route53 }])).rejects.toThrow(InvalidInputError);
    await expect(a.apply([{ ...change('us-west-2', 100, 50), resource: GA_USE2 }])).rejects.toThrow(/not configured for region us-west-2/);
    await expect(a.apply([change('us-west-2', 100, 101)])).rejects.toThrow(/must be 0..100/);
    expect(ga.calls()).toHaveLength(0);
  });

  it('maps GA errors: a concurrent transaction is transient, a missing group is fatal', async () => {
    dials({ east: 100, west: 100 });
    ga.on(UpdateEndpointGroupCommand).rejectsOnce(sdkError('TransactionInProgressException', { status: 400 })).rejects(sdkError('EndpointGroupNotFoundException', { status: 400 }));

    await expect(adapter().apply([change('us-west-2', 100, 50)])).rejects.toThrow(ThrottledError);
    await expect(adapter().apply([change('us-west-2', 100, 50)])).rejects.toThrow(UpstreamError);
  });

  it('applies several changes one after another', async () => {
    dials({ east: 50, west: 100 });
    ga.on(UpdateEndpointGroupCommand).resolves({});

    const result = await adapter().apply([change('us-east-2', 50, 100), change('us-west-2', 100, 50)]);

    expect(ga).toHaveReceivedNthCommandWith(UpdateEndpointGroupCommand, 1, { EndpointGroupArn: GA_USE2, TrafficDialPercentage: 100 });
    expect(ga).toHaveReceivedNthCommandWith(UpdateEndpointGroupCommand, 2, { EndpointGroupArn: GA_USW2, TrafficDialPercentage: 50 });
    expect(result.decision.reason).toBe('traffic dials set: us-east-2 50% -> 100%, us-west-2 100% -> 50%');
  });
});
