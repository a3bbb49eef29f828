import { status } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import type { FakeCluster } from './test-support/fake-cluster.js';
import {
  clientOf,
  cleanUpAfterEach,
  fakeCluster,
  keysWithFirstPrimary,
} from './test-support/harness.js';

cleanUpAfterEach();

const keys = Array.from({ length: 40 }, (_, i) => `user:${i}`);

function servedBy(cluster: FakeCluster, nodeId: string): number {
  return cluster.served.filter((s) => s.nodeId === nodeId).length;
}

describe('when the cluster changes', () => {
  it("routes a joining node's keys to it once the read ring names it, after the refetch", async () => {
    const cluster = await fakeCluster({ nodeCount: 4, ringNodeCount: 3 });
    const client = await clientOf(cluster);
    const anyNode = await clientOf(cluster, { routing: 'any-node' });
    const owners = ['n01', 'n02', 'n03'];
    cluster.setRing(owners, 2n, { alsoListed: ['n04'], statuses: { n04: 'joining' } });
    await Promise.all([client.refreshRing(), anyNode.refreshRing()]);
    expect(client.ring().nodes.map((n) => [n.id, n.status])).toContainEqual(['n04', 'joining']);
    for (const key of keys) await Promise.all([client.get(key), anyNode.get(key)]);
    expect(servedBy(cluster, 'n04')).toBe(0);

    // The flip: the read ring names n04. A response naming version 3 triggers the refetch.
    cluster.setRing([...owners, 'n04'], 3n);
    await client.get('any');
    await vi.waitFor(() => expect(client.ringVersion()).toEqual({ term: 1n, version: 3n }));
    const mine = keysWithFirstPrimary(cluster, 'n04', 5);
    for (const key of mine) await client.put(key, 'v');
    expect(cluster.served.slice(-5).map((s) => s.nodeId)).toEqual(mine.map(() => 'n04'));
  });

  it('never calls a left node again, even where a stale owners entry names it', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster, { ringRefreshMs: 40 });
    const anyNode = await clientOf(cluster, { routing: 'any-node', ringRefreshMs: 40 });
    const mine = keysWithFirstPrimary(cluster, 'n04', 5);
    for (const key of mine) await client.put(key, 'v');
    expect(servedBy(cluster, 'n04')).toBe(5);

    // n04 left, but this ring's owners still name it (a stale entry): it must be skipped anyway.
    cluster.setRing(['n01', 'n02', 'n03', 'n04'], 2n, { statuses: { n04: 'left' } });
    await Promise.all([client.refreshRing(), anyNode.refreshRing()]);
    // refreshRing joins a refetch already running, and with a 40 ms timer one may have asked
    // before setRing (a loaded machine showed it: two gets went to n04 on the old ring): wait
    // until both clients hold version 2, which is what this test is about.
    await vi.waitFor(() => {
      expect(client.ringVersion().version).toBe(2n);
      expect(anyNode.ringVersion().version).toBe(2n);
    });
    const left = cluster.node('n04');
    const [kvCalls, ringCalls] = [servedBy(cluster, 'n04'), left.getRingCalls];
    const refreshes = client.stats().ringRefreshes;
    for (const key of [...mine, ...keys]) {
      expect((await client.get(key)).found).toBe(mine.includes(key));
      await anyNode.get(key);
    }
    await client.put(mine[0]!, 'w');
    // Several timer refetches later, none of them asked n04 either.
    await vi.waitFor(() => expect(client.stats().ringRefreshes).toBeGreaterThan(refreshes + 2));
    expect(servedBy(cluster, 'n04')).toBe(kvCalls);
    expect(left.getRingCalls).toBe(ringCalls);
    expect(client.stats().perNode.get('n04')?.requests).toBe(5);
    expect(anyNode.stats().perNode.get('n04')).toBeUndefined();
  });

  it('fails as when no replica is reachable when every candidate left or was removed', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const ids = ['n01', 'n02', 'n03'];
    cluster.setRing(ids, 2n, { statuses: { n01: 'left', n02: 'removed', n03: 'left' } });
    await client.refreshRing();
    expect(client.ringVersion().version).toBe(2n);
    const unavailable = { code: status.UNAVAILABLE, notApplied: true, attempts: 0 };
    await expect(client.get('k')).rejects.toMatchObject(unavailable);
    await expect(client.put('k', 'v')).rejects.toMatchObject(unavailable);
    expect(cluster.served).toHaveLength(0);
    expect(client.stats().requests).toBe(0);
  });

  it('ignores a fetched ring older than the cached one by (term, version)', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    const all = ['n01', 'n02', 'n03', 'n04'];
    cluster.setRing(all, 5n);
    await client.refreshRing();
    expect(client.ringVersion()).toEqual({ term: 1n, version: 5n });

    // A lagging node answers an older version without n04: not taken.
    cluster.setRing(['n01', 'n02', 'n03'], 3n);
    await client.refreshRing();
    expect(client.ringVersion()).toEqual({ term: 1n, version: 5n });
    expect(client.ring().nodes).toHaveLength(4);
    expect(client.stats().ringRefreshes).toBe(2);

    // Nor the same version again, nor a lower term's higher version.
    cluster.setRing(['n01', 'n02', 'n03'], 5n);
    await client.refreshRing();
    cluster.setRing(['n01', 'n02', 'n03'], 9n, { term: 0n });
    await client.refreshRing();
    expect(client.ring().nodes).toHaveLength(4);
    expect(client.ringVersion()).toEqual({ term: 1n, version: 5n });
  });

  it('takes a higher term with a lower version, then follows that term by the header', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    const all = ['n01', 'n02', 'n03', 'n04'];
    cluster.setRing(all, 5n);
    // The header names 5: chased and taken.
    await client.get('k');
    await vi.waitFor(() => expect(client.ringVersion().version).toBe(5n));

    // A forced take-over (term 2) from a node that had not seen versions 2..5 of the old claimant.
    const shape = { term: 2n, alsoListed: ['n04'], statuses: { n04: 'removed' } } as const;
    cluster.setRing(['n01', 'n02', 'n03'], 1n, shape);
    await client.refreshRing();
    expect(client.ringVersion()).toEqual({ term: 2n, version: 1n });
    expect(client.ring().nodes.find((n) => n.id === 'n04')?.status).toBe('removed');

    // Version 2 of term 2 is below the 5 chased in term 1; the header still triggers the refetch.
    cluster.setRing(['n01', 'n02', 'n03'], 2n, shape);
    await client.get('k');
    await vi.waitFor(() => expect(client.ringVersion()).toEqual({ term: 2n, version: 2n }));

    // The old term's ring, at a higher version, is ignored.
    cluster.setRing(all, 9n, { term: 1n });
    await client.refreshRing();
    expect(client.ringVersion()).toEqual({ term: 2n, version: 2n });
  });

  it('refetches on a header naming a higher term, whatever its version', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    cluster.setRing(['n01', 'n02', 'n03', 'n04'], 5n);
    await client.refreshRing();
    const refreshes = client.stats().ringRefreshes;
    // A forced take-over: term 2 starts again at version 1, and n04 is removed.
    const shape = { term: 2n, alsoListed: ['n04'], statuses: { n04: 'removed' } } as const;
    cluster.setRing(['n01', 'n02', 'n03'], 1n, shape);
    await client.get('k');
    await vi.waitFor(() => expect(client.ringVersion()).toEqual({ term: 2n, version: 1n }));
    expect(client.stats().ringRefreshes).toBe(refreshes + 1);
    // A node that names no term speaks of the cached term: version 1 is not newer.
    cluster.advertisedTerm = null;
    await client.get('k');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.stats().ringRefreshes).toBe(refreshes + 1);
  });

  it('does not refetch on a header naming a version at or below the cached one', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    cluster.setRing(['n01', 'n02', 'n03'], 4n);
    await client.refreshRing();
    cluster.advertisedVersion = 3n;
    await client.get('a');
    cluster.advertisedVersion = 4n;
    await client.get('b');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.stats().ringRefreshes).toBe(1);
  });

  it("ignores another cluster's ring at an address of this one", async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    cluster.setRing(['n01', 'n02', 'n03'], 7n, { clusterId: 'elsewhere' });
    await client.refreshRing();
    expect(client.ringVersion().version).toBe(1n);
    expect(client.ring().clusterId).toBe('fake');
  });
});

describe('seeds and channels when the cluster changes', () => {
  it('keeps refreshing through the ring after the first seed left, never asking it', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    const first = cluster.nodes[0]!;
    expect(first.getRingCalls).toBe(1);
    const shape = { alsoListed: ['n01'], statuses: { n01: 'left' } } as const;
    cluster.setRing(['n02', 'n03', 'n04'], 2n, shape);
    await client.refreshRing();
    const calls = first.getRingCalls;
    cluster.setRing(['n02', 'n03', 'n04'], 3n, shape);
    await client.refreshRing();
    first.stop();
    cluster.setRing(['n02', 'n03', 'n04'], 4n, shape);
    await client.refreshRing();
    expect(client.ringVersion().version).toBe(4n);
    expect(first.getRingCalls).toBe(calls);
    expect(client.stats().ringRefreshFailures).toBe(0);
  });

  it('still refreshes when more nodes left than one fetch may ask', async () => {
    // Gone nodes stay listed for good; nine of them stopped, ahead of the live ones in ring order.
    const cluster = await fakeCluster({ nodeCount: 12 });
    const client = await clientOf(cluster);
    const gone = cluster.nodes.slice(0, 9).map((n) => n.id);
    const live = cluster.nodes.slice(9).map((n) => n.id);
    const statuses = Object.fromEntries(gone.map((id) => [id, 'left' as const]));
    cluster.setRing(live, 2n, { alsoListed: gone, statuses });
    await client.refreshRing();
    for (const id of gone) cluster.node(id).stop();
    cluster.setRing(live, 3n, { alsoListed: gone, statuses });
    await client.refreshRing();
    expect(client.ringVersion().version).toBe(3n);
    expect(client.stats().ringRefreshFailures).toBe(0);
  });

  it('closes the channel of a removed node once the call it runs has ended', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    const ids = ['n01', 'n02', 'n03', 'n04'];
    const [key] = keysWithFirstPrimary(cluster, 'n04', 1);
    for (const id of ids) await client.get(keysWithFirstPrimary(cluster, id, 1)[0]!);
    expect(client.stats().channels).toBe(4);

    const removed = cluster.node('n04');
    removed.hanging = true;
    const pending = client.get(key!, { deadlineMs: 400 });
    await vi.waitFor(() => expect(client.stats().perNode.get('n04')?.requests).toBe(2));
    cluster.setRing(['n01', 'n02', 'n03'], 2n, {
      alsoListed: ['n04'],
      statuses: { n04: 'removed' },
    });
    await client.refreshRing();
    // Its call is still waiting for an answer: the channel stays until it ends.
    expect(client.stats().channels).toBe(4);
    expect((await pending).found).toBe(false);
    expect(client.stats().channels).toBe(3);
    await client.get(key!);
    expect(client.stats().perNode.get('n04')?.requests).toBe(2);
  });
});
