/**
 * Each workflow Lambda bundles only the AWS parts it declares (functions/<key>.ts `parts`); its IAM role
 * (serverless/function-roles.cjs GRANTS_BY_FUNCTION) says which systems the step calls. The two must
 * agree: a part without a grant is dead weight, a grant without a part is a step that fails at run time
 * with "packaged without the ... part".
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createAwsWorld } from '../../lib/workflow/aws-world.ts';
import { AwsClientPool } from '../../lib/adapters/aws-client-pool.ts';
import { parseConfig } from '../../lib/core/config.ts';
import { InvalidConfigError } from '../../lib/core/errors.ts';
import { workflowFunctions } from '../../lib/workflow/workflow-tasks.ts';

const ROOT = join(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { GRANTS_BY_FUNCTION } = require(join(ROOT, 'serverless/function-roles.cjs')) as { GRANTS_BY_FUNCTION: Record<string, string[]> };

/** Grant (serverless/function-roles.cjs) -> the AWS part (lib/workflow/aws-parts/) that makes those calls. */
const PART_OF_GRANT: Record<string, string> = {
  listRunningExecutions: 'sfn',
  readTopology: 'rds',
  readMemberClusters: 'rds',
  moveWriter: 'rds',
  reachPoolers: 'eks',
  readPoolers: 'eks',
  readTraffic: 'traffic',
  writeTraffic: 'traffic',
  readRpoLag: 'cloudwatch',
  notify: 'sns',
};

const workflowHandlers = readdirSync(join(ROOT, 'functions'))
  .filter((file) => file.endsWith('.ts') && file !== 'on-rds-event.ts')
  .map((file) => file.replace(/\.ts$/, ''));

describe('workflow functions bundle exactly the AWS parts their roles allow', () => {
  it('has one handler and one grant list per workflow task', () => {
    expect(workflowHandlers.sort()).toEqual(Object.keys(workflowFunctions).sort());
    expect(Object.keys(GRANTS_BY_FUNCTION).sort()).toEqual(Object.keys(workflowFunctions).sort());
  });

  it.each(workflowHandlers)('%s', async (key) => {
    // Prepare
    const { parts } = (await import(join(ROOT, 'functions', `${key}.ts`))) as { parts: Record<string, unknown> };
    const grants = GRANTS_BY_FUNCTION[key] ?? [];

    // Assess
    expect(grants.filter((grant) => !(grant in PART_OF_GRANT)), 'grants without a known part').toEqual([]);
    expect(Object.keys(parts).sort()).toEqual([...new Set(grants.map((grant) => PART_OF_GRANT[grant]))].sort());
  });
});

describe('a World without a part', () => {
  const config = parseConfig({
    globalClusterId: 'app-global',
    regions: { 'us-east-2': { dbClusterArn: 'arn:aws:rds:us-east-2:123456789012:cluster:app-use2', poolers: [] } },
  });

  it('refuses, naming the part, when a step calls a system its function was not packaged with', async () => {
    // Prepare
    const world = createAwsWorld({ config, region: 'us-east-2', clients: new AwsClientPool({}), parts: {}, telemetry: undefined, stateMachineArns: [] });

    // Act + Assess
    await expect(world.observeTopology()).rejects.toThrow(/packaged without the rds part/);
    await expect(world.runs.listRunning()).rejects.toThrow(InvalidConfigError);
    expect(() => world.trafficAdapters()).toThrow(/packaged without the traffic part/);
    expect(() => world.poolerTargets()).toThrow(/packaged without the eks part/);
  });

  it('refuses to create an SDK client that is not in the pool', () => {
    expect(() => new AwsClientPool({}).rds('us-east-2')).toThrow(/the rds client is not part of this function's bundle/);
  });
});
