import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { credentials, Metadata, status } from '@grpc/grpc-js';
import { Applied, KVClient, PeerClient } from '@ringstore/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { checkHealth, listServices } from '../test-support/grpc-probes.js';
import { siblingValues, statusOf } from '../test-support/kv-client.js';

const clusterStartMs = 60_000;

describe('a 3-node cluster over real gRPC', () => {
  let tc: TestCluster;
  beforeAll(async () => {
    tc = await startTestCluster(3);
  }, clusterStartMs);
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  it('puts through one node, gets through the others, deletes through a third', async () => {
    await tc.client('n1').put('fruit', 'apple');
    expect(siblingValues(await tc.client('n2').get('fruit'))).toEqual(['apple']);
    const seen = await tc.client('n3').get('fruit');
    expect(siblingValues(seen)).toEqual(['apple']);
    await tc.client('n3').delete('fruit', { context: seen.context });
    for (const id of ['n1', 'n2', 'n3']) {
      expect((await tc.client(id).get('fruit', { r: 3 })).siblings).toEqual([]);
    }
  });

  it('deletes without a context by reading the current one first', async () => {
    await tc.client('n2').put('no-context-delete', 'x', { w: 3 });
    await tc.client('n1').delete('no-context-delete', { w: 3 });
    expect((await tc.client('n3').get('no-context-delete', { r: 3 })).siblings).toEqual([]);
  });

  it('honours r and w per request', async () => {
    const put = await tc.client('n1').put('quorum', 'v1', { w: 3 });
    expect(put.context.length).toBeGreaterThan(0);
    for (const r of [1, 2, 3]) {
      expect(siblingValues(await tc.client('n2').get('quorum', { r }))).toEqual(['v1']);
    }
    await tc.client('n2').put('quorum', 'v2', { w: 1, context: put.context });
    // W=1 acknowledged on n2 alone; an R=3 read merges every replica and must see v2.
    expect(siblingValues(await tc.client('n3').get('quorum', { r: 3 }))).toEqual(['v2']);
  });

  it('keeps 20 concurrent puts with the same stale context as siblings, and a put with the returned context collapses them', async () => {
    const first = await tc.client('n1').put('contended', 'v0', { w: 3 });
    const values = Array.from({ length: 20 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    await Promise.all(
      values.map((v) => tc.client('n1').put('contended', v, { context: first.context, w: 3 })),
    );
    const all = await tc.client('n2').get('contended', { r: 3 });
    expect(siblingValues(all)).toEqual(values);
    await tc.client('n3').put('contended', 'resolved', { context: all.context, w: 3 });
    expect(siblingValues(await tc.client('n1').get('contended', { r: 3 }))).toEqual(['resolved']);
  });

  it('never lets a put with an empty context supersede a value', async () => {
    await tc.client('n1').put('blind', 'first', { w: 3 });
    await tc.client('n2').put('blind', 'second', { w: 3 });
    const res = await tc.client('n3').get('blind', { r: 3 });
    expect(siblingValues(res)).toEqual(['first', 'second']);
  });

  it('returns the written value and the siblings its context covers in PutResponse', async () => {
    await tc.client('n1').put('echo', 'a', { w: 3 });
    const res = await tc.client('n1').put('echo', 'b', { w: 3 });
    expect(res.siblings.map((s) => s.value.toString()).sort()).toEqual(['a', 'b']);
  });

  const oneMiB = 1024 * 1024;
  const badInputs: { name: string; call: (t: TestCluster) => Promise<unknown>; message: RegExp }[] =
    [
      {
        name: 'an empty key (put)',
        call: (t) => t.client('n1').put('', 'v'),
        message: /key is empty/,
      },
      { name: 'an empty key (get)', call: (t) => t.client('n1').get(''), message: /key is empty/ },
      {
        name: 'an empty key (delete)',
        call: (t) => t.client('n1').delete(''),
        message: /key is empty/,
      },
      {
        name: 'a 1025-byte key',
        call: (t) => t.client('n1').put('k'.repeat(1025), 'v'),
        message: /1025 bytes.*limit is 1024/,
      },
      {
        name: 'a value over 1 MiB',
        call: (t) => t.client('n1').put('big', Buffer.alloc(oneMiB + 1)),
        message: /limit is 1048576/,
      },
      {
        name: 'a malformed context',
        call: (t) =>
          t.client('n1').put('k', 'v', { context: Buffer.from([0xff, 0xfe, 0xfd, 0x01]) }),
        message: /context is malformed/,
      },
      {
        name: 'r above N',
        call: (t) => t.client('n1').get('k', { r: 4 }),
        message: /r=4 is outside 1..N=3/,
      },
      {
        name: 'w above N',
        call: (t) => t.client('n1').put('k', 'v', { w: 4 }),
        message: /w=4 is outside 1..N=3/,
      },
      {
        name: 'w above N on delete',
        call: (t) => t.client('n1').delete('k', { w: 9 }),
        message: /w=9 is outside/,
      },
    ];
  it.each(badInputs)(
    'answers INVALID_ARGUMENT for $name and keeps serving',
    async ({ name, call, message }) => {
      const failure = await statusOf(call(tc));
      expect(failure.code).toBe(status.INVALID_ARGUMENT);
      expect(failure.details).toMatch(message);
      await tc.client('n1').put(`still-serving after ${name}`, 'yes');
      expect(siblingValues(await tc.client('n1').get(`still-serving after ${name}`))).toEqual([
        'yes',
      ]);
    },
  );

  it('refuses a put of B with the context of a get of A: INVALID_ARGUMENT, B unchanged', async () => {
    await tc.client('n1').put('context-of-a', 'a1', { w: 3 });
    await tc.client('n1').put('context-for-b', 'b1', { w: 3 });
    const contextOfA = (await tc.client('n2').get('context-of-a')).context;
    const failure = await statusOf(
      tc.client('n3').put('context-for-b', 'b2', { context: contextOfA, w: 3 }),
    );
    expect([failure.code, failure.details]).toEqual([
      status.INVALID_ARGUMENT,
      expect.stringMatching(/^context was made for another key/),
    ]);
    expect(failure.failure?.applied).toBe(Applied.APPLIED_NONE);
    for (const id of ['n1', 'n2', 'n3']) {
      expect(siblingValues(await tc.client(id).get('context-for-b', { r: 3 }))).toEqual(['b1']);
    }
  });

  it('accepts a value of exactly 1 MiB', async () => {
    await tc.client('n1').put('exactly-max', Buffer.alloc(oneMiB, 7));
    const res = await tc.client('n2').get('exactly-max');
    expect(res.siblings[0]?.value.length).toBe(oneMiB);
  });

  it('answers health SERVING on both ports and lists its client services by reflection', async () => {
    for (const id of ['n1', 'n2', 'n3']) {
      expect(await checkHealth(tc.address(id))).toBe('SERVING');
      expect(await checkHealth(tc.peerAddress(id))).toBe('SERVING');
    }
    const services = await listServices(tc.address('n1'));
    expect(services).toEqual(
      expect.arrayContaining(['ringstore.v1.KV', 'ringstore.v1.Cluster', 'grpc.health.v1.Health']),
    );
    // The internal Peer service is served on the peer port only: not listed, not answered here.
    expect(services).not.toContain('ringstore.v1.Peer');
  });

  it('answers a Peer call on the client port, and a KV call on the peer port, UNIMPLEMENTED', async () => {
    const peer = new PeerClient(tc.address('n1'), credentials.createInsecure());
    const kv = new KVClient(tc.peerAddress('n1'), credentials.createInsecure());
    const deadline = (): number => Date.now() + 5_000;
    try {
      const fetchRing = new Promise((resolve, reject) =>
        peer.fetchRing({}, new Metadata(), { deadline: deadline() }, (e, r) =>
          e ? reject(e) : resolve(r),
        ),
      );
      expect((await statusOf(fetchRing)).code).toBe(status.UNIMPLEMENTED);
      const get = new Promise((resolve, reject) =>
        kv.get(
          { key: Buffer.from('k'), r: 0, strictQuorum: false },
          new Metadata(),
          { deadline: deadline() },
          (e, r) => (e ? reject(e) : resolve(r)),
        ),
      );
      expect((await statusOf(get)).code).toBe(status.UNIMPLEMENTED);
    } finally {
      peer.close();
      kv.close();
    }
  });

  it('survives garbage bytes on its port', async () => {
    const [host, port] = tc.address('n2').split(':');
    await new Promise<void>((resolve) => {
      const socket = connect({ host: host ?? '127.0.0.1', port: Number(port) }, () =>
        socket.end(randomBytes(4096)),
      );
      socket.on('error', () => resolve());
      socket.on('close', () => resolve());
      socket.setTimeout(2_000, () => socket.destroy());
      socket.resume();
    });
    await tc.client('n2').put('after-garbage', 'ok');
    expect(siblingValues(await tc.client('n2').get('after-garbage'))).toEqual(['ok']);
  });

  it('survives clients that disconnect mid-call', async () => {
    const raw = new KVClient(tc.address('n3'), credentials.createInsecure());
    try {
      const cancelled = Array.from({ length: 50 }, (_, i) => {
        return new Promise<void>((resolve) => {
          const call = raw.put(
            {
              key: Buffer.from(`cancel-${i}`),
              value: Buffer.from('v'),
              context: Buffer.alloc(0),
              w: 3,
              strictQuorum: false,
            },
            new Metadata(),
            { deadline: Date.now() + 5_000 },
            () => resolve(),
          );
          setImmediate(() => call.cancel());
        });
      });
      await Promise.all(cancelled);
    } finally {
      raw.close();
    }
    await tc.client('n3').put('after-cancel', 'ok');
    expect(siblingValues(await tc.client('n3').get('after-cancel'))).toEqual(['ok']);
  });

  it('serves the ring every node agrees on', async () => {
    const rings = await Promise.all(['n1', 'n2', 'n3'].map((id) => tc.client(id).ring()));
    expect(rings[0]?.partitionCount).toBe(256);
    expect(rings[0]?.replicas).toBe(3);
    expect(rings[0]?.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(rings[1]?.owners).toEqual(rings[0]?.owners);
    expect(rings[2]?.owners).toEqual(rings[0]?.owners);
  });
});
