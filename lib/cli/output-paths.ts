/**
 * Checks, before a long run starts, that every output file the user named can be written, so a typo in
 * `--report` fails in a second with one line instead of after the whole drill. Changes nothing: an
 * existing file is opened without truncating, a missing directory is not created (the writer creates it
 * later), and a probe file is never left behind.
 */
import { constants } from 'node:fs';
import { access, open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.ts';

export interface OutputPath {
  /** The option that named it, e.g. `--report`. */
  readonly flag: string;
  readonly path: string;
}

/**
 * Throws InvalidInputError naming the flag and the reason when one of `outputs` cannot be written or two
 * options name the same file.
 *
 * @example
 * await checkOutputPaths([{ flag: '--json', path: 'out/drill.json' }, { flag: '--report', path: 'out/drill.html' }]);
 */
export async function checkOutputPaths(outputs: readonly OutputPath[]): Promise<void> {
  const seen = new Map<string, string>();
  for (const { flag, path } of outputs) {
    const absolute = resolve(path);
    const earlier = seen.get(absolute);
    if (earlier !== undefined) throw new InvalidInputError(`${flag} ${path}: the same file as ${earlier}`);
    seen.set(absolute, flag);
    const problem = await whyNotWritable(absolute);
    if (problem) throw new InvalidInputError(`${flag} ${path}: cannot write there (${problem})`);
  }
}

async function whyNotWritable(path: string): Promise<string | undefined> {
  const existing = await statOrUndefined(path);
  if (existing) {
    if (existing.isDirectory()) return 'it is a directory';
    try {
      // r+ opens for writing without truncating, so the check leaves the file as it was.
      await (await open(path, 'r+')).close();
      return undefined;
    } catch (error) {
      return describeFsError(error);
    }
  }
  // A new file: the nearest existing ancestor must be a directory we can create entries in.
  let ancestor = dirname(path);
  let ancestorStat = await statOrUndefined(ancestor);
  while (!ancestorStat && dirname(ancestor) !== ancestor) {
    ancestor = dirname(ancestor);
    ancestorStat = await statOrUndefined(ancestor);
  }
  if (!ancestorStat) return `no existing directory above it`;
  if (!ancestorStat.isDirectory()) return `${ancestor} is not a directory`;
  try {
    await access(ancestor, constants.W_OK | constants.X_OK);
    return undefined;
  } catch (error) {
    return `${ancestor}: ${describeFsError(error)}`;
  }
}

async function statOrUndefined(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return undefined; // a file in the middle of the path: the ancestor walk reports it
    throw new InvalidInputError(`cannot inspect ${path}: ${describeFsError(error)}`, { cause: error });
  }
}

function describeFsError(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EROFS: 'read-only file system',
    EISDIR: 'it is a directory',
    ENOTDIR: 'a part of the path is not a directory',
  };
  return (code && reasons[code]) ?? message;
}
