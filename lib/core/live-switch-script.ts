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
import { consoleIdentifier } from './pgbouncer-console.ts';
import type { SettingChange } from './pgbouncer-ini.ts';

/** Prefix of the one machine-readable line every script prints last. */
export const RESULT_MARKER = 'aurora-failover-result:';

const ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
// PgBouncer setting names: letters, digits, underscores.
const SETTING_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
const FILE_NAME = /^[-._a-zA-Z0-9]{1,253}$/;

/** How the write alias is held while the file is replaced and RELOADed. */
export const LiveHold = {
  /** Transaction pool mode: `PAUSE` waits for transactions in flight, then holds new ones; nothing fails. */
  Pause: 'pause',
  /**
   * Session pool mode: `KILL` ends every session of the alias once (PAUSE would wait for clients to leave) and
   * holds new client connections until `RESUME`. Skipped when the alias is already held (the workflow's
   * pauseWrites sent it before the fence): a second KILL would end the sessions waiting for RESUME too.
   */
  Kill: 'kill',
  /** Statement mode or no hold wanted: RELOAD only. */
  None: 'none',
} as const;
export type LiveHold = (typeof LiveHold)[keyof typeof LiveHold];

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
  /** PAUSE the write alias around RELOAD (transaction pool mode). Ignored when `hold` is given. */
  readonly pauseWrites?: boolean;
  /** How to hold the write alias; default `pause` when pauseWrites, else `none`. */
  readonly hold?: LiveHold;
  /**
   * Every `[pgbouncer]` setting of the new file (effectiveSettings): after RELOAD, SHOW CONFIG must show each one
   * as the file says it (the same text, or the same number: `01750` shows as `1000`), or the file is rolled back.
   * A setting the file does not set may keep its running value or go back to its default, nothing else. Judged
   * against the new file, not the running config: a pod runs the copy it made at start (a later ConfigMap edit
   * restarts nothing) and an admin console SET changes it too. Secret values never enter the script.
   */
  readonly expectedSettings?: readonly SettingChange[];
  /** Bound for each admin console command, PAUSE included. */
  readonly commandTimeoutSeconds: number;
}

export interface ScriptResult {
  readonly ok: boolean;
  /** `switched` | `paused` | `killed` | `resumed` | `checked` on success; the failing step otherwise. */
  readonly status: string;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * Writes stdin atomically over the ini (temp file + rename in the same dir, the old file kept aside), holds the
 * write alias (PAUSE or KILL), RELOADs, checks `SHOW DATABASES` routes and `SHOW CONFIG` settings, RESUMEs.
 * On any failure after the file was replaced it puts the old file back and RELOADs (RELOAD answers success
 * even when PgBouncer stopped loading at a bad value), then RESUMEs. The EXIT trap does both on every path:
 * failures, a PAUSE that timed out (PgBouncer keeps pausing after the admin client is gone), HUP/INT/TERM.
 * SIGPIPE is ignored and the result line is printed only after RESUME: an exec whose stdout reader is gone
 * can no longer kill the script between PAUSE and RESUME.
 *
 * @example
 * buildLiveSwitchScript({ fileName: 'pgbouncer.ini', iniBytes: 512, writeAlias: 'appdb', readAlias: 'appdb_ro',
 *   expectedWrite: { host: 'w.example.com', port: 5432 }, expectedRead: { host: 'r.example.com', port: 5432 },
 *   hold: 'pause', commandTimeoutSeconds: 10 });
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
  const hold: LiveHold = input.hold ?? (input.pauseWrites ? LiveHold.Pause : LiveHold.None);
  const changes = settingLines(input.expectedSettings ?? []);
  const resume = quote(`RESUME ${consoleIdentifier(writeAlias)}`);
  return [
    ...prelude(timeout),
    `write_alias=${quote(writeAlias)}`,
    `read_alias=${quote(readAlias)}`,
    `file="$dir/"${quote(fileName)}`,
    'tmp="$dir/.aurora-failover.$$.tmp"',
    'backup="$dir/.aurora-failover.$$.old"',
    `changes=${quote(changes)}`,
    "held=0 replaced=0 verified=0 login_retry=''",
    `restore_login_retry() { if [ -n "$login_retry" ]; then admin "SET server_login_retry = '$login_retry'" >/dev/null 2>&1 || result="$result login-retry-restored=0"; login_retry=''; fi; }`,
    'on_exit() {',
    // Roll back before RESUME: held writes must not reach a half-loaded PgBouncer.
    '  if [ "$replaced" = 1 ] && [ "$verified" = 0 ]; then',
    '    if mv -f "$backup" "$file" && admin "RELOAD" >/dev/null 2>&1; then result="$result rolled-back=1"; else result="$result rolled-back=0"; fi',
    '  fi',
    // Resume on every exit, including a PAUSE that timed out; "not paused" is fine.
    `  if [ "$held" = 1 ]; then admin ${resume} >/dev/null 2>&1 || result="$result resumed=0"; fi`,
    '  restore_login_retry',
    '  rm -f "$tmp" "$backup"',
    '}',
    'umask 077',
    'cat > "$tmp" || fail write-file',
    `[ "$(wc -c < "$tmp" | tr -d ' ')" = ${quote(String(bytes))} ] || fail short-stdin`,
    'config_before=$(table "SHOW CONFIG" 2>"$err") || fail show-config "exit=$?"',
    ...holdLines(hold, writeAlias),
    'cp -p "$file" "$backup" 2>"$err" || fail backup-file',
    'mv -f "$tmp" "$file" || fail write-file',
    'replaced=1',
    'admin "RELOAD" >/dev/null 2>"$err" || fail reload "exit=$?"',
    'rows=$(table "SHOW DATABASES" 2>"$err") || fail show-databases "exit=$?"',
    'write_row=$(route "$write_alias")',
    'write_now=${write_row%:*}',
    'read_row=$(route "$read_alias")',
    'read_now=${read_row%:*}',
    ...(expectWrite ? [`[ "$write_now" = ${quote(expectWrite)} ] || fail write-alias-not-switched "now=$write_now"`] : []),
    ...(expectRead ? [`[ "$read_now" = ${quote(expectRead)} ] || fail read-alias-not-switched "now=$read_now"`] : []),
    'config_after=$(table "SHOW CONFIG" 2>"$err") || fail show-config "exit=$?"',
    'unapplied=$(settings_not_applied "$config_before" "$config_after")',
    '[ -z "$unapplied" ] || fail setting-not-applied "key=$unapplied"',
    'verified=1',
    ...(hold === LiveHold.Kill ? LOGIN_RETRY_ZERO : []),
    `if [ "$held" = 1 ]; then admin ${resume} >/dev/null 2>"$err" || fail resume "exit=$?"; held=0; fi`,
    ...(hold === LiveHold.Kill ? [`wait_for_held_clients ${quote(writeAlias)}`, 'restore_login_retry'] : []),
    `result="${RESULT_MARKER} status=switched write=$write_now read=$read_now paused=${hold === LiveHold.None ? 0 : 1} hold=${hold}"`,
    '',
  ].join('\n');
}

/**
 * `PAUSE <alias>` (tolerating "already paused"), `RESUME <alias>` (tolerating "not paused"), or `KILL <alias>`
 * (session pool mode: skipped when the alias is already held, so sessions waiting for RESUME are not ended twice).
 */
export function buildAdminCommandScript(command: 'PAUSE' | 'RESUME' | 'KILL', alias: string, commandTimeoutSeconds: number): string {
  const name = safe(alias, ALIAS, 'alias');
  const timeout = positiveInteger(commandTimeoutSeconds, 'commandTimeoutSeconds');
  const text = quote(`${command} ${consoleIdentifier(name)}`);
  if (command === 'KILL') {
    return [
      ...prelude(timeout),
      'rows=$(table "SHOW DATABASES" 2>"$err") || fail show-databases "exit=$?"',
      `row=$(route ${quote(name)})`,
      '[ -n "$row" ] || fail no-such-alias',
      `if [ "\${row##*:}" = 1 ]; then result="${RESULT_MARKER} status=killed alias=${name} already=1"; exit 0; fi`,
      `out=$(admin ${text} 2>&1) || { code=$?; fail kill "exit=$code"; }`,
      `result="${RESULT_MARKER} status=killed alias=${name} already=0"`,
      '',
    ].join('\n');
  }
  const tolerated = command === 'PAUSE' ? 'already suspended/paused' : 'is not paused';
  const status = command === 'PAUSE' ? 'paused' : 'resumed';
  return [
    ...prelude(timeout),
    // exit=124 (coreutils) or 143 (busybox) means the bound ran out: a PAUSE that timed out keeps pausing.
    `out=$(admin ${text} 2>&1) || { code=$?; case "$out" in *${quote(tolerated)}*) ;; *) fail ${command.toLowerCase()} "exit=$code" ;; esac; }`,
    `result="${RESULT_MARKER} status=${status} alias=${name}"`,
    '',
  ].join('\n');
}

/** Read-only: where `SHOW DATABASES` routes the two aliases now, and whether the write alias is held (paused=1). */
export function buildShowRoutesScript(writeAlias: string, readAlias: string, commandTimeoutSeconds: number): string {
  const write = safe(writeAlias, ALIAS, 'aliases.write');
  const read = safe(readAlias, ALIAS, 'aliases.read');
  return [
    ...prelude(positiveInteger(commandTimeoutSeconds, 'commandTimeoutSeconds')),
    'rows=$(table "SHOW DATABASES" 2>"$err") || fail show-databases "exit=$?"',
    `write_row=$(route ${quote(write)})`,
    `read_row=$(route ${quote(read)})`,
    `result="${RESULT_MARKER} status=checked write=\${write_row%:*} read=\${read_row%:*} paused=\${write_row##*:}"`,
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

/**
 * Shared head: strict mode, the config dir from the container env, bounded admin console helpers, and the exit
 * path. Output discipline: a step never prints; `fail` only records the result line and exits, and the EXIT
 * trap runs the script's `on_exit` (rollback, RESUME) before it prints that line. SIGPIPE is ignored, so a
 * closed stdout makes the final printf fail instead of killing the script; HUP/INT/TERM exit through the trap.
 */
function prelude(timeoutSeconds: number): string[] {
  return [
    'set -u',
    'dir="${PGBOUNCER_CONFIG_DIR:-}"',
    'err="${dir:-/nonexistent}/.aurora-failover.err"',
    "result=''",
    'on_exit() { :; }',
    'finish() {',
    '  code=$?',
    "  trap '' HUP INT TERM",
    '  on_exit',
    `  [ -n "$result" ] || result="${RESULT_MARKER} status=failed step=exit-$code"`,
    // The error file goes too: left behind it would sit in PgBouncer's config dir and be shown by a later run.
    '  [ -s "$err" ] && head -c 300 "$err" >&2',
    '  rm -f "$err"',
    "  printf '%s\\n' \"$result\" 2>/dev/null",
    '  exit $code',
    '}',
    'trap finish EXIT',
    "trap '' PIPE",
    "trap 'exit 129' HUP",
    "trap 'exit 130' INT",
    "trap 'exit 143' TERM",
    `fail() { result="${RESULT_MARKER} status=failed step=$1 \${2:-}"; exit 1; }`,
    '[ -n "$dir" ] && [ -d "$dir" ] || fail no-config-dir',
    // -X: no psqlrc; -A: unaligned; the connection comes from PG* env vars. `admin` prints bare rows; `table`
    // adds the header line, so columns are found by name (they differ between PgBouncer versions), separated
    // by the unit separator (\037), which no name, host or setting contains.
    "sep=$(printf '\\037')",
    `admin() { timeout ${timeoutSeconds} psql -X -q -A -t -v ON_ERROR_STOP=1 -d pgbouncer -c "$1"; }`,
    `table() { timeout ${timeoutSeconds} psql -X -q -A -F "$sep" -P footer=off -v ON_ERROR_STOP=1 -d pgbouncer -c "$1"; }`,
    // host:port:paused of one alias in $rows (SHOW DATABASES); empty when PgBouncer has no such database.
    "route() { printf '%s\\n' \"$rows\" | awk -F \"$sep\" -v name=\"$1\" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c[\"name\"] == name { print $c[\"host\"] \":\" $c[\"port\"] \":\" $c[\"paused\"]; exit }'; }",
    // The first setting that is not as the file says: one the file sets ($changes: mode<TAB>key<TAB>value lines)
    // whose SHOW CONFIG value differs (mode default: differs from its default; secret: present, not compared),
    // or one the file does not set that moved away from both its old value and its default.
    `settings_not_applied() { AF_BEFORE="$1" AF_AFTER="$2" AF_CHANGES="\${changes:-}" awk -F "$sep" '${SETTINGS_AWK}' </dev/null; }`,
  ];
}

const SETTINGS_AWK = [
  'function load(text, value, dflt,   n, i, j, c, lines, f, kc, vc, dc) {',
  '  n = split(text, lines, "\\n")',
  '  for (i = 1; i <= n; i++) {',
  '    c = split(lines[i], f, FS)',
  '    if (i == 1) { for (j = 1; j <= c; j++) { if (f[j] == "key") kc = j; if (f[j] == "value") vc = j; if (f[j] == "default") dc = j } continue }',
  '    if (lines[i] == "") continue',
  '    value[f[kc]] = f[vc]; dflt[f[kc]] = f[dc]',
  '  }',
  '}',
  // An unsigned integer in `base` (8 or 16), -1 when `s` is not one; awk versions differ on "0x10" + 0.
  'function based(s, base,   i, d, n) {',
  '  if (s == "") return -1',
  '  n = 0',
  '  for (i = 1; i <= length(s); i++) { d = index("0123456789abcdef", substr(s, i, 1)) - 1; if (d < 0 || d >= base) return -1; n = n * base + d }',
  '  return n',
  '}',
  // Whether the text `want` (a file value or a default) reads as the value SHOW CONFIG shows: same text, or the same
  // number (PgBouncer reads integers with strtol base 0, times with strtod, and shows them in decimal: 01750 -> 1000).
  'function same(want, shown,   w, s) {',
  '  w = tolower(want); s = tolower(shown)',
  '  if (w == s) return 1',
  '  if (s !~ /^-?[0-9]+(\\.[0-9]*)?$/) return 0',
  '  if (w ~ /^-?[0-9]+(\\.[0-9]*)?$/ && w + 0 == s + 0) return 1',
  '  if (w ~ /^0[0-7]+$/ && based(substr(w, 2), 8) == s + 0) return 1',
  '  if (w ~ /^0x[0-9a-f]+$/ && based(substr(w, 3), 16) == s + 0) return 1',
  '  return 0',
  '}',
  'BEGIN {',
  '  load(ENVIRON["AF_BEFORE"], old, olddef); load(ENVIRON["AF_AFTER"], now, nowdef)',
  '  n = split(ENVIRON["AF_CHANGES"], lines, "\\n")',
  '  for (i = 1; i <= n; i++) {',
  '    if (lines[i] == "") continue',
  '    t = index(lines[i], "\\t"); mode = substr(lines[i], 1, t - 1); rest = substr(lines[i], t + 1)',
  '    t = index(rest, "\\t"); if (t == 0) { key = rest; want = "" } else { key = substr(rest, 1, t - 1); want = substr(rest, t + 1) }',
  '    wmode[key] = mode; wval[key] = want; order[++m] = key',
  '  }',
  // The new file's settings first, in order: each must show the file's value (a load that stopped half-way leaves
  // the settings after the bad line at their defaults or old values). Judged against the new file, never against
  // the old runtime: the running pod may have started from an older ConfigMap text or been SET on the console.
  '  for (i = 1; i <= m; i++) {',
  '    k = order[i]',
  '    if (!(k in now)) { print k; exit }',
  '    if (wmode[k] == "secret") continue',
  '    target = wmode[k] == "default" ? nowdef[k] : wval[k]',
  '    if (!same(target, now[k])) { print k; exit }',
  '  }',
  // A setting the new file does not set may stay as it ran (an %include) or go back to its default (RELOAD resets
  // what the file does not set); anything else is not this file.
  '  for (k in now) if (!(k in wmode) && (k in old) && now[k] != old[k] && !same(nowdef[k], now[k])) { print k; exit }',
  '}',
].join('\n');

/**
 * Session mode, right before RESUME: PgBouncer 1.18 starts a server login for a client that connects to a KILLed
 * (held) database, whose pool KILL freed, closes it at once ("pause mode") and counts it as a failed login, so
 * after RESUME the pool would wait server_login_retry (15 s by default). Zero it across RESUME; it is set back
 * once no client of the alias waits (at most ~2 s), or by the EXIT trap.
 */
const LOGIN_RETRY_ZERO = [
  `login_retry=$(printf '%s\\n' "$config_after" | awk -F "$sep" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["key"] == "server_login_retry" { print $c["value"]; exit }')`,
  "case \"$login_retry\" in '' | 0 | *[!0-9.]*) login_retry='' ;; *) admin 'SET server_login_retry = 0' >/dev/null 2>&1 || login_retry='' ;; esac",
  'wait_for_held_clients() {',
  '  tries=0',
  '  while [ "$tries" -lt 20 ]; do',
  '    pools=$(table "SHOW POOLS" 2>/dev/null) || return 0',
  `    waiting=$(printf '%s\\n' "$pools" | awk -F "$sep" -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next } $c["database"] == name { n += $c["cl_waiting"] } END { print n + 0 }')`,
  '    [ "$waiting" = 0 ] && return 0',
  '    sleep 0.1 2>/dev/null || sleep 1',
  '    tries=$((tries + 1))',
  '  done',
  '}',
];

/** mode<TAB>key<TAB>value lines for the script; a secret's value is left out. */
function settingLines(changes: readonly SettingChange[]): string {
  return changes
    .map((change) => {
      safe(change.key, SETTING_KEY, 'expectedSettings key');
      if (change.secret) return `secret\t${change.key}`;
      if (change.value === null) return `default\t${change.key}`;
      if (/[\n\r]/.test(change.value)) throw new UnsafeValueError(`expectedSettings ${change.key} holds a line break`);
      return `set\t${change.key}\t${change.value}`;
    })
    .join('\n');
}

/** Hold the write alias before the file is replaced; held=1 first, so a command that times out is still undone. */
function holdLines(hold: LiveHold, writeAlias: string): string[] {
  if (hold === LiveHold.Pause) return ['held=1', `admin ${quote(`PAUSE ${consoleIdentifier(writeAlias)}`)} >/dev/null 2>"$err" || fail pause "exit=$?"`];
  if (hold === LiveHold.Kill) {
    return [
      'rows=$(table "SHOW DATABASES" 2>"$err") || fail show-databases "exit=$?"',
      'held=1',
      // Already held (KILL or PAUSE before the fence): the sessions now waiting must not be ended a second time.
      `case "$(route "$write_alias")" in *:1) ;; *) admin ${quote(`KILL ${consoleIdentifier(writeAlias)}`)} >/dev/null 2>"$err" || fail kill "exit=$?" ;; esac`,
    ];
  }
  return [];
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
