import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Endpoint } from '../../lib/core/endpoint.ts';
import { InvalidInputError, UnsafeValueError } from '../../lib/core/errors.ts';
import { changedSettings, effectiveSettings, readAliasEndpoints, readPoolMode, redactSecrets, setAliasEndpoints } from '../../lib/core/pgbouncer-ini.ts';

const SAMPLE = readFileSync(new URL('../../events/pgbouncer/use2-before-switchover.ini', import.meta.url), 'utf8');
const USE2_WRITER = { host: 'app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };
const USE2_READER = { host: 'app-use2.cluster-ro-abc123def456.us-east-2.rds.amazonaws.com', port: 5432 };
const USW2_WRITER = { host: 'app-usw2.cluster-ghi789jkl012.us-west-2.rds.amazonaws.com', port: 5432 };

// ---- A small seeded generator of pgbouncer.ini files that knows what every line should become. ----

function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Pair {
  gapBefore: string;
  key: string;
  equals: string;
  value: string;
}
interface AliasLine {
  alias: string;
  indent: string;
  separator: string;
  pairs: Pair[];
  trailing: string;
}
type GeneratedLine = { kind: 'text'; text: string } | { kind: 'alias'; line: AliasLine };
interface GeneratedIni {
  lines: GeneratedLine[];
  eol: string;
  finalNewline: boolean;
  endpoints: Record<string, Endpoint>;
}

const HOSTS = ['db1.example.com', 'app-use2.cluster-abc.us-east-2.rds.amazonaws.com', '10.0.3.17', 'fd00::5', 'Mixed-Case.Example.org', 'a'];
// Valid for PgBouncer: quoted values may hold spaces, tabs, `;`, `#`, `=`; `''` is a quote.
const PASSWORDS = ["'s3cret pa''ss'", 'plain', "'tab\tinside = escaped'", "'#not a comment ; either'", "''''"];

function generateIni(random: () => number): GeneratedIni {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  const chance = (p: number) => random() < p;
  const lines: GeneratedLine[] = [];
  const endpoints: Record<string, Endpoint> = {};
  const text = (value: string) => lines.push({ kind: 'text', text: value });
  const noise = () => {
    if (chance(0.3)) text(pick(['; a comment', '# another = comment', '', '   ', ';appdb = host=commented.out', '\t# indented comment']));
  };

  if (chance(0.5)) text(pick([';; header', '# pgbouncer config']));
  noise();
  if (chance(0.3)) text('%include /etc/pgbouncer/extra.ini');
  text('[databases]');
  const aliases = ['appdb', 'appdb_ro', 'other-db'];
  const order = chance(0.5) ? aliases : [...aliases].reverse();
  for (const alias of order) {
    noise();
    const host = pick(HOSTS);
    const hasPort = chance(0.6);
    const port = hasPort ? pick([5432, 6432, 15432]) : 5432;
    const pairs: Pair[] = [];
    const extra: Pair[] = [
      { gapBefore: '', key: 'dbname', equals: '=', value: pick(['app', "'my app'"]) },
      { gapBefore: '', key: 'user', equals: pick(['=', ' = ']), value: 'app' },
      { gapBefore: '', key: 'password', equals: '=', value: pick(PASSWORDS) },
      { gapBefore: '', key: 'pool_size', equals: '=', value: '20' },
    ].filter(() => chance(0.7));
    const hostPair: Pair = { gapBefore: '', key: 'host', equals: pick(['=', '=', ' = ']), value: chance(0.2) ? `'${host}'` : host };
    const portPair: Pair = { gapBefore: '', key: 'port', equals: '=', value: String(port) };
    const hostAt = Math.floor(random() * (extra.length + 1));
    pairs.push(...extra.slice(0, hostAt), hostPair, ...(hasPort && chance(0.7) ? [portPair] : []), ...extra.slice(hostAt));
    if (hasPort && !pairs.includes(portPair)) pairs.splice(Math.floor(random() * (pairs.length + 1)), 0, portPair);
    // PgBouncer separates pairs with spaces only (a tab would be part of the value).
    pairs.forEach((pair, index) => (pair.gapBefore = index === 0 ? '' : pick([' ', '  ', '   '])));
    lines.push({
      kind: 'alias',
      line: { alias, indent: pick(['', '', '  ']), separator: pick([' = ', '=', '\t=\t', ' =']), pairs, trailing: pick(['', '', ' ', '\t']) },
    });
    endpoints[alias] = { host, port };
  }
  noise();
  text('[pgbouncer]');
  if (chance(0.3)) text('[users]\nappdb = pool_mode=session');
  text(pick(['pool_mode = transaction', 'pool_mode=session', 'listen_port = 6432']));
  text('auth_file = /etc/pgbouncer/userlist.txt');
  if (chance(0.5)) text('appdb = this is [pgbouncer], not [databases]');
  noise();
  if (chance(0.4)) text('[users]\napp = pool_mode=session');
  return { lines, eol: chance(0.4) ? '\r\n' : '\n', finalNewline: chance(0.8), endpoints };
}

function renderAlias(line: AliasLine): string {
  const value = line.pairs.map((pair) => `${pair.gapBefore}${pair.key}${pair.equals}${pair.value}`).join('');
  return `${line.indent}${line.alias}${line.separator}${value}${line.trailing}`;
}

function render(ini: GeneratedIni, aliasLine: (line: AliasLine) => string = renderAlias): string {
  const body = ini.lines.map((line) => (line.kind === 'text' ? line.text.replaceAll('\n', ini.eol) : aliasLine(line.line))).join(ini.eol);
  return ini.finalNewline ? body + ini.eol : body;
}

/** What the editor must produce: the host value replaced, the port value replaced or added after host. */
function expectedAfterUpdate(line: AliasLine, endpoint: Endpoint): string {
  const pairs = line.pairs.map((pair) => ({ ...pair }));
  const host = pairs.find((pair) => pair.key === 'host');
  if (!host) throw new Error('generator always writes host');
  const unquotedHost = host.value.replace(/^'(.*)'$/, '$1');
  if (unquotedHost !== endpoint.host) host.value = endpoint.host;
  const port = pairs.find((pair) => pair.key === 'port');
  if (port) port.value = String(endpoint.port);
  else if (endpoint.port !== 5432) pairs.splice(pairs.indexOf(host) + 1, 0, { gapBefore: ' ', key: 'port', equals: '=', value: String(endpoint.port) });
  return renderAlias({ ...line, pairs });
}

const GENERATED = Array.from({ length: 400 }, (_, seed) => generateIni(seededRandom(seed + 1)));

describe('setAliasEndpoints on generated inis', () => {
  it('returns every file byte-identical when the aliases already point where asked', () => {
    let checked = 0;
    for (const generated of GENERATED) {
      // Prepare
      const ini = render(generated);
      const updates = ['appdb', 'appdb_ro'].map((alias) => ({ alias, endpoint: generated.endpoints[alias] as Endpoint }));

      // Act
      const result = setAliasEndpoints(ini, updates);

      // Assess
      expect(result).toBe(ini);
      checked++;
    }
    expect(checked).toBe(400);
  });

  it('reads back exactly the endpoints the generator wrote', () => {
    for (const generated of GENERATED) {
      expect(readAliasEndpoints(render(generated), ['appdb', 'appdb_ro', 'other-db', 'absent'])).toEqual({ ...generated.endpoints, absent: null });
    }
  });

  it('changes only host=/port= of the managed aliases and nothing else', () => {
    const random = seededRandom(99);
    for (const generated of GENERATED) {
      // Prepare
      const ini = render(generated);
      const targets: Record<string, Endpoint> = {
        appdb: { host: HOSTS[Math.floor(random() * HOSTS.length)] as string, port: random() < 0.5 ? 5432 : 6543 },
        appdb_ro: { host: 'reader.new.example.com', port: random() < 0.5 ? 5432 : 7000 },
      };

      // Act
      const result = setAliasEndpoints(ini, Object.entries(targets).map(([alias, endpoint]) => ({ alias, endpoint })));

      // Assess
      const expected = render(generated, (line) => (line.alias in targets ? expectedAfterUpdate(line, targets[line.alias] as Endpoint) : renderAlias(line)));
      expect(result).toBe(expected);
      expect(readAliasEndpoints(result, ['appdb', 'appdb_ro', 'other-db'])).toEqual({ ...targets, 'other-db': generated.endpoints['other-db'] });
    }
  });
});

describe('setAliasEndpoints on the sample pgbouncer.ini', () => {
  it('repoints the write alias to the new writer and changes that one host value only', () => {
    // Act
    const result = setAliasEndpoints(SAMPLE, [
      { alias: 'appdb', endpoint: USW2_WRITER },
      { alias: 'appdb_ro', endpoint: USE2_READER },
    ]);

    // Assess
    expect(result).toBe(readFileSync(new URL('../../events/pgbouncer/use2-after-switchover.ini', import.meta.url), 'utf8'));
    expect(readAliasEndpoints(result, ['appdb', 'appdb_ro'])).toEqual({ appdb: USW2_WRITER, appdb_ro: USE2_READER });
  });

  it('adds port= right after host= when the alias has none and the new port is not 5432', () => {
    const result = setAliasEndpoints(SAMPLE, [{ alias: 'appdb_ro', endpoint: { host: 'reader.example.com', port: 6432 } }]);

    expect(result).toContain('appdb_ro = host=reader.example.com port=6432 dbname=app user=app_ro password=r3ad0nly pool_mode=session\n');
  });

  it('adds host= at the start of a connection string that has none', () => {
    const result = setAliasEndpoints('[databases]\r\nappdb = dbname=app\r\n', [{ alias: 'appdb', endpoint: { host: 'db.example.com', port: 6000 } }]);

    expect(result).toBe('[databases]\r\nappdb = host=db.example.com port=6000 dbname=app\r\n');
  });

  it('never invents an alias: a missing entry is an InvalidInputError naming it', () => {
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb_new', endpoint: USW2_WRITER }])).toThrow(InvalidInputError);
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb_new', endpoint: USW2_WRITER }])).toThrow(/no entry for alias appdb_new/);
  });

  it('refuses an alias defined twice rather than guess which one PgBouncer uses', () => {
    const ini = '[databases]\nappdb = host=a\nappdb = host=b\n';
    expect(() => setAliasEndpoints(ini, [{ alias: 'appdb', endpoint: USW2_WRITER }])).toThrow('[databases] defines appdb 2 times; fix the file by hand');
  });
});

describe('hostile values are rejected with the field named', () => {
  it.each([
    'db.example.com\nappdb = host=evil',
    'db.example.com;',
    'db.example.com#',
    "db.example.com' password='x",
    '"db.example.com"',
    'db.example.com dbname=other',
    '%include /etc/passwd',
    'host=evil',
    '',
    'db.example.com.',
    '-leading-dash.example.com',
  ])('host %j', (host) => {
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb', endpoint: { host, port: 5432 } }])).toThrow(UnsafeValueError);
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb', endpoint: { host, port: 5432 } }])).toThrow(/^appdb\.host must be a DNS name or an IP literal/);
  });

  it.each([0, 65536, -1, 1.5, Number.NaN, '5432', '5432 dbname=x'])('port %j', (port) => {
    const endpoint = { host: 'db.example.com', port } as unknown as Endpoint;
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb_ro', endpoint }])).toThrow(/^appdb_ro\.port must be an integer from 1 to 65535/);
  });

  it('an alias name that could break out of its line', () => {
    expect(() => setAliasEndpoints(SAMPLE, [{ alias: 'appdb\n[pgbouncer]', endpoint: USW2_WRITER }])).toThrow(UnsafeValueError);
  });

  it('leaves the file untouched when one update of several is hostile', () => {
    const attempt = () =>
      setAliasEndpoints(SAMPLE, [
        { alias: 'appdb', endpoint: USW2_WRITER },
        { alias: 'appdb_ro', endpoint: { host: 'x;y', port: 5432 } },
      ]);
    expect(attempt).toThrow(/appdb_ro\.host/);
  });
});

describe('readAliasEndpoints', () => {
  it('reads host and port, defaulting the port to 5432, and null for a missing alias', () => {
    expect(readAliasEndpoints(SAMPLE, ['appdb', 'appdb_ro', 'nope'])).toEqual({ appdb: USE2_WRITER, appdb_ro: USE2_READER, nope: null });
  });

  it('ignores commented-out aliases and aliases outside [databases]', () => {
    const ini = '[databases]\n;appdb = host=commented\n[pgbouncer]\nappdb = host=wrong\n';
    expect(readAliasEndpoints(ini, ['appdb'])).toEqual({ appdb: null });
  });

  it('refuses a Unix-socket alias and a broken port, without echoing the connection string', () => {
    expect(() => readAliasEndpoints('[databases]\nappdb = dbname=app password=hunter2\n', ['appdb'])).toThrow('[databases] appdb: has no host= (a Unix socket cannot be managed)');
    // A host that is not a DNS name or an IP literal never leaves the parser (it may carry a password).
    for (const host of ['db1.example.com\tpassword=hunter2', "'db1.example.com password=hunter2'", '/var/run/postgresql']) {
      const read = () => readAliasEndpoints(`[databases]\nappdb = host=${host} dbname=app\n`, ['appdb']);
      expect(read).toThrow(InvalidInputError);
      expect(read).toThrow('[databases] appdb: host= is not a DNS name or an IP literal (value not shown: it may hold a secret); fix the entry by hand');
      expect(read).not.toThrow(/hunter2/);
    }
    const broken = () => readAliasEndpoints("[databases]\nappdb = host=a port=54x password='hunter2\n", ['appdb']);
    expect(broken).toThrow(InvalidInputError);
    expect(broken).not.toThrow(/hunter2/);
  });
});

describe('the connection string grammar is PgBouncer 1.18\'s', () => {
  it('a tab does not separate pairs: it is part of the value, as PgBouncer reads it (so that host is refused)', () => {
    // PgBouncer reads host "db.example.com<TAB>port=6000" and port 5432; no such host can be managed.
    expect(() => readAliasEndpoints('[databases]\nappdb = host=db.example.com\tport=6000\n', ['appdb'])).toThrow('[databases] appdb: host= is not a DNS name or an IP literal');
    expect(readAliasEndpoints('[databases]\nappdb = host=db.example.com dbname=a\tb\n', ['appdb'])).toEqual({ appdb: { host: 'db.example.com', port: 5432 } });
  });

  it('allows spaces around = inside the connection string and tabs around the line separator', () => {
    expect(readAliasEndpoints('[databases]\n  appdb =\thost = db.example.com   port= 6000\t\n', ['appdb'])).toEqual({ appdb: { host: 'db.example.com', port: 6000 } });
  });

  it.each([
    ['an empty value', 'appdb = host=db.example.com port=', /empty value for port/],
    ['a backslash-quote that PgBouncer versions read differently', "appdb = host=a password='x\\' y'", /PgBouncer versions read differently/],
    ['an unterminated quote', "appdb = host=a password='x", /unterminated quote/],
    ['a key without =', 'appdb = host=a sslmode', /expected key=value pairs/],
  ])('refuses %s, naming the alias but not the value', (_what, line, message) => {
    const read = () => readAliasEndpoints(`[databases]\n${line}\n`, ['appdb']);
    expect(read).toThrow(InvalidInputError);
    expect(read).toThrow(message);
    expect(read).toThrow(/^\[databases\] appdb: connection string is malformed/);
  });

  it.each([
    ['[Databases]\nappdb = host=a\n', /line 1: unknown section \[Databases\]/],
    ['[ databases ]\nappdb = host=b\n', /line 1: unknown section \[ databases \]/],
    ['[databases]\n"appdb" = host=a\n', /line 2: expected name = value/],
    ['appdb = host=a\n[databases]\n', /line 1: appdb comes before any section header/],
    ['[databases\nappdb = host=a\n', /line 1: a section header without \]/],
  ])('refuses what PgBouncer 1.18 refuses to load: %j', (ini, message) => {
    expect(() => readAliasEndpoints(ini, ['appdb'])).toThrow(InvalidInputError);
    expect(() => readAliasEndpoints(ini, ['appdb'])).toThrow(message);
  });

  it('reads headers as PgBouncer does: a comment or an entry may follow ] on the same line', () => {
    const ini = '[databases] ; managed\nappdb = host=a\n[pgbouncer] ; main\npool_mode = transaction\n';
    expect(readAliasEndpoints(ini, ['appdb'])).toEqual({ appdb: { host: 'a', port: 5432 } });
    expect(readPoolMode(ini, 'appdb')).toBe('transaction');
    expect(readAliasEndpoints('[databases] appdb = host=b port=6000\n', ['appdb'])).toEqual({ appdb: { host: 'b', port: 6000 } });
    expect(setAliasEndpoints('[databases] appdb = host=b\n', [{ alias: 'appdb', endpoint: { host: 'c', port: 5432 } }])).toBe('[databases] appdb = host=c\n');
  });

  it('refuses a character glued after a closing quote (PgBouncer silently drops it)', () => {
    expect(() => readAliasEndpoints("[databases]\nappdb = host='a'b port=6000\n", ['appdb'])).toThrow(/characters glued after a closing quote/);
    expect(readAliasEndpoints("[databases]\nappdb = host='a' port=6000\n", ['appdb'])).toEqual({ appdb: { host: 'a', port: 6000 } });
  });
});

describe('readPoolMode', () => {
  it("prefers the alias's own pool_mode, then [pgbouncer] pool_mode, then session", () => {
    expect(readPoolMode(SAMPLE, 'appdb_ro')).toBe('session');
    expect(readPoolMode(SAMPLE, 'appdb')).toBe('transaction');
    expect(readPoolMode('[databases]\nappdb = host=a\n', 'appdb')).toBe('session');
  });

  it('counts only [pgbouncer] settings after the last [pgbouncer] header: each header resets them to defaults', () => {
    expect(readPoolMode('[pgbouncer]\npool_mode = transaction\n[databases]\nappdb = host=a\n[pgbouncer]\nlisten_port = 6432\n', 'appdb')).toBe('session');
    expect(readPoolMode('[pgbouncer]\npool_mode = session\n[pgbouncer]\npool_mode = transaction\n[databases]\nappdb = host=a\n', 'appdb')).toBe('transaction');
  });

  it('refuses an unknown pool mode', () => {
    expect(() => readPoolMode('[pgbouncer]\npool_mode = sometimes\n', 'appdb')).toThrow(/pool_mode for appdb must be one of session, transaction, statement/);
  });
});

describe('redactSecrets', () => {
  it('hides every password value, quoted or not, and keeps every other byte', () => {
    // Act
    const redacted = redactSecrets(SAMPLE);

    // Assess
    expect(redacted).not.toMatch(/s3cret|pa''ss|r3ad0nly/);
    expect(redacted).toContain("appdb = host=app-use2.cluster-abc123def456.us-east-2.rds.amazonaws.com port=5432 dbname=app user=app password=**** pool_size=40\n");
    expect(redacted).toContain('appdb_ro = host=app-use2.cluster-ro-abc123def456.us-east-2.rds.amazonaws.com dbname=app user=app_ro password=**** pool_mode=session\n');
    expect(redacted.replace(/password=\S+/g, '')).toBe(SAMPLE.replace(/password=('(?:[^']|'')*'|\S+)/g, ''));
  });

  it('hides password-like keys of other sections and the whole value of a connection string it cannot parse', () => {
    const ini = "[pgbouncer]\nauth_password = topsecret\n[databases]\nappdb = host=a password='unterminated secret\n";
    expect(redactSecrets(ini)).toBe('[pgbouncer]\nauth_password = ****\n[databases]\nappdb = ****\n');
  });

  it('hides passwords in commented-out lines too, in any section and before the first one', () => {
    const ini = [
      '; password = before-any-section',
      '[databases]',
      ';appdb = host=old.example.com password=c0mmented user=app',
      '#  appdb_ro = host=old-ro.example.com password=\'hash quoted\'',
      '[pgbouncer]',
      '; auth_password = semi-colon',
      'listen_port = 6432',
      '',
    ].join('\n');

    const redacted = redactSecrets(ini);

    expect(redacted).not.toMatch(/before-any-section|c0mmented|hash quoted|semi-colon/);
    expect(redacted).toContain(';appdb = host=old.example.com password=****');
    expect(redacted).toContain('listen_port = 6432\n');
  });

  it('hides a password glued to another value with a tab (PgBouncer splits connection strings on spaces only)', () => {
    const ini = '[databases]\nappdb = host=db1.example.com\tpassword=t4bbed dbname=app\r\nappdb_ro = dbname=app\tuser=app_ro\tpassword=t4b2\n';

    const redacted = redactSecrets(ini);

    expect(redacted).not.toMatch(/t4bbed|t4b2/);
    expect(redacted).toBe('[databases]\nappdb = host=db1.example.com\tpassword=****\r\nappdb_ro = dbname=app\tuser=app_ro\tpassword=****\n');
  });

  it('leaves no generated password behind', () => {
    for (const generated of GENERATED.slice(0, 100)) {
      const redacted = redactSecrets(render(generated));
      expect(redacted).not.toMatch(/s3cret|plain|escaped|not a comment|''''/);
    }
  });
});

describe('changedSettings', () => {
  it('lists the [pgbouncer] settings whose effective value changes, dropped ones as null, secrets flagged', () => {
    const before = '[databases]\nappdb = host=a\n[pgbouncer]\npool_mode = session\nmax_client_conn = 100\nauth_password = x\n';
    const after = '[databases]\nappdb = host=b\n[pgbouncer] ; edited\npool_mode = transaction\nauth_password = y\nserver_lifetime = 60\n';
    expect(changedSettings(before, after)).toEqual([
      { key: 'auth_password', value: 'y', secret: true },
      { key: 'max_client_conn', value: null, secret: false },
      { key: 'pool_mode', value: 'transaction', secret: false },
      { key: 'server_lifetime', value: '60', secret: false },
    ]);
    expect(changedSettings(before, before)).toEqual([]);
  });
});

describe('effectiveSettings', () => {
  it('lists every [pgbouncer] setting after the last header in file order, the last value of a key winning, secrets flagged', () => {
    const ini = '[pgbouncer]\nlisten_port = 1\n[databases]\nappdb = host=a\n[pgbouncer]\npool_mode = session\nauth_password = x\nmax_client_conn = 01750\npool_mode = transaction\n';
    expect(effectiveSettings(ini)).toEqual([
      { key: 'pool_mode', value: 'transaction', secret: false },
      { key: 'auth_password', value: 'x', secret: true },
      { key: 'max_client_conn', value: '01750', secret: false },
    ]);
    expect(effectiveSettings('[databases]\nappdb = host=a\n')).toEqual([]);
  });
});
