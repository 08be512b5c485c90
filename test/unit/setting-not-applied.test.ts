/** The RELOAD check of the local live switch: judged against the new file, as the pod's script does. */
import { describe, expect, it } from 'vitest';
import { sameSettingValue, settingNotApplied, type PgBouncerConfigRow } from '../../lib/core/pgbouncer-console.ts';
import { effectiveSettings } from '../../lib/core/pgbouncer-ini.ts';

const row = (key: string, value: string, defaultValue: string): PgBouncerConfigRow => ({ key, value, default: defaultValue });
const NEW_INI = '[databases]\nappdb = host=db port=5432\n\n[pgbouncer]\npool_mode = transaction\nmax_client_conn = 01750\nauth_password = s3cret\n';

describe('settingNotApplied', () => {
  it('passes a file whose settings all show, even when the running file differed or a console SET moved one', () => {
    // Prepare: before the RELOAD pool_mode was session (an edit that never reached this pod), log_pooler_errors was SET to 0
    const before = [row('pool_mode', 'session', 'session'), row('max_client_conn', '100', '100'), row('log_pooler_errors', '0', '1'), row('auth_password', '', '')];
    const after = [row('pool_mode', 'transaction', 'session'), row('max_client_conn', '1000', '100'), row('log_pooler_errors', '1', '1'), row('auth_password', '****', '')];

    // Act + Assess (01750 is octal for 1000, as PgBouncer reads it; the SET went back to the default on RELOAD)
    expect(settingNotApplied(before, after, effectiveSettings(NEW_INI))).toBeNull();
  });

  it('names a setting of the file that SHOW CONFIG does not show as the file says', () => {
    const after = [row('pool_mode', 'session', 'session'), row('max_client_conn', '1000', '100'), row('auth_password', '****', '')];
    expect(settingNotApplied([], after, effectiveSettings(NEW_INI))).toBe('pool_mode');
  });

  it('names a setting the file does not set that moved away from both its old value and its default', () => {
    const before = [row('server_lifetime', '600', '3600')];
    const after = [row('pool_mode', 'transaction', 'session'), row('max_client_conn', '1000', '100'), row('auth_password', '****', ''), row('server_lifetime', '7', '3600')];
    expect(settingNotApplied(before, after, effectiveSettings(NEW_INI))).toBe('server_lifetime');
  });

  it('compares numbers as PgBouncer reads them', () => {
    expect(sameSettingValue('511', '0777')).toBe(true);
    expect(sameSettingValue('255', '0xff')).toBe(true);
    expect(sameSettingValue('3600', '3600.0')).toBe(true);
    expect(sameSettingValue('Transaction', 'transaction')).toBe(true);
    expect(sameSettingValue('100', '1000')).toBe(false);
  });
});
