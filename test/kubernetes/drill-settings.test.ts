/**
 * The local drill's PgBouncer must never run on kinder timing settings than the shipped
 * deploy/kubernetes config: a login retry that costs the drill 2 s must cost production 2 s too.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { changedSettings } from '../../lib/core/pgbouncer-ini.ts';
import { renderPgBouncerIni } from '../../lib/local/pgbouncer.ts';

/** Settings that decide how long clients wait or fail around a writer move (PgBouncer's names). */
const TIMING_SETTINGS = [
  'server_login_retry',
  'server_connect_timeout',
  'server_lifetime',
  'server_idle_timeout',
  'server_check_delay',
  'query_wait_timeout',
  'query_timeout',
  'client_login_timeout',
  'suspend_timeout',
  'server_reset_query',
];

function shippedIni(): string {
  const text = readFileSync(new URL('../../deploy/kubernetes/pgbouncer.yaml', import.meta.url), 'utf8');
  const configMap = parseAllDocuments(text)
    .map((document) => document.toJS() as { kind?: string; metadata?: { name?: string }; data?: Record<string, string> })
    .find((object) => object.kind === 'ConfigMap' && object.metadata?.name === 'pgbouncer-config');
  const ini = configMap?.data?.['pgbouncer.ini'];
  if (ini === undefined) throw new Error('deploy/kubernetes/pgbouncer.yaml has no ConfigMap pgbouncer-config with pgbouncer.ini');
  return ini;
}

function drillIni(poolMode: 'transaction' | 'session'): string {
  return renderPgBouncerIni({
    listenPort: 6432,
    writeAlias: 'appdb',
    readAlias: 'appdb_ro',
    write: { host: '127.0.0.1', port: 5432 },
    read: { host: '127.0.0.1', port: 5433 },
    poolMode,
    authFile: '/tmp/userlist.txt',
    pidFile: '/tmp/pgbouncer.pid',
  });
}

describe('the drill PgBouncer and deploy/kubernetes', () => {
  it.each(['transaction', 'session'] as const)('use the same timing settings (%s pooling)', (poolMode) => {
    // Act
    const differences = changedSettings(shippedIni(), drillIni(poolMode)).filter((change) => TIMING_SETTINGS.includes(change.key));

    // Assess
    expect(differences).toEqual([]);
  });

  it('ships a short server_login_retry, so a dead writer does not hold writes 15 s after the repoint', () => {
    // Act
    const loginRetry = changedSettings('[pgbouncer]\n', shippedIni()).find((change) => change.key === 'server_login_retry');

    // Assess
    expect(Number(loginRetry?.value)).toBeLessThanOrEqual(2);
  });
});
