/**
 * Cleanup registry: everything a local run starts (processes, temp dirs) registers how to undo itself,
 * and one call undoes all of it, newest first. Installed process handlers make sure this also happens
 * on failure, uncaught exceptions, SIGINT and SIGTERM, so nothing is left listening.
 */

export interface CleanupAction {
  readonly name: string;
  /** Graceful undo (e.g. SIGTERM, wait, then SIGKILL). */
  readonly run: () => Promise<void>;
  /** Last-resort synchronous undo for the process `exit` event (SIGKILL, rmSync). */
  readonly runSync: () => void;
}

export interface CleanupReport {
  readonly done: readonly string[];
  readonly failed: readonly { readonly name: string; readonly error: string }[];
}

export class CleanupRegistry {
  readonly #actions: CleanupAction[] = [];
  #removeHandlers: (() => void) | undefined;

  /** Registers an undo action; returns a function that forgets it (when the resource went away by itself). */
  register(action: CleanupAction): () => void {
    this.#actions.push(action);
    return () => {
      const index = this.#actions.indexOf(action);
      if (index >= 0) this.#actions.splice(index, 1);
    };
  }

  get pending(): readonly string[] {
    return this.#actions.map((action) => action.name);
  }

  /** Runs every action, newest first; one failing action never stops the others. */
  async cleanup(): Promise<CleanupReport> {
    const done: string[] = [];
    const failed: { name: string; error: string }[] = [];
    while (this.#actions.length > 0) {
      const action = this.#actions.pop() as CleanupAction;
      try {
        await action.run();
        done.push(action.name);
      } catch (error) {
        failed.push({ name: action.name, error: error instanceof Error ? error.message : String(error) });
        try {
          action.runSync();
        } catch {
          // Already reported above; the synchronous fallback is best effort.
        }
      }
    }
    this.#removeHandlers?.();
    this.#removeHandlers = undefined;
    return { done, failed };
  }

  cleanupSync(): void {
    while (this.#actions.length > 0) {
      const action = this.#actions.pop() as CleanupAction;
      try {
        action.runSync();
      } catch {
        // Process is exiting: nothing better to do than try the next one.
      }
    }
  }

  /**
   * Cleans up on SIGINT/SIGTERM (then exits 130/143), on an uncaught exception or unhandled rejection
   * (then exits 1), and synchronously on `exit`. Returns a function that removes the handlers.
   */
  installProcessHandlers(log: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): () => void {
    if (this.#removeHandlers) return this.#removeHandlers;
    const onSignal = (signal: NodeJS.Signals) => {
      log(`received ${signal}: stopping local processes and removing the temp dir`);
      void this.cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    const onFatal = (error: unknown) => {
      log(`uncaught error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
      void this.cleanup().finally(() => process.exit(1));
    };
    const onExit = () => this.cleanupSync();
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    process.on('uncaughtException', onFatal);
    process.on('unhandledRejection', onFatal);
    process.on('exit', onExit);
    this.#removeHandlers = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('uncaughtException', onFatal);
      process.off('unhandledRejection', onFatal);
      process.off('exit', onExit);
    };
    return this.#removeHandlers;
  }
}
