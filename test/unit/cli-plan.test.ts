import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BEFORE_INI = 'events/pgbouncer/use2-before-switchover.ini';
const USW2_WRITER = { host: 'app-usw2.cluster-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 };
const USE2_WRITER = { host: 'app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };

const tempDirs: string[] = [];
/** A temp dir removed after the test. */
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'plan-cli-'));
  tempDirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Runs the real bin with Node 24 (type stripping), as an operator would. */
function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ['bin/aurora-failover.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
function plan(topology: string, ...extra: string[]) {
  return cli('plan', '--config', 'config/example.yml', '--topology', `events/topology/${topology}.json`, '--pooler-ini', BEFORE_INI, ...extra);
}

interface PlanJson {
  poolers: Array<{ target: string; changes: Array<{ alias: string; from: unknown; to: unknown }>; ini: string }>;
  traffic: Array<{ kind: string; region: string; from: number; to: number }>;
  decisions: Array<{ step: string; decision: string; reason: string }>;
}

describe('aurora-failover plan', () => {
  it('before a switchover: nothing to change, the ini comes back as it is (passwords redacted)', () => {
    // Act
    const { status, stdout, stderr } = plan('before-switchover', '--traffic', 'events/traffic/before-switchover.json');

    // Assess
    expect(stderr).toBe('');
    expect(status).toBe(0);
    const output = JSON.parse(stdout) as PlanJson;
    expect(Object.keys(output)).toEqual(['poolers', 'traffic', 'decisions']);
    expect(output.poolers).toHaveLength(1);
    expect(output.poolers[0]).toMatchObject({ target: 'use2-pgbouncer', changes: [] });
    expect(output.traffic).toEqual([]);
    expect(output.decisions.map((decision) => decision.decision)).toEqual(['proceed', 'proceed', 'nothing-to-do', 'nothing-to-do']);
    expect(output.poolers[0]!.ini).not.toMatch(/s3cret|r3ad0nly/);
  });

  it('after a switchover: the write alias moves to us-west-2, the new ini is printed, traffic follows the writer', () => {
    const { status, stdout } = plan('after-switchover', '--traffic', 'events/traffic/before-switchover.json');

    expect(status).toBe(0);
    const output = JSON.parse(stdout) as PlanJson;
    expect(output.poolers[0]!.changes).toEqual([{ alias: 'appdb', from: USE2_WRITER, to: USW2_WRITER }]);
    const expectedIni = readFileSync(join(ROOT, 'events/pgbouncer/use2-after-switchover.ini'), 'utf8')
      .replace("password='s3cret pa''ss'", 'password=****')
      .replace('password=r3ad0nly', 'password=****');
    expect(output.poolers[0]!.ini).toBe(expectedIni);
    expect(output.traffic.map((change) => `${change.kind} ${change.region} ${change.from}->${change.to}`)).toEqual([
      'global-accelerator us-east-2 100->50',
      'global-accelerator us-west-2 50->100',
      'route53 us-east-2 100->50',
      'route53 us-west-2 50->100',
    ]);
    expect(output.decisions.find((decision) => decision.step === 'pooler:use2-pgbouncer')?.decision).toBe('apply');
  });

  it('redacts passwords in commented-out lines and tab-separated values of the printed ini too', () => {
    // Prepare: an old entry kept as a comment, and an unmanaged alias whose password a tab glues to dbname
    const dir = tempDir();
    const ini = join(dir, 'pgbouncer.ini');
    const text = readFileSync(join(ROOT, BEFORE_INI), 'utf8')
      .replace('[databases]\n', '[databases]\n;appdb = host=old-writer.example.com password=0ld-c0mmented\n# auth_password = hash-c0mmented\n')
      .replace('dbname=reports', 'dbname=reports\tuser=rep\tpassword=t4b-s3parated');
    writeFileSync(ini, text);

    // Act
    const { status, stdout } = cli('plan', '--config', 'config/example.yml', '--topology', 'events/topology/after-switchover.json', '--pooler-ini', ini);

    // Assess
    expect(status).toBe(0);
    expect(stdout).not.toMatch(/0ld-c0mmented|hash-c0mmented|t4b-s3parated|s3cret|r3ad0nly/);
    const printed = (JSON.parse(stdout) as PlanJson).poolers[0]!.ini;
    expect(printed).toContain(';appdb = host=old-writer.example.com password=****\n');
    expect(printed).toContain('reporting = host=reporting.internal.example.com port=6543 dbname=reports\tuser=rep\tpassword=****\n');
  });

  it('--reveal-secrets prints the new ini with its passwords, byte for byte', () => {
    const { status, stdout } = plan('after-switchover', '--reveal-secrets');

    expect(status).toBe(0);
    expect((JSON.parse(stdout) as PlanJson).poolers[0]!.ini).toBe(readFileSync(join(ROOT, 'events/pgbouncer/use2-after-switchover.ini'), 'utf8'));
  });

  it('plan -> apply -> plan: the printed ini, planned again, needs no change', () => {
    // Prepare: apply the first plan by writing the ini it printed
    const first = JSON.parse(plan('after-switchover', '--reveal-secrets').stdout) as PlanJson;
    const applied = join(tempDir(), 'pgbouncer.ini');
    writeFileSync(applied, first.poolers[0]!.ini);

    // Act
    const second = cli('plan', '--config', 'config/example.yml', '--topology', 'events/topology/after-switchover.json', '--pooler-ini', `use2-pgbouncer=${applied}`);

    // Assess
    expect(second.status).toBe(0);
    expect((JSON.parse(second.stdout) as PlanJson).poolers[0]!.changes).toEqual([]);
  });

  it('during a switchover: exit 2, the reason on stderr, nothing on stdout', () => {
    const { status, stdout, stderr } = plan('during-switchover');

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(
      'aurora-failover plan: WriterNotVerifiedError: not planning: a global switchover from app-use2 in us-east-2 to app-usw2 in us-west-2 is in progress (FailoverState status switching-over)\n',
    );
  });

  it.each([
    [['--live'], /InvalidInputError: --live reads the world itself and cannot be combined with --topology, --pooler-ini$/m],
    [['--follow'], /InvalidInputError: Unknown option '--follow'/],
    [['--region', 'eu-west-1'], /InvalidConfigError: regions\.eu-west-1: this stack's region is not configured/],
    [['--pooler-ini', 'nope-target=x.ini'], /--pooler-ini names target nope-target, which is not a pooler target of this region/],
    [['--traffic', 'events/topology/after-switchover.json'], /is not a traffic weights file/],
  ])('invalid input %j: exit 2, nothing on stdout', (extra, message) => {
    const { status, stdout, stderr } = plan('after-switchover', ...extra);

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
  });

  it('a missing required option or unreadable file is exit 2 and names it', () => {
    const missing = cli('plan', '--config', 'config/example.yml', '--pooler-ini', BEFORE_INI);
    const unreadable = cli('plan', '--config', 'config/example.yml', '--topology', 'events/topology/absent.json', '--pooler-ini', BEFORE_INI);

    expect([missing.status, missing.stdout, missing.stderr]).toEqual([2, '', 'aurora-failover plan: InvalidInputError: --topology is required\n']);
    expect(unreadable.status).toBe(2);
    expect(unreadable.stderr).toContain('cannot read --topology file events/topology/absent.json: ENOENT');
  });

  it('a pgbouncer.ini without the managed alias: exit 2 naming the alias, no secret on stderr', () => {
    const dir = tempDir();
    const ini = join(dir, 'pgbouncer.ini');
    writeFileSync(ini, readFileSync(join(ROOT, BEFORE_INI), 'utf8').replace(/^appdb_ro = .*\n/m, ''));

    const { status, stdout, stderr } = cli('plan', '--config', 'config/example.yml', '--topology', 'events/topology/after-switchover.json', '--pooler-ini', ini);

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('use2-pgbouncer: alias appdb_ro is missing from [databases]');
    expect(stderr).not.toMatch(/s3cret|r3ad0nly/);
  });
});

describe('aurora-failover dispatch', () => {
  it('an unknown command names every command in one line on stderr and exits 2', () => {
    const { status, stdout, stderr } = cli('frobnicate');

    expect(status).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe('aurora-failover: unknown command "frobnicate"; commands: drill, plan (aurora-failover --help)\n');
  });

  it('--help prints the usage on stdout and exits 0; plan --help prints its options', () => {
    expect(cli('--help')).toMatchObject({ status: 0, stderr: '' });
    expect(cli('plan', '--help').stdout).toMatch(/^usage: aurora-failover plan --config <file> --topology <file>/);
  });
});
