/**
 * `aurora-failover plan`: the reconcile Plan step run on files instead of AWS, for previews and support
 * cases. Reads the config, a topology snapshot (see lib/core/topology-snapshot.ts), each pooler
 * target's current pgbouncer.ini and optionally the traffic weights; prints the plan as JSON on stdout.
 * With --live it reads the same things from AWS and Kubernetes instead (plan-live.ts) and changes nothing.
 * Exit 0 with the plan; exit 2 with one line on stderr (and nothing on stdout) when the input is
 * invalid, the topology is not stable, a target cannot be planned, or anything else fails.
 */
import { describeIssues } from '../core/validation.ts';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as z from 'zod/mini';
import { loadConfigFile } from '../adapters/config-file.ts';
import { regionConfig, type Config, type RegionConfig } from '../core/config.ts';
import { InvalidInputError } from '../core/errors.ts';
import { readAliasEndpoints, redactSecrets, setAliasEndpoints } from '../core/pgbouncer-ini.ts';
import { planReconcile } from '../core/plan.ts';
import { endpointPinsFromConfig } from '../core/topology.ts';
import { topologyFromSnapshot } from '../core/topology-snapshot.ts';
import { TrafficKind, type PoolerTargetState, type TrafficTargetState } from '../core/types.ts';
import { parseOptions, requireOption } from './args.ts';
import { oneLineError } from './errors.ts';
// One direction only: plan.ts -> plan-live.ts (types here, the module itself loaded on --live).
import type { LivePlanDeps, PlanOutput } from './plan-live.ts';

export type { PlanOutput } from './plan-live.ts';

export const PLAN_USAGE = `usage: aurora-failover plan --config <file> --topology <file> --pooler-ini [<target>=]<file>... [--region <region>] [--traffic <file>] [--reveal-secrets]
       aurora-failover plan --live --config <file> [--region <region>]

  --config          deployment config (YAML or JSON), e.g. config/example.yml
  --topology        { "describeGlobalClusters": <aws rds describe-global-clusters output>,
                      "describeDBClusters": [<aws rds describe-db-clusters output>, one per member region] }
  --pooler-ini      the current pgbouncer.ini: one file for every target of the region, or
                    <target>=<file> per target (repeatable; a plain <file> covers the targets not named)
  --region          the region whose pooler targets are planned; default: the first region in the
                    config that has pooler targets
  --traffic         JSON array of current weights: [{ "kind": "global-accelerator"|"route53",
                    "region", "resource", "weight" }]; without it no traffic change is planned
  --reveal-secrets  print password values in the new pgbouncer.ini (redacted as **** by default)
  --live            read the topology, each pooler target's ConfigMap and the traffic weights from AWS
                    and EKS (default AWS credential chain) instead of files; only reads, changes nothing;
                    the new pgbouncer.ini is not printed
`;

/** Options that name files to read: --live reads the world instead, so it refuses them. */
const FILE_MODE_ONLY = ['topology', 'pooler-ini', 'traffic', 'reveal-secrets'] as const;

const trafficFileSchema = z.array(
  z.strictObject({
    kind: z.enum([TrafficKind.GlobalAccelerator, TrafficKind.Route53]),
    region: z.string().check(z.minLength(1)),
    resource: z.string().check(z.minLength(1)),
    weight: z.number().check(z.int(), z.gte(0), z.lte(255)),
  }),
);

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };

/** Injection points for tests of --live; the bin passes none. */
export type PlanCliDeps = LivePlanDeps;

export async function runPlanCli(argv: readonly string[], io: CliIo = processIo, deps: PlanCliDeps = {}): Promise<number> {
  try {
    const output = await buildPlanOutput(argv, deps);
    if (output === 'help') {
      io.stdout(PLAN_USAGE);
      return 0;
    }
    io.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  } catch (error) {
    // One line, exit 2, whatever the error (the CLI's contract; see bin/aurora-failover.ts).
    io.stderr(`aurora-failover plan: ${oneLineError(error)}${credentialsHint(error)}\n`);
    return 2;
  }
}

async function buildPlanOutput(argv: readonly string[], deps: PlanCliDeps): Promise<PlanOutput | 'help'> {
  const options = parseOptions(argv, {
    config: { type: 'string' },
    topology: { type: 'string' },
    'pooler-ini': { type: 'string', multiple: true },
    region: { type: 'string' },
    traffic: { type: 'string' },
    'reveal-secrets': { type: 'boolean' },
    live: { type: 'boolean' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (options.help) return 'help';
  const configPath = requireOption(options.config, '--config');
  if (options.live) {
    const conflicts = FILE_MODE_ONLY.filter((name) => options[name] !== undefined).map((name) => `--${name}`);
    if (conflicts.length > 0) throw new InvalidInputError(`--live reads the world itself and cannot be combined with ${conflicts.join(', ')}`);
    const config = await loadConfigFile(configPath);
    const region = options.region ?? defaultRegion(config);
    const { buildLivePlan } = await import('./plan-live.ts');
    return buildLivePlan(config, region, deps);
  }
  const topologyPath = requireOption(options.topology, '--topology');
  if (!options['pooler-ini']?.length) throw new InvalidInputError('--pooler-ini is required');

  const config = await loadConfigFile(configPath);
  const region = options.region ?? defaultRegion(config);
  const section = regionConfig(config, region);
  const topology = topologyFromSnapshot(await readJson(topologyPath, '--topology'), config.globalClusterId, new Date().toISOString(), endpointPinsFromConfig(config));
  const inis = await readPoolerInis(section, options['pooler-ini']);
  const trafficStates = options.traffic ? parseTrafficFile(await readJson(options.traffic, '--traffic'), options.traffic) : [];

  const poolerStates: PoolerTargetState[] = section.poolers.map((target) => {
    const ini = inis.get(target.name) as string;
    return {
      target: target.name,
      region,
      reloadStrategy: target.reloadStrategy,
      aliases: readAliasEndpoints(ini, [target.aliases.write, target.aliases.read]),
      version: createHash('sha256').update(ini).digest('hex').slice(0, 16),
    };
  });

  const plan = planReconcile({ topology, region, config, poolerStates, trafficStates });

  const poolers = plan.poolers.map((pooler) => {
    if (pooler.decision.decision === 'refuse') throw new InvalidInputError(`${pooler.target}: ${pooler.decision.reason}`);
    const ini = inis.get(pooler.target) as string;
    const newIni = pooler.changes.length > 0 ? setAliasEndpoints(ini, pooler.changes.map((change) => ({ alias: change.alias, endpoint: change.to }))) : ini;
    return {
      target: pooler.target,
      changes: pooler.changes.map((change) => ({ alias: change.alias, from: change.from, to: change.to })),
      ini: options['reveal-secrets'] ? newIni : redactSecrets(newIni),
    };
  });
  return {
    poolers,
    traffic: plan.traffic.changes.map((change) => ({ kind: change.kind, region: change.region, resource: change.resource, from: change.from, to: change.to })),
    decisions: plan.decisions.map((decision) => ({ step: decision.step, decision: decision.decision, reason: decision.reason })),
  };
}

/** The first region (in config order) that has pooler targets: the one a preview is usually about. */
function defaultRegion(config: Config): string {
  const region = Object.entries(config.regions).find(([, section]) => section.poolers.length > 0)?.[0];
  if (!region) throw new InvalidInputError('no region in the config has pooler targets; nothing to plan');
  return region;
}

/** Maps every target of the region to its ini text; `<target>=<file>` wins over a plain `<file>`. */
async function readPoolerInis(section: RegionConfig, values: readonly string[]): Promise<Map<string, string>> {
  const targetNames = section.poolers.map((target) => target.name);
  const perTarget = new Map<string, string>();
  let shared: string | undefined;
  for (const value of values) {
    const match = /^([a-z0-9][-a-z0-9]*)=(.+)$/.exec(value);
    if (match) {
      const [, name = '', path = ''] = match;
      if (!targetNames.includes(name)) throw new InvalidInputError(`--pooler-ini names target ${name}, which is not a pooler target of this region (${targetNames.join(', ') || 'none'})`);
      if (perTarget.has(name)) throw new InvalidInputError(`--pooler-ini gives target ${name} twice`);
      perTarget.set(name, path);
    } else {
      if (shared !== undefined) throw new InvalidInputError('--pooler-ini without a target name may be given once');
      shared = value;
    }
  }
  const inis = new Map<string, string>();
  for (const name of targetNames) {
    const path = perTarget.get(name) ?? shared;
    if (path === undefined) throw new InvalidInputError(`no --pooler-ini for target ${name}`);
    inis.set(name, await readText(path, '--pooler-ini'));
  }
  return inis;
}

function parseTrafficFile(raw: unknown, path: string): TrafficTargetState[] {
  const parsed = trafficFileSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error);
  throw new InvalidInputError(`${path} is not a traffic weights file: ${problems.join('; ')}`);
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidInputError(`cannot read ${flag} file ${path}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
}

async function readJson(path: string, flag: string): Promise<unknown> {
  const text = await readText(path, flag);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInputError(`${flag} file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

/** Missing AWS credentials: say where --live looks for them. */
function credentialsHint(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const names = [error, cause].map((candidate) => (candidate instanceof Error ? candidate.name : ''));
  return names.includes('CredentialsProviderError')
    ? ' (--live uses the default AWS credential provider chain: AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, or an instance/task role)'
    : '';
}

