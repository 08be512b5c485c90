/**
 * `npm run bench`: the drill once per strategy (restart, reload, live), in transaction and in session pool
 * mode, with the same load and RDS events only on the old writer region's bus; then the live strategy in
 * transaction mode once per other event-delivery mode (all, new-writer, none); then scenario region-outage
 * (live, transaction) once per region pair, so both dead traffic control planes are measured (us-west-2 takes
 * the Global Accelerator API with it, us-east-1 Route 53's). Prints the comparison tables and writes every
 * run's JSON to bench-results.json (`{ "runs": [ <drill JSON>, ... ] }`).
 *
 *   npm run bench -- [--duration 20] [--scenario switchover] [--clients 4] [--tps 1000] [--json bench-results.json]
 *                    [--pool-modes transaction,session] [--event-deliveries all,new-writer,none]
 *                    [--outage-regions us-west-2,us-east-1/us-east-1,us-west-2] (empty: no region-outage rows)
 *                    [--outage-duration 64]
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runDrill } from '../lib/drill/run-drill.ts';
import { DrillEventDeliveries, DrillPoolModes, DrillScenarios, type BenchResults, type DrillEventDelivery, type DrillPoolMode, type DrillScenario, type DrillStrategy } from '../lib/drill/results.ts';
import { renderBenchTable } from '../lib/drill/bench-table.ts';
import { renderResultsTable } from '../lib/drill/report-text.ts';
import type { DrillRegions } from '../lib/drill/drill-config.ts';

const STRATEGIES: readonly DrillStrategy[] = ['restart', 'reload', 'live'];

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    scenario: { type: 'string', default: 'switchover' },
    clients: { type: 'string', default: '4' },
    tps: { type: 'string', default: '1000' },
    json: { type: 'string', default: 'bench-results.json' },
    'pool-modes': { type: 'string', default: 'transaction,session' },
    'event-deliveries': { type: 'string', default: 'all,new-writer,none' },
    'outage-regions': { type: 'string', default: 'us-west-2,us-east-1/us-east-1,us-west-2' },
    'outage-duration': { type: 'string', default: '64' },
  },
  strict: true,
});

const scenario = values.scenario as DrillScenario;
if (!DrillScenarios.includes(scenario)) throw new Error(`--scenario must be one of ${DrillScenarios.join(', ')}`);
const poolModes = values['pool-modes'].split(',') as DrillPoolMode[];
for (const mode of poolModes) if (!DrillPoolModes.includes(mode)) throw new Error(`--pool-modes: unknown pool mode ${mode}`);
const deliveries = values['event-deliveries'].split(',').filter((mode) => mode !== '') as DrillEventDelivery[];
for (const mode of deliveries) if (!DrillEventDeliveries.includes(mode)) throw new Error(`--event-deliveries: unknown mode ${mode}`);
const outageRegions = values['outage-regions'].split('/').filter((pair) => pair !== '').map((pair): DrillRegions => {
  const [writer, replica, ...rest] = pair.split(',');
  if (!writer || !replica || rest.length > 0 || writer === replica) throw new Error(`--outage-regions: each pair is writer,replica (two different regions), got ${pair}`);
  return [writer, replica];
});
const outageDurationMs = Number(values['outage-duration']) * 1000;
if (!Number.isInteger(outageDurationMs) || outageDurationMs < 20_000) throw new Error('--outage-duration must be a whole number of seconds, at least 20');

const runs: Array<{ strategy: DrillStrategy; poolMode: DrillPoolMode; eventDelivery: DrillEventDelivery }> = [
  ...poolModes.flatMap((poolMode) => STRATEGIES.map((strategy) => ({ strategy, poolMode, eventDelivery: 'old-writer' as const }))),
  ...deliveries.filter((mode) => mode !== 'old-writer').map((eventDelivery) => ({ strategy: 'live' as const, poolMode: 'transaction' as const, eventDelivery })),
];

const bench: BenchResults = { runs: [] };
for (const { strategy, poolMode, eventDelivery } of runs) {
  process.stderr.write(`bench: ${strategy}, ${poolMode} pooling, events to ${eventDelivery}, ${scenario}, ${values.duration} s ...\n`);
  const results = await runDrill({
    scenario,
    strategy,
    poolMode,
    eventDelivery,
    durationMs: Number(values.duration) * 1000,
    clientsPerRegion: Number(values.clients),
    targetWriteTps: Number(values.tps),
    handleProcessSignals: true,
  });
  process.stderr.write(`${renderResultsTable(results)}\n\n`);
  bench.runs.push(results);
}
for (const regions of outageRegions) {
  process.stderr.write(`bench: region-outage, ${regions[0]} dies (live, transaction pooling), ${outageDurationMs / 1000} s ...\n`);
  const results = await runDrill({
    scenario: 'region-outage',
    strategy: 'live',
    poolMode: 'transaction',
    regions,
    durationMs: outageDurationMs,
    clientsPerRegion: Number(values.clients),
    targetWriteTps: Number(values.tps),
    handleProcessSignals: true,
  });
  process.stderr.write(`${renderResultsTable(results)}\n\n`);
  bench.runs.push(results);
}
await writeFile(values.json, `${JSON.stringify(bench, null, 2)}\n`);
process.stdout.write(`${renderBenchTable(bench)}\n`);
process.stderr.write(`bench: wrote ${values.json}\n`);
