import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { describe, expect, it } from 'vitest';
import { OverloadedError, RingstoreClientError } from './errors.js';
import type { InjectedFailure } from './test-support/fake-cluster.js';
import { cleanUpAfterEach, clientOf, fakeCluster } from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 5_000;

/** A node's admission-control refusal: before any work, trailers only, with retry-after-ms. */
function refusal(retryAfterMs: number, extra: Partial<InjectedFailure> = {}): InjectedFailure {
  return {
    code: status.RESOURCE_EXHAUSTED,
    details: 'node overloaded: 512 requests in flight',
    trailer: undefined,
    trailers: { 'retry-after-ms': String(retryAfterMs) },
    beforeHeaders: true,
    ...extra,
  };
}

async function rejection(promise: Promise<unknown>): Promise<RingstoreClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RingstoreClientError))
    throw new Error(`expected a RingstoreClientError, got ${String(error)}`);
  return error;
}

/** Milliseconds between the arrivals of the served requests. */
function gapsMs(served: readonly { atMs: number }[]): number[] {
  return served.slice(1).map((s, i) => s.atMs - (served[i]?.atMs ?? 0));
}

describe('overload refusals', { timeout: testTimeoutMs }, () => {
  it('retries a put after at least retry-after-ms, on the next replica, and succeeds', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = refusal(150, { times: 1 });
    const written = await client.put('k', 'v');
    expect(written.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([
      ['put', first],
      ['put', second],
    ]);
    expect(gapsMs(cluster.served)[0]).toBeGreaterThanOrEqual(150);
    expect(client.stats()).toMatchObject({ requests: 2, retries: 1, overloaded: 1 });
    // Alive, just busy: not counted as a failure, and still asked first.
    expect(client.stats().perNode.get(first!)).toEqual({ requests: 1, failures: 0, overloaded: 1 });
    await client.get('k');
    expect(cluster.served.at(-1)?.nodeId).toBe(first);
  });

  it('retries a get the same way, every wait at least retry-after-ms', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { deadlineMs: 2_000 });
    const [first, second, third] = cluster.primariesOf('k');
    cluster.node(first!).failure = refusal(60);
    cluster.node(second!).failure = refusal(90);
    expect((await client.get('k')).found).toBe(false);
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second, third]);
    const [afterFirst, afterSecond] = gapsMs(cluster.served);
    expect(afterFirst).toBeGreaterThanOrEqual(60);
    expect(afterSecond).toBeGreaterThanOrEqual(90);
    expect(client.stats()).toMatchObject({ retries: 2, overloaded: 2 });
  });

  it('fails at once with OverloadedError when retry-after-ms would pass the deadline', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes)
      node.failure = refusal(5_000, {
        trailers: {
          'retry-after-ms': '5000',
          'x-ratelimit-limit': '200',
          'x-ratelimit-remaining': '0',
        },
      });
    const startMs = Date.now();
    const error = await rejection(client.put('k', 'v', { deadlineMs: 1_000 }));
    // Neither the 5 s asked for nor the deadline was waited out.
    expect(Date.now() - startMs).toBeLessThan(1_000);
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({
      name: 'OverloadedError',
      code: status.RESOURCE_EXHAUSTED,
      notApplied: true,
      retryAfterMs: 5_000,
      rateLimit: 200,
      rateLimitRemaining: 0,
      attempts: 1,
      nodeId: cluster.primariesOf('k')[0],
    });
    expect(cluster.served).toHaveLength(1);
  });

  it('retries while the deadline allows, then fails with the last refusal', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { attemptsMax: 5 });
    for (const node of cluster.nodes) node.failure = refusal(300);
    const startMs = Date.now();
    // 300 ms (and jitter), a retry, then 300 ms more would pass the deadline.
    const error = await rejection(client.put('k', 'v', { deadlineMs: 500 }));
    const elapsedMs = Date.now() - startMs;
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ attempts: 2, retryAfterMs: 300, notApplied: true });
    expect(cluster.served).toHaveLength(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(300);
    expect(elapsedMs).toBeLessThan(500);
    expect(client.stats()).toMatchObject({ requests: 2, retries: 1, overloaded: 2 });
  });

  it('makes at most attemptsMax attempts, and fails with OverloadedError', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { attemptsMax: 3 });
    for (const node of cluster.nodes) node.failure = refusal(10);
    const error = await rejection(client.delete('k', { deadlineMs: 2_000 }));
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ attempts: 3, notApplied: true });
    expect(cluster.served).toHaveLength(3);
    // No node was remembered as failed: the next operation starts at the first primary.
    for (const node of cluster.nodes) node.failure = undefined;
    await client.put('k', 'v');
    expect(cluster.served.at(-1)?.nodeId).toBe(cluster.primariesOf('k')[0]);
  });

  it("retries an overloaded engine's refusal (APPLIED_NONE, no retry-after-ms)", async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.RESOURCE_EXHAUSTED,
      details: 'storage write queue full',
      trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
      times: 1,
    };
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second]);
    expect(client.stats().overloaded).toBe(1);
  });

  it('does not retry a RESOURCE_EXHAUSTED that does not prove the write was not applied', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.RESOURCE_EXHAUSTED,
      details: 'peer link full after 1 replica acked',
      trailer: { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 },
      trailers: { 'retry-after-ms': '10' },
    };
    const error = await rejection(client.put('k', 'v'));
    expect(error).not.toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({ notApplied: false, attempts: 1 });
    expect(cluster.served).toHaveLength(1);
    expect(client.stats()).toMatchObject({ overloaded: 0, retries: 0 });
  });

  it('lets update repeat a round only after retry-after-ms', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { attemptsMax: 1 });
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = refusal(100, { op: 'put', times: 1 });
    await client.update('k', () => 'merged', { attemptsMax: 2, deadlineMs: 2_000 });
    const puts = cluster.served.filter((s) => s.op === 'put');
    expect(puts).toHaveLength(2);
    expect((puts[1]?.atMs ?? 0) - (puts[0]?.atMs ?? 0)).toBeGreaterThanOrEqual(100);
    expect(cluster.store.get('k')?.siblings.map((s) => s.value.toString())).toEqual(['merged']);
  });
});
