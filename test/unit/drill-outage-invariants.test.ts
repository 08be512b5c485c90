/**
 * The region-outage drill's invariants about the returning region's clients and about lost acknowledged
 * commits, as pure checks over what the load generator recorded. Each is shown failing on a deliberately
 * broken run (the old writer restarted as a primary; a replica that had not received the writer's last WAL).
 */
import { describe, expect, it } from 'vitest';
import { returningClientsCheck, rpoCheck } from '../../lib/drill/outage-invariants.ts';
import type { CommitRecord, ErrorRecord } from '../../lib/local/load-generator.ts';

const OLD = 5433;
const NEW = 5434;
const window = { region: 'us-west-2', oldWriterPort: OLD, newWriterPort: NEW, clientsBackAt: 10_000, repointedAt: 12_000, until: 20_000 };

function commit(region: string, serverPort: number, startedAt: number, seq = startedAt): CommitRecord {
  return { clientId: 1, seq, region, startedAt, endedAt: startedAt + 5, serverPort };
}

function refused(region: string, at: number, code = '25006'): ErrorRecord {
  return { clientId: 1, region, operation: 'write', at, code };
}

describe('returningClientsCheck', () => {
  it('holds when the returning clients are refused by the old writer (now a replica) and reach the new writer after the repoint', () => {
    // Prepare
    const commits = [commit('us-west-2', NEW, 12_500), commit('us-east-1', NEW, 11_000)];
    const errors = [refused('us-west-2', 10_100, 'ECONNREFUSED'), refused('us-west-2', 11_000), refused('us-east-1', 11_000)];

    // Act
    const check = returningClientsCheck({ ...window, commits, errors });

    // Assess
    expect(check.summary).toEqual({ refusedBeforeRepoint: 2, refusedBySqlstate: { '25006': 1, ECONNREFUSED: 1 }, committedOnOldWriter: 0, committedOnNewWriterAfterRepoint: 1 });
    expect(check.invariants.map((invariant) => invariant.ok)).toEqual([true, true]);
  });

  it('fails when the old writer came back as a primary and took a returning client\'s write', () => {
    // Prepare: the broken variant, the old writer restarted as a primary, acknowledges the write.
    const commits = [commit('us-west-2', OLD, 10_200), commit('us-west-2', NEW, 12_500)];

    // Act
    const check = returningClientsCheck({ ...window, commits, errors: [] });

    // Assess
    expect(check.summary.committedOnOldWriter).toBe(1);
    expect(check.invariants[0]).toMatchObject({ ok: false });
    expect(check.invariants[0]!.detail).toContain('1 write(s)');
  });

  it('fails when no returning client\'s write reached the new writer after the repoint', () => {
    // Prepare: a write before the repoint and one after the window do not count.
    const commits = [commit('us-west-2', NEW, 11_000), commit('us-west-2', NEW, 20_500)];

    // Act
    const check = returningClientsCheck({ ...window, commits, errors: [refused('us-west-2', 10_500)] });

    // Assess
    expect(check.summary.committedOnNewWriterAfterRepoint).toBe(0);
    expect(check.invariants[1]).toMatchObject({ ok: false });
  });
});

describe('rpoCheck', () => {
  const died = { flushReadAt: 5_000, lagBytes: 0 };

  it('holds with lost commits reported when the replica had not received all the writer flushed', () => {
    // Act
    const invariant = rpoCheck({ ...died, lagBytes: 8_192, lagMs: 40, lost: [commit('us-west-2', OLD, 4_900)] });

    // Assess
    expect(invariant.ok).toBe(true);
    expect(invariant.detail).toContain('1 acknowledged commit(s) missing');
    expect(invariant.detail).toContain('8192 bytes');
  });

  it('fails when a commit acknowledged before the flush LSN was read is lost although the replica had received that LSN', () => {
    // Act: the broken variant, lag 0 and yet a commit acknowledged before the read is missing.
    const invariant = rpoCheck({ ...died, lagMs: 0, lost: [commit('us-west-2', OLD, 4_900)] });

    // Assess
    expect(invariant.ok).toBe(false);
  });

  it('does not blame a commit acknowledged after the flush LSN was read (WAL the measurement could not see), and still reports it', () => {
    // Act
    const invariant = rpoCheck({ ...died, lost: [commit('us-west-2', OLD, 5_000)] });

    // Assess
    expect(invariant.ok).toBe(true);
    expect(invariant.detail).toContain('1 acknowledged commit(s) missing');
    expect(invariant.detail).toContain('1 of them acknowledged after');
  });
});
