/**
 * Builds the POSIX shell scripts the `live` strategy runs through the Kubernetes exec API in each
 * PgBouncer pod's admin container (see deploy/kubernetes/pgbouncer.yaml), and parses their result line.
 * Pure: no I/O. The admin container's environment supplies what the scripts must not carry in argv
 * (argv reaches the API server's audit log): PGHOST/PGPORT/PGUSER/PGPASSWORD for the admin console and
 * PGBOUNCER_CONFIG_DIR, the writable emptyDir PgBouncer reads its ini from. The new ini (it may hold
 * passwords) arrives on stdin and is never echoed.
 */
import { UnsafeValueError } from './errors.ts';
import { assertSafeEndpoint, formatEndpoint, type Endpoint } from './endpoint.ts';

/** Prefix of the one machine-readable line every script prints last. */
export const RESULT_MARKER = 'aurora-failover-result:';

const ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const FILE_NAME = /^[-._a-zA-Z0-9]{1,253}$/;

export interface LiveSwitchScriptInput {
  /** Name of the ini file inside PGBOUNCER_CONFIG_DIR (the ConfigMap key). */
  readonly fileName: string;
  /** Byte length of the ini sent on stdin: a truncated stdin is refused before anything is replaced. */
  readonly iniBytes: number;
  readonly writeAlias: string;
  readonly readAlias: string;
  /** Where `SHOW DATABASES` must show each alias after RELOAD; null = not checked (alias absent). */
  readonly expectedWrite: Endpoint | null;
  readonly expectedRead: Endpoint | null;
  /** PAUSE the write alias around RELOAD: only in transaction pool mode (session mode would wait for clients). */
  readonly pauseWrites: boolean;
  /** Bound for each admin console command, PAUSE included. */
  readonly commandTimeoutSeconds: number;
}

export interface ScriptResult {
  readonly ok: boolean;
  /** `switched` | `paused` | `resumed` | `checked` on success; the failing step otherwise. */
  readonly status: string;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * Writes stdin atomically over the ini (temp file + rename in the same dir), PAUSEs the write alias,
 * RELOADs, checks `SHOW DATABASES`, RESUMEs. The EXIT trap resumes on every path, also when PAUSE
 * itself timed out (PgBouncer keeps pausing after the admin client is gone).
 *
 * @example
 * buildLiveSwitchScript({ fileName: 'pgbouncer.ini', iniBytes: 512, writeAlias: 'appdb', readAlias: 'appdb_ro',
 *   expectedWrite: { host: 'w.example.com', port: 5432 }, expectedRead: { host: 'r.example.com', port: 5432 },
 *   pauseWrites: true, commandTimeoutSeconds: 10 });
 * // -> 'set -u\n...' ; run as ['sh', '-c', script] with the ini on stdin
 */
export function buildLiveSwitchScript(input: LiveSwitchScriptInput): string {
  const fileName = safe(input.fileName, FILE_NAME, 'fileName');
  const writeAlias = safe(input.writeAlias, ALIAS, 'aliases.write');
  const readAlias = safe(input.readAlias, ALIAS, 'aliases.read');
  const timeout = positiveInteger(input.commandTimeoutSeconds, 'commandTimeoutSeconds');
  const bytes = nonNegativeInteger(input.iniBytes, 'iniBytes');
  const expectWrite = input.expectedWrite ? formatEndpoint(assertSafeEndpoint(input.expectedWrite, 'expectedWrite')) : '';
  const expectRead = input.expectedRead ? formatEndpoint(assertSafeEndpoint(input.expectedRead, 'expectedRead')) : '';
  return [
    ...prelude(timeout),
    `write_alias=${quote(writeAlias)}`,
    `read_alias=${quote(readAlias)}`,
    `file="$dir/"${quote(fileName)}`,
    'tmp="$dir/.aurora-failover.$$.tmp"',
    'paused=0',
    'finish() {',
    '  code=$?',
    // The error file goes too: left behind it would sit in PgBouncer's config dir and be shown by a later run.
    '  rm -f "$tmp" "$dir/.aurora-failover.err"',
    // Resume on every exit, including a PAUSE that timed out; "not paused" is fine.
    '  if [ "$paused" = 1 ]; then admin "RESUME $write_alias" >/dev/null 2>&1 || true; fi',
    '  exit $code',
    '}',
    'trap finish EXIT',
    "trap 'exit 143' INT TERM HUP",
    'umask 077',
    'cat > "$tmp" || fail write-file',
    `[ "$(wc -c < "$tmp" | tr -d ' ')" = ${quote(String(bytes))} ] || fail short-stdin`,
    'mv -f "$tmp" "$file" || fail write-file',
    ...(input.pauseWrites ? ['paused=1', 'admin "PAUSE $write_alias" >/dev/null 2>"$dir/.aurora-failover.err" || fail pause "exit=$?"'] : []),
    'admin "RELOAD" >/dev/null 2>"$dir/.aurora-failover.err" || fail reload "exit=$?"',
    'rows=$(admin "SHOW DATABASES" 2>"$dir/.aurora-failover.err") || fail show-databases "exit=$?"',
    'route() { printf \'%s\\n\' "$rows" | awk -F\'|\' -v name="$1" \'$1 == name { print $2 ":" $3; exit }\'; }',
    'write_now=$(route "$write_alias")',
    'read_now=$(route "$read_alias")',
    ...(expectWrite ? [`[ "$write_now" = ${quote(expectWrite)} ] || fail write-alias-not-switched "now=$write_now"`] : []),
    ...(expectRead ? [`[ "$read_now" = ${quote(expectRead)} ] || fail read-alias-not-switched "now=$read_now"`] : []),
    'if [ "$paused" = 1 ]; then admin "RESUME $write_alias" >/dev/null 2>"$dir/.aurora-failover.err" || fail resume "exit=$?"; paused=0; fi',
    `echo "${RESULT_MARKER} status=switched write=$write_now read=$read_now paused=${input.pauseWrites ? 1 : 0}"`,
    '',
  ].join('\n');
}

/** `PAUSE <alias>` (tolerating "already paused") or `RESUME <alias>` (tolerating "not paused"). */
export function buildAdminCommandScript(command: 'PAUSE' | 'RESUME', alias: string, commandTimeoutSeconds: number): string {
  const name = safe(alias, ALIAS, 'alias');
  const timeout = positiveInteger(commandTimeoutSeconds, 'commandTimeoutSeconds');
  const tolerated = command === 'PAUSE' ? 'already suspended/paused' : 'is not paused';
  const status = command === 'PAUSE' ? 'paused' : 'resumed';
  return [
    ...prelude(timeout),
    // exit=124 (coreutils) or 143 (busybox) means the bound ran out: a PAUSE that timed out keeps pausing.
    `out=$(admin ${quote(`${command} ${name}`)} 2>&1) || { code=$?; case "$out" in *${quote(tolerated)}*) ;; *) fail ${command.toLowerCase()} "exit=$code" ;; esac; }`,
    `echo "${RESULT_MARKER} status=${status} alias=${name}"`,
    '',
  ].join('\n');
}

/** Read-only: where `SHOW DATABASES` routes the two aliases now. */
export function buildShowRoutesScript(writeAlias: string, readAlias: string, commandTimeoutSeconds: number): string {
  const write = safe(writeAlias, ALIAS, 'aliases.write');
  const read = safe(readAlias, ALIAS, 'aliases.read');
  return [
    ...prelude(positiveInteger(commandTimeoutSeconds, 'commandTimeoutSeconds')),
    'rows=$(admin "SHOW DATABASES") || fail show-databases',
    `write_now=$(printf '%s\\n' "$rows" | awk -F'|' -v name=${quote(write)} '$1 == name { print $2 ":" $3; exit }')`,
    `read_now=$(printf '%s\\n' "$rows" | awk -F'|' -v name=${quote(read)} '$1 == name { print $2 ":" $3; exit }')`,
    `echo "${RESULT_MARKER} status=checked write=$write_now read=$read_now"`,
    '',
  ].join('\n');
}

/**
 * The last result line of a script's stdout, as fields. A missing line (script killed, wrong image)
 * is a failure with status `no-result`.
 */
export function parseScriptResult(stdout: string): ScriptResult {
  const line = stdout
    .split('\n')
    .map((text) => text.trim())
    .filter((text) => text.startsWith(RESULT_MARKER))
    .at(-1);
  if (!line) return { ok: false, status: 'no-result', fields: {} };
  const fields: Record<string, string> = {};
  for (const token of line.slice(RESULT_MARKER.length).trim().split(/\s+/)) {
    const at = token.indexOf('=');
    if (at > 0) fields[token.slice(0, at)] = token.slice(at + 1);
  }
  const status = fields.status ?? 'no-result';
  return { ok: status !== 'failed' && status !== 'no-result', status: status === 'failed' ? (fields.step ?? 'failed') : status, fields };
}

/** Shared head: strict mode, the config dir from the container env, a bounded admin console helper. */
function prelude(timeoutSeconds: number): string[] {
  return [
    'set -u',
    'dir="${PGBOUNCER_CONFIG_DIR:-}"',
    `fail() { echo "${RESULT_MARKER} status=failed step=$1 \${2:-}"; [ -s "\${dir:-/nonexistent}/.aurora-failover.err" ] && head -c 300 "$dir/.aurora-failover.err" >&2; exit 1; }`,
    '[ -n "$dir" ] && [ -d "$dir" ] || fail no-config-dir',
    // -X: no psqlrc; -A -t: unaligned rows "name|host|port|..."; the connection comes from PG* env vars.
    `admin() { timeout ${timeoutSeconds} psql -X -q -A -t -v ON_ERROR_STOP=1 -d pgbouncer -c "$1"; }`,
  ];
}

function safe(value: string, pattern: RegExp, field: string): string {
  if (!pattern.test(value)) throw new UnsafeValueError(`${field} is not safe in a shell script: ${JSON.stringify(value).slice(0, 40)}`);
  return value;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 1) throw new UnsafeValueError(`${field} must be a positive integer`);
  return value;
}

function nonNegativeInteger(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) throw new UnsafeValueError(`${field} must be a non-negative integer`);
  return value;
}

/** Single-quotes for sh; the validators above already exclude quotes, this is defence in depth. */
function quote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
