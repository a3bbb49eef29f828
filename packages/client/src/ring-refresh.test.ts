import { describe, expect, it, vi } from 'vitest';
import type { FakeCluster } from './test-support/fake-cluster.js';
import {
  clientOf,
  cleanUpAfterEach,
  fakeCluster,
  keysWithFirstPrimary,
} from './test-support/harness.js';

cleanUpAfterEach();

function getRingCalls(cluster: FakeCluster): number {
  return cluster.nodes.reduce((sum, n) => sum + n.getRingCalls, 0);
}

describe('ring freshness', () => {
  it('refetches once when responses name a newer ring, and routes with it', async () => {
    const cluster = await fakeCluster({ nodeCount: 4, ringNodeCount: 3 });
    const client = await clientOf(cluster);
    expect(getRingCalls(cluster)).toBe(1);
    expect(client.ring().nodes.map((n) => n.id)).toEqual(['n01', 'n02', 'n03']);

    cluster.setRing(['n01', 'n02', 'n03', 'n04'], 2n);
    cluster.getRingDelayMs = 50;
    // Two responses naming version 2 arrive while the refetch they trigger is running: one GetRing.
    await Promise.all([client.get('a'), client.get('b')]);
    await vi.waitFor(() => expect(client.ring().version).toBe(2n));
    expect(getRingCalls(cluster)).toBe(2);
    expect(client.stats().ringRefreshes).toBe(1);

    // The new node owns partitions now, and gets their keys directly.
    const [key] = keysWithFirstPrimary(cluster, 'n04', 1);
    await client.get(key!);
    expect(cluster.served.at(-1)?.nodeId).toBe('n04');
    expect(getRingCalls(cluster)).toBe(2);
  });

  it('shares one GetRing between concurrent triggers of different kinds (single-flight)', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    cluster.setRing(['n01', 'n02', 'n03'], 2n);
    cluster.getRingDelayMs = 100;
    const explicit = client.refreshRing();
    const again = client.refreshRing();
    // This response names version 2 while the explicit refetch is still running: it joins it.
    await client.get('k');
    await Promise.all([explicit, again]);
    expect(getRingCalls(cluster)).toBe(2);
    expect(client.stats().ringRefreshes).toBe(1);
    expect(client.ring().version).toBe(2n);
  });

  it('does not chase a version no node can return until the timer fires', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    cluster.advertisedVersion = 9n;
    for (let i = 0; i < 5; i++) await client.get(`k${i}`);
    await vi.waitFor(() => expect(client.stats().ringRefreshes).toBe(1));
    await client.get('again');
    expect(getRingCalls(cluster)).toBe(2);
    expect(client.ring().version).toBe(1n);
  });

  it('asks the node that named the newer version first', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const before = cluster.nodes.map((n) => n.getRingCalls);
    cluster.setRing(['n01', 'n02', 'n03'], 5n);
    await client.get('k');
    await vi.waitFor(() => expect(client.ring().version).toBe(5n));
    const served = cluster.node(cluster.primariesOf('k')[0]!);
    expect(served.getRingCalls).toBe(before[cluster.nodes.indexOf(served)]! + 1);
  });

  it('refetches on its timer', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { ringRefreshMs: 60 });
    await vi.waitFor(() => expect(client.stats().ringRefreshes).toBeGreaterThanOrEqual(3), {
      timeout: 2_000,
    });
    expect(getRingCalls(cluster)).toBeGreaterThanOrEqual(4);
  });

  it('refetches after a node could not be reached', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).stop();
    await client.get('k');
    await vi.waitFor(() => expect(client.stats().ringRefreshes).toBe(1));
    // Fetched from a live node, not the one that failed.
    expect(cluster.node(first!).getRingCalls).toBeLessThanOrEqual(1);
  });

  it('connects through the first seed that answers', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const stopped = cluster.nodes[0]!;
    stopped.stop();
    const client = await clientOf(cluster);
    expect(client.ring().nodes).toHaveLength(3);
    expect(cluster.nodes[1]!.getRingCalls).toBe(1);
    expect(cluster.nodes[2]!.getRingCalls).toBe(0);
  });

  it('fails to connect with UNAVAILABLE naming every seed when none answers', async () => {
    const cluster = await fakeCluster({ nodeCount: 2 });
    cluster.stop();
    const { connect } = await import('./client.js');
    const seeds = cluster.nodes.map((n) => n.address);
    await expect(connect({ seeds, deadlineMs: 500 })).rejects.toMatchObject({
      statusName: 'UNAVAILABLE',
      details: expect.stringContaining(seeds[1]!) as unknown,
    });
  });
});
