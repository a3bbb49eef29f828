// KV.Session on real nodes, raw (no SDK): many calls per frame, each answered by id as its unary
// RPC would answer it; bad calls failing alone; per-call deadlines, a slow call not holding up the
// others; the frame limit; and a graceful stop that answers the calls in progress first.
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  Applied,
  KVClient,
  type SessionCall,
  type SessionReply,
  type SessionResponse,
} from '@ringstore/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { siblingValues } from '../test-support/kv-client.js';

/** How long a test waits for a reply or the stream's end before failing. */
const waitMs = 10_000;

interface Received {
  readonly reply: SessionReply;
  readonly frame: SessionResponse;
  /** Replies received before this one on the stream. */
  readonly order: number;
}

/** A raw session: send frames, await replies by id, and how the stream ended. */
function openSession(address: string) {
  const kv = new KVClient(address, credentials.createInsecure());
  const stream = kv.session(new Metadata());
  const received = new Map<bigint, Received>();
  const waiters = new Map<bigint, (r: Received) => void>();
  let count = 0;
  stream.on('data', (frame: SessionResponse) => {
    for (const reply of frame.replies) {
      const r = { reply, frame, order: count++ };
      received.set(reply.id, r);
      waiters.get(reply.id)?.(r);
    }
  });
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    stream.on('error', (e: ServiceError) => resolve(e));
    stream.on('status', (s: { code: number }) => {
      if (s.code === Number(status.OK)) resolve(undefined);
    });
  });
  return {
    send(calls: SessionCall[]): void {
      stream.write({ calls });
    },
    reply(id: bigint): Promise<Received> {
      const known = received.get(id);
      if (known !== undefined) return Promise.resolve(known);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no reply to call ${id}`)), waitMs);
        waiters.set(id, (r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    },
    ended,
    close(): void {
      stream.cancel();
      kv.close();
    },
  };
}

const put = (id: number, key: string, value: string, w = 0, timeoutMs = 0): SessionCall => ({
  id: BigInt(id),
  timeoutMs,
  call: {
    $case: 'put',
    value: {
      key: Buffer.from(key),
      value: Buffer.from(value),
      context: Buffer.alloc(0),
      w,
      strictQuorum: false,
    },
  },
});
const get = (id: number, key: string, r = 0, timeoutMs = 0): SessionCall => ({
  id: BigInt(id),
  timeoutMs,
  call: { $case: 'get', value: { key: Buffer.from(key), r, strictQuorum: false } },
});

function errorOf(r: Received) {
  return r.reply.result?.$case === 'error' ? r.reply.result.value : undefined;
}

describe('KV.Session, 3 nodes', () => {
  let tc: TestCluster;
  beforeAll(async () => {
    tc = await startTestCluster(3, ['--request-timeout-ms', '3000']);
  }, 60_000);
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  it('carries many calls per frame, each answered by its id as the unary call would be', async () => {
    const session = openSession(tc.address('n1'));
    try {
      const keys = Array.from({ length: 40 }, (_, i) => `session-${i}`);
      session.send(keys.map((key, i) => put(i + 1, key, `v${i}`, 3)));
      const puts = await Promise.all(keys.map((_, i) => session.reply(BigInt(i + 1))));
      puts.forEach((r, i) => {
        expect(r.reply.result?.$case, keys[i]).toBe('put');
        const res = r.reply.result?.$case === 'put' ? r.reply.result.value : undefined;
        expect(res?.siblings.map((s) => s.value.toString())).toEqual([`v${i}`]);
      });
      session.send([...keys.map((key, i) => get(100 + i, key, 2)), get(200, 'session-missing')]);
      const gets = await Promise.all(keys.map((_, i) => session.reply(BigInt(100 + i))));
      gets.forEach((r, i) => {
        const res = r.reply.result?.$case === 'get' ? r.reply.result.value : undefined;
        expect(res && siblingValues(res), keys[i]).toEqual([`v${i}`]);
      });
      const missing = await session.reply(200n);
      expect(missing.reply.result).toMatchObject({ $case: 'get', value: { siblings: [] } });
      // Every frame names the node's ring, as a unary call's headers do.
      const ring = await tc.client('n1').ring();
      expect(missing.frame.ringVersion).toBe(ring.version);
      expect(missing.frame.ringTerm).toBe(ring.term);
      // The unary API sees the same data.
      expect(siblingValues(await tc.client('n2').get('session-7', { r: 3 }))).toEqual(['v7']);
    } finally {
      session.close();
    }
  });

  it('fails bad calls alone, with the status and Failure of the unary call', async () => {
    const session = openSession(tc.address('n2'));
    try {
      session.send([
        put(1, '', 'empty key'),
        { ...put(2, 'session-bad-context', 'x'), call: undefined },
        {
          id: 3n,
          timeoutMs: 0,
          call: {
            $case: 'put',
            value: {
              key: Buffer.from('session-bad-context'),
              value: Buffer.from('x'),
              context: Buffer.from('not a context'),
              w: 0,
              strictQuorum: false,
            },
          },
        },
        put(4, 'session-bad-w', 'x', 9),
        put(5, 'session-good', 'fine'),
      ]);
      for (const id of [1n, 2n, 3n, 4n]) {
        const e = errorOf(await session.reply(id));
        expect(e?.code, `call ${id}`).toBe(status.INVALID_ARGUMENT);
        expect(e?.failure?.applied, `call ${id}`).toBe(Applied.APPLIED_NONE);
      }
      expect(errorOf(await session.reply(2n))?.message).toMatch(/no get, put or delete/);
      expect((await session.reply(5n)).reply.result?.$case).toBe('put');
      // Nothing of the bad calls was written.
      const bad = await tc.client('n1').get('session-bad-context', { r: 3 });
      expect(bad.siblings).toEqual([]);
    } finally {
      session.close();
    }
  });

  it('answers each call as it finishes: a slow call has its own deadline and holds up no other', async () => {
    const session = openSession(tc.address('n1'));
    const stopped = tc.cluster.node('n3').pid;
    await tc.client('n1').put('session-slow', 'before', { w: 3 });
    process.kill(stopped, 'SIGSTOP');
    try {
      // W=3 needs the stopped node: it waits out its 400 ms; the others need only n1 and n2.
      session.send([
        put(1, 'session-slow', 'w3', 3, 400),
        put(2, 'session-fast', 'w1', 1, 5_000),
        get(3, 'session-slow', 1, 5_000),
      ]);
      const [slow, fast, read] = await Promise.all([1n, 2n, 3n].map((id) => session.reply(id)));
      expect(fast?.reply.result?.$case).toBe('put');
      expect(read?.reply.result?.$case).toBe('get');
      const e = slow && errorOf(slow);
      expect([status.DEADLINE_EXCEEDED, status.UNAVAILABLE]).toContain(e?.code);
      expect(e?.failure?.applied).toBe(Applied.APPLIED_MAYBE);
      // The fast calls were answered before the slow one, though sent after it.
      expect(slow!.order).toBeGreaterThan(fast!.order);
      expect(slow!.order).toBeGreaterThan(read!.order);
    } finally {
      process.kill(stopped, 'SIGCONT');
      session.close();
    }
  });

  it('ends a stream whose frame carries more calls than the limit, and serves the next one', async () => {
    const session = openSession(tc.address('n3'));
    try {
      session.send(Array.from({ length: 1_001 }, (_, i) => get(i + 1, `session-many-${i}`)));
      const ended = await session.ended;
      expect(ended?.code).toBe(status.INVALID_ARGUMENT);
      expect(ended?.details).toMatch(/1001 calls: at most 1000/);
    } finally {
      session.close();
    }
    const next = openSession(tc.address('n3'));
    try {
      next.send([get(1, 'session-7', 2)]);
      expect((await next.reply(1n)).reply.result?.$case).toBe('get');
    } finally {
      next.close();
    }
  });
});

describe('KV.Session through a graceful stop', () => {
  let tc: TestCluster | undefined;
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  it('answers every call in progress, then ends the stream cleanly', async () => {
    tc = await startTestCluster(3, ['--max-inflight-requests', '1024']);
    const cluster = tc;
    const session = openSession(cluster.address('n1'));
    try {
      session.send([put(1, 'session-stop-warm-up', 'x', 2)]);
      await session.reply(1n);
      const keys = Array.from({ length: 200 }, (_, i) => `session-stop-${i}`);
      session.send(keys.map((key, i) => put(i + 2, key, `v-${key}`, 2)));
      await new Promise((resolve) => setTimeout(resolve, 5));
      process.kill(cluster.cluster.node('n1').pid, 'SIGTERM');
      const replies = await Promise.all(keys.map((_, i) => session.reply(BigInt(i + 2))));
      // Each call was either done or refused as the node began to stop (nothing applied).
      const acked: string[] = [];
      replies.forEach((r, i) => {
        const e = errorOf(r);
        if (e === undefined) acked.push(keys[i]!);
        else {
          expect(e.code).toBe(status.UNAVAILABLE);
          expect(e.failure?.applied).toBe(Applied.APPLIED_NONE);
        }
      });
      expect(await session.ended).toBeUndefined();
      for (const key of acked) {
        const got = await eventually(() => cluster.client('n2').get(key, { r: 2 }), 5_000);
        expect(siblingValues(got), key).toEqual([`v-${key}`]);
      }
    } finally {
      session.close();
    }
  }, 90_000);
});
