/**
 * A surgical pgbouncer.ini editor: it reads and rewrites only `host=`/`port=` inside the managed aliases'
 * connection strings in `[databases]` and leaves every other byte as it was (comments, order, spacing,
 * CRLF, other keys, quoted passwords, other sections, `%include` lines).
 *
 * The grammar is PgBouncer 1.18's own: the file as libusual's usual/cfparser.c scans it (see scan()), a
 * connection string as src/loader.c splits it: `key=value` pairs separated by spaces only (a tab is part
 * of a value), a value may be single-quoted with `''` for a quote, an empty value is an error. What
 * PgBouncer would refuse or read surprisingly (a character glued after a closing quote) is refused.
 * Differential tests against the real binary (test/integration/pgbouncer-ini-differential.test.ts) decide.
 * Error messages name aliases and keys but never echo a connection string (it may hold a password).
 */
import { assertSafeEndpoint, isSafeHost, type Endpoint } from './endpoint.ts';
import { InvalidInputError, UnsafeValueError } from './errors.ts';
import type { PoolMode } from './pgbouncer-console.ts';

/** PgBouncer connects to port 5432 when a connection string names none. */
export const PGBOUNCER_DEFAULT_PORT = 5432;

const POOL_MODES: readonly PoolMode[] = ['session', 'transaction', 'statement'];
const ALIAS = /^[A-Za-z_][A-Za-z0-9_.-]{0,62}$/;
const REDACTED = '****';
// Sections whose values are connection strings.
const CONNECTION_STRING_SECTIONS = new Set(['databases', 'peers', 'users']);
const SECRET_KEY = /password|passwd|secret/i;
// A secret-looking key followed by `=` anywhere in a line (comments, tab-glued pairs): the rest of the line goes.
const SECRET_ASSIGNMENT = /(?:password|passwd|secret)[^\s=]*[ \t]*=[ \t]*/gi;

interface Entry {
  /** Section the entry is in, exactly as written between the brackets. */
  readonly section: string;
  readonly key: string;
  /** Offsets of the value inside the file (trailing whitespace excluded). */
  readonly valueStart: number;
  readonly valueEnd: number;
  readonly value: string;
}

interface Pair {
  readonly key: string;
  /** Offsets of the (possibly quoted) value inside the file. */
  readonly valueStart: number;
  readonly valueEnd: number;
  /** The value without quotes. */
  readonly value: string;
}

interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
}

interface Scan {
  readonly entries: Entry[];
  /** Every section header in file order. */
  readonly headers: Array<{ readonly name: string; readonly start: number }>;
  /** What PgBouncer would refuse the file for (line number and why); null when it loads. */
  readonly error: string | null;
}

// Sections PgBouncer knows; it refuses to load a file with any other (`[Databases]`, `[ databases ]`).
const KNOWN_SECTIONS = new Set(['databases', 'pgbouncer', 'users', 'peers']);

/** C's isspace() and isblank() in the C locale, as PgBouncer's parser calls them. */
function isSpace(char: string | undefined): boolean {
  return char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\v' || char === '\f';
}

function isKeyChar(char: string | undefined): boolean {
  return char !== undefined && /^[A-Za-z0-9_.*-]$/.test(char);
}

/**
 * Reads the file exactly as libusual's parse_ini_file (PgBouncer 1.18, usual/cfparser.c) does. It is a token
 * scanner, not a line reader: after skipping whitespace (newlines included) it sees `%include <file>`, a comment
 * (`;` or `#` up to the end of the line), a section header `[name]` — after which parsing simply continues on the
 * same line, so `[databases] ; managed` is a header plus a comment and `[databases] appdb = host=x` a header plus
 * an entry — or `key = value`, where the key is made of letters, digits and `_.-*` (1.18 knows no quoted keys), only
 * spaces and tabs may come before `=`, and the value runs to the end of the line minus trailing whitespace. Anything
 * else makes PgBouncer refuse the whole file ("syntax error"); `strict` = false (redaction) skips to the next line.
 */
function scan(ini: string, strict = true): Scan {
  const entries: Entry[] = [];
  const headers: Array<{ name: string; start: number }> = [];
  const lineOf = (at: number) => ini.slice(0, at).split('\n').length;
  let section: string | null = null;
  let error: string | null = null;
  const refuse = (at: number, why: string): boolean => {
    error ??= `line ${lineOf(at)}: ${why}`;
    return strict;
  };
  const endOfLine = (from: number) => {
    const newline = ini.indexOf('\n', from);
    return newline === -1 ? ini.length : newline;
  };
  let at = 0;
  while (at < ini.length) {
    while (at < ini.length && isSpace(ini[at])) at++;
    if (at >= ini.length) break;
    if (ini.startsWith('%include', at) && (ini[at + 8] === ' ' || ini[at + 8] === '\t')) {
      at = endOfLine(at);
      continue;
    }
    if (ini[at] === ';' || ini[at] === '#') {
      at = endOfLine(at);
      continue;
    }
    if (ini[at] === '[') {
      let close = at + 1;
      while (close < ini.length && ini[close] !== ']' && ini[close] !== '\n') close++;
      if (ini[close] !== ']') {
        if (refuse(at, 'a section header without ]')) break;
        at = endOfLine(at);
        continue;
      }
      const name = ini.slice(at + 1, close);
      if (!KNOWN_SECTIONS.has(name) && refuse(at, `unknown section [${name.slice(0, 30)}]`)) break;
      headers.push({ name, start: at });
      section = name;
      at = close + 1;
      continue;
    }
    const keyStart = at;
    while (isKeyChar(ini[at])) at++;
    const key = ini.slice(keyStart, at);
    while (ini[at] === ' ' || ini[at] === '\t') at++;
    if (key === '' || ini[at] !== '=') {
      if (refuse(keyStart, 'expected name = value (a name is letters, digits and _.-* only)')) break;
      at = endOfLine(at);
      continue;
    }
    at++;
    while (ini[at] === ' ' || ini[at] === '\t') at++;
    const valueStart = at;
    at = endOfLine(at);
    let valueEnd = at;
    while (valueEnd > valueStart && isSpace(ini[valueEnd - 1])) valueEnd--;
    if (section === null) {
      if (refuse(keyStart, `${key} comes before any section header`)) break;
      continue;
    }
    entries.push({ section, key, valueStart, valueEnd, value: ini.slice(valueStart, valueEnd) });
  }
  return { entries, headers, error };
}

/** The entries of a file PgBouncer would load; InvalidInputError (never echoing a value) for one it would refuse. */
function entries(ini: string): Entry[] {
  const result = scan(ini);
  if (result.error !== null) throw new InvalidInputError(`pgbouncer.ini would not load in PgBouncer (${result.error}); fix the file by hand`);
  return result.entries;
}

/**
 * `[pgbouncer]` settings as PgBouncer ends up with them: each `[pgbouncer]` header resets every setting to its
 * default (libusual fill_defaults), so only the entries after the last header count; the last one of a key wins.
 */
function mainSettings(ini: string): Map<string, string> {
  const result = scan(ini);
  if (result.error !== null) throw new InvalidInputError(`pgbouncer.ini would not load in PgBouncer (${result.error}); fix the file by hand`);
  const last = result.headers.filter((header) => header.name === 'pgbouncer').at(-1);
  const settings = new Map<string, string>();
  if (!last) return settings;
  for (const entry of result.entries) {
    if (entry.section === 'pgbouncer' && entry.valueStart > last.start) settings.set(entry.key, entry.value);
  }
  return settings;
}

/** Splits a connection string into pairs with their offsets, exactly as PgBouncer's loader does. */
function parsePairs(entry: Entry): Pair[] {
  const text = entry.value;
  const malformed = (why: string) => new InvalidInputError(`[${entry.section}] ${entry.key}: connection string is malformed (${why})`);
  const pairs: Pair[] = [];
  let at = 0;
  const skipSpaces = () => {
    while (text[at] === ' ') at++;
  };
  while (true) {
    skipSpaces();
    if (at >= text.length) return pairs;
    const keyStart = at;
    while (at < text.length && text[at] !== '=' && text[at] !== ' ') at++;
    const key = text.slice(keyStart, at);
    skipSpaces();
    if (text[at] !== '=' || key === '') throw malformed('expected key=value pairs');
    at++;
    skipSpaces();
    const valueStart = at;
    let value = '';
    if (text[at] === "'") {
      at++;
      let closed = false;
      while (at < text.length) {
        const char = text[at] as string;
        if (char === "'" && text[at + 1] === "'") {
          value += "'";
          at += 2;
        } else if (char === "'") {
          at++;
          closed = true;
          // PgBouncer's cstr_get_value cuts the character right after a closing quote whatever it is, so
          // `host='a'b` is host a and `host='a'port=6000` loses the p: refuse rather than mimic that.
          if (at < text.length && text[at] !== ' ') throw malformed('characters glued after a closing quote');
          break;
        } else {
          // PgBouncer versions differ on backslash-quote; refuse rather than guess where the value ends.
          if (char === '\\' && text[at + 1] === "'") throw malformed("a quoted value contains \\', which PgBouncer versions read differently; escape a quote as ''");
          value += char;
          at++;
        }
      }
      if (!closed) throw malformed('unterminated quote');
    } else {
      while (at < text.length && text[at] !== ' ') at++;
      value = text.slice(valueStart, at);
    }
    if (value === '') throw malformed(`empty value for ${key}`);
    pairs.push({ key, valueStart: entry.valueStart + valueStart, valueEnd: entry.valueStart + at, value });
  }
}

function onlyPair(entry: Entry, pairs: readonly Pair[], key: string): Pair | undefined {
  const matching = pairs.filter((pair) => pair.key === key);
  if (matching.length > 1) throw new InvalidInputError(`[databases] ${entry.key}: names ${key}= more than once`);
  return matching[0];
}

/** The alias's one entry in `[databases]`; undefined when absent; an error when defined twice. */
function databaseEntry(all: readonly Entry[], alias: string): Entry | undefined {
  const matching = all.filter((entry) => entry.section === 'databases' && entry.key === alias);
  if (matching.length > 1) throw new InvalidInputError(`[databases] defines ${alias} ${matching.length} times; fix the file by hand`);
  return matching[0];
}

function parsePort(entry: Entry, pair: Pair | undefined): number {
  if (!pair) return PGBOUNCER_DEFAULT_PORT;
  const port = /^\d{1,5}$/.test(pair.value) ? Number(pair.value) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new InvalidInputError(`[databases] ${entry.key}: port= is not a port number`);
  return port;
}

function applyEdits(text: string, edits: Edit[]): string {
  let result = text;
  for (const edit of [...edits].sort((a, b) => b.start - a.start)) {
    result = result.slice(0, edit.start) + edit.text + result.slice(edit.end);
  }
  return result;
}

/**
 * Where each alias in `[databases]` points. null = the alias has no entry. An entry without `host=`
 * (a Unix socket) or with a broken `port=` is refused with InvalidInputError: it is not a managed alias.
 *
 * @example readAliasEndpoints('[databases]\nappdb = host=db1 dbname=app\n', ['appdb']) // { appdb: { host: 'db1', port: 5432 } }
 */
export function readAliasEndpoints(ini: string, aliases: readonly string[]): Record<string, Endpoint | null> {
  const all = entries(ini);
  const result: Record<string, Endpoint | null> = {};
  for (const alias of aliases) {
    const entry = databaseEntry(all, alias);
    if (!entry) {
      result[alias] = null;
      continue;
    }
    const pairs = parsePairs(entry);
    const host = onlyPair(entry, pairs, 'host');
    if (!host || host.value === '') throw new InvalidInputError(`[databases] ${alias}: has no host= (a Unix socket cannot be managed)`);
    // The boundary for every host that reaches plans, Step Functions payloads, logs and notifications: a
    // value PgBouncer accepts but that is no host name (a tab-glued `password=`, a quoted value with
    // spaces, a socket directory) is refused here and never echoed.
    if (!isSafeHost(host.value)) {
      throw new InvalidInputError(`[databases] ${alias}: host= is not a DNS name or an IP literal (value not shown: it may hold a secret); fix the entry by hand`);
    }
    result[alias] = { host: host.value, port: parsePort(entry, onlyPair(entry, pairs, 'port')) };
  }
  return result;
}

/**
 * Rewrites `host=` and `port=` of each alias; every other byte stays. A missing `port=` is added right
 * after `host=` only when the new port is not PgBouncer's default (5432). A value that is already right
 * is not touched, so an up-to-date file comes back byte-identical.
 * Throws UnsafeValueError naming the field (`<alias>.host`, `<alias>.port`) for a value that could inject
 * into the file, and InvalidInputError when an alias has no entry (aliases are never invented).
 */
export function setAliasEndpoints(ini: string, updates: ReadonlyArray<{ alias: string; endpoint: Endpoint }>): string {
  const all = entries(ini);
  const edits: Edit[] = [];
  for (const { alias, endpoint } of updates) {
    if (!ALIAS.test(alias)) throw new UnsafeValueError(`alias must be a PgBouncer database name, got ${JSON.stringify(alias).slice(0, 60)}`);
    const safe = assertSafeEndpoint(endpoint, alias);
    const entry = databaseEntry(all, alias);
    if (!entry) throw new InvalidInputError(`[databases] has no entry for alias ${alias}; aliases are never invented, add it to pgbouncer.ini`);
    const pairs = parsePairs(entry);
    const host = onlyPair(entry, pairs, 'host');
    const port = onlyPair(entry, pairs, 'port');
    const portText = String(safe.port);
    const needsPort = port ? port.value !== portText : safe.port !== PGBOUNCER_DEFAULT_PORT;
    if (host) {
      if (host.value !== safe.host) edits.push({ start: host.valueStart, end: host.valueEnd, text: safe.host });
      if (!port && needsPort) edits.push({ start: host.valueEnd, end: host.valueEnd, text: ` port=${portText}` });
    } else {
      const inserted = `host=${safe.host}${needsPort && !port ? ` port=${portText}` : ''}`;
      edits.push({ start: entry.valueStart, end: entry.valueStart, text: entry.value === '' ? inserted : `${inserted} ` });
    }
    if (port && needsPort) edits.push({ start: port.valueStart, end: port.valueEnd, text: portText });
  }
  return applyEdits(ini, edits);
}

/** The alias's pool mode: its own `pool_mode=`, else `[pgbouncer] pool_mode`, else `session`. */
export function readPoolMode(ini: string, alias: string): PoolMode {
  const all = entries(ini);
  const entry = databaseEntry(all, alias);
  const own = entry ? onlyPair(entry, parsePairs(entry), 'pool_mode')?.value : undefined;
  const global = mainSettings(ini).get('pool_mode');
  const mode = (own ?? global ?? 'session').toLowerCase();
  if (!(POOL_MODES as readonly string[]).includes(mode)) {
    throw new InvalidInputError(`pool_mode for ${alias} must be one of ${POOL_MODES.join(', ')}, got ${JSON.stringify(mode).slice(0, 30)}`);
  }
  return mode as PoolMode;
}

/**
 * The file with secrets replaced by `****`: `password=` values in connection strings (quoted or not),
 * and the values of keys named like a password or secret in any section. Then, line by line (comments,
 * lines before the first section, values where a tab glued `password=` to another pair), everything after
 * a secret-looking `key=` that is not already `****`. Hiding too much is safe; leaking is not. For display only.
 */
export function redactSecrets(ini: string): string {
  return redactLeftovers(redactParsed(ini));
}

function redactLeftovers(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const cr = line.endsWith('\r') ? '\r' : '';
      const content = cr ? line.slice(0, -1) : line;
      for (const match of content.matchAll(SECRET_ASSIGNMENT)) {
        const after = match.index + match[0].length;
        const rest = content.slice(after);
        if (rest === '' || rest.startsWith(REDACTED)) continue;
        return `${content.slice(0, after)}${REDACTED}${cr}`;
      }
      return line;
    })
    .join('\n');
}

function redactParsed(ini: string): string {
  const edits: Edit[] = [];
  // Lenient: a file PgBouncer would refuse is still redacted as far as it can be read.
  for (const entry of scan(ini, false).entries) {
    // Loose section match on purpose: hiding too much is safe, leaking is not.
    if (!CONNECTION_STRING_SECTIONS.has(entry.section.trim().toLowerCase())) {
      if (SECRET_KEY.test(entry.key) && entry.value !== '') edits.push({ start: entry.valueStart, end: entry.valueEnd, text: REDACTED });
      continue;
    }
    if (!SECRET_KEY.test(entry.value)) continue;
    let pairs: Pair[];
    try {
      pairs = parsePairs(entry);
    } catch {
      // Cannot tell where the password ends: hide the whole value rather than leak part of it.
      edits.push({ start: entry.valueStart, end: entry.valueEnd, text: REDACTED });
      continue;
    }
    for (const pair of pairs) {
      if (SECRET_KEY.test(pair.key)) edits.push({ start: pair.valueStart, end: pair.valueEnd, text: REDACTED });
    }
  }
  return applyEdits(ini, edits);
}

/** A `[pgbouncer]` setting a new file changes: its new value, or null when the new file drops it (default). */
export interface SettingChange {
  readonly key: string;
  readonly value: string | null;
  /** Named like a password or secret: compared by presence only, its value never leaves this process. */
  readonly secret: boolean;
}

/**
 * The `[pgbouncer]` settings whose effective value differs between two files (see mainSettings), sorted by key.
 * After RELOAD, SHOW CONFIG must show these values and every other setting unchanged; PgBouncer answers RELOAD
 * with success even when it stopped loading at a bad value (it logs "config file loading failed").
 *
 * @example changedSettings('[pgbouncer]\npool_mode = session\n', '[pgbouncer]\npool_mode = transaction\n')
 * // [{ key: 'pool_mode', value: 'transaction', secret: false }]
 */
export function changedSettings(oldIni: string, newIni: string): SettingChange[] {
  const before = mainSettings(oldIni);
  const after = mainSettings(newIni);
  const keys = [...new Set([...before.keys(), ...after.keys()])].sort();
  return keys
    .filter((key) => before.get(key) !== after.get(key))
    .map((key) => ({ key, value: after.get(key) ?? null, secret: SECRET_KEY.test(key) }));
}

/**
 * Every `[pgbouncer]` setting the file sets, as PgBouncer ends up with them (see mainSettings), in file order (so
 * the first one SHOW CONFIG does not show is the line a load stopped at): what SHOW CONFIG must show after a
 * RELOAD of this file. `secret` marks a value the caller must not pass on (the live switch checks it by presence).
 *
 * @example effectiveSettings('[pgbouncer]\npool_mode = transaction\n') // [{ key: 'pool_mode', value: 'transaction', secret: false }]
 */
export function effectiveSettings(ini: string): SettingChange[] {
  return [...mainSettings(ini)].map(([key, value]) => ({ key, value, secret: SECRET_KEY.test(key) }));
}
