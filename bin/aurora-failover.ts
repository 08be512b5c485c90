#!/usr/bin/env node
/**
 * `aurora-failover <command> [options]`. Each command lives in lib/cli/<command>.ts and exports
 * `(argv) => Promise<exitCode>`; it is loaded only when run. To add a command, add one entry to COMMANDS.
 */
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
    process.stderr.write(`${name === undefined ? 'no command given' : `unknown command ${JSON.stringify(name)}`}\n${usage()}`);
    return 2;
  }
  return (await command.load())(rest);
}

process.exitCode = await main(process.argv.slice(2));
