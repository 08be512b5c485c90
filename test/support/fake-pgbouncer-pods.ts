/**
 * Fake PgBouncer pods for the Kubernetes fake: each pod is a temp dir with the writable config dir
 * (the emptyDir of deploy/kubernetes/pgbouncer.yaml) and the admin console state. An exec runs the
 * real command with /bin/sh, with `psql` resolved to test/support/fake-pgbouncer/psql, the env the
 * admin container gets from the manifest, and the pod's dirs. Real PgBouncer behaviour is tested
 * against a real pgbouncer elsewhere; this checks what the adapter sends and how it reacts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecCall, ExecOutcome } from './kubernetes-server.ts';

const STUB_DIR = join(dirname(fileURLToPath(import.meta.url)), 'fake-pgbouncer');

export class FakePgBouncerPods {
  readonly #root = mkdtempSync(join(tmpdir(), 'fake-pgbouncer-pods-'));
  readonly #iniName: string;

  constructor(iniName = 'pgbouncer.ini') {
    this.#iniName = iniName;
  }

  /** A pod that started with `ini`: the init container copied it and PgBouncer loaded it. */
  addPod(name: string, ini: string): void {
    mkdirSync(this.#configDir(name), { recursive: true });
    mkdirSync(this.#stateDir(name), { recursive: true });
    writeFileSync(join(this.#configDir(name), this.#iniName), ini);
    writeFileSync(join(this.#stateDir(name), 'loaded.ini'), ini);
  }

  /** Make the pod's next admin `verb` (PAUSE, RELOAD, SHOW, RESUME) fail or hang. */
  inject(pod: string, fault: 'fail' | 'hang', verb: string): void {
    writeFileSync(join(this.#stateDir(pod), `${fault}-${verb}`), '');
  }

  configFile(pod: string): string {
    return readFileSync(join(this.#configDir(pod), this.#iniName), 'utf8');
  }

  loadedIni(pod: string): string {
    return readFileSync(join(this.#stateDir(pod), 'loaded.ini'), 'utf8');
  }

  commands(pod: string): string[] {
    const log = join(this.#stateDir(pod), 'commands.log');
    return existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter(Boolean) : [];
  }

  isPaused(pod: string, database: string): boolean {
    return existsSync(join(this.#stateDir(pod), `paused.${database}`));
  }

  /** The exec handler for FakeKubernetesServer. */
  readonly exec = (call: ExecCall): Promise<ExecOutcome> =>
    new Promise((resolve, reject) => {
      const [program, ...args] = call.command;
      if (!program) return reject(new Error('empty command'));
      const child = spawn(program, args, {
        cwd: join(this.#root, call.pod),
        env: {
          PATH: `${STUB_DIR}:/usr/bin:/bin`,
          PGBOUNCER_CONFIG_DIR: this.#configDir(call.pod),
          FAKE_PGBOUNCER_STATE: this.#stateDir(call.pod),
          FAKE_INI_NAME: this.#iniName,
          PGHOST: '127.0.0.1',
          PGPORT: '6432',
          PGUSER: 'pgbouncer',
          PGPASSWORD: 'admin-password-from-secret',
        },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (code) => resolve({ stdout, stderr, exitCode: code ?? 137 }));
      // A script that fails before reading stdin closes the pipe (EPIPE): its exit code is the outcome,
      // as in a real pod; the write error must not become an unhandled error of the test run.
      child.stdin.on('error', () => undefined);
      child.stdin.end(call.stdin);
    });

  cleanup(): void {
    rmSync(this.#root, { recursive: true, force: true });
  }

  #configDir(pod: string): string {
    return join(this.#root, pod, 'config');
  }

  stateDir(pod: string): string {
    return this.#stateDir(pod);
  }

  #stateDir(pod: string): string {
    return join(this.#root, pod, 'state');
  }
}
