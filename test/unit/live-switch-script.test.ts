import { describe, expect, it } from 'vitest';
import {
  buildAdminCommandScript,
  buildLiveSwitchScript,
  buildShowRoutesScript,
  parseScriptResult,
  RESULT_MARKER,
  type LiveSwitchScriptInput,
} from '../../lib/core/live-switch-script.ts';
import { UnsafeValueError } from '../../lib/core/errors.ts';

const input: LiveSwitchScriptInput = {
  fileName: 'pgbouncer.ini',
  iniBytes: 321,
  writeAlias: 'appdb',
  readAlias: 'appdb_ro',
  expectedWrite: { host: 'w.example.com', port: 5432 },
  expectedRead: { host: 'r.example.com', port: 6543 },
  pauseWrites: true,
  commandTimeoutSeconds: 7,
};

describe('buildLiveSwitchScript', () => {
  it('pauses, reloads, verifies both aliases and resumes, in that order, with a resume trap on exit', () => {
    // Act
    const script = buildLiveSwitchScript(input);

    // Assess
    const order = ['trap finish EXIT', 'cat > "$tmp"', 'mv -f "$tmp" "$file"', 'admin "PAUSE $write_alias"', 'admin "RELOAD"', 'admin "SHOW DATABASES"', "'w.example.com:5432'", "'r.example.com:6543'", 'admin "RESUME $write_alias" >/dev/null 2>"$dir'];
    const positions = order.map((needle) => script.indexOf(needle));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(script).toContain('timeout 7 psql');
    expect(script).toContain(`= '321' ] || fail short-stdin`);
    // paused=1 is set before PAUSE is sent: a PAUSE that times out is still resumed by the trap.
    expect(script.indexOf('paused=1')).toBeLessThan(script.indexOf('admin "PAUSE'));
  });

  it('removes its temp and error files on every exit and reports each console step with its exit status', () => {
    // Act
    const script = buildLiveSwitchScript(input);

    // Assess: found against real PgBouncer: a failed step used to leave .aurora-failover.err in the config dir.
    const trap = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
    expect(trap).toContain('rm -f "$tmp" "$dir/.aurora-failover.err"');
    for (const step of ['pause', 'reload', 'show-databases', 'resume']) expect(script).toContain(`|| fail ${step} "exit=$?"`);
  });

  it('leaves PAUSE and RESUME out when the pool mode does not allow pausing', () => {
    // Act
    const script = buildLiveSwitchScript({ ...input, pauseWrites: false });

    // Assess
    expect(script).not.toContain('PAUSE');
    expect(script).not.toContain('paused=1');
    expect(script).toContain('paused=0"');
  });

  it('skips the check of an alias whose expected endpoint is unknown', () => {
    // Act
    const script = buildLiveSwitchScript({ ...input, expectedRead: null });

    // Assess
    expect(script).not.toContain('read-alias-not-switched');
    expect(script).toContain('write-alias-not-switched');
  });

  it.each([
    ['fileName', { fileName: 'x;rm -rf /' }],
    ['aliases.write', { writeAlias: "appdb'; reboot; '" }],
    ['aliases.read', { readAlias: 'ro db' }],
    ['expectedWrite.host', { expectedWrite: { host: 'evil.com\n[pgbouncer]', port: 5432 } }],
    ['expectedRead.port', { expectedRead: { host: 'r.example.com', port: 0 } }],
    ['commandTimeoutSeconds', { commandTimeoutSeconds: 1.5 }],
  ])('refuses an unsafe %s', (field, override) => {
    // Act + Assess
    expect(() => buildLiveSwitchScript({ ...input, ...override })).toThrow(UnsafeValueError);
    expect(() => buildLiveSwitchScript({ ...input, ...override })).toThrow(field);
  });
});

describe('admin command scripts', () => {
  it('PAUSE tolerates "already paused", RESUME tolerates "not paused"', () => {
    // Act
    const pause = buildAdminCommandScript('PAUSE', 'appdb', 5);
    const resume = buildAdminCommandScript('RESUME', 'appdb', 5);

    // Assess
    expect(pause).toContain(`admin 'PAUSE appdb'`);
    expect(pause).toContain(`*'already suspended/paused'*) ;;`);
    expect(resume).toContain(`admin 'RESUME appdb'`);
    expect(resume).toContain(`*'is not paused'*) ;;`);
    // 124 (coreutils timeout) / 143 (busybox) tell a bound that ran out from a console error.
    expect(pause).toContain('fail pause "exit=$code"');
    expect(() => buildAdminCommandScript('PAUSE', 'a b', 5)).toThrow(UnsafeValueError);
  });

  it('the routes check only reads', () => {
    // Act
    const script = buildShowRoutesScript('appdb', 'appdb_ro', 5);

    // Assess
    expect(script).toContain('admin "SHOW DATABASES"');
    expect(script).not.toMatch(/PAUSE|RELOAD|RESUME|mv -f|cat >/);
  });
});

describe('parseScriptResult', () => {
  it('reads the last result line as fields', () => {
    // Act
    const result = parseScriptResult(`noise\n${RESULT_MARKER} status=switched write=w:5432 read=r:6543 paused=1\n`);

    // Assess
    expect(result).toEqual({ ok: true, status: 'switched', fields: { status: 'switched', write: 'w:5432', read: 'r:6543', paused: '1' } });
  });

  it('reports a failure by its step, and a missing line as no-result', () => {
    // Act
    const failed = parseScriptResult(`${RESULT_MARKER} status=failed step=reload exit=124\n`);
    const missing = parseScriptResult('sh: psql: not found\n');

    // Assess
    expect(failed).toMatchObject({ ok: false, status: 'reload', fields: { exit: '124' } });
    expect(missing).toEqual({ ok: false, status: 'no-result', fields: {} });
  });
});
