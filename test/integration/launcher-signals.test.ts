/**
 * Ctrl-C through the `aurora-failover` launcher (bin/aurora-failover.mjs) run by Debian's older Node: a
 * SIGINT sent to the launcher alone (no terminal, as a supervisor or CI sends it) reaches the Node 24
 * child once, which stops every server and removes its temp dir; the launcher exits with the child's 130.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const LAUNCHER = fileURLToPath(new URL('../../bin/aurora-failover.mjs', import.meta.url));
const OLD_NODE = '/usr/bin/node';
const parent = mkdtempSync(join(tmpdir(), 'launcher-signals-'));
chmodSync(parent, 0o755); // the servers run as the postgres user when the test runs as root
afterAll(() => rmSync(parent, { recursive: true, force: true }));

function leftoverProcesses(): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return cmdline.includes(parent) ? [`${pid}: ${cmdline}`] : [];
      } catch {
        return []; // ended while we looked
      }
    });
}

describe.runIf(existsSync(OLD_NODE))('aurora-failover drill through the launcher', () => {
  it('SIGINT to the launcher stops the drill, its servers and its temp dir; exit 130', async () => {
    // Act
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const env = { ...process.env, PATH: `/usr/bin:/usr/sbin:/bin`, AURORA_FAILOVER_TMPDIR: parent };
      const child = spawn(OLD_NODE, [LAUNCHER, 'drill', '--duration', '60'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      let interrupted = false;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!interrupted && /warm-up/.test(stderr)) {
          interrupted = true;
          child.kill('SIGINT');
        }
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });

    // Assess
    expect(run.stderr).toContain('received SIGINT');
    expect(run.stderr.match(/received SIGINT/g)).toHaveLength(1);
    expect(run.code).toBe(130);
    expect(readdirSync(parent).filter((name) => name.startsWith('aurora-failover-'))).toEqual([]);
    expect(leftoverProcesses()).toEqual([]);
  });
});
