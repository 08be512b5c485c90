import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GlobalCluster } from '@aws-sdk/client-rds';
import { InvalidInputError } from '../../lib/core/errors.ts';
import { assessStability, buildTopology, memberEndpointsFromDbCluster, memberInRegion, regionOfArn } from '../../lib/core/topology.ts';
import { topologyFromSnapshot } from '../../lib/core/topology-snapshot.ts';

const USE2 = 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2';
const USW2 = 'arn:aws:rds:us-west-2:123456789012:cluster:app-usw2';
const OBSERVED_AT = '2025-06-01T12:00:00.000Z';

function sample(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../../events/topology/${name}.json`, import.meta.url), 'utf8'));
}
function topologyOf(name: string) {
  return topologyFromSnapshot(sample(name), 'app-global', OBSERVED_AT);
}

describe('regionOfArn', () => {
  it('reads the region from a DB cluster ARN, including other partitions', () => {
    expect(regionOfArn(USW2)).toBe('us-west-2');
    expect(regionOfArn('arn:aws-us-gov:rds:us-gov-west-1:123456789012:cluster:app')).toBe('us-gov-west-1');
  });

  it.each(['', 'app-use2', 'arn:aws:rds:us-east-2:123456789012:db:app-use2-1', 'arn:aws:ec2:us-east-2:123456789012:cluster:x'])(
    'refuses %j with InvalidInputError',
    (value) => {
      expect(() => regionOfArn(value)).toThrow(InvalidInputError);
    },
  );
});

describe('topology before, during and after a switchover (RDS API samples in events/topology)', () => {
  it('before: us-east-2 writes, stable, endpoints from DescribeDBClusters', () => {
    // Act
    const topology = topologyOf('before-switchover');
    const verdict = assessStability(topology);

    // Assess
    expect(verdict.stable).toBe(true);
    expect(verdict.reason).toBe('writer is app-use2 in us-east-2; global cluster available, no switchover or failover in progress');
    expect(verdict.writer?.dbClusterArn).toBe(USE2);
    expect(verdict.writer?.writerEndpoint).toEqual({ host: 'app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 });
    expect(memberInRegion(topology, 'us-west-2')).toMatchObject({
      isWriter: false,
      synchronizationStatus: 'connected',
      readerEndpoint: { host: 'app-usw2.cluster-ro-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 },
    });
    expect(topology.globalWriterEndpoint).toBe('app-global.global-7h2kq9x1v3ab.global.rds.amazonaws.com');
    expect(topology.observedAt).toBe(OBSERVED_AT);
  });

  it('during: FailoverState present -> unstable, the reason names the switchover and both clusters', () => {
    const verdict = assessStability(topologyOf('during-switchover'));

    expect(verdict.stable).toBe(false);
    expect(verdict.writer).toBeUndefined();
    expect(verdict.reason).toBe('a global switchover from app-use2 in us-east-2 to app-usw2 in us-west-2 is in progress (FailoverState status switching-over)');
  });

  it('after: us-west-2 writes, stable', () => {
    const verdict = assessStability(topologyOf('after-switchover'));

    expect(verdict.stable).toBe(true);
    expect(verdict.writer?.region).toBe('us-west-2');
    expect(verdict.writer?.writerEndpoint?.host).toBe('app-usw2.cluster-ghi789jkl012.us-west-2.rds.amazonaws.com');
  });
});

describe('topology during and after an unplanned failover', () => {
  it('during: a failover (data loss allowed) is reported as such', () => {
    const verdict = assessStability(topologyOf('during-failover'));

    expect(verdict.stable).toBe(false);
    expect(verdict.reason).toBe('a global failover from app-use2 in us-east-2 to app-usw2 in us-west-2 is in progress (FailoverState status failing-over)');
  });

  it('after: us-west-2 writes; the old primary is pending-resync but the topology is stable', () => {
    const topology = topologyOf('after-failover');

    expect(assessStability(topology)).toMatchObject({ stable: true, writer: { region: 'us-west-2' } });
    expect(memberInRegion(topology, 'us-east-2')?.synchronizationStatus).toBe('pending-resync');
  });
});

describe('assessStability names what is wrong', () => {
  const endpoints = {
    [USE2]: { writer: { host: 'use2-writer.example.com', port: 5432 } },
    [USW2]: { writer: { host: 'usw2-writer.example.com', port: 5432 } },
  };
  const cluster = (overrides: Partial<GlobalCluster>): GlobalCluster => ({
    GlobalClusterIdentifier: 'app-global',
    Status: 'available',
    GlobalClusterMembers: [
      { DBClusterArn: USE2, IsWriter: true, SynchronizationStatus: 'connected' },
      { DBClusterArn: USW2, IsWriter: false, SynchronizationStatus: 'connected' },
    ],
    ...overrides,
  });

  it.each([
    ['status not available', cluster({ Status: 'modifying' }), 'global cluster app-global is modifying, not available'],
    [
      'no writer',
      cluster({ GlobalClusterMembers: [{ DBClusterArn: USE2, IsWriter: false }, { DBClusterArn: USW2, IsWriter: false }] }),
      'no member of global cluster app-global is the writer',
    ],
    [
      'two writers',
      cluster({ GlobalClusterMembers: [{ DBClusterArn: USE2, IsWriter: true }, { DBClusterArn: USW2, IsWriter: true }] }),
      '2 members claim to be the writer (app-use2 in us-east-2, app-usw2 in us-west-2)',
    ],
    ['pending FailoverState', cluster({ FailoverState: { Status: 'pending', ToDbClusterArn: USW2 } }), 'a global switchover to app-usw2 in us-west-2 is in progress (FailoverState status pending)'],
  ])('%s', (_scenario, globalCluster, reason) => {
    const verdict = assessStability(buildTopology(globalCluster, endpoints, OBSERVED_AT));

    expect(verdict).toEqual({ stable: false, reason });
  });

  it('an empty FailoverState object counts as absent (the API leaves it empty when nothing runs)', () => {
    const verdict = assessStability(buildTopology(cluster({ FailoverState: {} }), endpoints, OBSERVED_AT));

    expect(verdict.stable).toBe(true);
  });

  it('a writer without a writer endpoint is not stable', () => {
    const verdict = assessStability(buildTopology(cluster({}), {}, OBSERVED_AT));

    expect(verdict).toEqual({ stable: false, reason: 'writer app-use2 in us-east-2 has no writer endpoint (no DescribeDBClusters Endpoint and no pin)' });
  });
});

describe('buildTopology', () => {
  it('lets config pins (by region) override the API endpoints', () => {
    // Prepare
    const pinned = { host: 'pinned-writer.internal.example.com', port: 6000 };
    const globalCluster: GlobalCluster = { GlobalClusterIdentifier: 'app-global', Status: 'available', GlobalClusterMembers: [{ DBClusterArn: USE2, IsWriter: true }] };

    // Act
    const topology = buildTopology(globalCluster, { [USE2]: { writer: { host: 'api-writer.example.com', port: 5432 }, reader: { host: 'api-reader.example.com', port: 5432 } } }, OBSERVED_AT, {
      'us-east-2': { writer: pinned },
    });

    // Assess
    expect(topology.members[0]?.writerEndpoint).toEqual(pinned);
    expect(topology.members[0]?.readerEndpoint).toEqual({ host: 'api-reader.example.com', port: 5432 });
  });

  it('refuses a member without an ARN, naming the field', () => {
    expect(() => buildTopology({ GlobalClusterIdentifier: 'g', GlobalClusterMembers: [{ IsWriter: true }] }, {}, OBSERVED_AT)).toThrow(
      'GlobalClusterMembers[0].DBClusterArn is missing',
    );
  });

  it('takes a member cluster endpoints from a DescribeDBClusters entry', () => {
    expect(memberEndpointsFromDbCluster({ Endpoint: 'w.example.com', ReaderEndpoint: 'r.example.com', Port: 5433 })).toEqual({
      writer: { host: 'w.example.com', port: 5433 },
      reader: { host: 'r.example.com', port: 5433 },
    });
    expect(memberEndpointsFromDbCluster({ Endpoint: 'w.example.com' })).toEqual({});
  });
});

describe('topologyFromSnapshot', () => {
  it('refuses a snapshot without the configured global cluster', () => {
    expect(() => topologyFromSnapshot(sample('before-switchover'), 'other-global', OBSERVED_AT)).toThrow('topology snapshot has no global cluster other-global (has: app-global)');
  });

  it('names the malformed field', () => {
    expect(() => topologyFromSnapshot({ describeGlobalClusters: { GlobalClusters: [{ Status: 'available' }] } }, 'app-global', OBSERVED_AT)).toThrow(
      /describeGlobalClusters\.GlobalClusters\.0\.GlobalClusterIdentifier/,
    );
  });

  it('refuses an endpoint that is not a host name, naming the field and not echoing the value', () => {
    // Prepare: a pasted file with a connection string where the endpoint belongs
    const snapshot = sample('before-switchover') as { describeDBClusters: Array<{ DBClusters: Array<{ Endpoint?: string }> }> };
    snapshot.describeDBClusters[0]!.DBClusters[0]!.Endpoint = 'writer.example.com password=hunter2';

    // Act
    const read = () => topologyFromSnapshot(snapshot, 'app-global', OBSERVED_AT);

    // Assess
    expect(read).toThrow(/describeDBClusters\.0\.DBClusters\.0\.Endpoint: must be a DNS name or an IP literal/);
    expect(read).not.toThrow(/hunter2/);
  });
});
