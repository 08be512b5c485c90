import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../../lib/core/config.ts';
import type { Endpoint } from '../../lib/core/endpoint.ts';
import { InvalidInputError, WriterNotVerifiedError } from '../../lib/core/errors.ts';
import { readAliasEndpoints, setAliasEndpoints } from '../../lib/core/pgbouncer-ini.ts';
import { desiredPoolerEndpoints, planPooler, planReconcile } from '../../lib/core/plan.ts';
import { buildTopology } from '../../lib/core/topology.ts';
import { topologyFromSnapshot } from '../../lib/core/topology-snapshot.ts';
import type { PoolerTargetState, Topology, TrafficTargetState } from '../../lib/core/types.ts';

const exampleRaw = parseYaml(readFileSync(new URL('../../config/example.yml', import.meta.url), 'utf8')) as Record<string, unknown>;
const CONFIG: Config = parseConfig(exampleRaw);
const BEFORE_INI = readFileSync(new URL('../../events/pgbouncer/use2-before-switchover.ini', import.meta.url), 'utf8');

const USE2_WRITER = { host: 'app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };
const USE2_READER = { host: 'app-use2.cluster-ro-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };
const USW2_WRITER = { host: 'app-usw2.cluster-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 };
const USW2_READER = { host: 'app-usw2.cluster-ro-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 };

function topology(name: string): Topology {
  return topologyFromSnapshot(JSON.parse(readFileSync(new URL(`../../events/topology/${name}.json`, import.meta.url), 'utf8')), 'app-global', '2025-06-01T12:00:00Z');
}
function trafficStates(name: string): TrafficTargetState[] {
  return JSON.parse(readFileSync(new URL(`../../events/traffic/${name}.json`, import.meta.url), 'utf8')) as TrafficTargetState[];
}
/** What the pooler adapter observes: the aliases as the ini names them. */
function observe(ini: string, target = 'use2-pgbouncer', region = 'us-east-2'): PoolerTargetState {
  return { target, region, reloadStrategy: 'live', aliases: readAliasEndpoints(ini, ['appdb', 'appdb_ro']), version: String(ini.length) };
}
const use2Target = CONFIG.regions['us-east-2']!.poolers[0]!;

describe('desiredPoolerEndpoints', () => {
  it('after a switchover: writes to the new writer in us-west-2, reads stay on us-east-2', () => {
    expect(desiredPoolerEndpoints(topology('after-switchover'), 'us-east-2')).toEqual({
      write: USW2_WRITER,
      read: USE2_READER,
      decision: {
        step: 'desired-endpoints',
        decision: 'proceed',
        reason: `writes -> ${USW2_WRITER.host}:5432 (writer app-usw2 in us-west-2); reads -> ${USE2_READER.host}:5432 (us-east-2's reader endpoint)`,
      },
    });
  });

  it('refuses while the switchover is in progress', () => {
    expect(() => desiredPoolerEndpoints(topology('during-switchover'), 'us-east-2')).toThrow(WriterNotVerifiedError);
    expect(() => desiredPoolerEndpoints(topology('during-switchover'), 'us-east-2')).toThrow(/^not repointing: a global switchover from app-use2/);
  });

  it('a region without a member reads from the writer region (cross-region) and says so', () => {
    // Prepare: a global cluster whose only member is the us-west-2 writer
    const lone = buildTopology(
      { GlobalClusterIdentifier: 'app-global', Status: 'available', GlobalClusterMembers: [{ DBClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2', IsWriter: true }] },
      { 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2': { writer: USW2_WRITER, reader: USW2_READER } },
      '2025-06-01T12:00:00Z',
    );

    // Act
    const desired = desiredPoolerEndpoints(lone, 'us-east-2');

    // Assess
    expect(desired.read).toEqual(USW2_READER);
    expect(desired.decision.decision).toBe('read-fallback');
    expect(desired.decision.reason).toBe(
      `writes -> ${USW2_WRITER.host}:5432 (writer app-usw2 in us-west-2); reads -> ${USW2_READER.host}:5432 in us-west-2 (cross-region) because us-east-2 has no member of global cluster app-global`,
    );
  });

  it('the writer region without a reader endpoint reads from its own cluster endpoint', () => {
    const noReader = buildTopology(
      { GlobalClusterIdentifier: 'app-global', Status: 'available', GlobalClusterMembers: [{ DBClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2', IsWriter: true }] },
      { 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2': { writer: USW2_WRITER } },
      '2025-06-01T12:00:00Z',
    );

    expect(desiredPoolerEndpoints(noReader, 'us-west-2')).toMatchObject({ write: USW2_WRITER, read: USW2_WRITER, decision: { decision: 'proceed' } });
  });

  it('refuses a writer endpoint that could inject into pgbouncer.ini, naming the field', () => {
    const hostile = buildTopology(
      { GlobalClusterIdentifier: 'app-global', Status: 'available', GlobalClusterMembers: [{ DBClusterArn: 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2', IsWriter: true }] },
      { 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2': { writer: { host: 'evil\n%include /tmp/x', port: 5432 } } },
      '2025-06-01T12:00:00Z',
    );

    expect(() => desiredPoolerEndpoints(hostile, 'us-west-2')).toThrow(/^app-usw2\.writerEndpoint\.host must be a DNS name or an IP literal/);
  });
});

describe('planPooler', () => {
  it('in sync -> no changes, nothing to do', () => {
    const plan = planPooler(use2Target, observe(BEFORE_INI), { write: USE2_WRITER, read: USE2_READER });

    expect(plan.changes).toEqual([]);
    expect(plan.decision).toEqual({
      step: 'pooler:use2-pgbouncer',
      decision: 'nothing-to-do',
      reason: `appdb already at ${USE2_WRITER.host}:5432; appdb_ro already at ${USE2_READER.host}:5432`,
    });
  });

  it('writer moved -> one change for the write alias carrying the value it replaces', () => {
    const plan = planPooler(use2Target, observe(BEFORE_INI), { write: USW2_WRITER, read: USE2_READER });

    expect(plan).toMatchObject({ target: 'use2-pgbouncer', region: 'us-east-2', reloadStrategy: 'live' });
    expect(plan.changes).toEqual([{ alias: 'appdb', role: 'write', from: USE2_WRITER, to: USW2_WRITER }]);
    expect(plan.decision).toEqual({
      step: 'pooler:use2-pgbouncer',
      decision: 'apply',
      reason: `repoint appdb ${USE2_WRITER.host}:5432 -> ${USW2_WRITER.host}:5432; appdb_ro already at ${USE2_READER.host}:5432`,
    });
  });

  it('treats a host differing only in letter case as the same endpoint', () => {
    const upper: Endpoint = { host: USE2_WRITER.host.toUpperCase(), port: 5432 };

    expect(planPooler(use2Target, observe(BEFORE_INI), { write: upper, read: USE2_READER }).changes).toEqual([]);
  });

  it('a missing alias is refused, never invented', () => {
    const ini = BEFORE_INI.replace(/^appdb_ro = .*$/m, '');

    const plan = planPooler(use2Target, observe(ini), { write: USE2_WRITER, read: USE2_READER });

    expect(plan.changes).toEqual([{ alias: 'appdb_ro', role: 'read', from: null, to: USE2_READER }]);
    expect(plan.decision).toEqual({
      step: 'pooler:use2-pgbouncer',
      decision: 'refuse',
      reason: 'alias appdb_ro is missing from [databases]; aliases are never invented, add it to the pooler config',
    });
  });
});

describe('planReconcile', () => {
  it('before a switchover everything is in sync: empty plan, every decision says nothing to do', () => {
    const plan = planReconcile({
      topology: topology('before-switchover'),
      region: 'us-east-2',
      config: CONFIG,
      poolerStates: [observe(BEFORE_INI)],
      trafficStates: trafficStates('before-switchover'),
    });

    expect(plan.poolers.flatMap((pooler) => pooler.changes)).toEqual([]);
    expect(plan.traffic.changes).toEqual([]);
    expect(plan.decisions.map((decision) => `${decision.step}: ${decision.decision}`)).toEqual([
      'verify-writer: proceed',
      'desired-endpoints: proceed',
      'pooler:use2-pgbouncer: nothing-to-do',
      'traffic: nothing-to-do',
    ]);
    expect(plan).toMatchObject({ globalClusterId: 'app-global', writerRegion: 'us-east-2', writerDbClusterArn: 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2' });
  });

  it('after a switchover: plan -> apply -> plan is empty (poolers and traffic)', () => {
    // Prepare
    const after = topology('after-switchover');
    const input = { topology: after, region: 'us-east-2', config: CONFIG };

    // Act: plan, then apply the plan the way the adapters do (ini rewrite, weights set), then plan again
    const first = planReconcile({ ...input, poolerStates: [observe(BEFORE_INI)], trafficStates: trafficStates('before-switchover') });
    const applied = setAliasEndpoints(BEFORE_INI, first.poolers[0]!.changes.map((change) => ({ alias: change.alias, endpoint: change.to })));
    const weights = trafficStates('before-switchover').map((state) => ({
      ...state,
      weight: first.traffic.changes.find((change) => change.resource === state.resource)?.to ?? state.weight,
    }));
    const second = planReconcile({ ...input, poolerStates: [observe(applied)], trafficStates: weights });

    // Assess
    expect(first.writerRegion).toBe('us-west-2');
    expect(first.poolers[0]!.changes).toEqual([{ alias: 'appdb', role: 'write', from: USE2_WRITER, to: USW2_WRITER }]);
    expect(first.traffic.changes).toHaveLength(4);
    expect(second.poolers[0]!.changes).toEqual([]);
    expect(second.traffic.changes).toEqual([]);
    expect(second.decisions.filter((decision) => decision.decision !== 'proceed').map((decision) => decision.decision)).toEqual(['nothing-to-do', 'nothing-to-do']);
  });

  it('after an unplanned failover (drain-unhealthy): writes move, the pending-resync region is drained', () => {
    const config = parseConfig({ ...exampleRaw, traffic: { policy: 'drain-unhealthy', weights: { writer: 100, others: 50 } } });

    const plan = planReconcile({ topology: topology('after-failover'), region: 'us-east-2', config, poolerStates: [observe(BEFORE_INI)], trafficStates: trafficStates('before-switchover') });

    expect(plan.poolers[0]!.changes.map((change) => change.to)).toEqual([USW2_WRITER]);
    expect(plan.traffic.changes.filter((change) => change.region === 'us-east-2').map((change) => change.to)).toEqual([0, 0]);
  });

  it('for the new writer region: write and read both stay local', () => {
    const usw2Ini = BEFORE_INI.replaceAll('app-use2.cluster-abc123def456.us-east-2', 'app-usw2.cluster-ghi789jkl012.us-west-2').replace(
      'app-use2.cluster-ro-abc123def456.us-east-2',
      'app-usw2.cluster-ro-ghi789jkl012.us-west-2',
    );

    const plan = planReconcile({ topology: topology('after-switchover'), region: 'us-west-2', config: CONFIG, poolerStates: [observe(usw2Ini, 'usw2-pgbouncer', 'us-west-2')], trafficStates: [] });

    expect(plan.poolers[0]).toMatchObject({ target: 'usw2-pgbouncer', changes: [] });
    expect(readAliasEndpoints(usw2Ini, ['appdb', 'appdb_ro'])).toEqual({ appdb: USW2_WRITER, appdb_ro: USW2_READER });
    expect(plan.traffic.decision.reason).toBe('no traffic targets were observed');
  });

  it('an unstable topology plans nothing: WriterNotVerifiedError with the reason', () => {
    const attempt = () =>
      planReconcile({ topology: topology('during-failover'), region: 'us-east-2', config: CONFIG, poolerStates: [observe(BEFORE_INI)], trafficStates: [] });

    expect(attempt).toThrow(WriterNotVerifiedError);
    expect(attempt).toThrow('not planning: a global failover from app-use2 in us-east-2 to app-usw2 in us-west-2 is in progress (FailoverState status failing-over)');
  });

  it('a target that failed to be observed is skipped and named; a silently missing one is an error', () => {
    const base = { topology: topology('after-switchover'), region: 'us-east-2', config: CONFIG, poolerStates: [], trafficStates: [] };

    const plan = planReconcile({ ...base, failedTargets: ['use2-pgbouncer'] });

    expect(plan.poolers).toEqual([]);
    expect(plan.decisions).toContainEqual({ step: 'pooler:use2-pgbouncer', decision: 'skip', reason: 'use2-pgbouncer could not be observed; it is reported as failed' });
    expect(() => planReconcile(base)).toThrow(InvalidInputError);
  });

  it('a refused traffic plan does not stop the poolers from following the writer', () => {
    const config = parseConfig({ ...exampleRaw, traffic: { policy: 'follow-writer', weights: { writer: 0, others: 0 } } });

    const plan = planReconcile({ topology: topology('after-switchover'), region: 'us-east-2', config, poolerStates: [observe(BEFORE_INI)], trafficStates: trafficStates('before-switchover') });

    expect(plan.poolers[0]!.changes).toHaveLength(1);
    expect(plan.traffic.changes).toEqual([]);
    expect(plan.traffic.decision).toMatchObject({ step: 'traffic', decision: 'refuse' });
    expect(plan.traffic.decision.reason).toMatch(/would set every region's weight to 0/);
  });
});
