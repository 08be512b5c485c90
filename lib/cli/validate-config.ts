/**
 * `node lib/cli/validate-config.ts <file> [--region <region>]`
 *
 * Validates a deployment config file. On success prints the normalized config as compact JSON on
 * stdout (what the serverless plugin bundles into every Lambda) and exits 0; otherwise prints the error, which
 * names every bad field, on stderr and exits 1. The serverless plugin runs this at package time.
 */
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../adapters/config-file.ts';
import { regionConfig } from '../core/config.ts';
import { describeError } from '../core/errors.ts';

async function main(argv: readonly string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: { region: { type: 'string' } },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) {
    process.stderr.write('usage: validate-config <config-file> [--region <region>]\n');
    return 2;
  }
  try {
    const config = await loadConfigFile(file);
    if (values.region) regionConfig(config, values.region);
    process.stdout.write(`${JSON.stringify(config)}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
