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
import { basename, dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../lib/adapters/config-file.ts';
import { readZipEntries } from '../../lib/local/read-zip.ts';
import {
  actionsOf,
  definitionParts,
  fillPseudoParameters,
  findDependencyCycle,
  permissionsOf,
  resolvedDefinition,
  resourcesOf,
  resourcesOfType,
  statementsOf,
  taskStatesOf,
  type Resource,
  type Statement,
  type Template,
} from './template.ts';
import { PROGRESS_EVENT_IDS, RdsEventId, TRIGGERING_EVENT_IDS } from '../../lib/core/constants.ts';
import { workflowFunctions } from '../../lib/workflow/workflow-tasks.ts';
import { METRICS_NAMESPACE, MetricName } from '../../lib/core/metrics.ts';
import { followExecutionName } from '../../lib/core/peers.ts';
import { SERVICE_NAME } from '../../lib/adapters/telemetry.ts';
import { stringify as toYaml, parse as parseYaml } from 'yaml';

const ROOT = join(import.meta.dirname, '../..');
const SLS = join(ROOT, 'node_modules/osls/bin/serverless.js');
const PACKAGING_TIMEOUT_MS = 600_000;
const ZIP_BUDGET_BYTES = 1024 * 1024;
const KUBERNETES_GROUPS = { operator: 'aurora-failover-operator', readonly: 'aurora-failover-readonly' } as const;
/** Roles that read pooler state only (plan, preflight); every other role with eks:DescribeCluster operates. */
const READONLY_POOLER_ROLES = ['PlanRole', 'PreflightRole'];
const VPC_ACTIONS = [
  'ec2:CreateNetworkInterface',
  'ec2:DescribeNetworkInterfaces',
  'ec2:DescribeSubnets',
  'ec2:DeleteNetworkInterface',
  'ec2:AssignPrivateIpAddresses',
  'ec2:UnassignPrivateIpAddresses',
];

interface AslValidationResult {
  readonly isValid: boolean;
  errorsText(separator?: string): string;
}
const require = createRequire(import.meta.url);
// asl-validator is CommonJS (`module.exports = function validator`) and ships no types.
const validateAsl = require('asl-validator') as (definition: unknown) => AslValidationResult;

const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/**
 * Role -> the actions beyond its own logs, for config/example.yml (Global Accelerator and Route 53
 * configured, no SNS topic). From the World methods each step calls (lib/workflow/*.ts) and the AWS
 * calls behind them (lib/workflow/aws-world.ts, lib/adapters/*.ts).
 */
const EXPECTED_WORKFLOW_ACTIONS: Record<string, string[]> = {
  AcquireRunLockRole: ['states:ListExecutions'],
  ObserveTopologyRole: ['rds:DescribeGlobalClusters', 'rds:DescribeDBClusters'],
  VerifyWriterRole: ['rds:DescribeDBClusters', 'rds:DescribeGlobalClusters'],
  PlanRole: ['eks:DescribeCluster', 'globalaccelerator:DescribeEndpointGroup', 'route53:ListResourceRecordSets'],
  ApplyPoolerRole: ['eks:DescribeCluster'],
  ShiftTrafficRole: [
    'globalaccelerator:DescribeEndpointGroup',
    'globalaccelerator:UpdateEndpointGroup',
    'route53:ListResourceRecordSets',
    'route53:ChangeResourceRecordSets',
    'route53:GetChange',
  ],
  ReportRole: [],
  ResumePoolersRole: ['eks:DescribeCluster'],
  ReportFailureRole: [],
  PreflightRole: [
    'rds:DescribeGlobalClusters',
    'rds:DescribeDBClusters',
    'cloudwatch:GetMetricData',
    'eks:DescribeCluster',
    'globalaccelerator:DescribeEndpointGroup',
    'route53:ListResourceRecordSets',
    // Probes each peer stack's prepare-for-switch function.
    'lambda:InvokeFunction',
  ],
  PausePoolersRole: ['eks:DescribeCluster'],
  ExecuteSwitchRole: ['rds:SwitchoverGlobalCluster', 'rds:FailoverGlobalCluster', 'rds:DescribeGlobalClusters'],
  CheckSwitchRole: ['rds:DescribeGlobalClusters', 'rds:DescribeDBClusters'],
  ResumeEarlyRole: ['eks:DescribeCluster'],
  SummarizeSwitchoverRole: [],
  PreparePeersRole: ['lambda:InvokeFunction'],
  ReleasePeersRole: ['lambda:InvokeFunction'],
  // ListExecutions at lease end: a newer follow run in this region may own the pause.
  CheckFollowRole: ['rds:DescribeGlobalClusters', 'rds:DescribeDBClusters', 'states:ListExecutions'],
  // Not a workflow task: called by the peer stacks (docs/coordination.md).
  PrepareForSwitchRole: ['eks:DescribeCluster', 'rds:DescribeGlobalClusters', 'rds:DescribeDBClusters', 'states:StartExecution'],
};
/** The functions whose roles reach EKS (eks:DescribeCluster): in the VPC when one is configured, each with an access entry per cluster. */
const EKS_FUNCTIONS = ['PlanLambdaFunction', 'PreflightLambdaFunction', 'ApplyPoolerLambdaFunction', 'PausePoolersLambdaFunction', 'ResumePoolersLambdaFunction', 'ResumeEarlyLambdaFunction', 'PrepareForSwitchLambdaFunction'];
/** Functions that are not a Task of either state machine. */
const OTHER_HANDLERS = ['on-rds-event.ts', 'prepare-for-switch.ts'];

interface SlsRun {
  readonly code: number;
  readonly output: string;
}

/**
 * Runs osls with the Node that runs the tests (24), dummy credentials and no telemetry. serverless-esbuild
 * leaves one build dir per function in TMPDIR, so each run gets its own TMPDIR, removed when it ends.
 */
async function sls(args: readonly string[], env: Record<string, string>): Promise<SlsRun> {
  const scratch = await mkdtemp(join(tmpdir(), 'sls-tmp-'));
  try {
    return await runSls(args, { TMPDIR: scratch, ...env });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function runSls(args: readonly string[], env: Record<string, string>): Promise<SlsRun> {
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

  /** Unpacks a function's zip from the package directory; returns the directory. */
  async function unpack(s3Key: string, into: string): Promise<string> {
    const bundleDir = join(packageDir, into);
    for (const [name, data] of readZipEntries(readFileSync(join(packageDir, basename(s3Key))))) {
      await mkdir(dirname(join(bundleDir, name)), { recursive: true });
      await writeFile(join(bundleDir, name), data);
    }
    return bundleDir;
  }

  /** Runs an ESM script on this Node with only the given environment (plus PATH); resolves its output. */
  function runNode(script: string, env: Record<string, string>): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', ...env } }, (error, stdout, stderr) =>
        error ? reject(new Error(`${error.message}\n${stderr}`)) : resolve(`${stdout}${stderr}`),
      );
    });
  }

  it('defines the reconcile and switchover state machines, each valid ASL with no placeholder left', () => {
    // Prepare
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');

    // Assess
    expect(machines.map(([, machine]) => machine.Properties?.StateMachineName).sort()).toEqual(['aurora-global-failover-ci-reconcile', 'aurora-global-failover-ci-switchover']);
    for (const [id, machine] of machines) {
      expect(machine.Properties?.StateMachineType, id).toBe('STANDARD');
      expect(JSON.stringify(machine.Properties?.DefinitionString), id).not.toContain('000000000000');
      const result = validateAsl(resolvedDefinition(template, machine));
      expect(result.errorsText(), id).toBe('');
      expect(result.isValid, id).toBe(true);
    }
  });

  it('points every Lambda Task at this stack\'s function for that task, with a timeout shorter than the Task\'s', () => {
    // Prepare
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
    const tasks = machines.flatMap(([id, machine]) => {
      const { text, params } = definitionParts(machine);
      return taskStatesOf(JSON.parse(text)).map((task) => ({ machine: id, task, params }));
    });
    const lambdaTasks = tasks.filter(({ task }) => !task.Resource.startsWith('arn:aws:states:::'));

    // Assess: the ASL files name one Task per workflow function key, all of which are wired.
    expect(lambdaTasks.length).toBeGreaterThanOrEqual(Object.keys(workflowFunctions).length);
    for (const { machine, task, params } of lambdaTasks) {
      const where = `${machine}.${task.name}`;
      const placeholder = /^\$\{([A-Za-z0-9_]+)\}$/.exec(task.Resource)?.[1];
      expect(placeholder, where).toBeDefined();
      const [functionId, attribute] = (params[placeholder!] as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
      expect(attribute, where).toBe('Arn');
      const fn = template.Resources[functionId]?.Properties ?? {};
      expect(template.Resources[functionId]?.Type, where).toBe('AWS::Lambda::Function');
      const key = /^functions\/([a-z0-9-]+)\.handler$/.exec(String(fn.Handler))?.[1];
      expect(key && key in workflowFunctions, `${where}: ${String(fn.Handler)}`).toBe(true);
      expect(fn.FunctionName, where).toBe(`aurora-global-failover-ci-${key}`);
      // A Task that stops waiting before its Lambda's timeout would leave the Lambda running unseen; only the
      // switchover's optional, read-only early reads may do that (test/unit/asl-retry.test.ts).
      if (task.name === 'PrefetchPreflight') expect(task.TimeoutSeconds, where).toBeLessThan(Number(fn.Timeout));
      else expect(task.TimeoutSeconds, where).toBeGreaterThan(Number(fn.Timeout));
    }
    const wired = new Set(lambdaTasks.map(({ task, params }) => (params[task.Resource.slice(2, -1)] as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]));
    expect(wired.size).toBe(Object.keys(workflowFunctions).length);
  });

  it('nests the reconcile run in the switchover through startExecution.sync:2 on this stack\'s reconcile state machine', () => {
    // Prepare
    const switchover = template.Resources.SwitchoverStateMachine!;
    const { text, params } = definitionParts(switchover);
    const nested = taskStatesOf(JSON.parse(text)).filter((task) => task.Resource.startsWith('arn:aws:states:::states:startExecution'));

    // Assess
    expect(nested.map((task) => task.Resource)).toEqual(['arn:aws:states:::states:startExecution.sync:2']);
    const arnPlaceholder = String(nested[0]?.Parameters?.StateMachineArn).slice(2, -1);
    expect(params[arnPlaceholder]).toEqual({ Ref: 'ReconcileStateMachine' });
  });

  it('has no dependency cycle between its resources', () => {
    // Assess: state machines reference the functions, so nothing a function depends on may reference a state machine.
    expect(findDependencyCycle(template)).toBeUndefined();
  });

  it('has EventBridge rules for exactly the sampled global-failover event ids, all targeting the intake', () => {
    // Prepare
    const rdsRules = resourcesOfType(template, 'AWS::Events::Rule')
      .filter(([id]) => id !== 'ForwardRdsEventsRule')
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

  it('forwards 0185/0238 raised in its own region to every peer region\'s default bus, with a role that may put events only there', () => {
    // Prepare
    const rule = template.Resources.ForwardRdsEventsRule?.Properties ?? {};
    const peerBus = 'arn:aws:events:us-west-2:123456789012:event-bus/default';

    // Assess: only this region's own events (a forwarded one keeps its region), only the triggering ids.
    expect(rule.EventPattern).toEqual({
      source: ['aws.rds'],
      'detail-type': ['RDS DB Cluster Event'],
      region: ['us-east-2'],
      detail: { EventID: [...TRIGGERING_EVENT_IDS] },
    });
    const targets = rule.Targets as { Arn: { 'Fn::Sub': string }; RoleArn: unknown }[];
    expect(targets.map((target) => fillPseudoParameters(target.Arn['Fn::Sub']))).toEqual([peerBus]);
    for (const target of targets) expect(target.RoleArn).toEqual({ 'Fn::GetAtt': ['ForwardRdsEventsRole', 'Arn'] });
    const trust = (template.Resources.ForwardRdsEventsRole?.Properties?.AssumeRolePolicyDocument as { Statement: { Principal: unknown }[] }).Statement;
    expect(trust).toEqual([expect.objectContaining({ Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
    const permissions = permissionsOf(template, 'ForwardRdsEventsRole');
    expect(permissions.flatMap(actionsOf)).toEqual(['events:PutEvents']);
    expect(permissions.flatMap(resourcesOf)).toEqual([peerBus]);
  });

  it('names the peer stacks\' prepare-for-switch function for the functions that call it', () => {
    // Assess
    for (const id of ['PreflightLambdaFunction', 'PreparePeersLambdaFunction', 'ReleasePeersLambdaFunction']) {
      const variables = (template.Resources[id]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.PEER_FUNCTION_NAME, id).toBe('aurora-global-failover-ci-prepare-for-switch');
    }
    expect(template.Resources.PrepareForSwitchLambdaFunction?.Properties?.FunctionName).toBe('aurora-global-failover-ci-prepare-for-switch');
  });

  it('gives the run lock both state machine ARNs and prepare-for-switch the reconcile one, the peer name only to the callers', () => {
    // Prepare
    const environmentOf = (id: string) => (template.Resources[id]?.Properties?.Environment as { Variables: Record<string, unknown> }).Variables;
    const stateMachine = (suffix: string) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:aurora-global-failover-ci-${suffix}` });
    const callers = ['PreflightLambdaFunction', 'PreparePeersLambdaFunction', 'ReleasePeersLambdaFunction'];

    // Assess
    expect(environmentOf('AcquireRunLockLambdaFunction')).toMatchObject({ RECONCILE_STATE_MACHINE_ARN: stateMachine('reconcile'), SWITCHOVER_STATE_MACHINE_ARN: stateMachine('switchover') });
    // CheckFollow lists running executions at lease end (a newer follow run may own the pause).
    expect(environmentOf('CheckFollowLambdaFunction')).toMatchObject({ RECONCILE_STATE_MACHINE_ARN: stateMachine('reconcile'), SWITCHOVER_STATE_MACHINE_ARN: stateMachine('switchover') });
    expect(environmentOf('PrepareForSwitchLambdaFunction')).toMatchObject({ RECONCILE_STATE_MACHINE_ARN: stateMachine('reconcile') });
    for (const [id] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      if (!callers.includes(id)) expect(environmentOf(id).PEER_FUNCTION_NAME, id).toBeUndefined();
    }
  });

  it('resumes paused write aliases when a switchover or a follow run (only) is stopped from the console or times out', () => {
    // Prepare
    const rules = resourcesOfType(template, 'AWS::Events::Rule')
      .map(([, rule]) => rule.Properties ?? {})
      .filter((properties) => (properties.EventPattern as { source?: string[] } | undefined)?.source?.includes('aws.states'));
    type Detail = { status: string[]; stateMachineArn: unknown; name?: unknown };
    const detailOf = (rule: Record<string, unknown>) => (rule.EventPattern as { detail: Detail }).detail;
    const forMachine = (suffix: string) => rules.filter((rule) => JSON.stringify(detailOf(rule).stateMachineArn).includes(suffix));

    // Assess: a stopped execution runs no Catch, so the status change event is the only place to resume
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.EventPattern).toMatchObject({ 'detail-type': ['Step Functions Execution Status Change'], detail: { status: ['ABORTED', 'TIMED_OUT'] } });
      expect(rule.Targets).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': ['ResumePoolersLambdaFunction', 'Arn'] } })]);
    }
    const [switchover] = forMachine('-switchover');
    expect(forMachine('-switchover')).toHaveLength(1);
    expect(detailOf(switchover!).name).toBeUndefined();
    // Any other stopped reconcile run (e.g. an event run stopped mid-switchover) paused nothing: only follow runs match.
    const [reconcile] = forMachine('-reconcile');
    expect(forMachine('-reconcile')).toHaveLength(1);
    expect(JSON.stringify(detailOf(reconcile!).stateMachineArn)).not.toContain('-switchover');
    expect(detailOf(reconcile!).name).toEqual([{ prefix: 'follow-' }]);
    expect(followExecutionName('us-west-2', { requestedBy: 'arn:aws:states:us-east-2:123456789012:execution:x:y', targetDbClusterArn: 'arn:aws:rds:us-east-2:123456789012:cluster:app' })).toMatch(/^follow-/);
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

  it('runs every function on nodejs24.x with its own bundle, the validated config inside it, not in the environment', async () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');

    const handlerFiles = readdirSync(join(ROOT, 'functions')).filter((file) => file.endsWith('.ts'));

    // Assess: one function per handler file, i.e. the intake plus one per workflow function key.
    expect(functions.map(([id]) => id)).toContain('OnRdsEventLambdaFunction');
    expect(functions.map(([, fn]) => String(fn.Properties?.Handler)).sort()).toEqual(handlerFiles.map((file) => `functions/${file.replace(/\.ts$/, '')}.handler`).sort());
    expect(handlerFiles.sort()).toEqual([...OTHER_HANDLERS, ...Object.keys(workflowFunctions).map((key) => `${key}.ts`)].sort());
    for (const [id, fn] of functions) {
      const properties = fn.Properties ?? {};
      expect(properties.Runtime, id).toBe('nodejs24.x');
      expect(Object.keys((properties.Environment as { Variables: Record<string, unknown> }).Variables), id).not.toContain('FAILOVER_CONFIG');
      const zip = join(packageDir, basename((properties.Code as { S3Key: string }).S3Key));
      expect(existsSync(zip), `${id}: ${zip}`).toBe(true);
      // Entry file names are stored uncompressed in the zip's headers.
      const handlerFile = `${String(properties.Handler).replace(/\.[^.]+$/, '')}.mjs`;
      expect(readFileSync(zip).includes(Buffer.from(handlerFile)), `${id}: ${handlerFile}`).toBe(true);
    }
  });

  it('ships an intake bundle that runs on Node 24 as ESM and decides from the config bundled in it', async () => {
    // Prepare: unpack the bundle and give it the environment Lambda would.
    const fn = template.Resources.OnRdsEventLambdaFunction?.Properties ?? {};
    const bundleDir = await unpack(String((fn.Code as { S3Key: string }).S3Key), 'unpacked-intake');
    const script = `
      const { handler } = await import(${JSON.stringify(join(bundleDir, 'functions/on-rds-event.mjs'))});
      const context = { awsRequestId: 'smoke', functionName: 'smoke', memoryLimitInMB: '256', invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:smoke', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 1000 };
      const progress = JSON.parse(process.env.SAMPLE_EVENT);
      const results = [await handler(progress, context), await handler({ not: 'an event' }, context)];
      process.stderr.write('RESULT ' + JSON.stringify(results.map((result) => result.decision)) + '\\n');
    `;

    // Act
    const output = await runNode(script, {
      AWS_REGION: 'us-east-2',
      RECONCILE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-2:123456789012:stateMachine:aurora-global-failover-ci-reconcile',
      SAMPLE_EVENT: readFileSync(join(ROOT, 'events/rds/0181-switchover-started.json'), 'utf8'),
    });

    // Assess
    expect(output).toContain('RESULT ["recorded","rejected"]');
    expect(output).toContain('"FailoverProgressEvents":1');
  });

  it('ships workflow bundles that load on Node 24 as ESM and run their step', async () => {
    // Prepare: the summarize step touches no AWS API, so the bundle runs offline end to end.
    const fn = template.Resources.SummarizeSwitchoverLambdaFunction?.Properties ?? {};
    const bundleDir = await unpack(String((fn.Code as { S3Key: string }).S3Key), 'unpacked-summarize');
    const preflight = {
      verdict: 'nothing-to-do', dryRun: false, globalClusterId: 'app-global', mode: 'switchover', currentWriterRegion: 'us-east-2',
      target: { region: 'us-east-2', dbClusterArn: 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2' },
      checks: [], decision: { step: 'switchover:preflight', decision: 'nothing-to-do', reason: 'us-east-2 is already the writer' },
    };
    const script = `
      const { handler } = await import(${JSON.stringify(join(bundleDir, 'functions/summarize-switchover.mjs'))});
      const context = { awsRequestId: 'smoke', functionName: 'smoke', memoryLimitInMB: '256', invokedFunctionArn: 'arn:aws:lambda:us-east-2:123456789012:function:smoke', functionVersion: '$LATEST', getRemainingTimeInMillis: () => 1000 };
      const summary = await handler({ state: { preflight: JSON.parse(process.env.PREFLIGHT) } }, context);
      process.stderr.write('RESULT ' + JSON.stringify(summary) + '\\n');
    `;

    // Act
    const output = await runNode(script, { AWS_REGION: 'us-east-2', PREFLIGHT: JSON.stringify(preflight) });

    // Assess
    const result = JSON.parse(/RESULT (.*)/.exec(output)?.[1] ?? 'null') as { outcome?: string; to?: string } | null;
    expect(result).toMatchObject({ outcome: 'nothing-to-do', to: 'us-east-2' });
  });

  it('ships in each zip its handler and only its own chunks, each loadable from that zip alone, and node:http as CommonJS', async () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    // A static ESM import of node:http loads undici at init; a dynamic import() of it is lazy and stays native.
    const esmHttpImport = /\bfrom\s*["'](?:node:)?http["']|\bimport\s*["'](?:node:)?http["']/;
    // Every relative module specifier esbuild writes: static (`from"./x"`, `import"./x"`) and dynamic (`import("./x")`).
    const relativeSpecifiers = /(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.\.?\/[^"]+)"/g;
    let lazyChunks = 0;
    let dynamicImportsChecked = 0;

    for (const [id, fn] of functions) {
      const properties = fn.Properties ?? {};
      const handlerFile = `${String(properties.Handler).replace(/\.[^.]+$/, '')}.mjs`;
      const chunkDir = `${handlerFile.replace(/\.mjs$/, '')}.chunks/`;
      const s3Key = String((properties.Code as { S3Key: string }).S3Key);
      const modules = [...readZipEntries(readFileSync(join(packageDir, basename(s3Key))))].filter(([name]) => name.endsWith('.mjs'));
      const bundleDir = await unpack(s3Key, `unpacked-every-module-${id}`);

      // Act: a fresh process imports every module of the zip, the handler first.
      const files = [handlerFile, ...modules.map(([name]) => name).filter((name) => name !== handlerFile)].map((name) => join(bundleDir, name));
      const output = await runNode(`for (const file of JSON.parse(process.env.FILES)) await import(file); process.stderr.write('IMPORTED ' + JSON.parse(process.env.FILES).length + '\\n');`, {
        AWS_REGION: 'us-east-2',
        FILES: JSON.stringify(files),
      });

      // Assess
      expect(modules.map(([name]) => name), id).toContain(handlerFile);
      const names = new Set(modules.map(([name]) => name));
      for (const [name, data] of modules) {
        const source = data.toString('utf8');
        expect(name === handlerFile || name.startsWith(chunkDir), `${id}: ${name} is neither ${handlerFile} nor under ${chunkDir}`).toBe(true);
        expect(source, `${id}: ${name} imports node:http as ESM`).not.toMatch(esmHttpImport);
        // A chunk reached only by a dynamic import on a rare path must be in the zip too, not just the ones loaded here.
        for (const [statement, specifier] of source.matchAll(relativeSpecifiers)) {
          expect(names.has(posix.normalize(posix.join(posix.dirname(name), specifier!))), `${id}: ${name} imports ${specifier}, which is not in the zip`).toBe(true);
          if (statement.includes('(')) dynamicImportsChecked += 1;
        }
      }
      expect(output, id).toContain(`IMPORTED ${modules.length}`);
      lazyChunks += modules.filter(([name]) => /\/(?:sts|loadSso|sso-oidc)-[A-Z0-9]+\.mjs$/.test(name)).length;
    }
    // Splitting is on: the SDK credential providers a Lambda never reaches (SSO, STS) are chunks of their own.
    expect(lazyChunks).toBeGreaterThan(0);
    expect(dynamicImportsChecked).toBeGreaterThan(functions.length);
  }, PACKAGING_TIMEOUT_MS);

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

  it('outputs both state machine ARNs and the roles that need an EKS access entry', () => {
    // Prepare
    const outputs = (template as Template & { Outputs: Record<string, { Value: unknown }> }).Outputs;
    const poolerRoles = Object.entries(EXPECTED_WORKFLOW_ACTIONS).filter(([, actions]) => actions.includes('eks:DescribeCluster')).map(([roleId]) => roleId);

    // Assess
    expect(outputs.ReconcileStateMachineArn?.Value).toEqual({ Ref: 'ReconcileStateMachine' });
    expect(outputs.SwitchoverStateMachineArn?.Value).toEqual({ Ref: 'SwitchoverStateMachine' });
    const [separator, arns] = (outputs.PoolerRoleArns?.Value as { 'Fn::Join': [string, { 'Fn::GetAtt': [string, string] }[]] })['Fn::Join'];
    expect(separator).toBe(',');
    expect(arns.map((arn) => arn['Fn::GetAtt'][0]).sort()).toEqual(poolerRoles.sort());
  });

  it('gives every function its own role, trusted by Lambda only', () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const roleIds = functions.map(([, fn]) => (fn.Properties?.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0]);

    // Assess
    expect(new Set(roleIds).size).toBe(functions.length);
    for (const roleId of roleIds) {
      const trust = (template.Resources[roleId]?.Properties?.AssumeRolePolicyDocument as { Statement: { Principal: unknown; Action: unknown }[] }).Statement;
      expect(trust, roleId).toEqual([expect.objectContaining({ Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' })]);
    }
  });

  it('grants each workflow function exactly the actions its step calls', () => {
    // Prepare
    const granted = Object.fromEntries(
      Object.keys(EXPECTED_WORKFLOW_ACTIONS).map((roleId) => [roleId, permissionsOf(template, roleId).flatMap(actionsOf).sort()]),
    );
    const functionRoles = resourcesOfType(template, 'AWS::Lambda::Function')
      .map(([, fn]) => (fn.Properties?.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0])
      .filter((roleId) => roleId !== 'OnRdsEventRole');

    // Assess: the table covers every workflow function; write actions appear only where the step writes.
    expect(functionRoles.sort()).toEqual(Object.keys(EXPECTED_WORKFLOW_ACTIONS).sort());
    expect(granted).toEqual(
      Object.fromEntries(Object.entries(EXPECTED_WORKFLOW_ACTIONS).map(([roleId, actions]) => [roleId, [...LOG_ACTIONS, ...actions].sort()])),
    );
  });

  it('scopes every grant to the resources of the config, and to this stack\'s own logs and state machines', async () => {
    // Prepare
    const config = await loadConfigFile(join(ROOT, 'config/example.yml'));
    const account = '123456789012';
    const sections = Object.values(config.regions);
    const members = sections.map((section) => section.dbClusterArn).sort();
    const globalCluster = `arn:aws:rds::${account}:global-cluster:${config.globalClusterId}`;
    const stateMachines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine')
      .map(([, machine]) => `arn:aws:states:us-east-2:${account}:stateMachine:${String(machine.Properties?.StateMachineName)}`)
      .sort();
    const zones = [...new Set(sections.flatMap((section) => (section.traffic.route53 ? [`arn:aws:route53:::hostedzone/${section.traffic.route53.hostedZoneId}`] : [])))];
    const endpointGroups = sections.flatMap((section) => (section.traffic.globalAccelerator ? [section.traffic.globalAccelerator.endpointGroupArn] : [])).sort();
    const eksClusters = [...new Set(config.regions['us-east-2']!.poolers.map((target) => `arn:aws:eks:us-east-2:${account}:cluster/${target.eksCluster}`))];
    const expectedByAction: Record<string, string[]> = {
      'states:ListExecutions': stateMachines,
      'rds:DescribeGlobalClusters': [globalCluster],
      'rds:DescribeDBClusters': members,
      'rds:SwitchoverGlobalCluster': [globalCluster, ...members].sort(),
      'rds:FailoverGlobalCluster': [globalCluster, ...members].sort(),
      'eks:DescribeCluster': eksClusters,
      'globalaccelerator:DescribeEndpointGroup': endpointGroups,
      'globalaccelerator:UpdateEndpointGroup': endpointGroups,
      'route53:ListResourceRecordSets': zones,
      'route53:ChangeResourceRecordSets': zones,
      'route53:GetChange': ['arn:aws:route53:::change/*'],
      // The one action without resource-level permissions.
      'cloudwatch:GetMetricData': ['*'],
      // Only the peer stack's function, in the peer's region.
      'lambda:InvokeFunction': [`arn:aws:lambda:us-west-2:${account}:function:aurora-global-failover-ci-prepare-for-switch`],
    };

    // Assess
    expect(endpointGroups.length).toBeGreaterThan(0);
    expect(zones.length).toBeGreaterThan(0);
    for (const [, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const roleId = (fn.Properties?.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const ownLogs = `arn:aws:logs:us-east-2:${account}:log-group:/aws/lambda/${String(fn.Properties?.FunctionName)}:*`;
      for (const statement of permissionsOf(template, roleId)) {
        for (const action of actionsOf(statement)) {
          const startReconcile = roleId === 'PrepareForSwitchRole' ? [`arn:aws:states:us-east-2:${account}:stateMachine:aurora-global-failover-ci-reconcile`] : ['Ref:ReconcileStateMachine'];
          const expected = action.startsWith('logs:') ? [ownLogs] : action === 'states:StartExecution' ? startReconcile : expectedByAction[action];
          expect(resourcesOf(statement).sort(), `${roleId} ${action}`).toEqual(expected);
        }
      }
    }
  });

  it('lets each state machine invoke exactly the functions its definition names, and the switchover follow its nested reconcile', () => {
    // Prepare
    const machines = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');

    // Assess
    for (const [id, machine] of machines) {
      const roleId = (machine.Properties?.RoleArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
      const statements = permissionsOf(template, roleId);
      const lambdaArns = taskStatesOf(resolvedDefinition(template, machine))
        .map((task) => task.Resource)
        .filter((resource) => resource.startsWith('arn:aws:lambda:'));
      const invoke = statements.filter((statement) => actionsOf(statement).includes('lambda:InvokeFunction'));
      expect(invoke.flatMap(resourcesOf).sort(), id).toEqual([...new Set(lambdaArns)].sort());
      const others = statements.filter((statement) => !invoke.includes(statement));
      if (id === 'ReconcileStateMachine') expect(others, id).toEqual([]);
    }
    const switchover = permissionsOf(template, 'SwitchoverStateMachineRole');
    const byAction = (action: string) => switchover.filter((statement) => actionsOf(statement).includes(action)).flatMap(resourcesOf);
    expect(byAction('states:StartExecution')).toEqual(['Ref:ReconcileStateMachine']);
    expect(byAction('states:DescribeExecution')).toEqual(['arn:aws:states:us-east-2:123456789012:execution:aurora-global-failover-ci-reconcile:*']);
    expect(byAction('states:StopExecution')).toEqual(['arn:aws:states:us-east-2:123456789012:execution:aurora-global-failover-ci-reconcile:*']);
    for (const action of ['events:PutTargets', 'events:PutRule', 'events:DescribeRule']) {
      expect(byAction(action), action).toEqual(['arn:aws:events:us-east-2:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule']);
    }
  });

  it('has no IAM statement that grants * actions', () => {
    // Prepare
    const statements = statementsOf(template);

    // Assess
    expect(statements.length).toBeGreaterThan(3);
    for (const [id, statement] of statements) {
      expect(statement.NotAction, id).toBeUndefined();
      expect(statement.Effect, id).toBe('Allow');
      if (statement.Action !== 'sts:AssumeRole') expect(resourcesOf(statement).length, id).toBeGreaterThan(0);
      for (const action of [statement.Action ?? []].flat()) {
        expect(action, id).not.toBe('*');
        expect(action, id).not.toMatch(/:\*$/);
      }
    }
  });

  it('gives every role that talks to Kubernetes an EKS access entry per cluster, by its ARN, in the operator or read-only group', () => {
    // Prepare
    const entries = resourcesOfType(template, 'AWS::EKS::AccessEntry').map(([, entry]) => entry.Properties ?? {});
    const poolerRoles = Object.entries(EXPECTED_WORKFLOW_ACTIONS).filter(([, actions]) => actions.includes('eks:DescribeCluster')).map(([roleId]) => roleId);

    // Assess: example.yml has one cluster in us-east-2 (app-use2).
    expect(entries).toHaveLength(poolerRoles.length);
    for (const roleId of poolerRoles) {
      const entry = entries.find((properties) => JSON.stringify(properties.PrincipalArn) === JSON.stringify({ 'Fn::GetAtt': [roleId, 'Arn'] }));
      expect(entry, roleId).toBeDefined();
      expect(entry).toMatchObject({ ClusterName: 'app-use2', Type: 'STANDARD' });
      expect(entry?.KubernetesGroups, roleId).toEqual([READONLY_POOLER_ROLES.includes(roleId) ? KUBERNETES_GROUPS.readonly : KUBERNETES_GROUPS.operator]);
      expect(entry?.AccessPolicies, roleId).toBeUndefined();
    }
  });

  it('has a dashboard and alarms on metrics the code emits, with actions only where a topic is in the region', async () => {
    // Prepare
    const config = await loadConfigFile(join(ROOT, 'config/example.yml'));
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => [id, alarm.Properties ?? {}] as const);
    type MetricRef = { Namespace: string; MetricName: string; Dimensions?: { Name: string; Value: unknown }[] };
    const metricsOf = (properties: Record<string, unknown>): MetricRef[] => [
      ...(properties.MetricName ? [properties as unknown as MetricRef] : []),
      ...((properties.Metrics as { MetricStat?: { Metric: MetricRef } }[] | undefined) ?? []).flatMap((query) => (query.MetricStat ? [query.MetricStat.Metric] : [])),
    ];

    // Assess
    expect(resourcesOfType(template, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
    expect(alarms.length).toBeGreaterThanOrEqual(5);
    const custom = alarms.flatMap(([, properties]) => metricsOf(properties)).filter((metric) => metric.Namespace === METRICS_NAMESPACE);
    expect(new Set(custom.map((metric) => metric.MetricName))).toEqual(new Set([MetricName.RunsFailed, MetricName.TargetsFailed]));
    for (const metric of custom) expect(metric.Dimensions).toContainEqual({ Name: 'service', Value: SERVICE_NAME });
    const byName = Object.fromEntries(alarms.map(([, properties]) => [String(properties.AlarmName).replace('aurora-global-failover-ci-', ''), properties]));
    expect(byName['rpo-lag']).toMatchObject({ MetricName: 'AuroraGlobalDBRPOLag', Namespace: 'AWS/RDS', Threshold: config.alarms.maxRpoLagMs, Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'app-use2' }] });
    expect(byName['reconcile-stale']).toMatchObject({
      MetricName: 'ExecutionsSucceeded',
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: 'ReconcileStateMachine' } }],
      Period: 300,
      EvaluationPeriods: 3,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
    });
    expect(byName['pause-budget-spent']).toMatchObject({ Namespace: 'AWS/Lambda', Dimensions: [{ Name: 'FunctionName', Value: 'aurora-global-failover-ci-resume-early' }] });
    expect(Object.keys(byName)).toEqual(expect.arrayContaining(['runs-failed', 'targets-failed', 'switchover-ended-badly']));
    // example.yml configures no SNS topic: the alarms change state and notify nobody.
    for (const [id, properties] of alarms) expect(properties.AlarmActions, id).toEqual([]);
  });

  it('puts no function in a VPC when the config names none', () => {
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) expect(fn.Properties?.VpcConfig, id).toBeUndefined();
    expect(statementsOf(template).flatMap(([, statement]) => actionsOf(statement)).filter((action) => action.startsWith('ec2:'))).toEqual([]);
  });

  it('keeps every function zip under 1 MB', () => {
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const zip = join(packageDir, basename((fn.Properties?.Code as { S3Key: string }).S3Key));
      expect(readFileSync(zip).length, `${id}: ${zip}`).toBeLessThan(ZIP_BUDGET_BYTES);
    }
  });
});

describe('sls package with a VPC, 50 pooler targets in 3 clusters and a topic in the region', () => {
  const TARGETS = 50;
  const CLUSTERS = ['app-use2', 'app-use2-b', 'app_use2_c'];
  const TOPIC = 'arn:aws:sns:us-east-2:123456789012:aurora-failover';
  const VPC = { subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'], securityGroupIds: ['sg-0123456789abcdef0'] };
  let dir: string;
  let packageDir: string;
  let configJsonBytes: number;
  let template: Template;

  beforeAll(async () => {
    // Prepare: example.yml with 50 targets in us-east-2 (far beyond the old 3,500-byte environment variable), a VPC and a topic.
    dir = await mkdtemp(join(tmpdir(), 'sls-fifty-'));
    const raw = parseYaml(await readFile(join(ROOT, 'config/example.yml'), 'utf8')) as { regions: Record<string, { poolers: Record<string, unknown>[]; vpc?: unknown }>; notifications?: unknown };
    const first = raw.regions['us-east-2']!.poolers[0]!;
    raw.regions['us-east-2']!.poolers = Array.from({ length: TARGETS }, (_, index) => ({
      ...first,
      name: `use2-pgbouncer-${String(index).padStart(2, '0')}`,
      eksCluster: CLUSTERS[index % CLUSTERS.length],
      namespace: `tenant-${index}`,
    }));
    raw.regions['us-east-2']!.vpc = VPC;
    raw.notifications = { snsTopicArn: TOPIC };
    const file = join(dir, 'fifty.yml');
    await writeFile(file, toYaml(raw));
    configJsonBytes = JSON.stringify(await loadConfigFile(file)).length;
    packageDir = join(dir, 'out');

    // Act
    const run = await sls(['package', '--stage', 'ci', '--region', 'us-east-2', '--package', packageDir], { FAILOVER_CONFIG_FILE: file });
    if (run.code !== 0) throw new Error(`sls package failed (${run.code}):\n${run.output}`);
    template = JSON.parse(await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  }, PACKAGING_TIMEOUT_MS);

  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('bundles the whole config into every function, none of it in the environment', () => {
    // Assess
    expect(configJsonBytes).toBeGreaterThan(4096);
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      const environment = JSON.stringify(fn.Properties?.Environment ?? {});
      expect(environment, id).not.toContain('use2-pgbouncer-');
      expect(Buffer.byteLength(environment), id).toBeLessThan(4096);
      const bundle = [...readZipEntries(readFileSync(join(packageDir, basename((fn.Properties?.Code as { S3Key: string }).S3Key)))).values()].map(String).join('');
      expect(bundle, id).toContain(`use2-pgbouncer-${TARGETS - 1}`);
      expect(bundle.length, id).toBeGreaterThan(0);
    }
  });

  it('runs exactly the functions that reach EKS in the VPC, and lets only their roles manage network interfaces', () => {
    // Prepare
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    const roleOf = (fn: Resource) => (fn.Properties?.Role as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0];
    const reachesEks = (fn: Resource) => permissionsOf(template, roleOf(fn)).some((statement) => actionsOf(statement).includes('eks:DescribeCluster'));

    // Assess
    expect(functions.filter(([, fn]) => reachesEks(fn)).map(([id]) => id).sort()).toEqual([...EKS_FUNCTIONS].sort());
    for (const [id, fn] of functions) {
      const actions = permissionsOf(template, roleOf(fn)).flatMap(actionsOf);
      if (reachesEks(fn)) {
        expect(fn.Properties?.VpcConfig, id).toEqual({ SubnetIds: VPC.subnetIds, SecurityGroupIds: VPC.securityGroupIds });
        expect(actions.filter((action) => action.startsWith('ec2:')).sort(), id).toEqual([...VPC_ACTIONS].sort());
      } else {
        expect(fn.Properties?.VpcConfig, id).toBeUndefined();
        expect(actions.filter((action) => action.startsWith('ec2:')), id).toEqual([]);
      }
    }
    const create = statementsOf(template).filter(([, statement]) => actionsOf(statement).includes('ec2:CreateNetworkInterface'));
    for (const [id, statement] of create) {
      expect(resourcesOf(statement).sort(), id).toEqual(
        [
          'arn:aws:ec2:us-east-2:123456789012:network-interface/*',
          ...VPC.subnetIds.map((subnet) => `arn:aws:ec2:us-east-2:123456789012:subnet/${subnet}`),
          ...VPC.securityGroupIds.map((group) => `arn:aws:ec2:us-east-2:123456789012:security-group/${group}`),
        ].sort(),
      );
    }
  });

  it('creates one access entry per cluster and Kubernetes role, each with its own logical id', () => {
    // Prepare
    const entries = resourcesOfType(template, 'AWS::EKS::AccessEntry').map(([, entry]) => entry.Properties ?? {});

    // Assess
    expect(entries).toHaveLength(CLUSTERS.length * EKS_FUNCTIONS.length);
    for (const cluster of CLUSTERS) {
      const roles = entries.filter((entry) => entry.ClusterName === cluster).map((entry) => (entry.PrincipalArn as { 'Fn::GetAtt': [string] })['Fn::GetAtt'][0]);
      expect(new Set(roles), cluster).toEqual(new Set(EKS_FUNCTIONS.map((id) => id.replace(/LambdaFunction$/, 'Role'))));
    }
    expect(findDependencyCycle(template)).toBeUndefined();
  });

  it('sends every alarm to the topic in its region, and keeps every zip under 1 MB', () => {
    for (const [id, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
      expect(alarm.Properties?.AlarmActions, id).toEqual([TOPIC]);
      expect(alarm.Properties?.OKActions, id).toEqual([TOPIC]);
    }
    for (const [id, fn] of resourcesOfType(template, 'AWS::Lambda::Function')) {
      expect(readFileSync(join(packageDir, basename((fn.Properties?.Code as { S3Key: string }).S3Key))).length, id).toBeLessThan(ZIP_BUDGET_BYTES);
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
    // Once, on one line, without a stack trace.
    expect(result.output.trim().split('\n')).toEqual([`Error: invalid failover config: ${bad} is invalid: regions.us-west-2.dbClusterArn: is in us-east-1, not us-west-2`]);
  }, PACKAGING_TIMEOUT_MS);

  it('refuses a lock lease that does not exceed both state machines\' TimeoutSeconds, on one line', async () => {
    // Prepare: 7200 s is the switchover state machine's TimeoutSeconds; the lease must be longer
    const example = await readFile(join(ROOT, 'config/example.yml'), 'utf8');
    const short = join(dir, 'short-lease.yml');
    await writeFile(short, example.replace('lockLeaseSeconds: 7500', 'lockLeaseSeconds: 7200'));

    // Act
    const result = await sls(['package', '--stage', 'ci', '--region', 'us-east-2', '--package', join(dir, 'out-lease')], { FAILOVER_CONFIG_FILE: short });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.output.trim().split('\n')).toEqual([
      `Error: invalid failover config (${short}): switchover.lockLeaseSeconds is 7200 but must exceed both state machines' TimeoutSeconds (reconcile 3600 s, switchover 7200 s): a run still inside its timeout would be taken for stuck and a second run would start beside it; set it above 7200`,
    ]);
    expect(existsSync(join(dir, 'out-lease', 'cloudformation-template-update-stack.json'))).toBe(false);
  }, PACKAGING_TIMEOUT_MS);

  it('fails when the stack region has no section in the config', async () => {
    // Act
    const result = await sls(['package', '--stage', 'ci', '--region', 'eu-west-1', '--package', join(dir, 'out-eu')], { FAILOVER_CONFIG_FILE: 'config/example.yml' });

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.output).toMatch(/regions\.eu-west-1: this stack's region is not configured/);
    expect(result.output.trim().split('\n')).toHaveLength(1);
    expect(result.output).not.toMatch(/^\s+at /m);
  }, PACKAGING_TIMEOUT_MS);
});

// The two resolvers serverless.yml loads, exercised directly for the configurations example.yml does not cover.

type RoleResources = { Resources: Record<string, Resource> };
const functionRoles = require(join(ROOT, 'serverless/function-roles.cjs')) as (context: { resolveVariable: (address: string) => Promise<unknown> }) => Promise<RoleResources>;
const definitions = require(join(ROOT, 'serverless/definitions.cjs')) as {
  replacePlaceholders(value: unknown, jsonPath: string, lookup: { functions: Map<string, { logicalId: string; name: string }> }, file: string): unknown;
};

function variables(overrides: Record<string, unknown>): (address: string) => Promise<unknown> {
  const values: Record<string, unknown> = {
    'self:service': 'aurora-global-failover',
    'sls:stage': 'ci',
    'failover:globalClusterArn': 'arn:aws:rds::123456789012:global-cluster:app-global',
    'failover:memberDbClusterArns': ['arn:aws:rds:us-east-2:123456789012:cluster:app-use2'],
    'failover:eksClusterArns': ['arn:aws:eks:us-east-2:123456789012:cluster/app-use2'],
    'failover:endpointGroupArns': [],
    'failover:hostedZoneArns': [],
    'failover:snsTopicArn': '',
    'failover:vpc': { subnetIds: [], securityGroupIds: [] },
    'failover:snsKmsKeyArn': '',
    'failover:peerRegions': ['us-west-2'],
    ...overrides,
  };
  return async (address) => {
    if (!(address in values)) throw new Error(`unexpected variable ${address}`);
    return values[address];
  };
}

function roleActions(roles: RoleResources): Record<string, string[]> {
  const template: Template = roles;
  return Object.fromEntries(Object.keys(roles.Resources).map((roleId) => [roleId, permissionsOf(template, roleId).flatMap(actionsOf)]));
}

describe('function roles (serverless/function-roles.cjs)', () => {
  it('lets only the report steps publish, and only to the configured topic', async () => {
    // Prepare
    const topic = 'arn:aws:sns:us-east-2:123456789012:aurora-failover';

    // Act
    const roles = await functionRoles({ resolveVariable: variables({ 'failover:snsTopicArn': topic }) });

    // Assess
    const publishers = Object.entries(roleActions(roles)).filter(([, actions]) => actions.includes('sns:Publish')).map(([roleId]) => roleId);
    expect(publishers.sort()).toEqual(['ReportFailureRole', 'ReportRole']);
    for (const roleId of publishers) {
      const publish = permissionsOf(roles, roleId).filter((statement: Statement) => actionsOf(statement).includes('sns:Publish'));
      expect(publish.flatMap(resourcesOf)).toEqual([topic]);
    }
  });

  it('lets the report steps use the topic\'s KMS key through SNS, only when a key is configured', async () => {
    // Prepare
    const topic = 'arn:aws:sns:us-east-2:123456789012:aurora-failover';
    const key = 'arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    // Act
    const encrypted = await functionRoles({ resolveVariable: variables({ 'failover:snsTopicArn': topic, 'failover:snsKmsKeyArn': key }) });
    const plain = await functionRoles({ resolveVariable: variables({ 'failover:snsTopicArn': topic }) });

    // Assess
    const kmsUsers = Object.entries(roleActions(encrypted)).filter(([, actions]) => actions.some((action) => action.startsWith('kms:'))).map(([roleId]) => roleId);
    expect(kmsUsers.sort()).toEqual(['ReportFailureRole', 'ReportRole']);
    for (const roleId of kmsUsers) {
      const kms = permissionsOf(encrypted, roleId).filter((statement: Statement) => actionsOf(statement).some((action) => action.startsWith('kms:')));
      expect(kms).toEqual([
        { Sid: 'EncryptRunReports', Effect: 'Allow', Action: ['kms:GenerateDataKey', 'kms:Decrypt'], Resource: [key], Condition: { StringEquals: { 'kms:ViaService': 'sns.us-east-2.amazonaws.com' } } },
      ]);
    }
    expect(Object.values(roleActions(plain)).flat().filter((action) => action.startsWith('kms:'))).toEqual([]);
  });

  it('adds no statement for traffic systems, topics or pooler clusters that are not configured', async () => {
    // Act
    const roles = await functionRoles({ resolveVariable: variables({ 'failover:eksClusterArns': [] }) });

    // Assess
    const all = Object.values(roleActions(roles)).flat();
    expect(all.filter((action) => /^(globalaccelerator|route53|sns|eks):/.test(action))).toEqual([]);
    for (const roleId of Object.keys(roles.Resources)) {
      for (const statement of permissionsOf(roles, roleId)) expect(resourcesOf(statement).length, `${roleId} ${statement.Sid}`).toBeGreaterThan(0);
    }
    expect(all).toContain('rds:SwitchoverGlobalCluster');
  });
});

describe('observability, access entries and VPC resolvers (serverless/*.cjs)', () => {
  type Resolved = { Resources?: Record<string, Resource>; extensions?: Record<string, unknown> };
  type Resolver = (context: { resolveVariable: (address: string) => Promise<unknown>; resolveConfigurationProperty: (path: string[]) => Promise<unknown> }) => Promise<Resolved>;
  const observability = require(join(ROOT, 'serverless/observability.cjs')) as Resolver;
  const eksAccess = require(join(ROOT, 'serverless/eks-access.cjs')) as Resolver & { accessEntryLogicalId(cluster: string, roleId: string): string };
  const vpc = require(join(ROOT, 'serverless/vpc.cjs')) as Resolver;
  const functions = {
    resumeEarly: { handler: 'functions/resume-early.handler', name: 'aurora-global-failover-ci-resume-early' },
    plan: { handler: 'functions/plan.handler', name: 'aurora-global-failover-ci-plan' },
    report: { handler: 'functions/report.handler', name: 'aurora-global-failover-ci-report' },
  };
  const context = (overrides: Record<string, unknown>) => ({
    resolveVariable: variables({
      'failover:globalClusterId': 'app-global',
      'failover:dbClusterIdentifier': 'app-use2',
      'failover:alarmTopicArns': [],
      'failover:maxRpoLagMs': 10_000,
      'failover:scheduleSeconds': 300,
      'failover:pauseBudgetSeconds': 60,
      'failover:eksClusterNames': ['app-use2'],
      ...overrides,
    }),
    resolveConfigurationProperty: async () => functions,
  });
  const alarmsOf = (resolved: Resolved) => Object.values(resolved.Resources ?? {}).filter((resource) => resource.Type === 'AWS::CloudWatch::Alarm');

  it('keeps 5 alarms without a schedule, and caps the stale-reconcile period at 8 hours', async () => {
    // Act
    const disabled = await observability(context({ 'failover:scheduleSeconds': 0 }));
    const hourly = await observability(context({ 'failover:scheduleSeconds': 10 * 3600 }));

    // Assess
    expect(alarmsOf(disabled)).toHaveLength(5);
    expect(disabled.Resources?.ReconcileStaleAlarm).toBeUndefined();
    expect(hourly.Resources?.ReconcileStaleAlarm?.Properties).toMatchObject({ Period: 28_800, EvaluationPeriods: 3 });
  });

  it('gives distinct, order-independent logical ids to clusters whose names differ only in punctuation', async () => {
    // Act
    const forward = await eksAccess(context({ 'failover:eksClusterNames': ['app-use2', 'appuse2', 'app_use2'] }));
    const reversed = await eksAccess(context({ 'failover:eksClusterNames': ['app_use2', 'appuse2', 'app-use2'] }));

    // Assess
    expect(Object.keys(forward.Resources ?? {})).toHaveLength(3 * EKS_FUNCTIONS.length);
    expect(Object.keys(reversed.Resources ?? {}).sort()).toEqual(Object.keys(forward.Resources ?? {}).sort());
    expect(eksAccess.accessEntryLogicalId('app-use2', 'PlanRole')).toMatch(/^[A-Za-z0-9]{1,255}$/);
  });

  it('creates no access entry without pooler clusters, and attaches nothing to a VPC without one', async () => {
    // Act
    const entries = await eksAccess(context({ 'failover:eksClusterNames': [] }));
    const none = await vpc(context({}));
    const some = await vpc(context({ 'failover:vpc': { subnetIds: ['subnet-0123abcd'], securityGroupIds: ['sg-0123abcd'] } }));

    // Assess
    expect(entries.Resources).toEqual({});
    expect(none).toEqual({});
    expect(Object.keys(some.extensions ?? {}).sort()).toEqual(['PlanLambdaFunction', 'ResumeEarlyLambdaFunction']);
  });
});

describe('definition resolver (serverless/definitions.cjs)', () => {
  const lookup = { functions: new Map([['plan', { logicalId: 'PlanLambdaFunction', name: 'aurora-global-failover-ci-plan' }]]) };

  it('replaces function and state machine placeholders with references to this stack', () => {
    // Act
    const resolved = definitions.replacePlaceholders(
      {
        States: {
          Plan: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-plan' },
          Nested: { Type: 'Task', Parameters: { StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:aurora-failover-reconcile' } },
        },
      },
      '$',
      lookup,
      'statemachines/test.asl.json',
    );

    // Assess
    expect(resolved).toEqual({
      States: {
        Plan: { Type: 'Task', Resource: { 'Fn::GetAtt': ['PlanLambdaFunction', 'Arn'] } },
        Nested: { Type: 'Task', Parameters: { StateMachineArn: { Ref: 'ReconcileStateMachine' } } },
      },
    });
  });

  it('refuses a placeholder it cannot map, naming the file, the path and the value', () => {
    // Prepare
    const unknownFunction = { States: { Apply: { Resource: 'arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-teleport' } } };
    const unknownMachine = { States: { Nested: { Parameters: { StateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:other' } } } };

    // Act + Assess
    expect(() => definitions.replacePlaceholders(unknownFunction, '$', lookup, 'statemachines/x.asl.json')).toThrow(
      'statemachines/x.asl.json $.States.Apply.Resource: placeholder arn:aws:lambda:us-east-1:000000000000:function:aurora-failover-teleport names function "teleport", but no function in serverless.yml has handler functions/teleport.handler',
    );
    expect(() => definitions.replacePlaceholders(unknownMachine, '$', lookup, 'statemachines/x.asl.json')).toThrow(
      /\$\.States\.Nested\.Parameters\.StateMachineArn: unknown placeholder arn:aws:states:us-east-1:000000000000:stateMachine:other/,
    );
  });
});

describe('dependency cycle check (test/packaging/template.ts)', () => {
  it('finds the cycle a function would close by referencing the state machine that invokes it', () => {
    // Prepare
    const template: Template = {
      Resources: {
        Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: { 'Fn::Sub': ['{"Resource":"${fn}"}', { fn: { 'Fn::GetAtt': ['Fn', 'Arn'] } }] } } },
        Fn: { Type: 'AWS::Lambda::Function', Properties: { Role: { 'Fn::GetAtt': ['Role', 'Arn'] } } },
        Role: { Type: 'AWS::IAM::Role', Properties: { Policies: [{ PolicyDocument: { Statement: [{ Resource: { Ref: 'Machine' } }] } }] } },
      },
    };

    // Act + Assess
    expect(findDependencyCycle(template)).toEqual(['Machine', 'Fn', 'Role', 'Machine']);
  });
});
