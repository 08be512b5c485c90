/**
 * `aurora-failover drill`: the local failover drill (real PostgreSQL + PgBouncer on 127.0.0.1, the real
 * state machines). Prints a live progress line, then the timeline and the results table; writes the
 * numbers as JSON (--json) and a self-contained HTML report (--report). Exit 0 when every invariant holds,
 * 1 when one does not, 2 on invalid options or missing binaries.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';
import { MissingBinaryError } from '../local/binaries.ts';
import { runDrill, type DrillOptions } from '../drill/run-drill.ts';
import type { DrillRegions } from '../drill/drill-config.ts';
import { DrillEventDeliveries, DrillPoolModes, DrillScenarios, DrillStrategies, type DrillResults } from '../drill/results.ts';
import { renderProgressLine, renderResultsTable, renderTimeline } from '../drill/report-text.ts';
import { renderHtmlReport } from '../drill/report-html.ts';
import { parseOptions } from './args.ts';
import { oneLine } from './errors.ts';
import { checkOutputPaths, type OutputPath } from './output-paths.ts';

export const DRILL_USAGE = `usage: aurora-failover drill [options]

  --scenario switchover|failover|switchover-failback|region-outage
                                                       default switchover-failback
  --strategy live|reload|restart                       default live (how PgBouncer follows the writer)
  --pool-mode transaction|session                      default transaction
  --duration <seconds>                                 client load duration, default 30
  --clients <n>                                        clients per region, default 4
  --tps <n>                                            target write transactions/s, all regions, default 1000
  --event-delivery all|old-writer|new-writer|none      which regions' event buses get the RDS events,
                                                       default old-writer (the least favourable believable case)
  --event-delay-ms <n>                                 EventBridge-like delivery delay, default 2000
  --duplicate-events                                   deliver every RDS event twice
  --promotion-ms <n>                                   hold the database fenced, not yet promoted, at least n ms
                                                       (Aurora's switchover window is tens of seconds), default 0
  --lambda-latency-ms <n>                              start every Lambda invocation (workflow Task, intake, peer
                                                       prepare-for-switch) n ms late, like invoke overhead and
                                                       cold starts, default 0
  --regions <writer>,<replica>                         the two regions, default us-east-2,us-west-2
                                                       (region-outage: us-west-2,us-east-1; the writer region dies,
                                                       with the Global Accelerator API if it is us-west-2 and
                                                       Route 53's if it is us-east-1)
  --outage-at-ms <n>                                   region-outage: when the writer region dies, default
                                                       max(3000, 15% of the duration)
  --operator-delay-ms <n>                              region-outage: outage -> operator starts failover, default 1000
  --down-ms <n>                                        region-outage: failover done -> region returns, default 3000
  --max-rpo-lag-ms <n>                                 region-outage: the failover's maxRpoLagMs (default: none)
  --write-alias <name>                                 PgBouncer database name for writes, default appdb
  --read-alias <name>                                  PgBouncer database name for reads, default appdb_ro
  --json <file>                                        write the results as JSON
  --report <file.html>                                 write a self-contained HTML report with a chart
  --decisions <file.jsonl>                             write every workflow step's decisions
  --quiet                                              no progress line
`;

const OPTIONS = {
  scenario: { type: 'string' },
  strategy: { type: 'string' },
  'pool-mode': { type: 'string' },
  duration: { type: 'string' },
  clients: { type: 'string' },
  tps: { type: 'string' },
  'event-delivery': { type: 'string' },
  'event-delay-ms': { type: 'string' },
  'duplicate-events': { type: 'boolean' },
  'promotion-ms': { type: 'string' },
  'lambda-latency-ms': { type: 'string' },
  regions: { type: 'string' },
  'outage-at-ms': { type: 'string' },
  'operator-delay-ms': { type: 'string' },
  'down-ms': { type: 'string' },
  'max-rpo-lag-ms': { type: 'string' },
  'write-alias': { type: 'string' },
  'read-alias': { type: 'string' },
  json: { type: 'string' },
  report: { type: 'string' },
  decisions: { type: 'string' },
  quiet: { type: 'boolean' },
  help: { type: 'boolean' },
} as const;

export interface DrillCliOptions extends Omit<DrillOptions, 'onProgress' | 'onDecision' | 'handleProcessSignals'> {
  readonly json?: string;
  readonly report?: string;
  readonly decisions?: string;
  readonly quiet: boolean;
}

export function parseDrillOptions(argv: readonly string[]): DrillCliOptions | 'help' {
  const values = parseOptions(argv, OPTIONS);
  if (values.help) return 'help';
  const scenario = oneOf(values.scenario ?? 'switchover-failback', DrillScenarios, '--scenario');
  const outageOnly = { 'outage-at-ms': values['outage-at-ms'], 'operator-delay-ms': values['operator-delay-ms'], 'down-ms': values['down-ms'], 'max-rpo-lag-ms': values['max-rpo-lag-ms'] };
  for (const [flag, value] of Object.entries(outageOnly)) {
    if (value !== undefined && scenario !== 'region-outage') throw new InvalidInputError(`--${flag} applies only to --scenario region-outage`);
  }
  const durationMs = wholeNumber(values.duration ?? (scenario === 'region-outage' ? '64' : '30'), '--duration', 5, 3600) * 1000;
  const outageAtMs = values['outage-at-ms'] === undefined ? undefined : wholeNumber(values['outage-at-ms'], '--outage-at-ms', 500, 3_600_000);
  if (outageAtMs !== undefined && outageAtMs >= durationMs) throw new InvalidInputError(`--outage-at-ms ${outageAtMs} must be within --duration (${durationMs} ms)`);
  return {
    scenario,
    strategy: oneOf(values.strategy ?? 'live', DrillStrategies, '--strategy'),
    poolMode: oneOf(values['pool-mode'] ?? 'transaction', DrillPoolModes, '--pool-mode'),
    durationMs,
    clientsPerRegion: wholeNumber(values.clients ?? '4', '--clients', 1, 64),
    targetWriteTps: wholeNumber(values.tps ?? '1000', '--tps', 10, 20_000),
    eventDelivery: oneOf(values['event-delivery'] ?? 'old-writer', DrillEventDeliveries, '--event-delivery'),
    eventDelayMs: wholeNumber(values['event-delay-ms'] ?? '2000', '--event-delay-ms', 0, 600_000),
    duplicateEvents: values['duplicate-events'] ?? false,
    promotionMs: wholeNumber(values['promotion-ms'] ?? '0', '--promotion-ms', 0, 600_000),
    lambdaLatencyMs: wholeNumber(values['lambda-latency-ms'] ?? '0', '--lambda-latency-ms', 0, 10_000),
    quiet: values.quiet ?? false,
    ...(values.regions !== undefined ? { regions: parseRegions(values.regions) } : {}),
    ...(outageAtMs !== undefined ? { outageAtMs } : {}),
    ...(values['operator-delay-ms'] !== undefined ? { operatorDelayMs: wholeNumber(values['operator-delay-ms'], '--operator-delay-ms', 0, 600_000) } : {}),
    ...(values['down-ms'] !== undefined ? { downMs: wholeNumber(values['down-ms'], '--down-ms', 0, 600_000) } : {}),
    ...(values['max-rpo-lag-ms'] !== undefined ? { maxRpoLagMs: wholeNumber(values['max-rpo-lag-ms'], '--max-rpo-lag-ms', 0, 3_600_000) } : {}),
    ...aliasOptions(values['write-alias'], values['read-alias']),
    ...(values.json ? { json: values.json } : {}),
    ...(values.report ? { report: values.report } : {}),
    ...(values.decisions ? { decisions: values.decisions } : {}),
  };
}

export async function runDrillCli(argv: readonly string[]): Promise<number> {
  let options: DrillCliOptions | 'help';
  try {
    options = parseDrillOptions(argv);
  } catch (error) {
    process.stderr.write(`aurora-failover drill: ${oneLine((error as Error).message)} (aurora-failover drill --help lists the options)\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(DRILL_USAGE);
    return 0;
  }
  try {
    await checkOutputPaths(outputPaths(options));
    const results = await executeDrill(options);
    return results.invariants.every((invariant) => invariant.ok) ? 0 : 1;
  } catch (error) {
    if (error instanceof MissingBinaryError || error instanceof InvalidInputError) {
      process.stderr.write(`aurora-failover drill: ${oneLine(error.message)}\n`);
      return 2;
    }
    throw error;
  }
}

/** The files the options name, checked before the drill starts. */
function outputPaths(options: DrillCliOptions): OutputPath[] {
  return (['json', 'report', 'decisions'] as const).flatMap((key) => (options[key] ? [{ flag: `--${key}`, path: options[key] }] : []));
}

/** Runs the drill with a progress line, prints the report, writes the requested files. */
export async function executeDrill(options: DrillCliOptions): Promise<DrillResults> {
  const interactive = process.stderr.isTTY === true;
  const decisions = options.decisions ? await openJsonLines(options.decisions) : undefined;
  process.stderr.write(
    `drill: ${options.scenario}, strategy ${options.strategy}, ${options.poolMode} pooling, ${options.clientsPerRegion} clients/region, ` +
      `${options.targetWriteTps} writes/s, ${options.durationMs / 1000} s, RDS events to ${options.eventDelivery ?? 'old-writer'} bus(es) after ${options.eventDelayMs ?? 2000} ms` +
      `${options.duplicateEvents ? ' (twice)' : ''}${options.promotionMs ? `, promotion held ${options.promotionMs} ms` : ''}${options.lambdaLatencyMs ? `, every Lambda invocation ${options.lambdaLatencyMs} ms late` : ''}${options.regions ? `, regions ${options.regions.join(',')}` : ''} (servers on 127.0.0.1; Ctrl-C stops and cleans up)\n`,
  );
  let lastPrinted = 0;
  const results = await runDrill({
    ...options,
    handleProcessSignals: true,
    onProgress: options.quiet
      ? undefined
      : (progress) => {
          const line = renderProgressLine(progress);
          if (interactive) process.stderr.write(`\r${line}`);
          else if (progress.elapsedMs - lastPrinted >= 2_000) {
            lastPrinted = progress.elapsedMs;
            process.stderr.write(`${line}\n`);
          }
        },
    onDecision: decisions?.write,
  });
  if (interactive && !options.quiet) process.stderr.write('\n');
  await decisions?.close();
  process.stdout.write(`\n${renderTimeline(results)}\n\n${renderResultsTable(results)}\n`);
  if (options.json) await writeOutput(options.json, `${JSON.stringify(results, null, 2)}\n`);
  if (options.report) await writeOutput(options.report, renderHtmlReport(results));
  return results;
}

async function writeOutput(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
  process.stderr.write(`drill: wrote ${path}\n`);
}

async function openJsonLines(path: string) {
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path);
  return {
    write: (entry: Record<string, unknown>) => void stream.write(`${JSON.stringify(entry)}\n`),
    close: () => new Promise<void>((resolve) => stream.end(resolve)),
  };
}

// The editor's and the admin console's alias rule (letters, digits, _ . -), so a name it refuses fails here.
const ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;

function aliasOptions(write: string | undefined, read: string | undefined): { writeAlias?: string; readAlias?: string } {
  for (const [flag, value] of [['--write-alias', write], ['--read-alias', read]] as const) {
    if (value !== undefined && !ALIAS.test(value)) throw new InvalidInputError(`${flag} must be a PgBouncer database name (letters, digits, _ . -), got ${JSON.stringify(value).slice(0, 70)}`);
  }
  if (write !== undefined && write === (read ?? 'appdb_ro')) throw new InvalidInputError('--write-alias and --read-alias must differ');
  if (read !== undefined && read === (write ?? 'appdb')) throw new InvalidInputError('--write-alias and --read-alias must differ');
  return { ...(write !== undefined ? { writeAlias: write } : {}), ...(read !== undefined ? { readAlias: read } : {}) };
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;

/** `--regions writer,replica`: two distinct AWS region names. */
function parseRegions(value: string): DrillRegions {
  const parts = value.split(',').map((part) => part.trim());
  if (parts.length !== 2 || parts.some((part) => !REGION.test(part)) || parts[0] === parts[1]) {
    throw new InvalidInputError(`--regions must be two different AWS region names, writer first (e.g. us-west-2,us-east-1), got ${JSON.stringify(value).slice(0, 70)}`);
  }
  return [parts[0]!, parts[1]!];
}

function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new InvalidInputError(`${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

function wholeNumber(value: string, flag: string, min: number, max: number): number {
  const parsed = Number(value.replace(/s$/, ''));
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) throw new InvalidInputError(`${flag} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  return parsed;
}
