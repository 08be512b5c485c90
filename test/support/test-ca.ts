import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCertificates {
  /** PEM of the CA that signed the server certificate: what a client must trust. */
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Removes the temp dir holding the keys. */
  cleanup(): void;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 (SAN IP:127.0.0.1), made with the openssl CLI
 * at test time so no key material lives in the repository.
 */
export function createTestCertificates(caName = 'aurora-failover-test-ca'): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'k8s-test-ca-'));
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });

  openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path('ca.key'), '-out', path('ca.crt'), '-days', '1', '-subj', `/CN=${caName}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', path('server.key'), '-out', path('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(path('server.ext'), 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n');
  openssl('x509', '-req', '-in', path('server.csr'), '-CA', path('ca.crt'), '-CAkey', path('ca.key'), '-CAcreateserial',
    '-out', path('server.crt'), '-days', '1', '-extfile', path('server.ext'));

  return {
    caCert: readFileSync(path('ca.crt'), 'utf8'),
    serverCert: readFileSync(path('server.crt'), 'utf8'),
    serverKey: readFileSync(path('server.key'), 'utf8'),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
