import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { Applied, type PutRequest } from '@ringstore/proto';
import { RingstoreClientError } from './errors.js';
import { contextOf } from './test-support/fake-cluster.js';
import { clientOf, cleanUpAfterEach, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

/** A set of comma-separated words: the union is a merge that may be repeated safely. */
function union(values: Buffer[]): string {
  const words = new Set(values.flatMap((v) => v.toString().split(',')).filter((w) => w !== ''));
  return [...words].sort().join(',');
}

describe('update', () => {
  it('merges the live siblings and writes the result with the read context', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    // Two writes without a context: concurrent siblings, plus a concurrent delete.
    await client.put('cart', 'apple');
    await client.put('cart', 'pear,fig');
    await client.delete('cart');
    const seen: string[][] = [];
    const result = await client.update('cart', (values) => {
      seen.push(values.map((v) => v.toString()));
      return union(values);
    });
    expect(seen).toEqual([['apple', 'pear,fig']]);
    const put = cluster.served.at(-1)!;
    expect(put.op).toBe('put');
    expect((put.request as PutRequest).context).toEqual(contextOf(3));
    expect(result.siblings.map((s) => s.value.toString())).toEqual(['apple,fig,pear']);
    const read = await client.get('cart');
    expect(read.siblings).toEqual([{ value: Buffer.from('apple,fig,pear'), deleted: false }]);
  });

  it('calls merge([]) for a key without a live value and writes with an empty context', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const calls: number[] = [];
    await client.update('new', (values) => {
      calls.push(values.length);
      return Buffer.from('first');
    });
    expect(calls).toEqual([0]);
    expect((cluster.served.at(-1)!.request as PutRequest).context).toEqual(Buffer.alloc(0));
    expect((await client.get('new')).siblings.map((s) => s.value.toString())).toEqual(['first']);
  });

  it('repeats the round after an ABORTED write, re-reading first', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    await client.put('n', 'a');
    const [first] = cluster.primariesOf('n');
    cluster.node(first!).failure = {
      code: status.ABORTED,
      details: 'concurrent update',
      trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
      op: 'put',
      times: 1,
    };
    let merges = 0;
    await client.update('n', (values) => {
      merges++;
      return union([...values, Buffer.from('b')]);
    });
    expect(merges).toBe(2);
    expect(cluster.served.slice(1).map((s) => s.op)).toEqual(['get', 'put', 'get', 'put']);
    expect((await client.get('n')).siblings.map((s) => s.value.toString())).toEqual(['a,b']);
  });

  it('repeats a bounded number of rounds when reads keep failing', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { attemptsMax: 2 });
    for (const node of cluster.nodes)
      node.failure = {
        code: status.UNAVAILABLE,
        details: 'get 0 of R=2 replicas replied (3 replicas tried, 3 failed, 0 corrupt)',
        trailer: { applied: Applied.APPLIED_MAYBE, acked: 0, needed: 2, tried: 3 },
      };
    const error = await client.update('k', union, { attemptsMax: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RingstoreClientError);
    expect(error).toMatchObject({ code: status.UNAVAILABLE, acked: 0, needed: 2 });
    // 3 rounds of a get with 2 attempts each; no write.
    expect(cluster.served.map((s) => s.op)).toEqual(Array.from({ length: 6 }, () => 'get'));
  });

  it('does not repeat a write that may have been applied', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      op: 'put',
      details: 'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)',
      trailer: { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 },
    };
    const error = await client.update('k', union).catch((e: unknown) => e);
    expect(error).toMatchObject({ acked: 1, needed: 2, notApplied: false });
    expect(cluster.served.map((s) => s.op)).toEqual(['get', 'put']);
  });

  it('lets an error thrown by merge through without writing', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    await expect(
      client.update('k', () => {
        throw new Error('cannot merge');
      }),
    ).rejects.toThrow('cannot merge');
    expect(cluster.served.map((s) => s.op)).toEqual(['get']);
  });
});
