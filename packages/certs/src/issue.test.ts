import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CertsError,
  clientNameOf,
  createCa,
  createClientCert,
  createNodeCert,
  nodeIdOf,
  type IssuedCert,
} from './index.js';

const serverAuth = '1.3.6.1.5.5.7.3.1';
const clientAuth = '1.3.6.1.5.5.7.3.2';
const dayMs = 86_400_000;
const opensslPath = ['/usr/bin/openssl', '/usr/local/bin/openssl'].find((path) => existsSync(path));

let root: string;
let dir: string;
let ca: IssuedCert;
let node: IssuedCert;
let client: IssuedCert;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ringstore-certs-'));
  dir = join(root, 'pki', 'cluster');
  ca = await createCa({ dir });
  node = await createNodeCert({ dir, id: 'n1', hosts: ['localhost', '127.0.0.1', '::1'] });
  client = await createClientCert({ dir, name: 'alice', days: 30 });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function certificate(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

async function extensions(path: string): Promise<x509.X509Certificate> {
  return new x509.X509Certificate(await readFile(path, 'utf8'));
}

async function codeOf(action: Promise<unknown>): Promise<string> {
  try {
    await action;
    return 'no error';
  } catch (error) {
    return error instanceof CertsError ? error.code : `not a CertsError: ${String(error)}`;
  }
}

describe('createCa', () => {
  it('writes ca.pem and ca-key.pem, the key 0600 in a 0700 directory', async () => {
    expect(ca.certFile).toBe(join(dir, 'ca.pem'));
    expect(ca.keyFile).toBe(join(dir, 'ca-key.pem'));
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect((await stat(ca.keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(ca.certFile)).mode & 0o777).toBe(0o644);
    expect(await readFile(ca.keyFile, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('makes a self-signed P-256 CA: CA:TRUE critical, keyCertSign and cRLSign', async () => {
    const cert = await certificate(ca.certFile);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toMatch(/^CN=Ringstore cluster CA [0-9a-f]{8}$/);
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    const parsed = await extensions(ca.certFile);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect(constraints?.ca).toBe(true);
    expect(constraints?.critical).toBe(true);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(usage?.critical).toBe(true);
  });

  it('is valid for 3650 days by default', () => {
    const days = (ca.notAfter.getTime() - Date.now()) / dayMs;
    expect(days).toBeGreaterThan(3649.9);
    expect(days).toBeLessThanOrEqual(3650);
  });

  it('refuses to replace a CA unless forced', async () => {
    const before = await readFile(ca.keyFile, 'utf8');
    expect(await codeOf(createCa({ dir }))).toBe('ca-exists');
    expect(await readFile(ca.keyFile, 'utf8')).toBe(before);

    const other = join(root, 'forced');
    const first = await createCa({ dir: other, days: 1, name: 'Test CA' });
    expect(first.subject).toMatch(/^CN=Test CA [0-9a-f]{8}$/);
    const second = await createCa({ dir: other, force: true });
    expect(second.fingerprint256).not.toBe(first.fingerprint256);
    expect(second.subject).not.toBe(first.subject);
  });

  it('refuses when only ca.pem is there (a node directory), too', async () => {
    const nodeDir = join(root, 'node-dir');
    await mkdir(nodeDir);
    await writeFile(join(nodeDir, 'ca.pem'), await readFile(ca.certFile));
    expect(await codeOf(createCa({ dir: nodeDir }))).toBe('ca-exists');
  });

  it('refuses bad days and names', async () => {
    expect(await codeOf(createCa({ dir: join(root, 'x'), days: 0 }))).toBe('bad-days');
    expect(await codeOf(createCa({ dir: join(root, 'x'), name: 'a,b' }))).toBe('bad-name');
    expect(existsSync(join(root, 'x'))).toBe(false);
  });
});

describe('createNodeCert', () => {
  it('writes ID.pem and ID-key.pem (0600), signed by the CA', async () => {
    expect(node.certFile).toBe(join(dir, 'n1.pem'));
    expect(node.keyFile).toBe(join(dir, 'n1-key.pem'));
    expect((await stat(node.keyFile)).mode & 0o777).toBe(0o600);
    const cert = await certificate(node.certFile);
    const caCert = await certificate(ca.certFile);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect((await readFile(node.certFile, 'utf8')).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });

  it('names every host and the node URI, for serverAuth and clientAuth', async () => {
    const cert = await certificate(node.certFile);
    expect(cert.subject).toBe('CN=n1');
    expect(cert.subjectAltName).toBe(
      'DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, URI:urn:ringstore:node:n1',
    );
    expect(cert.keyUsage).toEqual([serverAuth, clientAuth]);
    expect(cert.checkHost('localhost')).toBe('localhost');
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkIP('::1')).toBe('::1');
    expect(nodeIdOf(cert)).toBe('n1');
    expect(clientNameOf(cert)).toBe('n1');
    const usage = (await extensions(node.certFile)).getExtension(x509.KeyUsagesExtension);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
  });

  it('is valid for 825 days by default, and never past the CA', async () => {
    const days = (node.notAfter.getTime() - Date.now()) / dayMs;
    expect(days).toBeGreaterThan(824.9);
    expect(days).toBeLessThanOrEqual(825);
    const shortDir = join(root, 'short');
    const shortCa = await createCa({ dir: shortDir, days: 2 });
    const leaf = await createNodeCert({ dir: shortDir, id: 'n1', hosts: ['localhost'] });
    expect(leaf.notAfter).toEqual(shortCa.notAfter);
  });

  it('replaces the same node certificate (renewal)', async () => {
    const renewDir = join(root, 'renew');
    await createCa({ dir: renewDir });
    const first = await createNodeCert({ dir: renewDir, id: 'n2', hosts: ['10.0.0.2'] });
    const second = await createNodeCert({ dir: renewDir, id: 'n2', hosts: ['10.0.0.2', 'n2'] });
    expect(second.serialNumber).not.toBe(first.serialNumber);
    expect(second.altNames).toEqual(['IP Address:10.0.0.2', 'DNS:n2', 'URI:urn:ringstore:node:n2']);
  });

  it('refuses a name that another kind of certificate holds', async () => {
    expect(await codeOf(createNodeCert({ dir, id: 'alice', hosts: ['localhost'] }))).toBe(
      'name-taken',
    );
    expect(await codeOf(createClientCert({ dir, name: 'n1' }))).toBe('name-taken');
    await writeFile(join(dir, 'notes.pem'), 'not a certificate\n');
    expect(await codeOf(createClientCert({ dir, name: 'notes' }))).toBe('name-taken');
    expect(await readFile(join(dir, 'notes.pem'), 'utf8')).toBe('not a certificate\n');
  });

  it('refuses without a CA, with bad ids and bad hosts', async () => {
    const empty = join(root, 'empty');
    await expect(createNodeCert({ dir: empty, id: 'n1', hosts: ['localhost'] })).rejects.toThrow(
      `${join(empty, 'ca.pem')} not found: create the CA first (ringctl certs init --dir ${empty})`,
    );
    expect(await codeOf(createNodeCert({ dir: empty, id: 'n1', hosts: ['x'] }))).toBe('ca-missing');
    expect(await codeOf(createNodeCert({ dir, id: 'n/1', hosts: ['x'] }))).toBe('bad-name');
    expect(await codeOf(createNodeCert({ dir, id: 'ca', hosts: ['x'] }))).toBe('bad-name');
    expect(await codeOf(createNodeCert({ dir, id: 'n3', hosts: [] }))).toBe('bad-host');
    expect(await codeOf(createNodeCert({ dir, id: 'n3', hosts: ['a b'] }))).toBe('bad-host');
    expect(await codeOf(createNodeCert({ dir, id: 'n3', hosts: ['x'], days: 0 }))).toBe('bad-days');
    expect(existsSync(join(dir, 'n3.pem'))).toBe(false);
  });

  it('refuses a CA whose key is not its own', async () => {
    const mixed = join(root, 'mixed');
    await createCa({ dir: mixed });
    await writeFile(join(mixed, 'ca-key.pem'), await readFile(ca.keyFile));
    await expect(createNodeCert({ dir: mixed, id: 'n1', hosts: ['x'] })).rejects.toThrow(
      `${join(mixed, 'ca-key.pem')} is not the key of ${join(mixed, 'ca.pem')}`,
    );
    await writeFile(join(mixed, 'ca.pem'), await readFile(node.certFile));
    await writeFile(join(mixed, 'ca-key.pem'), await readFile(node.keyFile));
    expect(await codeOf(createNodeCert({ dir: mixed, id: 'n1', hosts: ['x'] }))).toBe('ca-invalid');
  });
});

describe('createClientCert', () => {
  it('writes NAME.pem and NAME-key.pem (0600), for clientAuth only', async () => {
    expect(client.certFile).toBe(join(dir, 'alice.pem'));
    expect((await stat(client.keyFile)).mode & 0o777).toBe(0o600);
    const cert = await certificate(client.certFile);
    expect(cert.checkIssued(await certificate(ca.certFile))).toBe(true);
    expect(cert.subject).toBe('CN=alice');
    expect(cert.subjectAltName).toBe('URI:urn:ringstore:client:alice');
    expect(cert.keyUsage).toEqual([clientAuth]);
    expect(cert.ca).toBe(false);
    expect(clientNameOf(cert)).toBe('alice');
    expect(nodeIdOf(cert)).toBeUndefined();
    expect((client.notAfter.getTime() - Date.now()) / dayMs).toBeLessThanOrEqual(30);
  });
});

describe.skipIf(opensslPath === undefined)('openssl', () => {
  const verify = (...args: string[]): string =>
    execFileSync(opensslPath ?? 'openssl', ['verify', '-CAfile', ca.certFile, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });

  it('verifies the node certificate for TLS servers and clients', () => {
    expect(verify('-purpose', 'sslserver', node.certFile)).toContain(': OK');
    expect(verify('-purpose', 'sslclient', node.certFile)).toContain(': OK');
  });

  it('verifies the client certificate for TLS clients, and not for servers', () => {
    expect(verify('-purpose', 'sslclient', client.certFile)).toContain(': OK');
    expect(() => verify('-purpose', 'sslserver', client.certFile)).toThrow();
  });
});
