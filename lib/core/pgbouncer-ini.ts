/**
 * A surgical pgbouncer.ini editor: it reads and rewrites only `host=`/`port=` inside the managed aliases'
 * connection strings in `[databases]` and leaves every other byte as it was (comments, order, spacing,
 * CRLF, other keys, quoted passwords, other sections, `%include` lines).
 *
 * The grammar follows PgBouncer's own parser (src/loader.c, checked against PgBouncer 1.18): comments are
 * lines starting with `;` or `#` (not recognized later in a line), a line is `name = value`, and a
 * connection string is `key=value` pairs separated by spaces only (a tab is part of a value), a value may
 * be single-quoted with `''` for a quote, and an empty value is a syntax error.
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

interface Line {
  /** Offset of the line's first character in the whole file. */
  readonly start: number;
  /** The line without its end-of-line characters. */
  readonly content: string;
  /** Name of the section the line is in, as written; null before the first section header. */
  readonly section: string | null;
}

interface Entry {
  readonly line: Line;
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

const SECTION_HEADER = /^\s*\[([^\]]*)\]\s*$/;
const COMMENT_OR_DIRECTIVE = /^\s*([;#]|%)/;
// name, `=`, value up to trailing whitespace (PgBouncer 1.18 rejects quoted names, so none are read).
const ENTRY = /^(\s*)([^\s=]+)(\s*=\s*)(.*?)\s*$/;

function splitLines(ini: string): Line[] {
  const lines: Line[] = [];
  let section: string | null = null;
  let start = 0;
  while (start <= ini.length) {
    const newline = ini.indexOf('\n', start);
    const end = newline === -1 ? ini.length : newline;
    const content = ini.slice(start, end > start && ini[end - 1] === '\r' ? end - 1 : end);
    const header = SECTION_HEADER.exec(content);
    // PgBouncer matches section names exactly: `[Databases]` or `[ databases ]` is not `[databases]`.
    if (header) section = header[1] ?? '';
    lines.push({ start, content, section });
    if (newline === -1) break;
    start = newline + 1;
  }
  return lines;
}

function entries(ini: string): Entry[] {
  const found: Entry[] = [];
  for (const line of splitLines(ini)) {
    if (line.section === null || SECTION_HEADER.test(line.content) || COMMENT_OR_DIRECTIVE.test(line.content)) continue;
    const match = ENTRY.exec(line.content);
    if (!match) continue;
    const [, indent = '', key = '', separator = '', value = ''] = match;
    const valueStart = line.start + indent.length + key.length + separator.length;
    found.push({ line, key, valueStart, valueEnd: valueStart + value.length, value });
  }
  return found;
}

/** Splits a connection string into pairs with their offsets, exactly as PgBouncer's loader does. */
function parsePairs(entry: Entry): Pair[] {
  const text = entry.value;
  const malformed = (why: string) => new InvalidInputError(`[${entry.line.section}] ${entry.key}: connection string is malformed (${why})`);
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
  const matching = all.filter((entry) => entry.line.section === 'databases' && entry.key === alias);
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
  const global = all.filter((candidate) => candidate.line.section === 'pgbouncer' && candidate.key === 'pool_mode').at(-1)?.value;
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
  for (const entry of entries(ini)) {
    // Loose section match on purpose: hiding too much is safe, leaking is not.
    if (!CONNECTION_STRING_SECTIONS.has((entry.line.section ?? '').trim().toLowerCase())) {
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
