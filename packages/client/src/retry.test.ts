import { status } from '@grpc/grpc-js';
import { Applied, type Failure } from '@ringstore/proto';
import { describe, expect, it, vi } from 'vitest';
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

/** The trailers a node sends with the two messages above. */
const maybeAcked1of2: Failure = { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 };
const noneAcked0of3: Failure = { applied: Applied.APPLIED_NONE, acked: 0, needed: 3, tried: 0 };
/** A get that missed R=2 after asking 3 replicas (read repair may have written: maybe). */
const readMissed = (acked: number): Failure => ({
  applied: Applied.APPLIED_MAYBE,
  acked,
  needed: 2,
  tried: 3,
});

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
  it('goes to the next replica when the first is stopped, and keeps the stopped one last until a probe answers', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { failedNodeMemoryMs: 500 });
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).stop();
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual([second]);
    expect(client.stats().perNode.get(first!)).toEqual({ requests: 1, failures: 1, overloaded: 0 });
    expect(client.stats().retries).toBe(1);

    // Remembered: the next requests go straight to the second replica.
    await client.get('k');
    await client.get('k');
    expect(client.stats().perNode.get(first!)?.requests).toBe(1);
    expect(client.stats().retries).toBe(1);

    // After failedNodeMemoryMs it is probed (GetRing), not sent the request: still down, so
    // still last, and no request waits on it.
    await new Promise((resolve) => setTimeout(resolve, 550));
    const read = await client.get('k');
    expect(read.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(client.stats().perNode.get(first!)?.requests).toBe(1);
    await vi.waitFor(() => expect(client.stats().probes).toEqual({ sent: 1, answered: 0 }));
  });

  it('trusts a node that timed out again once a probe answers, and only then', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { failedNodeMemoryMs: 300, deadlineMs: 400 });
    const [first, second] = cluster.primariesOf('k');
    await client.put('k', 'v');
    cluster.node(first!).hanging = true; // KV calls get no answer; GetRing still does
    const e = await client.put('k', 'w').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RingstoreClientError);
    // Timed out: the next request goes to the second replica at once.
    cluster.node(first!).hanging = false;
    await client.get('k');
    expect(cluster.served.at(-1)?.nodeId).toBe(second);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await client.get('k'); // memory over: this request is routed while the probe runs
    await vi.waitFor(() => expect(client.stats().probes).toEqual({ sent: 1, answered: 1 }));
    await client.get('k');
    expect(cluster.served.at(-1)?.nodeId).toBe(first);
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
      trailer: readMissed(1),
    };
    cluster.node(second!).failure = {
      code: status.DEADLINE_EXCEEDED,
      details: 'get timed out: 1 of R=2 replicas replied',
      trailer: readMissed(1),
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
        trailer: readMissed(0),
      };
    const error = await rejection(client.get('k'));
    expect(cluster.served).toHaveLength(4);
    expect(error).toMatchObject({
      code: status.UNAVAILABLE,
      attempts: 4,
      acked: 0,
      needed: 2,
      tried: 3,
    });
  });

  it('never retries INVALID_ARGUMENT, a read or a write, though nothing was applied', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes)
      node.failure = {
        code: status.INVALID_ARGUMENT,
        details: 'key is 1025 bytes, more than keyBytesMax 1024',
        trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
      };
    const error = await rejection(client.get('k'));
    expect(error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      statusName: 'INVALID_ARGUMENT',
      attempts: 1,
    });
    expect(await rejection(client.put('k', 'v'))).toMatchObject({ notApplied: true, attempts: 1 });
    expect(cluster.served.map((s) => s.op)).toEqual(['get', 'put']);
  });
});

describe('write retry safety', () => {
  it('does not retry a put the node says may have been applied (APPLIED_MAYBE)', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: mayHaveReached,
      trailer: maybeAcked1of2,
      times: 1,
    };
    const error = await rejection(client.put('k', 'v'));
    expect(error).toMatchObject({
      code: status.UNAVAILABLE,
      statusName: 'UNAVAILABLE',
      details: mayHaveReached,
      acked: 1,
      needed: 2,
      tried: 3,
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
      trailer: maybeAcked1of2,
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

  it('retries a put the node refused with APPLIED_NONE on the next replica', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: reachedNone,
      trailer: noneAcked0of3,
      times: 1,
    };
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

  it('trusts the trailer over the words: "reached no replica" with APPLIED_MAYBE', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: reachedNone,
      trailer: maybeAcked1of2,
    };
    expect(await rejection(client.put('k', 'v'))).toMatchObject({
      details: reachedNone,
      notApplied: false,
      acked: 1,
      needed: 2,
      attempts: 1,
    });
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first]);
  });

  it.each([
    reachedNone,
    'node is shutting down',
    'No connection established. Last error: connect ECONNREFUSED (peer n09)',
  ])(
    'does not retry a put failed without a trailer, though its message says %s',
    async (details) => {
      const cluster = await fakeCluster({ nodeCount: 3 });
      const client = await clientOf(cluster);
      const [first] = cluster.primariesOf('k');
      cluster.node(first!).failure = { code: status.UNAVAILABLE, details, trailer: undefined };
      const error = await rejection(client.put('k', 'v'));
      expect(error).toMatchObject({ notApplied: false, attempts: 1 });
      expect([error.acked, error.needed, error.tried]).toEqual([undefined, undefined, undefined]);
      expect(cluster.served).toHaveLength(1);
    },
  );

  it('skips a node whose port is closed as never sent, and puts on the next replica', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const [key] = keysWithFirstPrimary(cluster, 'n02', 1);
    const [first, second] = cluster.primariesOf(key!);
    // Closed before the client ever connects to it: its port on 127.0.0.1 refuses connections.
    cluster.node(first!).stop();
    const client = await clientOf(cluster);
    await client.put(key!, 'v');
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([['put', second]]);
    expect(client.stats().perNode.get(first!)).toEqual({ requests: 1, failures: 1, overloaded: 0 });
  });

  it('retries a put refused by a node that is shutting down', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: 'node is shutting down',
      trailer: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
    };
    await client.put('k', 'v');
    expect(cluster.served.map((s) => s.nodeId)).toEqual([first, second]);
  });

  it('surfaces a refused connection with notApplied when every attempt was refused', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.stop();
    const error = await rejection(client.put('k', 'v'));
    expect(error).toMatchObject({ code: status.UNAVAILABLE, notApplied: true, attempts: 3 });
    expect(error.details).toMatch(
      /is not connected \((TRANSIENT_FAILURE|IDLE|CONNECTING)\); the request was not sent$/,
    );
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
