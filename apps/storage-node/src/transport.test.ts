import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { createCa, createClientCert, createNodeCert } from '@ringstore/certs';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from './config.js';
import { FileCertificates, transportOf } from './transport.js';

let dir: string;
const none = {
  certFile: '',
  keyFile: '',
  trustedCaFile: '',
  clientCertAuth: false,
  peerCertFile: '',
  peerKeyFile: '',
  peerTrustedCaFile: '',
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ringstore-transport-'));
  await createCa({ dir });
  await createNodeCert({ dir, id: 'n1', hosts: ['127.0.0.1'] });
  await createNodeCert({ dir, id: 'n2', hosts: ['127.0.0.1'] });
  await createClientCert({ dir, name: 'ops' });
}, 30_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string) => join(dir, name);
const peerFiles = (id: string) => ({
  ...none,
  id: 'n1',
  peerCertFile: file(`${id}.pem`),
  peerKeyFile: file(`${id}-key.pem`),
  peerTrustedCaFile: file('ca.pem'),
});

describe('transportOf', () => {
  it('refuses a peer certificate of another node, or of a client', () => {
    expect(() => transportOf(peerFiles('n2'))).toThrow(ConfigError);
    expect(() => transportOf(peerFiles('n2'))).toThrow("is node n2's, not n1's");
    expect(() => transportOf(peerFiles('ops'))).toThrow('names no node');
    expect(transportOf(peerFiles('n1')).peerTls).toBe(true);
  });

  it('refuses unreadable files and a key of another certificate at start', () => {
    expect(() =>
      transportOf({ ...none, id: 'n1', certFile: file('nope.pem'), keyFile: file('n1-key.pem') }),
    ).toThrow(/certificate .*nope\.pem/);
    expect(() =>
      transportOf({ ...none, id: 'n1', certFile: file('n1.pem'), keyFile: file('n2-key.pem') }),
    ).toThrow('does not belong to certificate');
  });

  it('goes by the header on a plaintext peer port, and ignores it under mTLS', () => {
    const md = new Metadata();
    md.set('x-ringstore-from', 'n3');
    const call = { metadata: md, getAuthContext: () => ({}) };
    expect(transportOf({ ...none, id: 'n1' }).peerIdOf(call)).toBe('n3');
    expect(transportOf(peerFiles('n1')).peerIdOf(call)).toBeUndefined();
  });
});

describe('FileCertificates', () => {
  it('re-reads its files on reload, and keeps the old ones when the new ones are broken', async () => {
    const cert = file('reload.pem');
    const key = file('reload-key.pem');
    copyFileSync(file('n1.pem'), cert);
    copyFileSync(file('n1-key.pem'), key);
    const certs = new FileCertificates({ cert, key, ca: file('ca.pem') });
    const seen: string[] = [];
    certs.addIdentityCertificateListener((u) => {
      if (u !== null) seen.push(new X509Certificate(u.certificate).fingerprint256);
    });
    await new Promise((r) => setImmediate(r));
    const first = new X509Certificate(readFileSync(file('n1.pem'))).fingerprint256;
    expect(seen).toEqual([first]);
    copyFileSync(file('n2.pem'), cert);
    copyFileSync(file('n2-key.pem'), key);
    certs.reload();
    const second = new X509Certificate(readFileSync(file('n2.pem'))).fingerprint256;
    expect(seen).toEqual([first, second]);
    writeFileSync(cert, 'not a certificate');
    expect(() => certs.reload()).toThrow(ConfigError);
    expect(certs.certificate.fingerprint256).toBe(second);
    // The node's SIGHUP path logs that and carries on.
    const t = transportOf({ ...none, id: 'n1' });
    expect(() => t.reload(pino({ level: 'silent' }))).not.toThrow();
  });
});
