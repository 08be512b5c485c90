/**
 * The drill as a user runs it (`aurora-failover drill`, a child process) on real PostgreSQL and PgBouncer:
 * the invariants hold, the JSON and HTML reports are written, nothing is left running or on disk, a second
 * drill right after the first works, and Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { DrillResults } from '../../lib/drill/results.ts';

const CLI = new URL('../../bin/aurora-failover.ts', import.meta.url).pathname;
// Every temp dir the drills create goes below this parent, so the test can tell its own leftovers apart.
const parent = mkdtempSync(join(tmpdir(), 'drill-test-'));
chmodSync(parent, 0o755); // the servers run as the postgres user when the test runs as root
afterAll(() => rmSync(parent, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

function drill(args: readonly string[], options: { interruptWhen?: RegExp } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'drill', ...args], { env: { ...process.env, AURORA_FAILOVER_TMPDIR: parent }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (options.interruptWhen && !interrupted && options.interruptWhen.test(stderr)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
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

describe('aurora-failover drill (real PostgreSQL + PgBouncer)', () => {
  it('switchover and failback, live strategy, RDS events only on the old writer region\'s bus: every region keeps every write and follows the writer within 5 s', async () => {
    // Prepare
    const out = mkdtempSync(join(parent, 'out-'));

    // Act
    const run = await drill(['--duration', '10', '--event-delivery', 'old-writer', '--json', join(out, 'drill.json'), '--report', join(out, 'drill.html'), '--decisions', join(out, 'decisions.jsonl')]);

    // Assess
    expect(run.stderr).not.toMatch(/Error:/);
    const results = JSON.parse(readFileSync(join(out, 'drill.json'), 'utf8')) as DrillResults;
    // A timing target missed on a busy machine fails the drill (exit 1) but not this test; a safety invariant does both.
    expect(run.code).toBe(results.invariants.every((invariant) => invariant.ok) ? 0 : 1);
    expect(results).toMatchObject({ scenario: 'switchover-failback', strategy: 'live', poolMode: 'transaction', eventDelivery: 'old-writer' });
    expect(results.switches.map((item) => `${item.from}->${item.to}`)).toEqual(['us-east-2->us-west-2', 'us-west-2->us-east-2']);
    for (const item of results.switches) {
      expect(item.lostAcknowledgedCommits).toBe(0);
      expect(item.commitsOnOldWriterAfterPromotion).toBe(0);
      expect(item.repointMs).toBeGreaterThanOrEqual(0);
      for (const region of ['us-east-2', 'us-west-2']) {
        const result = item.regions[region]!;
        expect({ region, failed: result.failed, failedBySqlstate: result.failedBySqlstate }).toEqual({ region, failed: 0, failedBySqlstate: {} });
        expect(result.committed).toBeGreaterThan(0);
        // Each region's own stack repointed its own PgBouncer, once, after the promotion (how soon is the drill's output).
        expect(result.repointedAfterPromotionMs).toBeGreaterThanOrEqual(0);
        expect(result.repoints).toBe(1);
        // Only the old writer's region received the RDS events.
        if (region === item.from) expect(result.eventsDelivered).toBeGreaterThan(0);
        else expect(result.eventsDelivered).toBe(0);
      }
    }
    // Counts, not rates: how many commits a busy machine manages is the drill's output, not a pass criterion.
    expect(Object.values(results.totals).every((region) => region.failed === 0 && region.committed > 0)).toBe(true);
    expect(results.invariants.filter((invariant) => !invariant.ok && !invariant.timing)).toEqual([]);
    expect(results.invariants.filter((invariant) => invariant.timing).map((invariant) => invariant.name)).toEqual(["every region's PgBouncer serves the new writer within 5 s of promotion"]);
    expect(results.overheadMs).toBeGreaterThanOrEqual(0);
    expect(results.phases.map((phase) => phase.name)).toEqual(expect.arrayContaining(['warm-up', 'promotion', 'repoint', 'cool-down']));
    const html = readFileSync(join(out, 'drill.html'), 'utf8');
    expect(html.toLowerCase().startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<svg');
    expect(readFileSync(join(out, 'decisions.jsonl'), 'utf8')).toContain('"step":"preflight:target-connected"');
    for (const invariant of results.invariants) expect(run.stdout).toContain(invariant.name);
    expect(readdirSync(parent).filter((name) => name.startsWith('aurora-failover-'))).toEqual([]);
    expect(leftoverProcesses()).toEqual([]);
  });

  it('a second drill right after the first works (restart baseline: fails transactions, keeps every commit)', async () => {
    // Act
    const run = await drill(['--duration', '8', '--scenario', 'switchover', '--strategy', 'restart', '--json', join(parent, 'restart.json')]);

    // Assess
    const results = JSON.parse(readFileSync(join(parent, 'restart.json'), 'utf8')) as DrillResults;
    expect(run.code).toBe(results.invariants.every((invariant) => invariant.ok) ? 0 : 1);
    expect(results.invariants.filter((invariant) => !invariant.ok && !invariant.timing)).toEqual([]);
    const failed = results.switches.flatMap((item) => Object.values(item.regions)).reduce((sum, region) => sum + region.failed, 0);
    expect(failed).toBeGreaterThan(0); // the baseline the live strategy beats
    expect(results.switches[0]!.lostAcknowledgedCommits).toBe(0);
    expect(leftoverProcesses()).toEqual([]);
  });

  it('Ctrl-C during the load stops every server and removes the temp dir', async () => {
    // Act: interrupt once the load is running
    const run = await drill(['--duration', '60'], { interruptWhen: /warm-up/ });

    // Assess
    expect(run.stderr).toContain('received SIGINT');
    expect(run.code).toBe(130);
    expect(readdirSync(parent).filter((name) => name.startsWith('aurora-failover-'))).toEqual([]);
    expect(leftoverProcesses()).toEqual([]);
  });
});
