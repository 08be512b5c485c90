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
    const order = ['trap finish EXIT', "trap '' PIPE", 'cat > "$tmp"', 'config_before=$(table "SHOW CONFIG"', `admin 'PAUSE "appdb"'`, 'cp -p "$file" "$backup"', 'mv -f "$tmp" "$file"', 'admin "RELOAD" >/dev/null 2>"$err"', 'rows=$(table "SHOW DATABASES"', "'w.example.com:5432'", "'r.example.com:6543'", 'config_after=$(table "SHOW CONFIG"', 'verified=1', `admin 'RESUME "appdb"' >/dev/null 2>"$err"`, 'result="aurora-failover-result: status=switched'];
    const positions = order.map((needle) => script.indexOf(needle));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
    expect(script).toContain('timeout 7 psql');
    expect(script).toContain(`= '321' ] || fail short-stdin`);
    // held=1 is set before PAUSE is sent: a PAUSE that times out is still resumed by the trap.
    expect(script.indexOf('held=1')).toBeLessThan(script.indexOf(`admin 'PAUSE`));
  });

  it('removes its temp and error files on every exit and reports each console step with its exit status', () => {
    // Act
    const script = buildLiveSwitchScript(input);

    // Assess: found against real PgBouncer: a failed step used to leave .aurora-failover.err in the config dir.
    const trap = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
    expect(trap).toContain('rm -f "$err"');
    expect(script.slice(script.lastIndexOf('on_exit() {'))).toContain('rm -f "$tmp" "$backup"');
    for (const step of ['pause', 'reload', 'show-databases', 'show-config', 'resume']) expect(script).toContain(`|| fail ${step} "exit=$?"`);
  });

  it('prints nothing before RESUME: fail only records the line, the EXIT trap rolls back, resumes, then prints', () => {
    // Act
    const script = buildLiveSwitchScript(input);

    // Assess: a closed stdout (SIGPIPE) used to kill the script at its first echo, before the trap's RESUME.
    expect(script).not.toMatch(/^\s*echo /m);
    const onExit = script.slice(script.lastIndexOf('on_exit() {'));
    expect(onExit.indexOf('mv -f "$backup" "$file"')).toBeLessThan(onExit.indexOf(`admin 'RESUME "appdb"'`));
    const finish = script.slice(script.indexOf('finish() {'), script.indexOf('trap finish EXIT'));
    expect(finish.indexOf('on_exit')).toBeLessThan(finish.indexOf("printf '%s\\n' \"$result\""));
    for (const trap of ["trap '' PIPE", "trap 'exit 129' HUP", "trap 'exit 143' TERM"]) expect(script).toContain(trap);
  });

  it('holds nothing when asked not to', () => {
    // Act
    const script = buildLiveSwitchScript({ ...input, pauseWrites: false });

    // Assess
    expect(script).not.toContain('PAUSE');
    expect(script).not.toContain('held=1');
    expect(script).toContain('paused=0 hold=none"');
  });

  it('session mode: KILL (quoted) before the file is replaced, skipped when the alias is already held', () => {
    // Act
    const script = buildLiveSwitchScript({ ...input, writeAlias: 'app-db', hold: 'kill' });

    // Assess
    expect(script).not.toContain('PAUSE');
    expect(script).toContain(`case "$(route "$write_alias")" in *:1) ;; *) admin 'KILL "app-db"'`);
    expect(script.indexOf(`'KILL "app-db"'`)).toBeLessThan(script.indexOf('admin "RELOAD" >/dev/null 2>"$err"'));
  });

  it('passes changed settings to the SHOW CONFIG check, never a secret value', () => {
    // Act
    const script = buildLiveSwitchScript({
      ...input,
      expectedSettings: [
        { key: 'pool_mode', value: 'transaction', secret: false },
        { key: 'auth_password', value: 'hunter2', secret: true },
        { key: 'server_lifetime', value: null, secret: false },
      ],
    });

    // Assess
    expect(script).toContain("changes='set\tpool_mode\ttransaction\nsecret\tauth_password\ndefault\tserver_lifetime'");
    expect(script).not.toContain('hunter2');
    expect(() => buildLiveSwitchScript({ ...input, expectedSettings: [{ key: "x';reboot", value: '1', secret: false }] })).toThrow(UnsafeValueError);
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
    expect(pause).toContain(`admin 'PAUSE "appdb"'`);
    expect(pause).toContain(`*'already suspended/paused'*) ;;`);
    expect(resume).toContain(`admin 'RESUME "appdb"'`);
    expect(resume).toContain(`*'is not paused'*) ;;`);
    // 124 (coreutils timeout) / 143 (busybox) tell a bound that ran out from a console error.
    expect(pause).toContain('fail pause "exit=$code"');
    expect(() => buildAdminCommandScript('PAUSE', 'a b', 5)).toThrow(UnsafeValueError);
  });

  it('the routes check only reads', () => {
    // Act
    const script = buildShowRoutesScript('appdb', 'appdb_ro', 5);

    // Assess
    expect(script).toContain('table "SHOW DATABASES"');
    expect(script).toContain('paused=${write_row##*:}');
    expect(script).not.toMatch(/PAUSE|RELOAD|RESUME|KILL|mv -f|cat >/);
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
