/**
 * vitest globalSetup: every test run gets a private TMPDIR, and whatever is left in it when the run
 * ends fails the run, named. Tests must remove their temp dirs (afterEach/afterAll, or the cleanup
 * registry for servers); a leftover is a test bug, so it is reported, then removed.
 *
 * The private dir is what `os.tmpdir()` returns in the test workers and in every child process they
 * start (CLI runs, drills, sls), because they inherit TMPDIR. Mode 1777 like /tmp: servers run as the
 * postgres user and must reach their dirs below it.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const outer = process.env.TMPDIR;
  const dir = mkdtempSync(join(tmpdir(), 'aurora-failover-tests-'));
  chmodSync(dir, 0o1777);
  process.env.TMPDIR = dir;
  return () => {
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
    const leftovers = readdirSync(dir);
    rmSync(dir, { recursive: true, force: true });
    if (leftovers.length > 0) {
      throw new Error(`tests left ${leftovers.length} entr${leftovers.length === 1 ? 'y' : 'ies'} in their temp dir (each test must remove what it creates): ${leftovers.sort().join(', ')}`);
    }
  };
}
