import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { chunksByNode } from './batch.js';
import { RingstoreClientError } from './errors.js';
import { cleanUpAfterEach, clientOf, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 5_000;

describe('chunksByNode', () => {
  it('groups keys by first replica in order, then cuts each group at the limit', () => {
    const keys = ['a1', 'b1', 'a2', 'a3', 'b2', 'a4'].map((k) => Buffer.from(k));
    const first = (k: Uint8Array) => Buffer.from(k).toString().slice(0, 1);
    expect(chunksByNode(keys, first, 3)).toEqual([[0, 2, 3], [5], [1, 4]]);
    expect(chunksByNode([], first, 3)).toEqual([]);
  });
});

describe(
  'getMany and putMany against nodes without batch calls',
  { timeout: testTimeoutMs },
  () => {
    it('send each item alone (UNIMPLEMENTED), with one result per item in order', async () => {
      const cluster = await fakeCluster({ nodeCount: 3 });
      const client = await clientOf(cluster);
      const written = await client.putMany([
        { key: 'k1', value: 'v1' },
        { key: 'k2', value: 'v2' },
        { key: 'k3', delete: true },
      ]);
      expect(written.map((r) => r.ok)).toEqual([true, true, true]);
      expect(written[2]).toEqual({ ok: true, value: undefined });
      const read = await client.getMany(['k2', 'k1', 'missing']);
      expect(read.map((r) => r.ok && r.value.siblings.map((s) => s.value.toString()))).toEqual([
        ['v2'],
        ['v1'],
        [],
      ]);
      const ops = cluster.served.map((s) => s.op);
      expect(ops.filter((op) => op === 'put')).toHaveLength(2);
      expect(ops.filter((op) => op === 'delete')).toHaveLength(1);
      expect(ops.filter((op) => op === 'get')).toHaveLength(3);
    });

    it('give a write that may have been applied its error, and do not repeat it', async () => {
      const cluster = await fakeCluster({ nodeCount: 3 });
      const client = await clientOf(cluster);
      const [first] = cluster.primariesOf('k1');
      cluster.node(first!).failure = {
        code: status.UNAVAILABLE,
        details: 'put acked 1 of W=2',
        trailer: { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 },
        op: 'put',
        times: 1,
      };
      const [r] = await client.putMany([{ key: 'k1', value: 'v' }]);
      expect(r?.ok).toBe(false);
      expect(!r?.ok && r?.error).toBeInstanceOf(RingstoreClientError);
      expect(!r?.ok && r?.error.notApplied).toBe(false);
      expect(cluster.served.filter((s) => s.op === 'put')).toHaveLength(1);
    });
  },
);
