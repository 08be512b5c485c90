/**
 * No host that reaches Step Functions payloads, logs, metrics or notifications can carry a password:
 * hosts read from pgbouncer.ini are refused unless they are host names (test/unit/pgbouncer-ini.test.ts),
 * and hosts read from PgBouncer's SHOW DATABASES are hidden unless they are host names (here).
 */
import { describe, expect, it } from 'vitest';
import { HIDDEN_HOST, parseDatabaseRow } from '../../lib/adapters/pgbouncer-console-pg.ts';
import { routingMismatch } from '../../lib/workflow/live-switch.ts';

const row = (name: string, host: string | null) => ({ name, host, port: '5432', database: 'app', pool_mode: 'transaction', paused: '0' });

describe('SHOW DATABASES hosts', () => {
  it('a host PgBouncer read with a tab-glued password is hidden, and the mismatch reason does not echo it', () => {
    // Prepare: PgBouncer splits connection strings on spaces only, so it reports this as the host
    const rows = [row('appdb', 'writer.example.com\tpassword=hunter2'), row('appdb_ro', 'reader.example.com')];

    // Act
    const parsed = rows.map(parseDatabaseRow);
    const reason = routingMismatch(parsed, {
      writeAlias: 'appdb',
      readAlias: 'appdb_ro',
      expect: { write: { host: 'writer.example.com', port: 5432 }, read: { host: 'reader.example.com', port: 5432 } },
    });

    // Assess
    expect(parsed[0]!.host).toBe(HIDDEN_HOST);
    expect(reason).toBe(`routes appdb to ${HIDDEN_HOST}:5432, not writer.example.com:5432`);
    expect(JSON.stringify(parsed)).not.toContain('hunter2');
  });

  it('host names, IP literals and socket-less rows pass through unchanged', () => {
    expect(parseDatabaseRow(row('appdb', 'app-use2.cluster-abc.us-east-2.rds.amazonaws.com')).host).toBe('app-use2.cluster-abc.us-east-2.rds.amazonaws.com');
    expect(parseDatabaseRow(row('appdb', '10.0.0.12')).host).toBe('10.0.0.12');
    expect(parseDatabaseRow(row('pgbouncer', null)).host).toBeNull();
    expect(parseDatabaseRow(row('pgbouncer', '')).host).toBeNull();
  });
});
