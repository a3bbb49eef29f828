import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  createTestPki,
  hostOf,
  pkiPaths,
  ringctlCerts,
  securedNodeArgs,
  tokenFileText,
} from './pki.js';

describe('the PKI builders', () => {
  it('secures a node with its own certificate on both ports, client certificates and tokens', () => {
    expect(securedNodeArgs(pkiPaths('/p'), 'n2')).toEqual([
      ...['--cert-file', '/p/n2.pem', '--key-file', '/p/n2-key.pem'],
      ...['--trusted-ca-file', '/p/ca.pem', '--client-cert-auth'],
      ...['--peer-cert-file', '/p/n2.pem', '--peer-key-file', '/p/n2-key.pem'],
      ...['--peer-trusted-ca-file', '/p/ca.pem'],
      ...['--auth-token-file', '/p/tokens'],
    ]);
    expect(securedNodeArgs(pkiPaths('/p'), 'n2')).not.toContain('--insecure');
  });

  it('writes one TOKEN ROLE NAME line per token, a write token for the workload and an admin one for the harness', () => {
    const lines = tokenFileText({ write: 'w'.repeat(32), admin: 'a'.repeat(32) })
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'));
    expect(lines).toEqual([`${'w'.repeat(32)} write workload`, `${'a'.repeat(32)} admin harness`]);
  });

  it('names the host of an address as its certificate must, and builds the ringctl certs commands', () => {
    expect(hostOf('10.213.0.11:7001')).toBe('10.213.0.11');
    expect(hostOf('127.0.0.1:40123')).toBe('127.0.0.1');
    expect(hostOf('[::1]:7001')).toBe('::1');
    expect(hostOf('db1.example.com')).toBe('db1.example.com');
    expect(ringctlCerts.ca('/p')).toEqual(['certs', 'init', '--dir', '/p']);
    expect(ringctlCerts.node('/p', 'n1', ['10.213.0.11', 'localhost'])).toEqual([
      ...['certs', 'node', '--dir', '/p', '--id', 'n1'],
      ...['--host', '10.213.0.11', '--host', 'localhost'],
    ]);
    expect(ringctlCerts.client('/p', 'harness')).toEqual([
      ...['certs', 'client', '--dir', '/p', '--name', 'harness'],
    ]);
  });
});

describe('createTestPki (ringctl certs)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ringstore-pki-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('makes a CA, node certificates naming their address and id, the harness certificate and the tokens', async () => {
    const pki = await createTestPki({
      dir: join(dir, 'pki'),
      nodes: [
        { id: 'n1', host: '10.213.3.11' },
        { id: 'n2', host: '10.213.3.12' },
      ],
    });
    await pki.addNode({ id: 'n6', host: '127.0.0.1' });
    const certOf = (name: string): X509Certificate =>
      new X509Certificate(readFileSync(join(pki.paths.dir, `${name}.pem`)));
    const ca = new X509Certificate(pki.tls.ca);
    expect(ca.ca).toBe(true);
    for (const [id, ip] of [
      ['n1', '10.213.3.11'],
      ['n2', '10.213.3.12'],
      ['n6', '127.0.0.1'],
    ] as const) {
      const cert = certOf(id);
      expect(cert.subjectAltName).toBe(`IP Address:${ip}, URI:urn:ringstore:node:${id}`);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(statSync(join(pki.paths.dir, `${id}-key.pem`)).mode & 0o777).toBe(0o600);
    }
    const client = new X509Certificate(pki.tls.cert);
    expect(client.subjectAltName).toBe('URI:urn:ringstore:client:harness');
    expect(
      client.checkPrivateKey((await import('node:crypto')).createPrivateKey(pki.tls.key)),
    ).toBe(true);
    expect(pki.tokens.write).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(pki.tokens.admin).not.toBe(pki.tokens.write);
    expect(readFileSync(pki.paths.tokens, 'utf8')).toBe(tokenFileText(pki.tokens));
    expect(statSync(pki.paths.tokens).mode & 0o777).toBe(0o600);
    expect(pki.nodeArgs('n6')).toEqual(securedNodeArgs(pki.paths, 'n6'));
  }, 60_000);

  it('refuses to make a second CA over the first (every certificate it signed would be untrusted)', async () => {
    await expect(createTestPki({ dir: join(dir, 'pki'), nodes: [] })).rejects.toThrow(
      /ringctl certs init failed: .*exists/s,
    );
  }, 30_000);
});
