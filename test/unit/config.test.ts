/**
 * The deployment config: the commented example is valid, and every kind of mistake fails with a
 * message that names the field (what `sls package` shows the operator).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { bundledConfigJson, loadDeployedConfig } from '../../lib/adapters/deployed-config.ts';
import { parseConfig, regionConfig } from '../../lib/core/config.ts';
import { InvalidConfigError } from '../../lib/core/errors.ts';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'config/example.yml');
const run = promisify(execFile);

/** The example as a plain object whose shape the mutations below know. */
interface RawExample {
  globalClusterId?: unknown;
  regions: Record<string, {
    dbClusterArn: string;
    endpoints?: { writer?: { host: string; port: number } };
    poolers: { name: string; aliases: { write: string; read: string }; podSelector: string; workload: { kind: string }; [key: string]: unknown }[];
    traffic: { route53: { recordName: string } };
    vpc?: { subnetIds: string[]; securityGroupIds: string[] };
  }>;
  traffic: { weights: { writer: number; others: number } };
  reconcile: { schedule: string };
  notifications?: { snsTopicArn: string; kmsKeyArn?: string };
  [key: string]: unknown;
}

let exampleText: string;

function example(): RawExample {
  return parseYaml(exampleText) as RawExample;
}

function use2(raw: RawExample) {
  const section = raw.regions['us-east-2'];
  if (!section) throw new Error('example lost its us-east-2 section');
  return section;
}

function firstPooler(raw: RawExample) {
  const target = use2(raw).poolers[0];
  if (!target) throw new Error('example lost its first pooler target');
  return target;
}

function errorOf(raw: unknown): Error {
  try {
    parseConfig(raw, 'config/test.yml');
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the config to be rejected');
}

beforeAll(async () => {
  exampleText = await readFile(EXAMPLE, 'utf8');
});

describe('config/example.yml', () => {
  it('is valid and fills the documented defaults', async () => {
    // Act
    const config = await loadConfigFile(EXAMPLE);

    // Assess
    expect(config.globalClusterId).toBe('app-global');
    expect(Object.keys(config.regions)).toEqual(['us-east-2', 'us-west-2']);
    expect(regionConfig(config, 'us-west-2').poolers[0]).toMatchObject({ name: 'usw2-pgbouncer', key: 'pgbouncer.ini', adminContainer: 'pgbouncer-admin', liveSwitchTimeoutSeconds: 10 });
    expect(config.reconcile).toEqual({ schedule: 'rate(5 minutes)', stableTimeoutSeconds: 900, pollSeconds: 15, unavailableGraceSeconds: 120 });
  });

  it('accepts an optional VPC per region', async () => {
    // Prepare
    const raw = example();
    use2(raw).vpc = { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123abcd'], securityGroupIds: ['sg-0123456789abcdef0'] };

    // Act
    const config = parseConfig(raw, 'config/test.yml');

    // Assess
    expect(config.regions['us-east-2']?.vpc).toEqual({ subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123abcd'], securityGroupIds: ['sg-0123456789abcdef0'] });
    expect(config.regions['us-west-2']?.vpc).toBeUndefined();
  });

  it('survives the trip through the bundled JSON unchanged', async () => {
    // Prepare
    const config = await loadConfigFile(EXAMPLE);

    // Act
    const deployed = loadDeployedConfig(JSON.stringify(config));

    // Assess
    expect(deployed).toEqual(config);
  });

  it('accepts a customer managed KMS key for the notification topic', () => {
    // Prepare
    const raw = example();
    const notifications = { snsTopicArn: 'arn:aws:sns:us-east-2:123456789012:aurora-failover', kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab' };
    raw.notifications = notifications;

    // Act
    const config = parseConfig(raw, 'config/test.yml');

    // Assess
    expect(config.notifications).toEqual(notifications);
  });
});

describe('an invalid config names the field', () => {
  const cases: readonly { readonly kind: string; readonly mutate: (raw: RawExample) => void; readonly message: RegExp }[] = [
    {
      kind: 'a VPC subnet that is not a subnet id',
      mutate: (raw) => { use2(raw).vpc = { subnetIds: ['sg-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] }; },
      message: /regions\.us-east-2\.vpc\.subnetIds\.0: must be a subnet id/,
    },
    {
      kind: 'a VPC without security groups',
      mutate: (raw) => { use2(raw).vpc = { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: [] }; },
      message: /regions\.us-east-2\.vpc\.securityGroupIds: /,
    },
    {
      kind: 'a VPC subnet listed twice',
      mutate: (raw) => { use2(raw).vpc = { subnetIds: ['subnet-0123abcd', 'subnet-0123abcd'], securityGroupIds: ['sg-0123abcd'] }; },
      message: /regions\.us-east-2\.vpc\.subnetIds\.1: duplicates subnet-0123abcd/,
    },
    {
      kind: 'a malformed DB cluster ARN',
      mutate: (raw) => { use2(raw).dbClusterArn = 'arn:aws:rds:us-east-2:1234:cluster:app-use2'; },
      message: /regions\.us-east-2\.dbClusterArn: must be an Aurora DB cluster ARN/,
    },
    {
      kind: "a DB cluster ARN in another region than its section",
      mutate: (raw) => { use2(raw).dbClusterArn = 'arn:aws:rds:us-west-2:123456789012:cluster:app-use2'; },
      message: /regions\.us-east-2\.dbClusterArn: is in us-west-2, not us-east-2/,
    },
    {
      kind: 'an unsafe writer host (ini injection)',
      mutate: (raw) => { use2(raw).endpoints = { writer: { host: 'db.example.com\n%include /etc/passwd', port: 5432 } }; },
      message: /regions\.us-east-2\.endpoints\.writer\.host: must be a DNS name or an IP literal/,
    },
    {
      kind: 'a port out of range',
      mutate: (raw) => { use2(raw).endpoints = { writer: { host: 'db.example.com', port: 70000 } }; },
      message: /regions\.us-east-2\.endpoints\.writer\.port: must be an integer from 1 to 65535/,
    },
    {
      kind: 'a duplicate pooler target name across regions',
      mutate: (raw) => { const usw2 = raw.regions['us-west-2']?.poolers[0]; if (usw2) usw2.name = 'use2-pgbouncer'; },
      message: /regions\.us-west-2\.poolers\.0\.name: duplicates target name use2-pgbouncer/,
    },
    {
      kind: 'the same alias for writes and reads',
      mutate: (raw) => { firstPooler(raw).aliases = { write: 'appdb', read: 'appdb' }; },
      message: /regions\.us-east-2\.poolers\.0\.aliases: write and read aliases must differ/,
    },
    {
      kind: 'an alias that would break out of [databases]',
      mutate: (raw) => { firstPooler(raw).aliases.write = 'appdb = host=evil\n[pgbouncer]'; },
      message: /regions\.us-east-2\.poolers\.0\.aliases\.write: must be a PgBouncer database alias/,
    },
    {
      kind: 'an unknown top-level key (typo)',
      mutate: (raw) => { raw.globalClusterID = raw.globalClusterId; },
      message: /\(root\): Unrecognized key: "globalClusterID"/,
    },
    {
      kind: 'an unknown nested key',
      mutate: (raw) => { firstPooler(raw).reloadStrategyy = 'live'; },
      message: /regions\.us-east-2\.poolers\.0: Unrecognized key: "reloadStrategyy"/,
    },
    // zod/mini carries no messages of its own: these fail when lib/core/validation.ts stops configuring English.
    {
      kind: 'a live-switch timeout below its range',
      mutate: (raw) => { firstPooler(raw).liveSwitchTimeoutSeconds = 0; },
      message: /regions\.us-east-2\.poolers\.0\.liveSwitchTimeoutSeconds: Too small: expected number to be >=1$/,
    },
    {
      kind: 'a fractional live-switch timeout',
      mutate: (raw) => { firstPooler(raw).liveSwitchTimeoutSeconds = 1.5; },
      message: /liveSwitchTimeoutSeconds: Invalid input: expected int, received number$/,
    },
    {
      kind: 'a number given as a string',
      mutate: (raw) => { raw.switchover = { pauseBudgetSeconds: '60' }; },
      message: /switchover\.pauseBudgetSeconds: Invalid input: expected number, received string$/,
    },
    {
      kind: 'a workload kind that is not one',
      mutate: (raw) => { firstPooler(raw).workload.kind = 'Job'; },
      message: /workload\.kind: Invalid option: expected one of "Deployment"\|"StatefulSet"$/,
    },
    {
      kind: 'a cron schedule',
      mutate: (raw) => { raw.reconcile.schedule = 'cron(0/5 * * * ? *)'; },
      message: /reconcile\.schedule: must be rate\(N minutes\) or disabled/,
    },
    {
      kind: 'a region name that is not one',
      mutate: (raw) => { const section = use2(raw); delete raw.regions['us-east-2']; raw.regions['US-EAST-2'] = section; },
      message: /regions\.US-EAST-2/,
    },
    {
      kind: 'a missing global cluster id',
      mutate: (raw) => { delete raw.globalClusterId; },
      message: /globalClusterId: /,
    },
    {
      kind: 'a traffic weight over 100',
      mutate: (raw) => { raw.traffic.weights.writer = 150; },
      message: /traffic\.weights\.writer: /,
    },
    {
      kind: 'a malformed SNS topic ARN',
      mutate: (raw) => { raw.notifications = { snsTopicArn: 'arn:aws:sns:us-east-2:123456789012' }; },
      message: /notifications\.snsTopicArn: must be an SNS topic ARN/,
    },
    {
      kind: 'a KMS key given as an alias',
      mutate: (raw) => { raw.notifications = { snsTopicArn: 'arn:aws:sns:us-east-2:123456789012:aurora-failover', kmsKeyArn: 'arn:aws:kms:us-east-2:123456789012:alias/sns' }; },
      message: /notifications\.kmsKeyArn: must be a KMS key ARN/,
    },
    {
      kind: 'a KMS key in another region than the topic',
      mutate: (raw) => { raw.notifications = { snsTopicArn: 'arn:aws:sns:us-east-2:123456789012:aurora-failover', kmsKeyArn: 'arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }; },
      message: /notifications\.kmsKeyArn: is in us-west-2, but the topic is in us-east-2/,
    },
    {
      kind: 'a pod selector that is not a label selector',
      mutate: (raw) => { firstPooler(raw).podSelector = 'app in (pgbouncer)'; },
      message: /regions\.us-east-2\.poolers\.0\.podSelector: must be a label selector/,
    },
    {
      kind: 'a pod selector made only of != terms (it also matches pods of other workloads)',
      mutate: (raw) => { firstPooler(raw).podSelector = 'app!=web'; },
      message: /regions\.us-east-2\.poolers\.0\.podSelector: .*has no key=value term/,
    },
  ];

  it.each(cases)('$kind', ({ mutate, message }) => {
    // Prepare
    const raw = example();
    mutate(raw);

    // Act
    const error = errorOf(raw);

    // Assess
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(error.message).toMatch(/^config\/test\.yml is invalid: /);
    expect(error.message).toMatch(message);
  });

  it('reports every bad field at once', () => {
    // Prepare
    const raw = example();
    raw.reconcile.schedule = 'hourly';
    firstPooler(raw).aliases = { write: 'appdb', read: 'appdb' };

    // Act
    const error = errorOf(raw);

    // Assess
    expect(error.message).toMatch(/reconcile\.schedule: /);
    expect(error.message).toMatch(/regions\.us-east-2\.poolers\.0\.aliases: /);
  });

  it('names the region a stack is deployed to when the config has no section for it', async () => {
    // Prepare
    const config = await loadConfigFile(EXAMPLE);

    // Act
    const lookUp = () => regionConfig(config, 'eu-west-1');

    // Assess
    expect(lookUp).toThrow(/regions\.eu-west-1: this stack's region is not configured \(configured: us-east-2, us-west-2\)/);
  });

  it('refuses a missing, unparsable or invalid bundled config', () => {
    // Outside an esbuild bundle nothing is defined: the config was not packaged.
    expect(bundledConfigJson()).toBeUndefined();
    expect(() => loadDeployedConfig()).toThrow(/no config was bundled/);
    expect(() => loadDeployedConfig('{"globalClusterId":')).toThrow(/the bundled config is not valid JSON/);
    expect(() => loadDeployedConfig('{"globalClusterId":"app-global","regions":{}}')).toThrow(/the bundled config is invalid: regions: must name at least one region/);
  });
});

describe('lib/cli/validate-config.ts (what the serverless plugin runs)', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'config-test-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints the normalized config as compact JSON', async () => {
    // Act
    const { stdout } = await run(process.execPath, ['lib/cli/validate-config.ts', 'config/example.yml', '--region', 'us-east-2'], { cwd: ROOT });

    // Assess
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual(await loadConfigFile(EXAMPLE));
  });

  it('exits 1 with the field named when the file is invalid', async () => {
    // Prepare
    const file = join(dir, 'bad.yml');
    await writeFile(file, exampleText.replace('schedule: rate(5 minutes)', 'schedule: every five minutes'));

    // Act
    const attempt = run(process.execPath, ['lib/cli/validate-config.ts', file], { cwd: ROOT });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/InvalidConfigError: .*reconcile\.schedule: must be rate\(N minutes\) or disabled/) });
  });

  it('exits 1 when the stack region has no section', async () => {
    // Act
    const attempt = run(process.execPath, ['lib/cli/validate-config.ts', 'config/example.yml', '--region', 'eu-west-1'], { cwd: ROOT });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/regions\.eu-west-1: this stack's region is not configured/) });
  });

  it('exits 1 for a file that is not YAML', async () => {
    // Prepare
    const file = join(dir, 'broken.yml');
    await writeFile(file, 'globalClusterId: [unclosed\n');

    // Act
    const attempt = run(process.execPath, ['lib/cli/validate-config.ts', file], { cwd: ROOT });

    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 1, stderr: expect.stringMatching(/is not valid YAML/) });
  });
});
