/**
 * The Lambdas' config: the validated, normalized config (serverless/failover-config.cjs) is bundled into
 * every function at package time through esbuild's `define` (custom.esbuild.define in serverless.yml),
 * so it has no size ceiling (Lambda environment variables have 4 KB). It is validated again at init by
 * the same zod schema (lib/core/config.ts). Kept apart from config-file.ts so no bundle carries a YAML parser.
 */
import { parseConfig, type Config } from '../core/config.ts';
import { InvalidConfigError } from '../core/errors.ts';

/** The identifier esbuild replaces with the config's JSON text (a string literal); undefined when not bundled. */
declare const __FAILOVER_CONFIG_JSON__: string | undefined;

/** The config JSON bundled at package time, or undefined when this code was not packaged by `sls package`. */
export function bundledConfigJson(): string | undefined {
  return typeof __FAILOVER_CONFIG_JSON__ === 'string' ? __FAILOVER_CONFIG_JSON__ : undefined;
}

/** The bundled config, validated; InvalidConfigError when none was bundled or it does not validate. */
export function loadDeployedConfig(json: string | undefined = bundledConfigJson()): Config {
  if (json === undefined) throw new InvalidConfigError('no config was bundled: package the service with `npm run package` (sls package), which validates config/<stage>.yml and bundles it');
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (error) {
    throw new InvalidConfigError('the bundled config is not valid JSON', { cause: error });
  }
  return parseConfig(raw, 'the bundled config');
}
