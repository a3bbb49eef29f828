import { inspect } from 'node:util';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { AssertionError } from './assert.js';
import { connect } from './client.js';
import { PermissionDeniedError, RingstoreClientError, UnauthenticatedError } from './errors.js';
import { tokenLengthMax } from './transport.js';
import { cleanUpAfterEach, clientOf, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 5_000;

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('bearer token on a plaintext channel', { timeout: testTimeoutMs }, () => {
  it('is sent as call metadata on KV and Cluster calls, ring refreshes included', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    cluster.requiredToken = 's3cret.token-1';
    const client = await clientOf(cluster, { token: 's3cret.token-1' });
    await client.put('k', 'v');
    await client.get('k');
    await client.delete('k');
    await client.refreshRing();
    expect(new Set(cluster.calls.map((c) => c.method))).toEqual(
      new Set(['getRing', 'put', 'get', 'delete']),
    );
    expect(cluster.calls.filter((c) => c.method === 'getRing').length).toBe(2);
    expect(new Set(cluster.calls.map((c) => c.authorization))).toEqual(
      new Set(['Bearer s3cret.token-1']),
    );
  });

  it('is not sent when none is configured', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    await client.put('k', 'v');
    await client.refreshRing();
    expect(cluster.calls.length).toBeGreaterThanOrEqual(3);
    expect(cluster.calls.filter((c) => c.authorization !== undefined)).toEqual([]);
  });

  it('fails connect with UnauthenticatedError when the nodes require one', async () => {
    const cluster = await fakeCluster({ nodeCount: 2 });
    cluster.requiredToken = 'right';
    const missing = await rejection(clientOf(cluster));
    expect(missing).toBeInstanceOf(UnauthenticatedError);
    expect(missing).toMatchObject({ code: status.UNAUTHENTICATED, notApplied: true });
    const wrong = await rejection(clientOf(cluster, { token: 'wrong' }));
    expect(wrong).toBeInstanceOf(UnauthenticatedError);
    // Each seed was asked once, in order.
    expect(cluster.calls.map((c) => c.nodeId)).toEqual(['n01', 'n02', 'n01', 'n02']);
  });

  it('never appears in what a client prints, nor in its option errors', async () => {
    const token = 'do-not-print-me';
    const cluster = await fakeCluster({ nodeCount: 1 });
    const client = await clientOf(cluster, { token });
    await client.put('k', 'v');
    expect(inspect(client, { depth: 8 })).not.toContain(token);
    expect(
      JSON.stringify(client.stats(), (_, v: unknown) => (v instanceof Map ? [...v] : v)),
    ).not.toContain(token);
    const error = await rejection(connect({ seeds: ['127.0.0.1:1'], token: `${token}\n` }));
    expect((error as Error).message).not.toContain(token);
  });
});

describe('token option', { timeout: testTimeoutMs }, () => {
  it.each([
    ['empty', '', /1\.\.4096 characters/],
    ['too long', 'x'.repeat(tokenLengthMax + 1), /1\.\.4096 characters, got 4097/],
    ['with a trailing newline', 'abc\n', /whitespace \(a trailing newline/],
    ['with the scheme', 'Bearer abc', /pass the token alone/],
    ['with a space inside', 'ab c', /whitespace/],
    ['not ASCII', 'jeton-é', /visible ASCII/],
  ])('refuses a token %s before dialling anything', async (_, token, message) => {
    const error = await rejection(connect({ seeds: ['127.0.0.1:1'], token }));
    expect(error).toBeInstanceOf(AssertionError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('refused credentials', { timeout: testTimeoutMs }, () => {
  it.each([
    [status.UNAUTHENTICATED, UnauthenticatedError],
    [status.PERMISSION_DENIED, PermissionDeniedError],
  ])(
    'status %i is a typed error, not applied, not retried, the node not avoided',
    async (code, type) => {
      const cluster = await fakeCluster({ nodeCount: 3 });
      const client = await clientOf(cluster, { token: 'reader' });
      const [first] = cluster.primariesOf('k');
      // As a node's credentials check answers: before any work, trailers only.
      cluster.node(first!).failure = {
        code,
        details: 'role reader may not put',
        trailer: undefined,
        op: 'put',
        beforeHeaders: true,
      };
      const error = await rejection(client.put('k', 'v'));
      expect(error).toBeInstanceOf(type);
      expect(error).toBeInstanceOf(RingstoreClientError);
      expect(error).toMatchObject({ code, notApplied: true, attempts: 1, nodeId: first });
      expect(await rejection(client.put('k', 'v'))).toMatchObject({ code, attempts: 1 });
      // A read on the same node still goes to it first: it is not counted as failed.
      await client.get('k');
      expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([
        ['put', first],
        ['put', first],
        ['get', first],
      ]);
      expect(client.stats()).toMatchObject({ retries: 0, authRefused: 2, overloaded: 0 });
      expect(client.stats().perNode.get(first!)).toEqual({
        requests: 3,
        failures: 2,
        overloaded: 0,
      });
    },
  );

  it('does not retry a refused read either', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes)
      node.failure = { code: status.UNAUTHENTICATED, details: 'no token', trailer: undefined };
    expect(await rejection(client.get('k'))).toMatchObject({
      name: 'UnauthenticatedError',
      attempts: 1,
    });
    expect(cluster.served).toHaveLength(1);
  });
});
