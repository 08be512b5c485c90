import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseConfig, type Config } from '../core/config.ts';
import { InvalidConfigError } from '../core/errors.ts';

/** Reads and validates a YAML (or JSON) config file. */
export async function loadConfigFile(path: string): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new InvalidConfigError(`cannot read config file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (error) {
    throw new InvalidConfigError(`${path} is not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  return parseConfig(raw, path);
}
