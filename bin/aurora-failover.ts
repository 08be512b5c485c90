#!/usr/bin/env node
/**
 * `aurora-failover <command> [options]` (Node 24; bin/aurora-failover.mjs is the launcher that finds Node 24).
 * Each command lives in lib/cli/<command>.ts and exports `(argv) => Promise<exitCode>`; it is loaded only
 * when run. To add a command, add one entry to COMMANDS. Every error ends here as ONE line on stderr and
 * exit 2 (`AURORA_FAILOVER_DEBUG=1` adds the stack of an unexpected one).
 */
import { oneLineError } from '../lib/cli/errors.ts';

type CommandRunner = (argv: readonly string[]) => Promise<number>;

interface Command {
  readonly summary: string;
  readonly load: () => Promise<CommandRunner>;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  drill: { summary: 'run the local failover drill on real PostgreSQL + PgBouncer (127.0.0.1) and report what clients saw', load: async () => (await import('../lib/cli/drill.ts')).runDrillCli },
  plan: { summary: 'preview the reconcile plan from files (config, topology snapshot, pgbouncer.ini); changes nothing', load: async () => (await import('../lib/cli/plan.ts')).runPlanCli },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `usage: aurora-failover <command> [options]   (aurora-failover <command> --help for its options)\n\ncommands:\n${lines.join('\n')}\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return 0;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const problem = name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`;
    process.stderr.write(`aurora-failover: ${problem}; commands: ${Object.keys(COMMANDS).join(', ')} (aurora-failover --help)\n`);
    return 2;
  }
  try {
    return await (await command.load())(rest);
  } catch (error) {
    process.stderr.write(`aurora-failover ${name}: ${oneLineError(error)}\n`);
    if (process.env.AURORA_FAILOVER_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
