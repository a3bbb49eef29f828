// Real TLS handshakes over 127.0.0.1 with the certificates this package makes: what a node and
// its clients and peers will see.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type PeerCertificate } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clientNameOf, createCa, createClientCert, createNodeCert, nodeIdOf } from './index.js';

const testTimeoutMs = 10_000;

interface KeyPair {
  readonly cert: Buffer;
  readonly key: Buffer;
}

interface Pki {
  readonly ca: Buffer;
  readonly n1: KeyPair;
  readonly alice: KeyPair;
}

interface Handshake {
  /** What the server saw of the client. */
  readonly clientCertificate: PeerCertificate;
  /** What the client saw of the server. */
  readonly serverCertificate: PeerCertificate;
}

let root: string;
let pki: Pki;
let otherPki: Pki;

async function makePki(dir: string): Promise<Pki> {
  await createCa({ dir });
  const n1 = await createNodeCert({ dir, id: 'n1', hosts: ['localhost', '127.0.0.1'] });
  const alice = await createClientCert({ dir, name: 'alice' });
  const pair = async (files: { certFile: string; keyFile: string }): Promise<KeyPair> => ({
    cert: await readFile(files.certFile),
    key: await readFile(files.keyFile),
  });
  return { ca: await readFile(join(dir, 'ca.pem')), n1: await pair(n1), alice: await pair(alice) };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ringstore-certs-tls-'));
  pki = await makePki(join(root, 'cluster'));
  otherPki = await makePki(join(root, 'other'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A server requiring client certificates and a client that dials it at `host`, each trusting
 * its own CA. Resolves with what each saw of the other; rejects with the client's error.
 */
async function handshake(
  server: KeyPair & { ca: Buffer },
  client: KeyPair & { ca: Buffer },
  host = '127.0.0.1',
): Promise<Handshake> {
  let clientCertificate: PeerCertificate | undefined;
  const tlsServer = createServer(
    { ...server, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' },
    (socket) => {
      clientCertificate = socket.getPeerCertificate();
      socket.end('ok');
    },
  );
  tlsServer.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
  const { port } = tlsServer.address() as AddressInfo;
  try {
    const serverCertificate = await new Promise<PeerCertificate>((resolve, reject) => {
      const socket = connect({
        ...client,
        host,
        port,
        servername: host === '127.0.0.1' ? '' : host,
      });
      socket.on('error', reject);
      socket.on('secureConnect', () => {
        const seen = socket.getPeerCertificate();
        // The server checks the client certificate after the client's handshake is done
        // (TLS 1.3): wait for its answer or its refusal.
        socket.on('data', () => {
          socket.end();
          resolve(seen);
        });
        socket.on('end', () => reject(new Error('closed without an answer')));
      });
    });
    if (clientCertificate === undefined) throw new Error('the server saw no client');
    return { clientCertificate, serverCertificate };
  } finally {
    await new Promise((resolve) => tlsServer.close(resolve));
  }
}

describe('TLS with the cluster certificates', { timeout: testTimeoutMs }, () => {
  it('authenticates both ends: the node id and the client name come out', async () => {
    const seen = await handshake({ ...pki.n1, ca: pki.ca }, { ...pki.alice, ca: pki.ca });
    expect(nodeIdOf(seen.serverCertificate)).toBe('n1');
    expect(clientNameOf(seen.clientCertificate)).toBe('alice');
    expect(nodeIdOf(seen.clientCertificate)).toBeUndefined();
  });

  it('lets a node dial a peer with its own certificate (clientAuth on node certs)', async () => {
    const seen = await handshake({ ...pki.n1, ca: pki.ca }, { ...pki.n1, ca: pki.ca }, 'localhost');
    expect(nodeIdOf(seen.clientCertificate)).toBe('n1');
    expect(nodeIdOf(seen.serverCertificate)).toBe('n1');
  });

  it('rejects a node certificate from another CA', async () => {
    await expect(
      handshake({ ...otherPki.n1, ca: pki.ca }, { ...pki.alice, ca: pki.ca }),
    ).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });

  it('rejects a client certificate from another CA', async () => {
    // TLS 1.3: the server refuses after the client's side is done, so the client sees an alert
    // or the connection closing, whichever comes first; either way the server never answers.
    await expect(
      handshake({ ...pki.n1, ca: pki.ca }, { ...otherPki.alice, ca: pki.ca }),
    ).rejects.toThrow(/alert unknown ca|closed without an answer|ECONNRESET/);
  });

  it('rejects a client certificate serving as a server (no serverAuth)', async () => {
    await expect(
      handshake({ ...pki.alice, ca: pki.ca }, { ...pki.alice, ca: pki.ca }),
    ).rejects.toMatchObject({ code: 'INVALID_PURPOSE' });
  });

  it('rejects a node reached at a host its certificate does not name', async () => {
    const n1 = await createNodeCert({ dir: join(root, 'cluster'), id: 'n9', hosts: ['10.9.9.9'] });
    const server = { cert: await readFile(n1.certFile), key: await readFile(n1.keyFile) };
    await expect(
      handshake({ ...server, ca: pki.ca }, { ...pki.alice, ca: pki.ca }),
    ).rejects.toMatchObject({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
  });
});
