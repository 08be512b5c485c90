/**
 * The ini editor against the real PgBouncer 1.18: each case is a file PgBouncer is started on; what the binary
 * shows (SHOW DATABASES, SHOW CONFIG, or a refusal to start) is what the editor must read, or the editor must
 * refuse the file. No backend server is needed: PgBouncer connects to a database only when a client asks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PGBOUNCER_DEFAULT_PORT, readAliasEndpoints, readPoolMode } from '../../lib/core/pgbouncer-ini.ts';
import { createLocalEnvironment, type LocalEnvironment } from '../../lib/local/environment.ts';
import { LocalPgBouncer } from '../../lib/local/pgbouncer.ts';

type View = { readonly alias: string | null; readonly poolMode: string } | 'refused';

let env: LocalEnvironment;
let bouncer: LocalPgBouncer;
/** The started file's [pgbouncer] lines (listen port, pidfile, auth) without pool_mode: every case reuses them. */
let main: string;

beforeAll(async () => {
  env = createLocalEnvironment();
  bouncer = await LocalPgBouncer.start(env, {
    region: 'differential',
    writeAlias: 'appdb',
    readAlias: 'appdb_ro',
    write: { host: '127.0.0.1', port: 1 },
    read: { host: '127.0.0.1', port: 1 },
    poolMode: 'session',
  });
  const ini = await bouncer.readIni();
  main = ini
    .slice(ini.indexOf('[pgbouncer]') + '[pgbouncer]'.length)
    .split('\n')
    .filter((line) => !line.startsWith('pool_mode'))
    .join('\n');
});

afterAll(async () => {
  const report = await env.cleanup();
  expect(report.failed).toEqual([]);
});

/** What PgBouncer makes of the file: appdb's host:port and the pool mode it runs appdb with. */
async function binaryView(ini: string): Promise<View> {
  await bouncer.writeIni(ini);
  try {
    await bouncer.restart();
  } catch {
    return 'refused';
  }
  const console = bouncer.console();
  try {
    const row = (await console.showDatabases()).find((candidate) => candidate.name === 'appdb');
    const global = (await console.showConfig()).find((setting) => setting.key === 'pool_mode')?.value ?? '';
    return { alias: row?.host ? `${row.host}:${row.port}` : null, poolMode: row?.poolMode ?? global };
  } finally {
    await console.close();
  }
}

function editorView(ini: string): View {
  try {
    const endpoint = readAliasEndpoints(ini, ['appdb']).appdb ?? null;
    return { alias: endpoint ? `${endpoint.host}:${endpoint.port ?? PGBOUNCER_DEFAULT_PORT}` : null, poolMode: readPoolMode(ini, 'appdb') };
  } catch {
    return 'refused';
  }
}

describe('the ini editor reads a file exactly as PgBouncer 1.18 does, or refuses it', () => {
  const cases: Array<[string, () => string]> = [
    ['comments after the section headers', () => `[databases] ; managed\nappdb = host=127.0.0.1 port=6001\n[pgbouncer] ; main\npool_mode = transaction\n${main}`],
    ['an entry on the [databases] header line', () => `[databases] appdb = host=127.0.0.1 port=6002\n[pgbouncer]\npool_mode = transaction\n${main}`],
    ['a setting on the [pgbouncer] header line', () => `[databases]\nappdb = host=127.0.0.1 port=6003\n[pgbouncer] pool_mode = transaction\n${main}`],
    ['a second [pgbouncer] header (it resets earlier settings to defaults)', () => `[pgbouncer]\npool_mode = transaction\n[databases]\nappdb = host=127.0.0.1\n[pgbouncer]\n${main}`],
    ['pool_mode on the alias line over [pgbouncer]', () => `[databases]\nappdb = host=127.0.0.1 port=6004 pool_mode=transaction\n[pgbouncer]\npool_mode = session\n${main}`],
    ['indented lines, CRLF and a # comment', () => `\t[databases]\r\n  # note\r\n  appdb =\thost=127.0.0.1   port=6005\r\n[pgbouncer]\r\npool_mode = transaction\r\n${main.replaceAll('\n', '\r\n')}`],
    ['a section name in other case', () => `[Databases]\nappdb = host=127.0.0.1\n[pgbouncer]\n${main}`],
    ['a section name with spaces', () => `[ databases ]\nappdb = host=127.0.0.1\n[pgbouncer]\n${main}`],
    ['a double-quoted alias name', () => `[databases]\n"appdb" = host=127.0.0.1\n[pgbouncer]\n${main}`],
    ["a key glued after a closing quote (PgBouncer eats its first letter: 'ort' is unknown)", () => `[databases]\nappdb = host='127.0.0.1'port=6007\n[pgbouncer]\n${main}`],
    ['an unterminated section header', () => `[databases\nappdb = host=127.0.0.1\n[pgbouncer]\n${main}`],
  ];

  it.each(cases)('%s', async (_what, build) => {
    // Prepare
    const ini = build();

    // Act
    const binary = await binaryView(ini);
    const editor = editorView(ini);

    // Assess
    expect(editor).toEqual(binary);
  });

  it('a character glued after a closing quote: PgBouncer silently drops it, the editor refuses the file', async () => {
    // Prepare: PgBouncer's cstr_get_value cuts the character after the closing quote, whatever it is.
    const ini = `[databases]\nappdb = host='127.0.0.1'x port=6006\n[pgbouncer]\n${main}`;

    // Act
    const binary = await binaryView(ini);
    const editor = editorView(ini);

    // Assess
    expect(binary).toEqual({ alias: '127.0.0.1:6006', poolMode: 'session' });
    expect(editor).toBe('refused');
  });
});
