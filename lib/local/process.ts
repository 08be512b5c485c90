import { spawn, type ChildProcess } from 'node:child_process';
import type { CleanupRegistry } from './cleanup.ts';
import type { RunAs } from './os-user.ts';

const OUTPUT_TAIL_LINES = 40;

export interface ProcessOptions {
  /** Short name for logs and cleanup reports, e.g. `postgres:region-a`. */
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly runAs?: RunAs;
  /** The signal for an orderly stop, also used by the cleanup registry (PostgreSQL: SIGINT, fast shutdown). */
  readonly stopSignal?: NodeJS.Signals;
}

export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Environment for a child running as another user: no inherited secrets, a HOME it can use. */
function childEnv(options: ProcessOptions): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    HOME: options.cwd ?? '/tmp',
    ...options.env,
  };
}

/** A long-running server child process, supervised in the foreground and registered for cleanup. */
export class ManagedProcess {
  readonly name: string;
  readonly exited: Promise<ExitStatus>;
  readonly #child: ChildProcess;
  readonly #tail: string[] = [];
  #exitStatus: ExitStatus | undefined;

  private constructor(options: ProcessOptions, registry: CleanupRegistry) {
    this.name = options.name;
    this.#child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: childEnv(options),
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    for (const stream of [this.#child.stdout, this.#child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => this.#remember(chunk));
    }
    this.exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#exitStatus = { code, signal };
        resolve(this.#exitStatus);
      });
      this.#child.once('error', (error) => {
        this.#remember(`spawn failed: ${error.message}`);
        this.#exitStatus = { code: -1, signal: null };
        resolve(this.#exitStatus);
      });
    });
    const unregister = registry.register({
      name: this.name,
      run: async () => {
        await this.stop({ signal: options.stopSignal ?? 'SIGTERM' });
      },
      runSync: () => this.#killNow(),
    });
    void this.exited.then(unregister);
  }

  static start(options: ProcessOptions, registry: CleanupRegistry): ManagedProcess {
    return new ManagedProcess(options, registry);
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  get running(): boolean {
    return this.#exitStatus === undefined;
  }

  /** The last lines the process printed, for error messages (servers here print no secrets). */
  output(): string {
    return this.#tail.join('\n');
  }

  signal(signal: NodeJS.Signals): void {
    if (this.running) this.#child.kill(signal);
  }

  /** Sends `signal` (SIGTERM by default), then SIGKILL when the process has not exited after `graceMs`. */
  async stop(options: { signal?: NodeJS.Signals; graceMs?: number } = {}): Promise<ExitStatus> {
    if (!this.running) return this.exited;
    this.#child.kill(options.signal ?? 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.graceMs ?? 10_000);
    });
    const first = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      this.#killNow();
      return this.exited;
    }
    return first;
  }

  #killNow(): void {
    if (this.running) this.#child.kill('SIGKILL');
  }

  #remember(chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      this.#tail.push(line);
      if (this.#tail.length > OUTPUT_TAIL_LINES) this.#tail.shift();
    }
  }
}

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a short command to completion (initdb, pg_basebackup, pg_rewind); throws with its output on failure. */
export function runCommand(options: ProcessOptions & { readonly timeoutMs?: number }): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: childEnv(options),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
      killSignal: 'SIGKILL',
      ...(options.runAs ? { uid: options.runAs.uid, gid: options.runAs.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) return resolve({ code, stdout, stderr });
      const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new Error(`${options.name} ${why}: ${lastLines(stderr || stdout, 12)}`));
    });
  });
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
