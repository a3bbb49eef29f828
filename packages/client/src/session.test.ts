import { EventEmitter } from 'node:events';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { Failure } from '@ringstore/proto';
import {
  Applied,
  type GetRequest,
  type KVClient,
  type PutRequest,
  type SessionCall,
  type SessionReply,
  type SessionRequest,
  type SessionResponse,
} from '@ringstore/proto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  OverloadedError,
  RingstoreClientError,
  failureOf,
  failureTrailer,
  fromServiceError,
} from './errors.js';
import { sessionCallBytesMax, sessionLimitsDefault, sessionStub, type KvStub } from './session.js';
import type { FakeCluster, ReceivedCall } from './test-support/fake-cluster.js';
import { callUnary, type InflightCalls, type UnaryMethod, type UnaryOutcome } from './unary.js';
import {
  clientOf,
  cleanUpAfterEach,
  fakeCluster,
  keysWithFirstPrimary,
} from './test-support/harness.js';

cleanUpAfterEach();

const testTimeoutMs = 10_000;

const maybeAcked1of2: Failure = { applied: Applied.APPLIED_MAYBE, acked: 1, needed: 2, tried: 3 };
const noneAcked0of3: Failure = { applied: Applied.APPLIED_NONE, acked: 0, needed: 3, tried: 0 };

async function rejection(promise: Promise<unknown>): Promise<RingstoreClientError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof RingstoreClientError))
    throw new Error(`expected a RingstoreClientError, got ${String(error)}`);
  return error;
}

function getRingCalls(cluster: FakeCluster): number {
  return cluster.nodes.reduce((sum, n) => sum + n.getRingCalls, 0);
}

/** Waits until `nodeId` has received a KV call of `method` (hanging or not). */
async function received(
  cluster: FakeCluster,
  nodeId: string,
  method: ReceivedCall['method'],
  count = 1,
): Promise<void> {
  await vi.waitFor(
    () =>
      expect(
        cluster.calls.filter((c) => c.nodeId === nodeId && c.method === method).length,
      ).toBeGreaterThanOrEqual(count),
    { timeout: 3_000 },
  );
}

/** The nodes that served (or refused) a request, as a set of ids. */
function servingNodes(cluster: FakeCluster): Set<string> {
  return new Set(cluster.served.map((s) => s.nodeId));
}

describe('pipelined sessions', { timeout: testTimeoutMs }, () => {
  it('carries many concurrent operations over one stream per node, each with its own answer', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const keys = Array.from({ length: 50 }, (_, i) => `key-${i}`);
    const written = await Promise.all(keys.map((k) => client.put(k, `value of ${k}`)));
    expect(written.map((w) => w.siblings.map((s) => s.value.toString()))).toEqual(
      keys.map((k) => [`value of ${k}`]),
    );
    const read = await Promise.all(keys.map((k) => client.get(k)));
    expect(read.map((r) => r.siblings.map((s) => s.value.toString()))).toEqual(
      keys.map((k) => [`value of ${k}`]),
    );
    expect(read.every((r) => r.found)).toBe(true);

    // Every request reached the node it was routed to (its first primary) once.
    expect(cluster.served).toHaveLength(100);
    for (const s of cluster.served) expect(s.nodeId).toBe(cluster.primariesOf(s.key)[0]);
    expect(client.stats()).toMatchObject({ requests: 100, retries: 0 });

    // One stream per contacted node, and none to a node that got no request.
    const contacted = servingNodes(cluster);
    expect(contacted.size).toBeGreaterThan(1);
    expect([...cluster.sessionsOpened.keys()].sort()).toEqual([...contacted].sort());
    for (const nodeId of contacted) expect(cluster.sessionsOpened.get(nodeId)).toBe(1);
  });

  it('keeps one stream per node across deletes and later turns', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const keys = keysWithFirstPrimary(cluster, 'n02', 5);
    const contexts: Buffer[] = [];
    for (const key of keys) contexts.push((await client.put(key, 'v')).context);
    await Promise.all(keys.map((k, i) => client.delete(k, { context: contexts[i] })));
    const read = await Promise.all(keys.map((k) => client.get(k)));
    expect(read.map((r) => r.found)).toEqual(keys.map(() => false));
    expect(cluster.served.map((s) => s.op)).toEqual([
      ...keys.map(() => 'put'),
      ...keys.map(() => 'delete'),
      ...keys.map(() => 'get'),
    ]);
    expect([...cluster.sessionsOpened]).toEqual([['n02', 1]]);
  });

  it('opens no stream with `sessions: false`, and operations still work', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { sessions: false });
    const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
    await Promise.all(keys.map((k) => client.put(k, `v-${k}`)));
    const read = await Promise.all(keys.map((k) => client.get(k)));
    expect(read.map((r) => r.siblings.map((s) => s.value.toString()))).toEqual(
      keys.map((k) => [`v-${k}`]),
    );
    await client.delete(keys[0]!, { context: read[0]!.context });
    expect((await client.get(keys[0]!)).found).toBe(false);
    expect(cluster.served).toHaveLength(42);
    expect(cluster.sessionsOpened.size).toBe(0);
  });

  it('sends a call larger than sessionCallBytesMax unary, and reads it back over the session', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const large = Buffer.alloc(sessionCallBytesMax + 1024, 7);
    await client.put('large', large);
    expect(cluster.sessionsOpened.size).toBe(0);
    const read = await client.get('large');
    expect(read.siblings).toHaveLength(1);
    expect(read.siblings[0]!.value.equals(large)).toBe(true);
    expect(cluster.sessionsOpened.get(cluster.primariesOf('large')[0]!)).toBe(1);
  });

  it('falls back to unary calls on a node without sessions (UNIMPLEMENTED), trying it once', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    cluster.sessions = false; // before the client's first KV call
    const keys = Array.from({ length: 30 }, (_, i) => `key-${i}`);
    // Concurrent first calls: all wait on the same refused stream, then go unary.
    const written = await Promise.all(keys.map((k) => client.put(k, `v-${k}`)));
    expect(written.every((w) => w.siblings.length === 1)).toBe(true);
    // Later calls, concurrent and one by one.
    const read = await Promise.all(keys.map((k) => client.get(k)));
    expect(read.map((r) => r.siblings.map((s) => s.value.toString()))).toEqual(
      keys.map((k) => [`v-${k}`]),
    );
    for (const key of keys.slice(0, 10)) await client.delete(key);

    expect(cluster.served).toHaveLength(70);
    // Not a failed attempt: each call went unary within its first attempt.
    expect(client.stats()).toMatchObject({ requests: 70, retries: 0 });
    const contacted = servingNodes(cluster);
    expect(contacted.size).toBeGreaterThan(1);
    for (const nodeId of contacted) expect(cluster.sessionsOpened.get(nodeId)).toBe(1);
    for (const count of cluster.sessionsOpened.values()) expect(count).toBeLessThanOrEqual(1);
  });

  it('retries a put whose error reply says APPLIED_NONE on the next replica', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details: 'put acked 0 of W=3 (the write reached no replica)',
      trailer: noneAcked0of3,
      op: 'put',
      times: 1,
    };
    const written = await client.put('k', 'v', { w: 3 });
    expect(written.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([
      ['put', first],
      ['put', second],
    ]);
    expect(client.stats().retries).toBe(1);
    // Both went over sessions.
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
    expect(cluster.sessionsOpened.get(second!)).toBe(1);
    // The node answered: alive, not remembered as failed; and its stream still serves.
    await client.get('k');
    expect(cluster.served.at(-1)).toMatchObject({ op: 'get', nodeId: first });
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
  });

  it('gives the caller an error reply that says APPLIED_MAYBE, and does not repeat the put', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    const details =
      'put acked 1 of W=2 (3 replicas tried; the write may have reached some replicas)';
    cluster.node(first!).failure = {
      code: status.UNAVAILABLE,
      details,
      trailer: maybeAcked1of2,
      op: 'put',
      times: 1,
    };
    const error = await rejection(client.put('k', 'v'));
    expect(error).toMatchObject({
      code: status.UNAVAILABLE,
      details,
      acked: 1,
      needed: 2,
      tried: 3,
      notApplied: false,
      nodeId: first,
      attempts: 1,
    });
    expect(cluster.served.map((s) => [s.op, s.nodeId])).toEqual([['put', first]]);
    expect(client.stats().retries).toBe(0);
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
  });

  it('carries an overload refusal (retry-after-ms, rate limit) as the unary trailers would', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster, { attemptsMax: 1 });
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).failure = {
      code: status.RESOURCE_EXHAUSTED,
      details: 'rate limit of the token reached',
      trailer: undefined,
      trailers: {
        'retry-after-ms': '250',
        'x-ratelimit-limit': '200',
        'x-ratelimit-remaining': '0',
      },
      beforeHeaders: true,
    };
    const error = await rejection(client.put('k', 'v'));
    expect(error).toBeInstanceOf(OverloadedError);
    expect(error).toMatchObject({
      code: status.RESOURCE_EXHAUSTED,
      notApplied: true,
      retryAfterMs: 250,
      rateLimit: 200,
      rateLimitRemaining: 0,
      nodeId: first,
    });
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
    // Alive, just busy.
    expect(client.stats().perNode.get(first!)).toEqual({ requests: 1, failures: 0, overloaded: 1 });
  });

  it('times out a put on a hanging node with DEADLINE_EXCEEDED, not repeated', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    cluster.node(first!).hanging = true;
    const error = await rejection(client.put('k', 'v', { deadlineMs: 300 }));
    expect(error).toMatchObject({
      code: status.DEADLINE_EXCEEDED,
      notApplied: false,
      nodeId: first,
      attempts: 1,
    });
    expect(cluster.calls.filter((c) => c.method === 'put').map((c) => c.nodeId)).toEqual([first]);
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
  });

  it('fails a put in flight on a stream that breaks as may-have-been-applied, and does not repeat it', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first] = cluster.primariesOf('k');
    const node = cluster.node(first!);
    node.hanging = true;
    const put = rejection(client.put('k', 'v', { deadlineMs: 1_000 }));
    await received(cluster, first!, 'put');
    node.stop();
    const error = await put;
    // Ended by the broken stream, not by its deadline. grpc-js reports the fake's stop()
    // (forceShutdown: RST_STREAM CANCEL) as CANCELLED, a dropped connection as UNAVAILABLE;
    // either way the put may have been applied, and is not repeated.
    expect([status.UNAVAILABLE, status.CANCELLED]).toContain(error.code);
    expect(error).toMatchObject({ notApplied: false, nodeId: first, attempts: 1 });
    expect(cluster.calls.filter((c) => c.method === 'put').map((c) => c.nodeId)).toEqual([first]);
    expect(client.stats().retries).toBe(0);
  });

  // grpc-js reports the stopped node's streams as CANCELLED ("Call cancelled", forceShutdown's
  // RST_STREAM CANCEL): unless the client closed it, that is a broken stream (UNAVAILABLE), and the
  // read goes to the next replica.
  it('retries a get in flight on a node that stops, on another replica, before its attempt times out', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    const [first, second] = cluster.primariesOf('k');
    await client.put('k', 'v');
    const node = cluster.node(first!);
    node.hanging = true;
    // Half of the deadline (4 s) for the first attempt: a retry well before that is the break's.
    const deadlineMs = 8_000;
    const get = client.get('k', { deadlineMs });
    await received(cluster, first!, 'get');
    const stoppedAt = Date.now();
    node.stop();
    const read = await get;
    expect(read.siblings.map((s) => s.value.toString())).toEqual(['v']);
    expect(cluster.served.at(-1)).toMatchObject({ op: 'get', nodeId: second });
    expect(cluster.served.at(-1)!.atMs - stoppedAt).toBeLessThan(deadlineMs / 2 - 1_000);
    expect(client.stats().retries).toBe(1);
  });

  it('notices the newer ring a session reply names, and routes with it', async () => {
    const cluster = await fakeCluster({ nodeCount: 4, ringNodeCount: 3 });
    const client = await clientOf(cluster);
    expect(getRingCalls(cluster)).toBe(1);
    expect(client.ring().nodes.map((n) => n.id)).toEqual(['n01', 'n02', 'n03']);

    cluster.setRing(['n01', 'n02', 'n03', 'n04'], 2n);
    cluster.advertisedVersion = 2n;
    cluster.getRingDelayMs = 50;
    // Replies over the sessions, all naming version 2 while the refetch runs: one GetRing.
    await Promise.all(['a', 'b', 'c', 'd'].map((k) => client.get(k)));
    expect(cluster.sessionsOpened.size).toBeGreaterThan(0);
    await vi.waitFor(() => expect(client.ring().version).toBe(2n));
    expect(getRingCalls(cluster)).toBe(2);
    expect(client.stats().ringRefreshes).toBe(1);

    const [key] = keysWithFirstPrimary(cluster, 'n04', 1);
    await client.get(key!);
    expect(cluster.served.at(-1)?.nodeId).toBe('n04');
    expect(cluster.sessionsOpened.get('n04')).toBe(1);
  });

  it('notices a higher ring term a session reply names', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    await client.get('k');
    expect(client.stats().ringRefreshes).toBe(0);
    cluster.setRing(['n01', 'n02', 'n03'], 1n, { term: 2n });
    await client.get('k');
    await vi.waitFor(() => expect(client.ringVersion()).toEqual({ term: 2n, version: 1n }));
    expect(client.stats().ringRefreshes).toBe(1);
    expect(cluster.sessionsOpened.get(cluster.primariesOf('k')[0]!)).toBe(1);
  });

  it('does not refetch for a reply naming the version it has', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (let i = 0; i < 5; i++) await client.get(`k${i}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(client.stats().ringRefreshes).toBe(0);
    expect(getRingCalls(cluster)).toBe(1);
    expect(cluster.sessionsOpened.size).toBeGreaterThan(0);
  });

  it('close() ends calls in flight on a hanging node with CANCELLED, promptly', async () => {
    const cluster = await fakeCluster({ nodeCount: 3 });
    const client = await clientOf(cluster);
    for (const node of cluster.nodes) node.hanging = true;
    const deadlineMs = 5_000;
    const [first] = cluster.primariesOf('k');
    const get = rejection(client.get('k', { deadlineMs }));
    const put = rejection(client.put('k', 'v', { deadlineMs }));
    await received(cluster, first!, 'get');
    await received(cluster, first!, 'put');
    const startMs = Date.now();
    client.close();
    const [getError, putError] = await Promise.all([get, put]);
    expect(Date.now() - startMs).toBeLessThan(2_000);
    expect(getError).toMatchObject({ code: status.CANCELLED, attempts: 1 });
    expect(putError).toMatchObject({ code: status.CANCELLED, attempts: 1 });
    expect(cluster.sessionsOpened.get(first!)).toBe(1);
    // Nothing was retried elsewhere.
    expect(cluster.calls.filter((c) => c.method !== 'getRing')).toHaveLength(2);
  });
});

/** A KV.Session stream whose frames the test reads and whose replies and breaks it scripts. */
class ScriptedStream extends EventEmitter {
  /** Each write: one frame's calls. */
  readonly frames: SessionCall[][] = [];
  cancelled = false;

  write(request: SessionRequest): boolean {
    this.frames.push(request.calls);
    return true;
  }

  cancel(): void {
    this.cancelled = true;
  }

  /** Every call written, in order. */
  get written(): SessionCall[] {
    return this.frames.flat();
  }

  reply(replies: SessionReply[], ringVersion = 7n, ringTerm = 3n): void {
    const frame: SessionResponse = { replies, ringVersion, ringTerm };
    this.emit('data', frame);
  }

  /** The stream ends with an error status, as grpc-js reports it. */
  fail(code: status, details: string): void {
    const error: ServiceError = Object.assign(new Error(`${code} ${status[code]}: ${details}`), {
      code,
      details,
      metadata: new Metadata(),
    });
    this.emit('error', error);
  }
}

/**
 * A KVClient whose session() hands out scripted streams and whose unary Get, Put and Delete
 * answer on a later turn (response headers naming ring version 5 first, as a node does).
 */
function scriptedKv() {
  const streams: ScriptedStream[] = [];
  const unaryCalls: string[] = [];
  const unary =
    (op: string, response: unknown) =>
    (
      _request: unknown,
      _metadata: Metadata,
      _options: unknown,
      callback: (error: ServiceError | null, response: unknown) => void,
    ) => {
      unaryCalls.push(op);
      const call = Object.assign(new EventEmitter(), { cancel: () => undefined });
      setImmediate(() => {
        const headers = new Metadata();
        headers.set('x-ringstore-ring-version', '5');
        call.emit('metadata', headers);
        callback(null, response);
      });
      return call;
    };
  const kv = {
    session: () => {
      const stream = new ScriptedStream();
      streams.push(stream);
      return stream;
    },
    get: unary('get', { siblings: [], context: Buffer.from('unary') }),
    put: unary('put', { siblings: [], context: Buffer.from('unary') }),
    delete: unary('delete', {}),
    batchGet: () => undefined,
    batchPut: () => undefined,
    getChannel: () => ({}),
    close: () => undefined,
  } as unknown as KVClient;
  return { kv, streams, unaryCalls };
}

function getRequest(key: string): GetRequest {
  return { key: Buffer.from(key), r: 0, strictQuorum: false };
}

function putRequest(key: string, value: string | Buffer = 'v'): PutRequest {
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  return {
    key: Buffer.from(key),
    value: bytes,
    context: Buffer.alloc(0),
    w: 0,
    strictQuorum: false,
  };
}

/** One call through the stub, as the dispatcher makes it (callUnary): its outcome. */
function callOf<Req, Res>(
  method: UnaryMethod<Req, Res>,
  request: Req,
  deadlineMs = 5_000,
  inflight: InflightCalls = new Set(),
): Promise<UnaryOutcome<Res>> {
  return callUnary(method, request, new Metadata(), Date.now() + deadlineMs, inflight);
}

function errorOf<Res>(outcome: UnaryOutcome<Res>): ServiceError & { answered: boolean } {
  if (outcome.ok) throw new Error('expected the call to fail');
  return Object.assign(outcome.error, { answered: outcome.answered });
}

const stubs: KvStub[] = [];

/** A session stub over a scripted KVClient, closed after the test. */
function scriptedStub(limits = sessionLimitsDefault) {
  const scripted = scriptedKv();
  const stub = sessionStub(scripted.kv, () => new Metadata(), limits);
  stubs.push(stub);
  return { stub, ...scripted };
}

/** Resolves on a later turn of the event loop than every setImmediate queued before it. */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('the session stub over a scripted stream', { timeout: testTimeoutMs }, () => {
  afterEach(() => {
    for (const stub of stubs.splice(0)) stub.close();
  });

  it('writes the calls of one turn as one frame, on the next turn, and answers each by its id', async () => {
    const { stub, streams } = scriptedStub();
    const get = callOf(stub.get, getRequest('a'), 1_000);
    const put = callOf(stub.put, putRequest('b', 'vb'));
    const del = callOf(stub.delete, {
      key: Buffer.from('c'),
      context: Buffer.alloc(0),
      w: 0,
      strictQuorum: false,
    });
    expect(streams).toHaveLength(1);
    expect(streams[0]!.frames).toEqual([]);
    await nextTurn();
    const stream = streams[0]!;
    expect(stream.frames).toHaveLength(1);
    const calls = stream.frames[0]!;
    expect(calls.map((c) => c.call?.$case)).toEqual(['get', 'put', 'delete']);
    expect(new Set(calls.map((c) => c.id)).size).toBe(3);
    expect(calls[1]!.call).toEqual({ $case: 'put', value: putRequest('b', 'vb') });
    // Each call carries what is left of its deadline.
    expect(calls[0]!.timeoutMs).toBeGreaterThan(0);
    expect(calls[0]!.timeoutMs).toBeLessThanOrEqual(1_000);
    expect(calls[1]!.timeoutMs).toBeGreaterThan(1_000);

    // Replies in the order calls finish, not the order they were sent.
    const [g, p, d] = calls;
    stream.reply([{ id: d!.id, result: { $case: 'delete', value: {} } }]);
    stream.reply(
      [
        {
          id: p!.id,
          result: { $case: 'put', value: { context: Buffer.from('cp'), siblings: [] } },
        },
        {
          id: g!.id,
          result: { $case: 'get', value: { context: Buffer.from('cg'), siblings: [] } },
        },
      ],
      9n,
      0n,
    );
    const outcomes = await Promise.all([get, put, del]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    expect(outcomes[0]).toMatchObject({ response: { context: Buffer.from('cg') } });
    expect(outcomes[1]).toMatchObject({ response: { context: Buffer.from('cp') } });
    // The ring each reply's frame named, as a unary call's headers would; term 0 names none.
    expect(outcomes[2].ringVersion).toEqual({ version: 7n, term: 3n });
    expect(outcomes[0].ringVersion).toEqual({ version: 9n, term: undefined });
    expect(streams).toHaveLength(1);
  });

  it('cuts a burst into frames of at most messagesMax calls', async () => {
    const { stub, streams } = scriptedStub({
      frame: { messagesMax: 2, bytesMax: 48 * 1024 },
      inflightMax: 100,
    });
    for (let i = 0; i < 5; i++) void callOf(stub.put, putRequest(`k${i}`));
    await nextTurn();
    expect(streams[0]!.frames.map((f) => f.length)).toEqual([2, 2, 1]);
    expect(streams[0]!.written.map((c) => (c.call?.value.key as Buffer).toString())).toEqual([
      'k0',
      'k1',
      'k2',
      'k3',
      'k4',
    ]);
  });

  it('turns an error reply into the status and trailers the unary call would have ended with', async () => {
    const { stub, streams } = scriptedStub();
    const put = callOf(stub.put, putRequest('k'));
    await nextTurn();
    const failure: Failure = { applied: Applied.APPLIED_NONE, acked: 0, needed: 2, tried: 1 };
    const [call] = streams[0]!.written;
    streams[0]!.reply([
      {
        id: call!.id,
        result: {
          $case: 'error',
          value: { code: status.UNAVAILABLE, message: 'acked 0 of W=2', failure, retryAfterMs: 0 },
        },
      },
    ]);
    const error = errorOf(await put);
    expect(error).toMatchObject({ code: status.UNAVAILABLE, details: 'acked 0 of W=2' });
    // Answered: the node handled it (alive), and its Failure decides retry safety.
    expect(error.answered).toBe(true);
    expect(failureOf(error.metadata)).toEqual(failure);
    expect(fromServiceError(error, error.answered, 'n01')).toMatchObject({
      error: { notApplied: true, acked: 0, needed: 2 },
      nodeUnreachable: false,
    });
  });

  it('fails written calls as may-have-been-applied and unwritten ones as not sent when the stream breaks', async () => {
    const { stub, streams } = scriptedStub();
    const written = callOf(stub.put, putRequest('written'));
    await nextTurn();
    const unsent = callOf(stub.put, putRequest('unsent'));
    const stream = streams[0]!;
    stream.fail(status.UNAVAILABLE, 'Connection dropped');
    expect(stream.cancelled).toBe(true);

    const w = errorOf(await written);
    expect(w.code).toBe(status.UNAVAILABLE);
    expect(w.answered).toBe(false);
    expect(w.metadata.get(failureTrailer)).toEqual([]);
    expect(fromServiceError(w, w.answered, 'n01')).toMatchObject({
      error: { notApplied: false },
      nodeUnreachable: true,
    });

    const u = errorOf(await unsent);
    expect(u.code).toBe(status.UNAVAILABLE);
    expect(failureOf(u.metadata)?.applied).toBe(Applied.APPLIED_NONE);
    expect(fromServiceError(u, u.answered, 'n01').error.notApplied).toBe(true);

    // The unsent call is never written, on this stream or the next; the next call opens one.
    await nextTurn();
    expect(stream.written.map((c) => (c.call?.value.key as Buffer).toString())).toEqual([
      'written',
    ]);
    const next = callOf(stub.get, getRequest('next'));
    expect(streams).toHaveLength(2);
    await nextTurn();
    expect(streams[1]!.written.map((c) => (c.call?.value.key as Buffer).toString())).toEqual([
      'next',
    ]);
    streams[1]!.reply([
      {
        id: streams[1]!.written[0]!.id,
        result: { $case: 'get', value: { context: Buffer.alloc(0), siblings: [] } },
      },
    ]);
    expect((await next).ok).toBe(true);
  });

  it('fails the calls still open when the node ends the stream', async () => {
    const { stub, streams } = scriptedStub();
    const put = callOf(stub.put, putRequest('k'));
    await nextTurn();
    streams[0]!.emit('end');
    const error = errorOf(await put);
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(fromServiceError(error, error.answered, 'n01').error.notApplied).toBe(false);
  });

  it('sends every call unary, written or not, when the node answers UNIMPLEMENTED, and opens no stream again', async () => {
    const { stub, streams, unaryCalls } = scriptedStub();
    const written = callOf(stub.put, putRequest('written'));
    await nextTurn();
    const unsent = callOf(stub.get, getRequest('unsent'));
    streams[0]!.fail(status.UNIMPLEMENTED, 'unknown method Session');
    const outcomes = await Promise.all([written, unsent]);
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    // The unary call's headers reach the caller (answered, with its ring).
    expect(outcomes.map((o) => o.ringVersion?.version)).toEqual([5n, 5n]);
    expect(unaryCalls.sort()).toEqual(['get', 'put']);

    const later = await Promise.all([
      callOf(stub.delete, {
        key: Buffer.from('d'),
        context: Buffer.alloc(0),
        w: 0,
        strictQuorum: false,
      }),
      callOf(stub.get, getRequest('g')),
    ]);
    expect(later.map((o) => o.ok)).toEqual([true, true]);
    expect(unaryCalls).toHaveLength(4);
    expect(streams).toHaveLength(1);
  });

  it('fails a call with no reply by its deadline with DEADLINE_EXCEEDED, and ignores the late reply', async () => {
    const { stub, streams } = scriptedStub();
    const put = callOf(stub.put, putRequest('k'), 30);
    await nextTurn();
    const [call] = streams[0]!.written;
    const error = errorOf(await put);
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(fromServiceError(error, error.answered, 'n01').error.notApplied).toBe(false);
    // The late reply is dropped; the stream goes on serving.
    streams[0]!.reply([
      { id: call!.id, result: { $case: 'put', value: { context: Buffer.alloc(0), siblings: [] } } },
    ]);
    const get = callOf(stub.get, getRequest('g'));
    await nextTurn();
    expect(streams).toHaveLength(1);
    streams[0]!.reply([
      {
        id: streams[0]!.written[1]!.id,
        result: { $case: 'get', value: { context: Buffer.alloc(0), siblings: [] } },
      },
    ]);
    expect((await get).ok).toBe(true);
  });

  it('cancels one call when its caller cancels it, leaving the others', async () => {
    const { stub, streams } = scriptedStub();
    const inflight: InflightCalls = new Set();
    const cancelled = callOf(stub.get, getRequest('cancelled'), 5_000, inflight);
    const other = callOf(stub.get, getRequest('other'));
    await nextTurn();
    expect(inflight.size).toBe(1);
    for (const call of inflight) call.cancel();
    expect(errorOf(await cancelled).code).toBe(status.CANCELLED);
    const [first, second] = streams[0]!.written;
    const empty = { $case: 'get' as const, value: { context: Buffer.alloc(0), siblings: [] } };
    streams[0]!.reply([
      { id: first!.id, result: empty },
      { id: second!.id, result: empty },
    ]);
    expect((await other).ok).toBe(true);
    expect(streams[0]!.cancelled).toBe(false);
  });

  it('close() fails the calls in flight with CANCELLED and refuses new ones without a stream', async () => {
    const { stub, streams } = scriptedStub();
    const get = callOf(stub.get, getRequest('a'));
    const put = callOf(stub.put, putRequest('b'));
    await nextTurn();
    stub.close();
    expect(streams[0]!.cancelled).toBe(true);
    const errors = (await Promise.all([get, put])).map(errorOf);
    expect(errors.map((e) => e.code)).toEqual([status.CANCELLED, status.CANCELLED]);
    expect(errorOf(await callOf(stub.get, getRequest('after'))).code).toBe(status.CANCELLED);
    expect(streams).toHaveLength(1);
  });

  it('sends a call beyond inflightMax unary, the session taking calls again once replies make room', async () => {
    const { stub, streams, unaryCalls } = scriptedStub({
      frame: sessionLimitsDefault.frame,
      inflightMax: 2,
    });
    void callOf(stub.put, putRequest('a'));
    void callOf(stub.put, putRequest('b'));
    const third = await callOf(stub.put, putRequest('c'));
    expect(third.ok).toBe(true);
    expect(unaryCalls).toEqual(['put']);
    await nextTurn();
    expect(streams[0]!.written.map((c) => (c.call?.value.key as Buffer).toString())).toEqual([
      'a',
      'b',
    ]);
  });

  it('sends a call larger than sessionCallBytesMax unary', async () => {
    const { stub, streams, unaryCalls } = scriptedStub();
    const outcome = await callOf(stub.put, putRequest('k', Buffer.alloc(sessionCallBytesMax + 1)));
    expect(outcome.ok).toBe(true);
    expect(unaryCalls).toEqual(['put']);
    expect(streams).toHaveLength(0);
  });
});
