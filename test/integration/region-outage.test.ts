/**
 * Scenario region-outage as a user runs it (`aurora-failover drill --scenario region-outage`, a child
 * process) on real PostgreSQL and PgBouncer: the writer region is killed with its APIs and the traffic
 * control plane it serves, the operator fails over from the surviving stack, the region returns and fails
 * back. Asserts the invariants of issue 9, not speeds: how fast writes resume is the drill's output.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrillResults } from '../../lib/drill/results.ts';

const CLI = new URL('../../bin/aurora-failover.ts', import.meta.url).pathname;
const parent = mkdtempSync(join(tmpdir(), 'outage-test-'));
chmodSync(parent, 0o755); // the servers run as the postgres user when the test runs as root
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function drill(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'drill', ...args], { env: { ...process.env, AURORA_FAILOVER_TMPDIR: parent }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Processes whose command line mentions the test's temp parent: servers the drill failed to stop. */
function leftoverProcesses(): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(parent)) found.push(`${pid}: ${cmdline}`);
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}


describe('aurora-failover drill --scenario region-outage (real PostgreSQL + PgBouncer)', () => {
  it.each([
    { regions: 'us-west-2,us-east-1', deadPlane: 'global-accelerator' },
    { regions: 'us-east-1,us-west-2', deadPlane: 'route53' },
  ])('writer region $regions dies with the $deadPlane control plane: failover from the survivor, return as a replica, failback without a failed write', async ({ regions, deadPlane }) => {
    // Prepare
    const out = mkdtempSync(join(parent, 'out-'));
    const [dead, survivor] = regions.split(',') as [string, string];

    // Act
    const run = await drill(['--scenario', 'region-outage', '--regions', regions, '--duration', '64', '--quiet', '--json', join(out, 'drill.json')]);

    // Assess
    expect(run.stderr).not.toMatch(/Error:/);
    const results = JSON.parse(readFileSync(join(out, 'drill.json'), 'utf8')) as DrillResults;
    // How fast writes resumed is the drill's output (invariants marked `timing`), never asserted here.
    expect(results.invariants.filter((invariant) => !invariant.ok && !invariant.timing)).toEqual([]);
    expect(results.invariants.filter((invariant) => invariant.timing)).toHaveLength(2);
    expect(results.outage).toMatchObject({ region: dead, controlPlanesDown: [deadPlane], writeRoutedToOnReturn: survivor });
    expect(results.outage!.atMs).toBeGreaterThan(0);
    // Order, not speed: the region came back with its clients (before anything repointed), its old writer was rebuilt, its PgBouncer repointed.
    const outage = results.outage!;
    expect(outage.operatorStartMs).toBeGreaterThan(outage.atMs);
    expect(outage.returnedAtMs!).toBeGreaterThan(outage.operatorStartMs);
    expect(outage.rejoinedAtMs!).toBeGreaterThanOrEqual(outage.returnedAtMs!);
    expect(outage.clientsBackAtMs!).toBeGreaterThanOrEqual(outage.returnedAtMs!);
    expect(outage.clientsBackAtMs!).toBeLessThan(outage.repointedAtMs!);
    // What must hold once they are back: no write of theirs commits on the old writer (down, then a replica:
    // refused, e.g. 25006, or left waiting), and after the repoint their writes reach the new writer.
    expect(outage.returningWrites).toMatchObject({ committedOnOldWriter: 0 });
    expect(outage.returningWrites!.committedOnNewWriterAfterRepoint).toBeGreaterThan(0);

    const [failover, failback] = results.switches;
    expect(results.switches).toHaveLength(2);
    expect(failover).toMatchObject({ from: dead, to: survivor, home: survivor, commitsOnOldWriterAfterPromotion: 0, trafficDegraded: [deadPlane] });
    expect(failover!.trafficNote).toContain(`traffic was not moved on ${deadPlane}`);
    expect(failover!.writesResumedAfterStartMs).toBeGreaterThan(0);
    // RPO as defined: the writer's flushed LSN just before the SIGKILL against what the replica received.
    // Lost acknowledged commits are reported next to it; none acknowledged before that read can be lost if the replica had it all.
    const rpo = outage.rpo!;
    expect(rpo.writerFlushedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(rpo.replicaReceivedLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(rpo.lagBytes).toBeGreaterThanOrEqual(0);
    expect(rpo.lostAcknowledgedCommits).toBe(failover!.lostAcknowledgedCommits);
    if (rpo.lagBytes === 0) expect(rpo.lostAcknowledgedCommits - rpo.lostAfterLsnRead).toBe(0);
    expect(failback).toMatchObject({ from: survivor, to: dead, commitsOnOldWriterAfterPromotion: 0, lostAcknowledgedCommits: 0 });
    for (const region of [dead, survivor]) {
      expect({ region, failed: failback!.regions[region]!.failed }).toEqual({ region, failed: 0 });
      expect(failback!.regions[region]!.committed).toBeGreaterThan(0);
    }
    expect(run.stdout).toContain('Region outage');
    expect(readdirSync(parent).filter((name) => name.startsWith('aurora-failover-'))).toEqual([]);
    expect(leftoverProcesses()).toEqual([]);
  });
});
