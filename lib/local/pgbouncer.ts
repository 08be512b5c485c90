import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Endpoint } from '../core/endpoint.ts';
import { assertSafeEndpoint } from '../core/endpoint.ts';
import type { PgBouncerConsole, PoolMode } from '../core/pgbouncer-console.ts';
import { PgPgBouncerConsole } from '../adapters/pgbouncer-console-pg.ts';
import type { LocalEnvironment } from './environment.ts';
import { ManagedProcess } from './process.ts';
import { freePort } from './ports.ts';
import { LOCAL_HOST, SUPERUSER, sleep } from './postgres.ts';
import { own } from './workspace.ts';

export interface PgBouncerIniOptions {
  readonly listenPort: number;
  readonly writeAlias: string;
  readonly readAlias: string;
  readonly write: Endpoint;
  readonly read: Endpoint;
  readonly poolMode: PoolMode;
  readonly authFile: string;
  readonly pidFile: string;
  /** Server connections per (alias, user); above the client count so no client queues in normal operation. */
  readonly defaultPoolSize?: number;
}

/**
 * A pgbouncer.ini for one local region: the write alias -> the writer, the read alias -> the region's own
 * server. trust auth on 127.0.0.1 only (the userlist still has to name the users); `postgres` is the
 * admin user. Timeouts and retries are those of deploy/kubernetes/pgbouncer.yaml (server_login_retry 2 s,
 * PgBouncer's defaults otherwise, e.g. server_connect_timeout 15 s): the drill never runs on kinder settings
 * than production (test/kubernetes/drill-settings.test.ts compares them).
 */
export function renderPgBouncerIni(options: PgBouncerIniOptions): string {
  const write = assertSafeEndpoint(options.write, 'write');
  const read = assertSafeEndpoint(options.read, 'read');
  return `;; written by aurora-failover local environment
[databases]
${options.writeAlias} = host=${write.host} port=${write.port} dbname=postgres
${options.readAlias} = host=${read.host} port=${read.port} dbname=postgres

[pgbouncer]
listen_addr = ${LOCAL_HOST}
listen_port = ${options.listenPort}
unix_socket_dir =
pidfile = ${options.pidFile}
auth_type = trust
auth_file = ${options.authFile}
admin_users = ${SUPERUSER}
pool_mode = ${options.poolMode}
max_client_conn = 1000
default_pool_size = ${options.defaultPoolSize ?? 40}
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
ignore_startup_parameters = extra_float_digits
server_login_retry = 2
`;
}

export interface LocalPgBouncerOptions {
  /** The region this pooler serves, e.g. `region-a`. */
  readonly region: string;
  readonly writeAlias: string;
  readonly readAlias: string;
  readonly write: Endpoint;
  readonly read: Endpoint;
  readonly poolMode: PoolMode;
  readonly defaultPoolSize?: number;
}

/** One real PgBouncer process on 127.0.0.1 with its own ini file, supervised in the foreground. */
export class LocalPgBouncer {
  readonly region: string;
  readonly port: number;
  readonly iniPath: string;
  readonly writeAlias: string;
  readonly readAlias: string;
  readonly #env: LocalEnvironment;
  #process: ManagedProcess | undefined;

  private constructor(env: LocalEnvironment, options: LocalPgBouncerOptions, port: number, iniPath: string) {
    this.#env = env;
    this.region = options.region;
    this.port = port;
    this.iniPath = iniPath;
    this.writeAlias = options.writeAlias;
    this.readAlias = options.readAlias;
  }

  /** Renders the ini and userlist into the workspace, starts PgBouncer and waits for its admin console. */
  static async start(env: LocalEnvironment, options: LocalPgBouncerOptions): Promise<LocalPgBouncer> {
    const dir = env.workspace.dir(`pgbouncer-${options.region}`);
    const port = await freePort();
    const authFile = join(dir, 'userlist.txt');
    await writeFile(authFile, `"${SUPERUSER}" ""\n`);
    own(authFile, env.runAs);
    const iniPath = join(dir, 'pgbouncer.ini');
    const bouncer = new LocalPgBouncer(env, options, port, iniPath);
    await bouncer.writeIni(
      renderPgBouncerIni({ ...options, listenPort: port, authFile, pidFile: join(dir, 'pgbouncer.pid') }),
    );
    await bouncer.startProcess();
    return bouncer;
  }

  get endpoint(): Endpoint {
    return { host: LOCAL_HOST, port: this.port };
  }

  get running(): boolean {
    return this.#process?.running ?? false;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  readIni(): Promise<string> {
    return readFile(this.iniPath, 'utf8');
  }

  /** Replaces the ini atomically (write a sibling, rename): PgBouncer never reads a half-written file. */
  async writeIni(text: string): Promise<void> {
    const staging = `${this.iniPath}.new`;
    await writeFile(staging, text, { mode: 0o640 });
    own(staging, this.#env.runAs);
    await rename(staging, this.iniPath);
  }

  /** An admin console connection (`pgbouncer` database, simple query protocol). */
  console(): PgBouncerConsole {
    return new PgPgBouncerConsole({ ...this.endpoint, user: SUPERUSER });
  }

  /** SIGHUP: PgBouncer re-reads its ini (same as the console's RELOAD). */
  sighup(): void {
    this.#process?.signal('SIGHUP');
  }

  /** SIGTERM: immediate shutdown; connected clients get an error, as in a pod restart. */
  async stop(graceMs = 5_000): Promise<void> {
    await this.#process?.stop({ signal: 'SIGTERM', graceMs });
  }

  /** SIGKILL: the pod (or its node) is gone at once; clients see their connections break. */
  async kill(): Promise<void> {
    const process = this.#process;
    if (!process?.running) return;
    process.signal('SIGKILL');
    await process.exited;
  }

  /** Stop, then start again on the same port with whatever the ini file says now. */
  async restart(): Promise<void> {
    await this.stop();
    await this.startProcess();
  }

  output(): string {
    return this.#process?.output() ?? '';
  }

  async startProcess(timeoutMs = 10_000): Promise<void> {
    if (this.running) return;
    const process = ManagedProcess.start(
      {
        name: `pgbouncer ${this.region} :${this.port}`,
        command: this.#env.binaries.pgbouncer,
        args: [this.iniPath],
        runAs: this.#env.runAs,
        cwd: this.#env.workspace.root,
      },
      this.#env.registry,
    );
    this.#process = process;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!process.running) throw new Error(`${process.name} exited during startup: ${process.output()}`);
      const console = this.console();
      try {
        await console.showDatabases();
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          await process.stop({ graceMs: 1_000 });
          throw new Error(`${process.name} did not accept admin connections within ${timeoutMs} ms: ${process.output()}`, { cause: error });
        }
        await sleep(20);
      } finally {
        await console.close();
      }
    }
  }
}
