import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // A private TMPDIR per run; anything a test leaves in it fails the run (test/support/temp-dir-guard.ts).
    globalSetup: ['test/support/temp-dir-guard.ts'],
    // Integration tests start real PostgreSQL/PgBouncer processes and `sls package`; a 2-core CI box needs room.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // Real servers bind ports; keep files in separate processes but not too many at once on 2 cores.
    pool: 'forks',
    maxWorkers: 2,
  },
});
