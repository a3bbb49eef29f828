// Throwaway certificates for the TLS tests, made with the openssl CLI (EC P-256 keys: a few
// milliseconds each), valid one day. The files live in a temporary directory only while they are
// made; the tests get their bytes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A certificate and its private key, PEM. */
export interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

export interface TestCertificates {
  /** The cluster CA. */
  readonly ca: Buffer;
  /** A node certificate for 127.0.0.1 (and localhost), signed by `ca`. */
  readonly server: KeyPair;
  /** A client certificate signed by `ca`. */
  readonly client: KeyPair;
  /** Another CA, trusted by nobody here. */
  readonly otherCa: Buffer;
  /** A node certificate for 127.0.0.1 signed by `otherCa`. */
  readonly otherServer: KeyPair;
}

/** One openssl call may take this long: keys are EC, so milliseconds are the norm. */
const opensslTimeoutMs = 10_000;

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-client-tls-'));
  try {
    const openssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'pipe', timeout: opensslTimeoutMs });
    };
    const read = (file: string): Buffer => readFileSync(join(dir, file));
    const newKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    const makeCa = (name: string): Buffer => {
      openssl(
        ['req', '-x509', ...newKey, '-keyout', `${name}.key`, '-out', `${name}.pem`]
          .concat(['-subj', `/CN=${name}`, '-days', '1'])
          .concat(['-addext', 'basicConstraints=critical,CA:TRUE'])
          .concat(['-addext', 'keyUsage=critical,keyCertSign']),
      );
      return read(`${name}.pem`);
    };
    let serial = 1;
    const makeLeaf = (name: string, ca: string, extensions: string): KeyPair => {
      writeFileSync(join(dir, `${name}.ext`), extensions);
      openssl([
        'req',
        ...newKey,
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name}`,
      ]);
      openssl(
        ['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`]
          .concat(['-set_serial', String(serial++), '-days', '1', '-out', `${name}.pem`])
          .concat(['-extfile', `${name}.ext`]),
      );
      return { cert: read(`${name}.pem`), key: read(`${name}.key`) };
    };
    const serverExtensions =
      'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
    const ca = makeCa('cluster-ca');
    const otherCa = makeCa('other-ca');
    return {
      ca,
      server: makeLeaf('node', 'cluster-ca', serverExtensions),
      client: makeLeaf('client', 'cluster-ca', 'extendedKeyUsage=clientAuth\n'),
      otherCa,
      otherServer: makeLeaf('other-node', 'other-ca', serverExtensions),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
