import { CleanupRegistry, type CleanupReport } from './cleanup.ts';
import { locateBinaries, type BinaryLocations, type LocalBinaries } from './binaries.ts';
import { resolveRunAs, type RunAs } from './os-user.ts';
import { createWorkspace, type Workspace } from './workspace.ts';

/** Everything local servers need: binaries, a temp dir, the user to run as, and the cleanup registry. */
export interface LocalEnvironment {
  readonly binaries: LocalBinaries;
  readonly workspace: Workspace;
  readonly registry: CleanupRegistry;
  readonly runAs: RunAs | undefined;
  /** Stops every process started here and removes the temp dir. */
  cleanup(): Promise<CleanupReport>;
}

export interface LocalEnvironmentOptions extends BinaryLocations {
  /** Install SIGINT/SIGTERM/uncaught-exception handlers that clean up (CLI: yes; test workers: no). */
  readonly handleProcessSignals?: boolean;
}

/**
 * @example
 * const env = createLocalEnvironment({ handleProcessSignals: true });
 * try { const a = await initPrimary(env, 'region-a'); ... } finally { await env.cleanup(); }
 */
export function createLocalEnvironment(options: LocalEnvironmentOptions = {}): LocalEnvironment {
  // Fail before creating anything when a binary is missing.
  const binaries = locateBinaries(options);
  const runAs = resolveRunAs();
  const registry = new CleanupRegistry();
  if (options.handleProcessSignals) registry.installProcessHandlers();
  const workspace = createWorkspace(registry, runAs);
  return { binaries, workspace, registry, runAs, cleanup: () => registry.cleanup() };
}
