/**
 * Each workflow Lambda bundles only the AWS parts it declares (functions/<key>.ts `parts`); its IAM role
 * (serverless/function-roles.cjs GRANTS_BY_FUNCTION) says which systems the step calls. The two must
 * agree: a part without a grant is dead weight, a grant without a part is a step that fails at run time
 * with "packaged without the ... part".
 */
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { awsWorld, createAwsWorld } from '../../lib/workflow/aws-world.ts';
import { peersPart } from '../../lib/workflow/aws-parts/peers.ts';
import { rdsPart } from '../../lib/workflow/aws-parts/rds.ts';
import { AwsClientPool } from '../../lib/adapters/aws-client-pool.ts';
import { parseConfig } from '../../lib/core/config.ts';
import { InvalidConfigError } from '../../lib/core/errors.ts';
import { workflowFunctions } from '../../lib/workflow/workflow-tasks.ts';

const ROOT = join(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const { GRANTS_BY_FUNCTION } = require(join(ROOT, 'serverless/function-roles.cjs')) as { GRANTS_BY_FUNCTION: Record<string, string[]> };

/**
 * Grant (serverless/function-roles.cjs) -> the AWS part (lib/workflow/aws-parts/) that makes those calls,
 * or null for a call the handler makes itself, outside its World (prepare-for-switch's StartExecution).
 */
const PART_OF_GRANT: Record<string, string | null> = {
  listRunningExecutions: 'sfn',
  readTopology: 'rds',
  readMemberClusters: 'rds',
  readGlobalCluster: 'rds',
  moveWriter: 'rds',
  reachPoolers: 'eks',
  readPoolers: 'eks',
  readTraffic: 'traffic',
  writeTraffic: 'traffic',
  readRpoLag: 'cloudwatch',
  notify: 'sns',
  invokePeers: 'peers',
  startFollowRun: null,
};

/** Handlers that are not a Task of either state machine but still build a World from their parts. */
const OTHER_WORLD_HANDLERS = ['prepare-for-switch'];

const workflowHandlers = readdirSync(join(ROOT, 'functions'))
  .filter((file) => file.endsWith('.ts') && file !== 'on-rds-event.ts')
  .map((file) => file.replace(/\.ts$/, ''));

describe('workflow functions bundle exactly the AWS parts their roles allow', () => {
  it('has one handler and one grant list per workflow task', () => {
    expect(workflowHandlers.sort()).toEqual([...Object.keys(workflowFunctions), ...OTHER_WORLD_HANDLERS].sort());
    expect(Object.keys(GRANTS_BY_FUNCTION).sort()).toEqual([...Object.keys(workflowFunctions), ...OTHER_WORLD_HANDLERS].sort());
  });

  it.each(workflowHandlers)('%s', async (key) => {
    // Prepare
    const { parts } = (await import(join(ROOT, 'functions', `${key}.ts`))) as { parts: Record<string, unknown> };
    const grants = GRANTS_BY_FUNCTION[key] ?? [];

    // Assess
    expect(grants.filter((grant) => !(grant in PART_OF_GRANT)), 'grants without a known part').toEqual([]);
    expect(Object.keys(parts).sort()).toEqual([...new Set(grants.flatMap((grant) => PART_OF_GRANT[grant] ?? []))].sort());
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

  describe('the peer stacks', () => {
    afterEach(() => {
      vi.unstubAllEnvs();
      vi.unstubAllGlobals();
    });

    function deployed(peerFunctionName: string | undefined): void {
      // What esbuild's define puts in a bundle; unbundled, the identifier is looked up on globalThis.
      vi.stubGlobal('__FAILOVER_CONFIG_JSON__', JSON.stringify(config));
      vi.stubEnv('AWS_REGION', 'us-east-2');
      vi.stubEnv('PEER_FUNCTION_NAME', peerFunctionName);
    }

    it('refuses, naming the part, when PEER_FUNCTION_NAME is set but the function has no peers part', async () => {
      // Prepare
      deployed('aurora-global-failover-ci-prepare-for-switch');

      // Act + Assess: never a World that silently skips the peers
      await expect(awsWorld({ rds: rdsPart })).rejects.toThrow(InvalidConfigError);
      await expect(awsWorld({ rds: rdsPart })).rejects.toThrow(/packaged without the peers part/);
    });

    it('reaches the peers with the part and the name, and has none without the name', async () => {
      // Prepare
      deployed('aurora-global-failover-ci-prepare-for-switch');
      const withPeers = await awsWorld({ peers: peersPart });
      deployed(undefined);
      const withoutName = await awsWorld({ peers: peersPart });

      // Assess
      expect(withPeers.peers).toBeDefined();
      expect(withoutName.peers).toBeUndefined();
    });
  });
});
