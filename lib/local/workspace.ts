import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CleanupRegistry } from './cleanup.ts';
import type { RunAs } from './os-user.ts';

/** A temp dir owned by the servers' user, removed by the cleanup registry. */
export interface Workspace {
  readonly root: string;
  /** Creates (and chowns) a subdirectory; returns its path. */
  dir(name: string, mode?: number): string;
}

export function createWorkspace(registry: CleanupRegistry, runAs: RunAs | undefined, prefix = 'aurora-failover-'): Workspace {
  // A short base path: PostgreSQL socket paths and pgbouncer paths stay well under system limits.
  const root = mkdtempSync(join(process.env.AURORA_FAILOVER_TMPDIR ?? tmpdir(), prefix));
  own(root, runAs);
  registry.register({
    name: `temp dir ${root}`,
    run: () => rm(root, { recursive: true, force: true }),
    runSync: () => rmSync(root, { recursive: true, force: true }),
  });
  return {
    root,
    dir(name: string, mode = 0o700): string {
      const path = join(root, name);
      mkdirSync(path, { recursive: true, mode });
      own(path, runAs);
      return path;
    },
  };
}

export function own(path: string, runAs: RunAs | undefined): void {
  if (runAs) chownSync(path, runAs.uid, runAs.gid);
}
