/**
 * drain-unhealthy as seen from one regional stack (reviewer findings on issue 9): a failed read-only pod
 * check neither drains nor restores a region, and a stack judges pooler health only in its own region:
 * it may lower another region's weight (that region's DB member is unhealthy, or the writer moved away from
 * it) but never raises it. Without these, two runs (or two stacks) undo each other's drains every schedule.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../lib/core/config.ts';
import { TrafficPlanRefusedError } from '../../lib/core/errors.ts';
import { topologyFromSnapshot } from '../../lib/core/topology-snapshot.ts';
import { definitivelyFailedTargets, planTraffic, regionHealth } from '../../lib/core/traffic-policy.ts';
import type { Topology, TrafficTargetState } from '../../lib/core/types.ts';

const exampleRaw = parseYaml(readFileSync(new URL('../../config/example.yml', import.meta.url), 'utf8')) as Record<string, unknown>;

function configWith(policy: 'follow-writer' | 'drain-unhealthy'): Config {
  return parseConfig({ ...exampleRaw, traffic: { policy, weights: { writer: 100, others: 50 } } });
}
function topology(name: string): Topology {
  return topologyFromSnapshot(JSON.parse(readFileSync(new URL(`../../events/topology/${name}.json`, import.meta.url), 'utf8')), 'app-global', '2025-06-01T12:00:00Z');
}
/** The sample traffic targets with the given weights per region (GA dial and Route 53 weight alike). */
function weights(byRegion: Record<string, number>): TrafficTargetState[] {
  const states = JSON.parse(readFileSync(new URL('../../events/traffic/after-switchover.json', import.meta.url), 'utf8')) as TrafficTargetState[];
  return states.map((state) => ({ ...state, weight: byRegion[state.region]! }));
}
const moves = (changes: readonly { kind: string; region: string; from: number; to: number }[]) => changes.map((change) => `${change.kind} ${change.region} ${change.from} -> ${change.to}`);

describe('drain-unhealthy: a failed read-only pod check changes its region health in neither direction', () => {
  // Writer in us-west-2 (after-switchover); the us-west-2 stack's last run drained its own region after
  // usw2-pgbouncer definitively failed while being patched.
  const config = configWith('drain-unhealthy');
  const after = topology('after-switchover');
  const drainedUsw2 = weights({ 'us-east-2': 50, 'us-west-2': 0 });

  it('the next run re-checks the pods read-only, the check fails again: us-west-2 stays at 0, one keep decision per weight', () => {
    // Prepare
    const failures = definitivelyFailedTargets([{ target: 'usw2-pgbouncer', readOnly: true, failed: true, error: 'TargetFailedError' }]);

    // Act
    const health = regionHealth(after, config, failures.targets, { region: 'us-west-2', uncheckedTargets: failures.unchecked });
    const plan = planTraffic(after, config, drainedUsw2, health);

    // Assess
    expect(failures).toMatchObject({ targets: [], unchecked: ['usw2-pgbouncer'] });
    expect(health.find((entry) => entry.region === 'us-west-2')).toEqual({
      region: 'us-west-2',
      healthy: false,
      weights: 'keep',
      reason: "us-west-2's health is unknown this run: only a read-only pod check of usw2-pgbouncer failed",
    });
    expect(plan.changes).toEqual([]);
    expect(plan.decision).toMatchObject({ decision: 'nothing-to-do' });
    expect(plan.kept).toEqual([
      { step: 'traffic', decision: 'keep', reason: "global-accelerator us-west-2 stays at 0 (policy: 100): us-west-2's health is unknown this run: only a read-only pod check of usw2-pgbouncer failed" },
      { step: 'traffic', decision: 'keep', reason: "route53 us-west-2 stays at 0 (policy: 100): us-west-2's health is unknown this run: only a read-only pod check of usw2-pgbouncer failed" },
    ]);
  });

  it('nor does it drain a region that serves: the writer region keeps 100', () => {
    const failures = definitivelyFailedTargets([{ target: 'usw2-pgbouncer', readOnly: true, failed: true }]);

    const plan = planTraffic(after, config, weights({ 'us-east-2': 50, 'us-west-2': 100 }), regionHealth(after, config, failures.targets, { region: 'us-west-2', uncheckedTargets: failures.unchecked }));

    expect(plan.changes).toEqual([]);
    expect(plan.kept).toEqual([]);
  });

  it('a run whose pod check passes restores the region (its own stack raises it)', () => {
    const plan = planTraffic(after, config, drainedUsw2, regionHealth(after, config, [], { region: 'us-west-2' }));

    expect(moves(plan.changes)).toEqual(['global-accelerator us-west-2 0 -> 100', 'route53 us-west-2 0 -> 100']);
  });

  it('a DB member problem still drains a region whose read-only check failed: the member is definitive', () => {
    const failover = topology('after-failover'); // writer us-west-2, us-east-2 pending-resync
    const failures = definitivelyFailedTargets([{ target: 'use2-pgbouncer', readOnly: true, failed: true }]);

    const plan = planTraffic(failover, config, weights({ 'us-east-2': 50, 'us-west-2': 100 }), regionHealth(failover, config, failures.targets, { region: 'us-east-2', uncheckedTargets: failures.unchecked }));

    expect(moves(plan.changes)).toEqual(['global-accelerator us-east-2 50 -> 0', 'route53 us-east-2 50 -> 0']);
  });
});

describe('drain-unhealthy: each stack judges pooler health only in its own region', () => {
  const config = configWith('drain-unhealthy');
  const after = topology('after-switchover'); // writer us-west-2, us-east-2 connected

  it('stack us-east-2 does not raise us-west-2, which its own stack drained: each kept weight is a decision', () => {
    // Prepare: us-west-2's stack drained itself after a definitive failure of usw2-pgbouncer (us-east-2 cannot see it)
    const states = weights({ 'us-east-2': 50, 'us-west-2': 0 });

    // Act: us-east-2's scheduled run
    const plan = planTraffic(after, config, states, regionHealth(after, config, [], { region: 'us-east-2' }));

    // Assess
    expect(plan.changes).toEqual([]);
    expect(plan.kept).toEqual([
      {
        step: 'traffic',
        decision: 'keep',
        reason: "global-accelerator us-west-2 stays at 0 (policy: 100): us-west-2 is the writer region, but this stack (us-east-2) judges only its own region's pooler targets; us-west-2's own stack raises its weight",
      },
      {
        step: 'traffic',
        decision: 'keep',
        reason: "route53 us-west-2 stays at 0 (policy: 100): us-west-2 is the writer region, but this stack (us-east-2) judges only its own region's pooler targets; us-west-2's own stack raises its weight",
      },
    ]);
    expect(plan.decision.reason).toContain('kept: global-accelerator us-west-2 at 0, route53 us-west-2 at 0');
  });

  it("another region's failed pooler targets are not counted: only its own stack knows them", () => {
    const health = regionHealth(after, config, ['usw2-pgbouncer'], { region: 'us-east-2' });

    expect(health).toEqual([
      { region: 'us-east-2', healthy: true, reason: "us-east-2's DB member is connected" },
      { region: 'us-west-2', healthy: true, weights: 'lower-only', reason: 'us-west-2 is the writer region' },
    ]);
  });

  it('the survivors still drain a dead region: its DB member is unhealthy', () => {
    // Writer moved to us-west-2 by an unplanned failover; us-east-2 (old primary) is pending-resync
    const failover = topology('after-failover');

    const plan = planTraffic(failover, config, weights({ 'us-east-2': 100, 'us-west-2': 50 }), regionHealth(failover, config, [], { region: 'us-west-2' }));

    expect(moves(plan.changes)).toEqual(['global-accelerator us-east-2 100 -> 0', 'global-accelerator us-west-2 50 -> 100', 'route53 us-east-2 100 -> 0', 'route53 us-west-2 50 -> 100']);
    expect(plan.kept).toEqual([]);
  });

  it('may lower a healthy region to its policy weight when the writer moved away from it', () => {
    const plan = planTraffic(after, config, weights({ 'us-east-2': 100, 'us-west-2': 50 }), regionHealth(after, config, [], { region: 'us-west-2' }));

    expect(moves(plan.changes)).toEqual(['global-accelerator us-east-2 100 -> 50', 'global-accelerator us-west-2 50 -> 100', 'route53 us-east-2 100 -> 50', 'route53 us-west-2 50 -> 100']);
  });

  it('refuses when the kept weights and its own drain would leave every region at 0', () => {
    // us-west-2 drained by its own stack; us-east-2's own target now fails definitively
    const attempt = () => planTraffic(after, config, weights({ 'us-east-2': 50, 'us-west-2': 0 }), regionHealth(after, config, ['use2-pgbouncer'], { region: 'us-east-2' }));

    expect(attempt).toThrow(TrafficPlanRefusedError);
    expect(attempt).toThrow(/every region's weight to 0 \(us-east-2 is unhealthy: pooler target use2-pgbouncer failed; us-west-2 stays at 0 \(policy: 100\): .*own stack raises its weight\)/);
  });

  it('follow-writer has no health: every stack plans the same weights, so any stack moves them', () => {
    const follow = configWith('follow-writer');

    const plan = planTraffic(after, follow, weights({ 'us-east-2': 100, 'us-west-2': 50 }), regionHealth(after, follow, [], { region: 'us-east-2' }));

    expect(moves(plan.changes)).toEqual(['global-accelerator us-east-2 100 -> 50', 'global-accelerator us-west-2 50 -> 100', 'route53 us-east-2 100 -> 50', 'route53 us-west-2 50 -> 100']);
  });
});
