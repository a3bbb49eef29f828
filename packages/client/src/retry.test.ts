import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { RingstoreClientError } from './errors.js';
import {
  clientOf,
  cleanUpAfterEach,
  fakeCluster,
  keysWithFirstPrimary,
} from './test-support/harness.js';

cleanUpAfterEach();

const mayHaveReached =
  'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)';
const reachedNone = 'put acked 0 of W=3 (only 2 replicas available; the write reached no replica)';

async function rejection(promise: Promise<unknown>): Promise<RingstoreClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RingstoreClientError))
    throw new Error(`expected a RingstoreClientError, got ${String(error)}`);
  return error;
}

describe('failover', () => {
  it('goes to the next replica when the first is stopped, and tries the stopped one last for a while', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { failedNodeMemoryMs: 500 });
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).stop();
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual([second]);
    expect(client.stats().perNode.get(first!)).toEqual({ requests: 1, failures: 1 });
    expect(client.stats().retries).toBe(1);

    // Remembered: the next requests go straight to the second replica.
    await client.get('k');
    await client.get('k');
    expect(client.stats().perNode.get(first!)?.requests).toBe(1);
    expect(client.stats().retries).toBe(1);

    // Forgotten after failedNodeMemoryMs: tried first again (and fails over again).
    await new Promise((resolve) => setTimeout(resolve, 550));
    const read = await client.get('k');
    expect(read.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(client.stats().perNode.get(first!)?.requests).toBe(2);
  });

  it('fails over for keys of every partition of the stopped node', async () => {
    const cluster = await fakeCluster({ nodeCount: 4 });
    const client = await clientOf(cluster);
    cluster.node('n02').stop();
    const keys = keysWithFirstPrimary(cluster, 'n02', 5);
    for (const key of keys) await client.put(key, 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual(keys.map((k) => cluster.primariesOf(k)[1]));
  });

  it('retries a get on UNAVAILABLE and on DEADLINE_EXCEEDED from a node', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second, third] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: 'get 1 of R=2 replicas replied (3 replicas tried, 2 failed, 0 corrupt)',
    };
    cluster.node(second!).failure = {
      code: status.DEADLINE_EXCEEDED,
      details: 'get timed out: 1 of R=2 replicas replied',
    };
    expect((await client.get('k')).found).toBe(false);
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second, third]);
    expect(client.stats().retries).toBe(2);
  });

  it('makes at most attemptsMax attempts, and says how many', async () => {
    const cluster = await fakeCluster({ nodeCount: 5 });
    const client = await clientOf(cluster, { attemptsMax: 4 });
    for (const node of cluster.nodes)
      node.failure = {
        code: status.UNAVAILABLE,
        details: 'get 0 of R=2 replicas replied (3 replicas tried, 3 failed, 0 corrupt)',
      };
    const error = await rejection(client.get('k'));
    expect(cluster.served).toHaveLength(4);
    expect(error).toMatchObject({ code: status.UNAVAILABLE, attempts: 4, acked: 0, needed: 2 });
  });

  it('never retries INVALID_ARGUMENT', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes)
      node.failure = {
        code: status.INVALID_ARGUMENT,
        details: 'key is 1025 bytes, more than keyBytesMax 1024',
      };
    const error = await rejection(client.get('k'));
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      statusName: 'INVALID_ARGUMENT',
      attempts: 1,
    });
    expect(cluster.served).toHaveLength(1);
  });
});

describe('write retry safety', () => {
  it('does not retry a put after "acked 1 of W=2 ... may have reached some replicas"', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = { code: status.UNAVAILABLE, details: mayHaveReached, times: 1 };
    const error = await rejection(client.put('k', 'v'));
    expect(error).toMatchObject({
      code: status.UNAVAILABLE,
      statusName: 'UNAVAILABLE',
      details: mayHaveReached,
      acked: 1,
      needed: 2,
      notApplied: false,
      nodeId: first,
      attempts: 1,
    });
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first]);
    expect(client.stats().retries).toBe(0);
  });

  it('does not retry a put or delete after DEADLINE_EXCEEDED', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.DEADLINE_EXCEEDED,
      details:
        'put timed out: acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)',
    };
    expect(await rejection(client.put('k', 'v'))).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      acked: 1,
      needed: 2,
      notApplied: false,
    });
    expect(await rejection(client.delete('k'))).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      attempts: 1,
    });
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([
      ['put', first],
      ['delete', first],
    ]);
  });

  it('retries a put after "the write reached no replica"', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = { code: status.UNAVAILABLE, details: reachedNone, times: 1 };
    const written = await client.put('k', 'v', { w: 3 });
    expect(written.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second]);
    // The node answered: it is alive, so it is not remembered as failed.
    await client.get('k');
    expect(cluster.served.at(-1)?.nodeId).toBe(first);
  });

  it('retries a put after a refused connection, which never carried the request', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).stop();
    await client.put('k', 'v');
    await client.delete('k');
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([
      ['put', second],
      ['delete', second],
    ]);
  });

  it('does not trust connection words a node relays after answering', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: 'No connection established. Last error: connect ECONNREFUSED (peer n09)',
    };
    expect(await rejection(client.put('k', 'v'))).toMatchObject({ notApplied: false, attempts: 1 });
    expect(cluster.served).toHaveLength(1);
  });

  it('retries a put refused by a node that is shutting down', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = { code: status.UNAVAILABLE, details: 'node is shutting down' };
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second]);
  });

  it('surfaces a refused connection with notApplied when every attempt was refused', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.stop();
    const error = await rejection(client.put('k', 'v'));
    expect(error).toMatchObject({ code: status.UNAVAILABLE, notApplied: true, attempts: 3 });
    expect(error.details).toMatch(/No connection established/);
  });
});

describe('deadlines', () => {
  it('bound a get with all its retries', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.hanging = true;
    const startMs = Date.now();
    const error = await rejection(client.get('k', { deadlineMs: 300 }));
    const elapsedMs = Date.now() - startMs;
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(error.attempts).toBeGreaterThanOrEqual(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(280);
    expect(elapsedMs).toBeLessThan(600);
  });

  it('bound a put that is never retried after a timeout', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.hanging = true;
    const startMs = Date.now();
    const error = await rejection(client.put('k', 'v', { deadlineMs: 250 }));
    expect(Date.now() - startMs).toBeLessThan(550);
    expect(error).toMatchObject({ code: status.DEADLINE_EXCEEDED, attempts: 1, notApplied: false });
    expect(client.stats().requests).toBe(1);
  });
});
