import { ServerCredentials, status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { AssertionError } from './assert.js';
import { connect } from './client.js';
import { RingstoreClientError } from './errors.js';
import { makeCertificates, type TestCertificates } from './test-support/certificates.js';
import { cleanUpAfterEach, clientOf, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 5_000;

let certs: TestCertificates;
beforeAll(() => {
  certs = makeCertificates();
}, 10_000);

/** Node credentials: `pair` signed by some CA; client certificates required and checked against `ca`. */
function serverTls(pair: { cert: Buffer; key: Buffer }, clientCa?: Buffer): ServerCredentials {
  const checkClientCertificate = clientCa !== undefined;
  return ServerCredentials.createSsl(
    clientCa ?? null,
    [{ cert_chain: pair.cert, private_key: pair.key }],
    checkClientCertificate,
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('TLS', { timeout: testTimeoutMs }, () => {
  it('serves every call over a channel verified against the cluster CA', async () => {
    const cluster = await fakeCluster({ nodeCount: 3, serverCredentials: serverTls(certs.server) });
    const client = await clientOf(cluster, { tls: { ca: certs.ca } });
    await client.put('k', 'v');
    expect((await client.get('k')).siblings.map((s) => s.value.toString())).toEqual(['v']);
    await client.refreshRing();
    expect(client.stats().ringRefreshes).toBe(1);
  });

  it('takes the CA as a PEM string too', async () => {
    const cluster = await fakeCluster({ nodeCount: 1, serverCredentials: serverTls(certs.server) });
    const client = await clientOf(cluster, { tls: { ca: certs.ca.toString('utf8') } });
    await client.put('k', 'v');
  });

  it('refuses a node whose certificate another CA signed: nothing reaches it', async () => {
    const cluster = await fakeCluster({
      nodeCount: 2,
      serverCredentials: serverTls(certs.otherServer),
    });
    const error = await rejection(clientOf(cluster, { tls: { ca: certs.ca } }));
    expect(error).toBeInstanceOf(RingstoreClientError);
    expect(error).toMatchObject({ code: status.UNAVAILABLE });
    expect(cluster.calls).toEqual([]);
  });

  it('refuses a plaintext client on a TLS port, and a TLS client on a plaintext one', async () => {
    const secure = await fakeCluster({ nodeCount: 1, serverCredentials: serverTls(certs.server) });
    expect(await rejection(clientOf(secure))).toMatchObject({ code: status.UNAVAILABLE });
    const plain = await fakeCluster({ nodeCount: 1 });
    expect(await rejection(clientOf(plain, { tls: { ca: certs.ca } }))).toMatchObject({
      code: status.UNAVAILABLE,
    });
    expect([...secure.calls, ...plain.calls]).toEqual([]);
  });

  it('presents the client certificate to a node that requires one', async () => {
    const cluster = await fakeCluster({
      nodeCount: 2,
      serverCredentials: serverTls(certs.server, certs.ca),
    });
    const client = await clientOf(cluster, { tls: { ca: certs.ca, ...certs.client } });
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.op)).toEqual(['put']);
  });

  it('is refused by a node that requires a client certificate when it has none', async () => {
    const cluster = await fakeCluster({
      nodeCount: 1,
      serverCredentials: serverTls(certs.server, certs.ca),
    });
    const error = await rejection(clientOf(cluster, { tls: { ca: certs.ca } }));
    expect(error).toMatchObject({ code: status.UNAVAILABLE });
    expect(cluster.calls).toEqual([]);
  });

  it('sends the token as call credentials on KV and Cluster calls, ring refreshes included', async () => {
    const cluster = await fakeCluster({ nodeCount: 3, serverCredentials: serverTls(certs.server) });
    cluster.requiredToken = 'tls-token';
    const client = await clientOf(cluster, { tls: { ca: certs.ca }, token: 'tls-token' });
    await client.put('k', 'v');
    await client.get('k');
    await client.refreshRing();
    const methods = new Set(cluster.calls.map((c) => c.method));
    expect(methods).toEqual(new Set(['getRing', 'put', 'get']));
    expect(cluster.calls.filter((c) => c.method === 'getRing').length).toBe(2);
    expect(new Set(cluster.calls.map((c) => c.authorization))).toEqual(
      new Set(['Bearer tls-token']),
    );
  });
});

describe('tls options', { timeout: testTimeoutMs }, () => {
  const seeds = ['127.0.0.1:1'];

  it.each([
    ['cert without key', () => ({ ca: certs.ca, cert: certs.client.cert }), /give both or neither/],
    ['key without cert', () => ({ ca: certs.ca, key: certs.client.key }), /give both or neither/],
    [
      'a cert for another key',
      () => ({ ca: certs.ca, cert: certs.server.cert, key: certs.client.key }),
      /does not match tls.key/,
    ],
    ['a path instead of PEM', () => ({ ca: '/etc/ringstore/ca.pem' }), /not its path/],
    ['no ca', () => ({ ca: undefined as unknown as Buffer }), /tls.ca is required/],
    ['a key as the ca', () => ({ ca: certs.client.key }), /tls.ca is not a PEM certificate/],
  ])('refuses %s before dialling anything', async (_, tls, message) => {
    const error = await rejection(connect({ seeds, tls: tls() }));
    expect(error).toBeInstanceOf(AssertionError);
    expect((error as Error).message).toMatch(message);
  });
});
