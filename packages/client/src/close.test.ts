import { status } from '@grpc/grpc-js';
import { describe, expect, it, vi } from 'vitest';
import { clientOf, cleanUpAfterEach, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

/** Resources of `type` that keep the process alive (unref'd timers do not count). */
function active(type: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === type).length;
}

describe('close', () => {
  it('leaves no timer or connection keeping the process alive, and stops the ring timer', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const timersBefore = active('Timeout');
    const socketsBefore = active('TCPSocketWrap');
    const client = await clientOf(cluster, { ringRefreshMs: 30 });
    for (let i = 0; i < 20; i++) await client.put(`k${i}`, 'v');
    expect(active('TCPSocketWrap')).toBeGreaterThan(socketsBefore);
    await vi.waitFor(() => expect(client.stats().ringRefreshes).toBeGreaterThanOrEqual(1));
    client.close();
    await vi.waitFor(() => expect(active('TCPSocketWrap')).toBe(socketsBefore));
    expect(active('Timeout')).toBeLessThanOrEqual(timersBefore);
    // A GetRing sent just before close may still arrive; none is sent afterwards.
    const calls = cluster.nodes.reduce((sum, n) => sum + n.getRingCalls, 0);
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(cluster.nodes.reduce((sum, n) => sum + n.getRingCalls, 0)).toBe(calls);
  });

  it('cancels running requests, which fail with CANCELLED at once', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.hanging = true;
    const timersBefore = active('Timeout');
    const pending = client.get('k', { deadlineMs: 5_000 }).catch((e: unknown) => e);
    await vi.waitFor(() => expect(client.stats().requests).toBe(1));
    const startMs = Date.now();
    client.close();
    expect(await pending).toMatchObject({ code: status.CANCELLED, attempts: 1 });
    expect(Date.now() - startMs).toBeLessThan(200);
    await vi.waitFor(() => expect(active('Timeout')).toBeLessThanOrEqual(timersBefore));
  });

  it('refuses operations after close', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    client.close();
    client.close();
    await expect(client.get('k')).rejects.toMatchObject({
      code: status.CANCELLED,
      details: 'client is closed',
    });
    expect(cluster.served).toHaveLength(0);
  });
});
