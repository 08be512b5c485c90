/**
 * How the CLI reports an error: one line, `ErrorName: message`, with any line breaks in the message (a
 * validation error listing several fields, a wrapped cause) folded into "; ". Pure.
 */
import { describeError } from '../core/errors.ts';

/**
 * @example
 * process.stderr.write(`aurora-failover drill: ${oneLineError(error)}\n`);
 */
export function oneLineError(error: unknown): string {
  return oneLine(describeError(error));
}

/** `text` with every run of line breaks (and the indentation after them) replaced by "; ". */
export function oneLine(text: string): string {
  return text
    .trim()
    .split(/\s*[\r\n]+\s*/)
    .filter((line) => line !== '')
    .join('; ');
}
