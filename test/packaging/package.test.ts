/**
 * `sls package --stage ci --region us-east-2` runs offline (dummy credentials, config/example.yml)
 * and produces the stack we mean to deploy: valid state machines, rules for exactly the sampled RDS
 * event ids, Node 24 functions with their own bundles, and no IAM statement that grants `*`.
 * An invalid config fails the packaging with the field named.
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { readZipEntries } from './read-zip.ts';
import { PROGRESS_EVENT_IDS, RdsEventId, TRIGGERING_EVENT_IDS } from '../../lib/core/constants.ts';

const ROOT = join(import.meta.dirname, '../..');
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');
const PACKAGING_TIMEOUT_MS = 600_000;

interface AslValidationResult {
  readonly isValid: boolean;
  errorsText(separator?: string): string;
}
// asl-validator is CommonJS (`module.exports = function validator`) and ships no types.
const validateAsl = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => AslValidationResult;

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
interface Template {
  readonly Resources: Record<string, Resource>;
}
interface Statement {
  readonly Effect: string;
  readonly Action?: string | string[];
  readonly NotAction?: unknown;
  readonly Resource?: unknown;
}

interface SlsRun {
  readonly code: number;
  readonly output: string;
}

/** Runs osls with the Node that runs the tests (24), dummy credentials and no telemetry. */
function sls(args: readonly string[], env: Record<string, string>): Promise<SlsRun> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: '',
    AWS_PROFILE: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    FORCE_COLOR: '0',
    ...env,
  };
  return new Promise((resolve) => {
    execFile(process.execPath, [SLS, ...args], { cwd: ROOT, env: childEnv, maxBuffer: 16 * 1024 * 1024, timeout: PACKAGING_TIMEOUT_MS }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, output: `${stdout}\n${stderr}` });
    });
  });
}

function resourcesOfType(template: Template, type: string): [string, Resource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

function statementsOf(template: Template): [string, Statement][] {
  const found: [string, Statement][] = [];
  for (const [id, resource] of Object.entries(template.Resources)) {
    const documents: unknown[] = [];
    if (resource.Type === 'AWS::IAM::Role') {
      documents.push(resource.Properties?.AssumeRolePolicyDocument);
      for (const policy of (resource.Properties?.Policies as { PolicyDocument: unknown }[] | undefined) ?? []) documents.push(policy.PolicyDocument);
    }
    if (resource.Type === 'AWS::IAM::Policy' || resource.Type === 'AWS::IAM::ManagedPolicy') documents.push(resource.Properties?.PolicyDocument);
    for (const document of documents) {
      for (const statement of (document as { Statement?: Statement[] } | undefined)?.Statement ?? []) found.push([id, statement]);
    }
  }
  return found;
}

/**
 * The definition as Step Functions will see it: Fn::Sub pseudo parameters and resource references,
 * and DefinitionSubstitutions, filled with plausible values (intrinsics become a fake Lambda ARN).
 */
function resolvedDefinition(resource: Resource): unknown {
  const properties = resource.Properties ?? {};
  const raw = properties.DefinitionString;
  let text = typeof raw === 'string' ? raw : (() => {
    const sub = (raw as { 'Fn::Sub': string | [string, unknown] })['Fn::Sub'];
    return Array.isArray(sub) ? sub[0] : sub;
  })();
  const substitutions = (properties.DefinitionSubstitutions ?? {}) as Record<string, unknown>;
  text = text.replace(/\$\{([A-Za-z0-9_:.]+)\}/g, (placeholder, name: string) => {
    if (name === 'AWS::Partition') return 'aws';
    if (name === 'AWS::Region') return 'us-east-2';
    if (name === 'AWS::AccountId') return '123456789012';
    const value = substitutions[name];
    if (typeof value === 'string' || typeof value === 'number') return String(value);
    return `arn:aws:lambda:us-east-2:123456789012:function:${name.replace(/[^A-Za-z0-9-_]/g, '-')}`;
  });
  return JSON.parse(text);
}

describe('sls package --stage ci --region us-east-2 (config/example.yml)', () => {
  let packageDir: string;
  let run: SlsRun;
  let template: Template;

  beforeAll(async () => {
    packageDir = await mkdtemp(join(tmpdir(), 'sls-package-'));
    run = await sls(['package', '--stage', 'ci', '--region', 'us-east-2', '--package', packageDir], { FAILOVER_CONFIG_FILE: 'config/example.yml' });
    if (run.code !== 0) throw new Error(`sls package failed (${run.code}):\n${run.output}`);
    template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  }, PACKAGING_TIMEOUT_MS);

  afterAll(async () => {
    if (packageDir) await rm(packageDir, { recursive: true, force: true });
  });

  it('defines the reconcile state machine, and every state machine definition is valid ASL', () => {
    // Prepare
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');

    // Assess
    expect(machines.map(([, machine]) => machine.Properties?.StateMachineName)).toContain('aurora-global-failover-ci-reconcile');
    for (const [id, machine] of machines) {
      const result = validateAsl(resolvedDefinition(machine));
      expect(result.errorsText(), id).toBe('');
      expect(result.isValid, id).toBe(true);
    }
  });

  it('has EventBridge rules for exactly the sampled global-failover event ids, all targeting the intake', () => {
    // Prepare
    const rdsRules = resourcesOfType(template, 'AWS::Events::Rule')
      .map(([, rule]) => rule.Properties ?? {})
      .filter((properties) => (properties.EventPattern as { source?: string[] } | undefined)?.source?.includes('aws.rds'));
    const patterns = rdsRules.map((properties) => properties.EventPattern as { 'detail-type': string[]; detail: { EventID: string[] } });
    const sampleIds = readdirSync(join(ROOT, 'events/rds'))
      .filter((file) => file.endsWith('.json') && !file.startsWith('malformed'))
      .map((file) => (JSON.parse(readFileSync(join(ROOT, 'events/rds', file), 'utf8')) as { detail: { EventID: string } }).detail.EventID);

    // Assess
    expect(new Set(patterns.flatMap((pattern) => pattern.detail.EventID))).toEqual(new Set(sampleIds));
    expect(new Set(sampleIds)).toEqual(new Set(Object.values(RdsEventId)));
    expect(patterns.map((pattern) => [...pattern.detail.EventID].sort())).toContainEqual([...TRIGGERING_EVENT_IDS].sort());
    expect(patterns.map((pattern) => [...pattern.detail.EventID].sort())).toContainEqual([...PROGRESS_EVENT_IDS, RdsEventId.GlobalWriterEndpointUpdated].sort());
    for (const pattern of patterns) expect(pattern['detail-type']).toEqual(['RDS DB Cluster Event']);
    for (const properties of rdsRules) {
      expect(properties.EventBusName ?? 'default').toBe('default');
      expect(properties.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['OnRdsEventLambdaFunction', 'Arn'] } })]);
    }
  });

  it('schedules the reconcile workflow from the config', () => {
    // Prepare
    const schedules = resourcesOfType(template, 'AWS::Events::Rule').filter(
      ([, rule]) =>
        typeof rule.Properties?.ScheduleExpression === 'string' &&
        (rule.Properties.Targets as { Arn: unknown }[]).some((target) => JSON.stringify(target.Arn) === JSON.stringify({ Ref: 'ReconcileStateMachine' })),
    );

    // Assess
    expect(schedules).toHaveLength(1);
    const [, schedule] = schedules[0] ?? [];
    expect(schedule?.Properties).toMatchObject({ ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED' });
    const [target] = schedule?.Properties?.Targets as { Arn: unknown; Input: string }[];
    expect(target?.Arn).toEqual({ Ref: 'ReconcileStateMachine' });
    expect(JSON.parse(target?.Input ?? 'null')).toEqual({ trigger: 'schedule', globalClusterId: 'app-global' });
  });

  it('runs every function on nodejs24.x with the validated config and its own bundle', async () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const expectedConfig = JSON.stringify(await loadConfigFile(join(ROOT, 'config/example.yml')));

    // Assess
    expect(functions.map(([id]) => id)).toContain('OnRdsEventLambdaFunction');
    for (const [id, fn] of functions) {
      const properties = fn.Properties ?? {};
      expect(properties.Runtime, id).toBe('nodejs24.x');
      expect((properties.Environment as { Variables: Record<string, unknown> }).Variables.FAILOVER_CONFIG, id).toBe(expectedConfig);
      const zip = join(packageDir, basename((properties.Code as { S3Key: string }).S3Key));
      expect(existsSync(zip), `${id}: ${zip}`).toBe(true);
      // Entry file names are stored uncompressed in the zip's headers.
      const handlerFile = `${String(properties.Handler).replace(/\.[^.]+$/, '')}.mjs`;
      expect(readFileSync(zip).includes(Buffer.from(handlerFile)), `${id}: ${handlerFile}`).toBe(true);
    }
  });

  it('ships an intake bundle that runs on Node 24 as ESM and decides from FAILOVER_CONFIG', async () => {
    // Prepare: unpack the bundle and give it the environment Lambda would.
    const fn = template.Resources.OnRdsEventLambdaFunction?.Properties ?? {};
    const zip = readZipEntries(readFileSync(join(packageDir, basename((fn.Code as { S3Key: string }).S3Key))));
    const bundleDir = join(packageDir, 'unpacked');
    for (const [name, data] of zip) {
      await mkdir(dirname(join(bundleDir, name)), { recursive: true });
      await writeFile(join(bundleDir, name), data);
    }
    const variables = (fn.Environment as { Variables: Record<string, unknown> }).Variables;
    const script = `
      const { handler } = await import(${JSON.stringify(join(bundleDir, 'functions/on-rds-event.mjs'))});
      const context = { awsRequestId: 'smoke', functionName: 'smoke', memoryLimitInMB: '256', invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:smoke', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 1000 };
      const progress = JSON.parse(process.env.SAMPLE_EVENT);
      const results = [await handler(progress, context), await handler({ not: 'an event' }, context)];
      process.stderr.write('RESULT ' + JSON.stringify(results.map((result) => result.decision)) + '\\n');
    `;

    // Act
    const output = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-2',
          FAILOVER_CONFIG: String(variables.FAILOVER_CONFIG),
          RECONCILE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-reconcile',
          SAMPLE_EVENT: readFileSync(join(ROOT, 'events/rds/0181-switchover-started.json'), 'utf8'),
        },
      }, (error, stdout, stderr) => (error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(`${stdout}${stderr}`)));
    });

    // Assess
    expect(output).toContain('RESULT ["recorded","rejected"]');
    expect(output).toContain('"FailoverProgressEvents":1');
  });

  it('gives the intake its own role that may only start the reconcile workflow and write its logs', () => {
    // Prepare
    const intake = template.Resources.OnRdsEventLambdaFunction;
    const statements = statementsOf(template).filter(([id]) => id === 'OnRdsEventRole').map(([, statement]) => statement);

    // Assess
    expect(intake?.Properties?.Role).toEqual({ 'Fn::GetAtt': ['OnRdsEventRole', 'Arn'] });
    expect(statements.find((statement) => statement.Action === 'states:StartExecution')?.Resource).toEqual({ Ref: 'ReconcileStateMachine' });
    const allowed = statements.flatMap((statement) => [statement.Action ?? []].flat());
    expect(allowed.sort()).toEqual(['logs:CreateLogStream', 'logs:PutLogEvents', 'states:StartExecution', 'sts:AssumeRole'].sort());
  });

  it('has no IAM statement that grants * actions', () => {
    // Prepare
    const statements = statementsOf(template);

    // Assess
    expect(statements.length).toBeGreaterThan(3);
    for (const [id, statement] of statements) {
      expect(statement.NotAction, id).toBeUndefined();
      for (const action of [statement.Action ?? []].flat()) {
        expect(action, id).not.toBe('*');
        expect(action, id).not.toMatch(/:\*$/);
      }
    }
  });
});

describe('sls package with an invalid config', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sls-bad-config-'));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('fails and names the field', async () => {
    // Prepare
    const example = await readFile(join(ROOT, 'config/example.yml'), 'utf8');
    const bad = join(dir, 'bad.yml');
    await writeFile(bad, example.replace('arn:aws:rds:us-west-2:123456789012:cluster:app-usw2', 'arn:aws:rds:us-east-1:123456789012:cluster:app-usw2'));

    // Act
    const result = await sls(['package', '--stage', 'ci', '--region', 'us-east-2', '--package', join(dir, 'out')], { FAILOVER_CONFIG_FILE: bad });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/regions\.us-west-2\.dbClusterArn: is in us-east-1, not us-west-2/);
    expect(existsSync(join(dir, 'out', 'cloudformation-template-update-stack.json'))).toBe(false);
  }, PACKAGING_TIMEOUT_MS);

  it('fails when the stack region has no section in the config', async () => {
    // Act
    const result = await sls(['package', '--stage', 'ci', '--region', 'eu-west-1', '--package', join(dir, 'out-eu')], { FAILOVER_CONFIG_FILE: 'config/example.yml' });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/regions\.eu-west-1: this stack's region is not configured/);
  }, PACKAGING_TIMEOUT_MS);
});
