import { hedgeDefaults } from '@ringstore/quorum';
import { describe, expect, it } from 'vitest';
import { RingstoreClientError } from './errors.js';
import { cleanUpAfterEach, clientOf, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 10_000;

describe('hedged reads', { timeout: testTimeoutMs }, () => {
  it('sends a read also to the next replica when the first has not answered by the hedge delay', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { hedgeReads: true, deadlineMs: 2_000 });
    const [first, second] = cluster.primariesOf('k');
    await client.put('k', 'v');
    cluster.node(first!).hanging = true;
    const started = performance.now();
    const read = await client.get('k');
    const tookMs = performance.now() - started;
    expect(read.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(client.stats().hedges).toBe(1);
    // The hanging node got the read (it never answers, so the fake records no serving) and
    // the second replica served it.
    expect(client.stats().perNode.get(first!)?.requests).toBe(2); // the put, then the get
    expect(cluster.served.at(-1)).toMatchObject({ op: 'get', nodeId: second });
    // Answered after about the hedge delay (20 ms before any latency is known), far from the
    // 1 s (half the deadline) the first attempt alone would have waited.
    expect(tookMs).toBeLessThan(hedgeDefaults.defaultMs + 900);
  });

  it('never hedges a write: a put to a node that does not answer is not sent elsewhere', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { hedgeReads: true, deadlineMs: 300 });
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).hanging = true;
    const e = await client.put('k', 'v').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RingstoreClientError);
    expect((e as RingstoreClientError).notApplied).toBe(false);
    const perNode = client.stats().perNode;
    expect([...perNode.keys()]).toEqual([first]);
    expect(perNode.get(first!)?.requests).toBe(1);
    expect(cluster.served).toEqual([]);
    expect(client.stats().hedges).toBe(0);
  });

  it('never hedges a batch read: its first node is waited for, as an unhedged read is', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const deadlineMs = 600;
    const client = await clientOf(cluster, { hedgeReads: true, deadlineMs });
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).hanging = true;
    await client.getMany(['k']);
    const batches = cluster.calls.filter((c) => c.method === 'batchGet');
    expect(batches[0]?.nodeId).toBe(first);
    // The next batch call is the retry after the first attempt's half of the deadline, not a
    // hedge after the 20 ms hedge delay.
    expect(batches.length).toBeGreaterThanOrEqual(2);
    expect((batches[1]?.atMs ?? 0) - (batches[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(
      deadlineMs / 2 - 50,
    );
  });
});
