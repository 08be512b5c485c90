/**
 * Strict option parsing for the CLI subcommands: unknown flags, missing values and stray arguments are
 * InvalidInputError with a message that names the flag (node:util parseArgs does the parsing).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { InvalidInputError } from '../core/errors.ts';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

export function parseOptions<T extends OptionSpec>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    // parseArgs' messages name the flag, e.g. "Unknown option '--live'".
    throw new InvalidInputError((error as Error).message, { cause: error });
  }
}

/** The value of a required string option, or InvalidInputError naming the flag. */
export function requireOption(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new InvalidInputError(`${flag} is required`);
  return value;
}
