import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../lib/core/config.ts';
import { TrafficPlanRefusedError, WriterNotVerifiedError } from '../../lib/core/errors.ts';
import { topologyFromSnapshot } from '../../lib/core/topology-snapshot.ts';
import { planTraffic, regionHealth } from '../../lib/core/traffic-policy.ts';
import type { Topology, TrafficTargetState } from '../../lib/core/types.ts';

const exampleRaw = parseYaml(readFileSync(new URL('../../config/example.yml', import.meta.url), 'utf8')) as Record<string, unknown>;

function configWith(traffic: { policy: string; weights?: { writer: number; others: number } }): Config {
  return parseConfig({ ...exampleRaw, traffic: { weights: { writer: 100, others: 50 }, ...traffic } });
}
function topology(name: string): Topology {
  return topologyFromSnapshot(JSON.parse(readFileSync(new URL(`../../events/topology/${name}.json`, import.meta.url), 'utf8')), 'app-global', '2025-06-01T12:00:00Z');
}
function trafficStates(name: string): TrafficTargetState[] {
  return JSON.parse(readFileSync(new URL(`../../events/traffic/${name}.json`, import.meta.url), 'utf8')) as TrafficTargetState[];
}
const weightsOf = (states: readonly { kind: string; region: string; to: number }[]) => states.map((change) => `${change.kind} ${change.region} -> ${change.to}`);

describe('regionHealth', () => {
  it('counts the writer healthy and a connected secondary healthy', () => {
    expect(regionHealth(topology('after-switchover'), configWith({ policy: 'drain-unhealthy' }), [])).toEqual([
      { region: 'us-east-2', healthy: true, reason: "us-east-2's DB member is connected" },
      { region: 'us-west-2', healthy: true, reason: 'us-west-2 is the writer region' },
    ]);
  });

  it('names a pending-resync member and failed pooler targets', () => {
    const health = regionHealth(topology('after-failover'), configWith({ policy: 'drain-unhealthy' }), ['use2-pgbouncer', 'usw2-pgbouncer']);

    expect(health).toEqual([
      { region: 'us-east-2', healthy: false, reason: "us-east-2 is unhealthy: its DB member's SynchronizationStatus is pending-resync, not connected; pooler target use2-pgbouncer failed" },
      { region: 'us-west-2', healthy: false, reason: 'us-west-2 is unhealthy: pooler target usw2-pgbouncer failed' },
    ]);
  });

  it('counts a region without a member of the global cluster unhealthy', () => {
    const withoutUse2: Topology = { ...topology('after-switchover'), members: topology('after-switchover').members.filter((member) => member.region !== 'us-east-2') };

    expect(regionHealth(withoutUse2, configWith({ policy: 'drain-unhealthy' }), [])[0]).toEqual({
      region: 'us-east-2',
      healthy: false,
      reason: 'us-east-2 is unhealthy: has no member of global cluster app-global',
    });
  });
});

describe('planTraffic', () => {
  it('policy none changes nothing, whatever the weights', () => {
    const config = configWith({ policy: 'none' });
    const plan = planTraffic(topology('after-switchover'), config, trafficStates('before-switchover'), regionHealth(topology('after-switchover'), config, []));

    expect(plan).toEqual({ changes: [], decision: { step: 'traffic', decision: 'nothing-to-do', reason: 'traffic policy is none: weights are never changed' } });
  });

  it('follow-writer: after a switchover to us-west-2 the weights swap, one change per (kind, region)', () => {
    // Prepare
    const config = configWith({ policy: 'follow-writer' });
    const after = topology('after-switchover');

    // Act
    const plan = planTraffic(after, config, trafficStates('before-switchover'), regionHealth(after, config, []));

    // Assess
    expect(plan.changes).toEqual([
      { kind: 'global-accelerator', region: 'us-east-2', resource: expect.stringContaining('endpoint-group/098765zyxwvu'), from: 100, to: 50 },
      { kind: 'global-accelerator', region: 'us-west-2', resource: expect.stringContaining('endpoint-group/123456abcdef'), from: 50, to: 100 },
      { kind: 'route53', region: 'us-east-2', resource: 'Z0123456789ABCDEFGHIJ/app.example.com/A/us-east-2', from: 100, to: 50 },
      { kind: 'route53', region: 'us-west-2', resource: 'Z0123456789ABCDEFGHIJ/app.example.com/A/us-west-2', from: 50, to: 100 },
    ]);
    expect(plan.decision).toEqual({
      step: 'traffic',
      decision: 'shift',
      reason: 'follow-writer with writer region us-west-2: global-accelerator us-east-2 100 -> 50, global-accelerator us-west-2 50 -> 100, route53 us-east-2 100 -> 50, route53 us-west-2 50 -> 100',
    });
  });

  it('follow-writer: weights that already follow the writer -> nothing to do', () => {
    const config = configWith({ policy: 'follow-writer' });
    const after = topology('after-switchover');

    const plan = planTraffic(after, config, trafficStates('after-switchover'), regionHealth(after, config, []));

    expect(plan.changes).toEqual([]);
    expect(plan.decision).toEqual({ step: 'traffic', decision: 'nothing-to-do', reason: 'weights already follow follow-writer (writer region us-west-2)' });
  });

  it('drain-unhealthy: after an unplanned failover the pending-resync old primary region is drained to 0', () => {
    const config = configWith({ policy: 'drain-unhealthy' });
    const after = topology('after-failover');

    const plan = planTraffic(after, config, trafficStates('before-switchover'), regionHealth(after, config, []));

    expect(weightsOf(plan.changes)).toEqual(['global-accelerator us-east-2 -> 0', 'global-accelerator us-west-2 -> 100', 'route53 us-east-2 -> 0', 'route53 us-west-2 -> 100']);
    expect(plan.decision.reason).toContain("drained: us-east-2 is unhealthy: its DB member's SynchronizationStatus is pending-resync, not connected");
  });

  it('drain-unhealthy: a region whose pooler target failed is drained even when its DB is connected', () => {
    const config = configWith({ policy: 'drain-unhealthy' });
    const after = topology('after-switchover');

    const plan = planTraffic(after, config, trafficStates('after-switchover'), regionHealth(after, config, ['use2-pgbouncer']));

    expect(weightsOf(plan.changes)).toEqual(['global-accelerator us-east-2 -> 0', 'route53 us-east-2 -> 0']);
  });

  it('refuses a plan that would set every region to 0', () => {
    const config = configWith({ policy: 'drain-unhealthy' });
    const after = topology('after-failover');

    const attempt = () => planTraffic(after, config, trafficStates('after-switchover'), regionHealth(after, config, ['usw2-pgbouncer']));

    expect(attempt).toThrow(TrafficPlanRefusedError);
    expect(attempt).toThrow(/^global-accelerator: drain-unhealthy would set every region's weight to 0 \(us-east-2 is unhealthy: .*us-west-2 is unhealthy: pooler target usw2-pgbouncer failed\); weights left as they are$/);
  });

  it('refuses configured weights of 0 and 0 under follow-writer', () => {
    const config = configWith({ policy: 'follow-writer', weights: { writer: 0, others: 0 } });

    expect(() => planTraffic(topology('after-switchover'), config, trafficStates('after-switchover'), [])).toThrow(
      "global-accelerator: follow-writer would set every region's weight to 0 (configured weights are writer 0, others 0); weights left as they are",
    );
  });

  it('ignores traffic targets of regions the config does not manage', () => {
    const config = configWith({ policy: 'follow-writer' });
    const states: TrafficTargetState[] = [...trafficStates('after-switchover'), { kind: 'route53', region: 'eu-west-1', resource: 'Z1/app.example.com/A/eu', weight: 7 }];

    expect(planTraffic(topology('after-switchover'), config, states, []).changes).toEqual([]);
  });

  it('will not plan traffic for an unstable topology', () => {
    const config = configWith({ policy: 'follow-writer' });

    expect(() => planTraffic(topology('during-switchover'), config, trafficStates('before-switchover'), [])).toThrow(WriterNotVerifiedError);
  });
});
