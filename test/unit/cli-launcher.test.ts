/**
 * `npx aurora-failover` on a machine whose default Node is older than 24 (Debian's /usr/bin/node is 20):
 * the plain-JavaScript launcher finds Node 24 the way scripts/with-toolchain.sh does and runs the CLI,
 * keeping the caller's working directory and the CLI's exit code.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LAUNCHER = join(ROOT, 'bin', 'aurora-failover.mjs');
const OLD_NODE = '/usr/bin/node';
/** The PATH of a machine where Node 20 comes first and nothing of ours is on it. */
const OLD_PATH = '/usr/bin:/bin';
const oldNodeMajor = existsSync(OLD_NODE) ? Number(spawnSync(OLD_NODE, ['-p', 'process.versions.node.split(".")[0]'], { encoding: 'utf8' }).stdout.trim()) : 0;
const scratch = mkdtempSync(join(tmpdir(), 'cli-launcher-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: readonly string[], cwd = ROOT) {
  const env = { HOME: process.env.HOME ?? '/root', PATH: OLD_PATH, npm_config_update_notifier: 'false' };
  const result = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 60_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe.runIf(oldNodeMajor > 0 && oldNodeMajor < 24)(`aurora-failover with Node ${oldNodeMajor} first on PATH`, () => {
  it('npx aurora-failover --help prints the commands and exits 0', () => {
    // Act
    const { status, stdout, stderr } = run('/usr/bin/npx', ['--offline', 'aurora-failover', '--help']);

    // Assess
    expect(stderr).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
    expect(status).toBe(0);
    expect(stdout).toMatch(/^usage: aurora-failover <command>/);
    expect(stdout).toContain('  drill ');
    expect(stdout).toContain('  plan ');
  });

  it('passes options through and returns the CLI exit code with its one-line error', () => {
    // Act
    const { status, stdout, stderr } = run(OLD_NODE, [LAUNCHER, 'drill', '--scenario', 'meteor']);

    // Assess
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('aurora-failover drill: --scenario must be one of switchover, failover, switchover-failback, region-outage, got "meteor" (aurora-failover drill --help lists the options)\n');
  });

  it('keeps the working directory, so relative paths are the caller\'s', () => {
    // Act: a relative --config that exists only from ROOT's point of view must not be found from scratch
    const fromScratch = run(OLD_NODE, [LAUNCHER, 'plan', '--config', 'config/example.yml', '--topology', 'events/topology/before-switchover.json', '--pooler-ini', 'events/pgbouncer/use2-before-switchover.ini'], scratch);
    const fromRoot = run(OLD_NODE, [LAUNCHER, 'plan', '--config', 'config/example.yml', '--topology', 'events/topology/before-switchover.json', '--pooler-ini', 'events/pgbouncer/use2-before-switchover.ini']);

    // Assess
    expect(fromScratch.status).toBe(2);
    expect(fromScratch.stderr).toMatch(/^aurora-failover plan: .*config\/example\.yml.*\n$/);
    expect(fromRoot.stderr).toBe('');
    expect(fromRoot.status).toBe(0);
    expect(JSON.parse(fromRoot.stdout)).toHaveProperty('poolers');
  });
});
