import { partitionOf, primaryReplicas } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import { clientOf, cleanUpAfterEach, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const keys = Array.from({ length: 60 }, (_, i) => `user:${i}`);

describe('zero-hop routing', () => {
  it('sends every request to the first primary of its key, so no node would forward', async () => {
    const cluster = await fakeCluster({ nodeCount: 5 });
    const client = await clientOf(cluster);
    for (const key of keys) {
      await client.put(key, `v-${key}`);
      expect((await client.get(key)).siblings.map((s) => s.value.toString())).toEqual([`v-${key}`]);
    }
    expect(cluster.served).toHaveLength(keys.length * 2);
    for (const served of cluster.served) {
      const expected = primaryReplicas(
        cluster.ring(),
        partitionOf(Buffer.from(served.key), 16),
        3,
      )[0];
      expect(served.nodeId).toBe(expected);
    }
    expect(cluster.served.filter((s) => s.forwarded)).toHaveLength(0);
    // Every node is somebody's first primary: the load spreads.
    expect(new Set(cluster.served.map((s) => s.nodeId)).size).toBe(5);
    expect(client.stats()).toMatchObject({ requests: keys.length * 2, retries: 0 });
  });

  it('computes the preference list locally with @ringstore/ring', async () => {
    const cluster = await fakeCluster({ nodeCount: 5 });
    const client = await clientOf(cluster);
    for (const key of keys) expect(client.primaries(key)).toEqual(cluster.primariesOf(key));
    expect(client.ring()).toMatchObject({ version: 1n, partitionCount: 16, replicas: 3 });
    expect(client.ring().nodes.map((n) => n.address)).toEqual(cluster.nodes.map((n) => n.address));
  });

  it('accepts keys and values as bytes', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const key = new Uint8Array([0xff, 0x00, 0x61]);
    await client.put(key, new Uint8Array([1, 2, 3]));
    const read = await client.get(Buffer.from(key));
    expect(read.found).toBe(true);
    expect([...(read.siblings[0]?.value ?? [])]).toEqual([1, 2, 3]);
  });

  it('reports a key never written as not found, and a deleted one likewise', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    expect(await client.get('absent')).toMatchObject({ found: false, siblings: [] });
    const written = await client.put('gone', 'x');
    await client.delete('gone', { context: written.context });
    const read = await client.get('gone');
    expect(read.found).toBe(false);
    expect(read.siblings).toEqual([{ value: Buffer.alloc(0), deleted: true }]);
  });
});

describe('any-node routing', () => {
  it('spreads requests round-robin over every node, forwarding some', async () => {
    const cluster = await fakeCluster({ nodeCount: 5 });
    const client = await clientOf(cluster, { routing: 'any-node' });
    for (const key of keys) await client.get(key);
    const ids = cluster.nodes.map((n) => n.id);
    const first = ids.indexOf(cluster.served[0]?.nodeId ?? '');
    expect(cluster.served.map((s) => s.nodeId)).toEqual(
      keys.map((_, i) => ids[(first + i) % ids.length]),
    );
    const forwarded = cluster.served.filter((s) => s.forwarded).length;
    // About 1 - N/S = 40% of requests land on a node that is not a replica of their key.
    expect(forwarded).toBeGreaterThan(keys.length * 0.2);
    expect(forwarded).toBeLessThan(keys.length * 0.6);
    const perNode = client.stats().perNode;
    for (const id of ids) expect(perNode.get(id)?.requests).toBe(keys.length / ids.length);
  });
});
