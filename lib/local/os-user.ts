import { readFileSync } from 'node:fs';

/** The unprivileged account servers run as. PostgreSQL refuses to run as root. */
export interface RunAs {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/**
 * When this process is root, servers run as `postgres` (created by the Debian package); otherwise
 * they run as the current user and `undefined` is returned.
 */
export function resolveRunAs(user = 'postgres'): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.split(':')[0] === user);
  if (!line) {
    throw new Error(`running as root, but there is no '${user}' user to run the servers as: apt-get install postgresql creates it`);
  }
  const fields = line.split(':');
  return { user, uid: Number(fields[2]), gid: Number(fields[3]) };
}
