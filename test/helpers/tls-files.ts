// Certificates for TLS tests, made with the system's openssl CLI in a temporary directory: a
// CA, a server certificate it signs for 127.0.0.1 and localhost, a client certificate it
// signs, and a second CA that signed none of them (what an attacker's endpoint presents).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pem {
  /** Where the PEM is, for programs that take a path (redis-server, *_FILE settings). */
  readonly path: string;
  readonly text: string;
}

export interface TlsFiles {
  readonly dir: string;
  readonly ca: Pem;
  readonly serverCert: Pem;
  readonly serverKey: Pem;
  readonly clientCert: Pem;
  readonly clientKey: Pem;
  /** A CA of its own, with a server certificate for the same names. */
  readonly otherCa: Pem;
  readonly otherServerCert: Pem;
  readonly otherServerKey: Pem;
  /** Signed by `ca` for another name only (other.example): right CA, wrong host. */
  readonly wrongNameCert: Pem;
  readonly wrongNameKey: Pem;
  remove(): void;
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

function makeCa(dir: string, name: string): void {
  openssl(dir, 'req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
}

function makeLeaf(dir: string, ca: string, name: string, extensions: string): void {
  writeFileSync(join(dir, `${name}.ext`), extensions);
  openssl(dir, 'req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
  openssl(dir, 'x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-out', `${name}.pem`, '-extfile', `${name}.ext`);
}

export function makeTlsFiles(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'postern-tls-'));
  const server = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  makeCa(dir, 'ca');
  makeLeaf(dir, 'ca', 'server', server);
  makeLeaf(dir, 'ca', 'client', 'extendedKeyUsage=clientAuth\n');
  makeLeaf(dir, 'ca', 'wrong-name', 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n');
  makeCa(dir, 'other-ca');
  makeLeaf(dir, 'other-ca', 'other-server', server);
  const pem = (file: string): Pem => ({ path: join(dir, file), text: readFileSync(join(dir, file), 'utf8') });
  return {
    dir,
    ca: pem('ca.pem'),
    serverCert: pem('server.pem'),
    serverKey: pem('server.key'),
    clientCert: pem('client.pem'),
    clientKey: pem('client.key'),
    otherCa: pem('other-ca.pem'),
    otherServerCert: pem('other-server.pem'),
    otherServerKey: pem('other-server.key'),
    wrongNameCert: pem('wrong-name.pem'),
    wrongNameKey: pem('wrong-name.key'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
