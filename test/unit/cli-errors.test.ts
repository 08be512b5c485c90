/**
 * Every CLI error is one line on stderr and exit 2, and the drill checks its output paths before it starts
 * anything (no servers, no load), so a bad `--report` costs a second, not the whole run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputPaths } from '../../lib/cli/output-paths.ts';
import { oneLine } from '../../lib/cli/errors.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'cli-errors-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const aFile = join(scratch, 'a-file.txt');
writeFileSync(aFile, 'keep me\n');

function cli(...args: string[]) {
  // The drill's temp dirs would go below scratch, so a drill that started anyway is visible there.
  const env = { ...process.env, AURORA_FAILOVER_TMPDIR: scratch };
  const result = spawnSync(process.execPath, ['bin/aurora-failover.ts', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('aurora-failover errors: one line, exit 2', () => {
  it.each([
    [['nope'], 'aurora-failover: unknown command "nope"; commands: drill, plan (aurora-failover --help)'],
    [[], 'aurora-failover: no command given; commands: drill, plan (aurora-failover --help)'],
    [['drill', '--live'], "aurora-failover drill: Unknown option '--live'"],
    [['drill', '--duration'], "aurora-failover drill: Option '--duration <value>' argument missing"],
    [['drill', '--tps', 'lots'], 'aurora-failover drill: --tps must be a whole number from 10 to 20000, got "lots"'],
    [['drill', 'extra'], 'aurora-failover drill: Unexpected argument'],
    [['plan'], 'aurora-failover plan: InvalidInputError: --config is required'],
    [['plan', '--config', 'no-such.yml'], 'aurora-failover plan: '],
  ])('%j', (args, start) => {
    // Act
    const { status, stdout, stderr } = cli(...args);

    // Assess
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr.startsWith(start)).toBe(true);
    expect(stderr.endsWith('\n')).toBe(true);
    expect(stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('aurora-failover drill checks --json, --report and --decisions before it starts', () => {
  it.each([
    [['--report', join(aFile, 'drill.html')], `aurora-failover drill: --report ${join(aFile, 'drill.html')}: cannot write there (${aFile} is not a directory)\n`],
    [['--json', scratch], `aurora-failover drill: --json ${scratch}: cannot write there (it is a directory)\n`],
    [['--decisions', join(aFile, 'deep', 'd.jsonl')], `aurora-failover drill: --decisions ${join(aFile, 'deep', 'd.jsonl')}: cannot write there (${aFile} is not a directory)\n`],
    [['--json', join(scratch, 'same.json'), '--report', join(scratch, 'same.json')], `aurora-failover drill: --report ${join(scratch, 'same.json')}: the same file as --json\n`],
  ])('%j: one line, exit 2, no drill started', (args, message) => {
    // Act: a long drill, so a check that came after the run would time the test out
    const { status, stdout, stderr } = cli('drill', '--duration', '600', ...args);

    // Assess
    expect(stderr).toBe(message);
    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(readdirSync(scratch).filter((name) => name.startsWith('aurora-failover-'))).toEqual([]);
    expect(readFileSync(aFile, 'utf8')).toBe('keep me\n');
  });
});

describe('checkOutputPaths', () => {
  it('accepts an existing file without changing it and a new file in a missing directory without creating it', async () => {
    // Prepare
    const missingDir = join(scratch, 'later', 'deeper');

    // Act
    await checkOutputPaths([
      { flag: '--json', path: aFile },
      { flag: '--report', path: join(missingDir, 'drill.html') },
    ]);

    // Assess
    expect(readFileSync(aFile, 'utf8')).toBe('keep me\n');
    expect(readdirSync(scratch)).not.toContain('later');
  });

  it.runIf(process.getuid?.() !== 0)('refuses a directory without write permission', async () => {
    // Prepare
    const locked = join(scratch, 'locked');
    mkdirSync(locked, { mode: 0o500 });

    // Act + Assess
    await expect(checkOutputPaths([{ flag: '--report', path: join(locked, 'r.html') }])).rejects.toThrow(`--report ${join(locked, 'r.html')}: cannot write there (${locked}: permission denied)`);
  });
});

describe('oneLine', () => {
  it('folds line breaks and their indentation into "; "', () => {
    expect(oneLine('config is invalid:\n  regions.us-east-2.poolers: required\r\n  vpc: unknown key\n')).toBe('config is invalid:; regions.us-east-2.poolers: required; vpc: unknown key');
  });
});
