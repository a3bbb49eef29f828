import { createHash } from 'node:crypto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { testActors } from '../../test-support/actors.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { FakePeers } from '../../test-support/fake-peers.js';
import { Replica } from '../replica/replica.js';
import { Coordinator } from './coordinator.js';
import { Forwarder } from './forward.js';
import { KvHandler } from './kv-handler.js';

// Contexts name the key they were made for (docs/api.md): one passed with another key is refused
// before anything is written, here or on any replica.

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
const view = ClusterView.ofNodes(
  'n1',
  ['n1', 'n2', 'n3', 'n4'].map((id) => ({ id, address: `${id}:1` })),
  8,
  3,
);
const options = { keyBytesMax: 1024, valueBytesMax: 1024 * 1024, replicas: 3, r: 2, w: 2 };
const requestTimeoutMs = 5_000;

/** Keys whose replicas include n1 (coordinated here), or not (forwarded). */
function keysWhere(replicated: boolean, count: number): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < count; i++) {
    const key = Buffer.from(`key-${i}`);
    if (view.isReplica(view.partitionOf(key)) === replicated) keys.push(key);
  }
  return keys;
}
const [keyA, keyB] = keysWhere(true, 2) as [Buffer, Buffer];
const [remoteKey] = keysWhere(false, 1) as [Buffer];

interface Fixture {
  readonly kv: KvHandler;
  readonly peers: FakePeers;
  readonly storage: StorageEngine;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** n1's KV handler over its own engine and Replica; n2..n4 are FakePeers replicas. */
function fixture(): Fixture {
  const storage = openMemoryEngine();
  const metrics = new Metrics();
  const peers = new FakePeers(['n2', 'n3', 'n4'], log, metrics);
  const liveness = new FakeLiveness();
  cleanups.push(
    () => storage.close(),
    () => peers.close(),
  );
  const coordinator = new Coordinator({
    view,
    selfId: 'n1',
    actors: testActors('n1'),
    storage,
    replica: new Replica(storage, log, metrics),
    peers: peers.asPeers(),
    liveness,
    log,
    metrics,
    readFanout: 'quorum',
  });
  const forwarder = new Forwarder(view, liveness, metrics);
  const kv = new KvHandler(view, coordinator, forwarder, peers.asPeers(), liveness, options);
  return { kv, peers, storage };
}

const deadline = (): number => Date.now() + requestTimeoutMs;

function put(f: Fixture, key: Buffer, value: string, context: Buffer = Buffer.alloc(0)) {
  const req = { key, value: Buffer.from(value), context, w: 0, strictQuorum: false };
  return f.kv.put(req, deadline());
}

async function read(f: Fixture, key: Buffer): Promise<{ values: string[]; context: Buffer }> {
  const res = await f.kv.get({ key, r: 0, strictQuorum: false }, deadline());
  return { values: res.siblings.map((s) => s.value.toString()), context: res.context };
}

async function rejection(p: Promise<unknown>): Promise<RingstoreError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof RingstoreError))
    throw new Error(`expected a RingstoreError, got ${String(e)}`);
  return e;
}

/** Every replica's stored bytes of `key`, hex (undefined where absent). */
function storedEverywhere(f: Fixture, key: Buffer): (string | undefined)[] {
  const partition = view.partitionOf(key);
  const engines = [f.storage, ...['n2', 'n3', 'n4'].map((id) => f.peers.storageOf(id))];
  return engines.map((engine) => {
    const r = engine.get(partition, key);
    return r.status === 'found' ? Buffer.from(r.object).toString('hex') : undefined;
  });
}

/** The version 1 form of a version 2 context: no key fingerprint (what old nodes returned). */
const unkeyed = (context: Buffer): Buffer => Buffer.concat([Buffer.of(1), context.subarray(1 + 8)]);

describe('KvHandler: contexts name their key', () => {
  it('returns version 2 contexts carrying the first 8 bytes of SHA-256(key), from Get and Put', async () => {
    const f = fixture();
    const written = await put(f, keyA, 'a1');
    const fingerprint = createHash('sha256').update(keyA).digest().subarray(0, 8);
    for (const context of [written.context, (await read(f, keyA)).context]) {
      expect(context[0]).toBe(2);
      expect(context.subarray(1, 9).equals(fingerprint)).toBe(true);
    }
  });

  it("refuses a Put to B with A's context: INVALID_ARGUMENT, applied none, B unchanged", async () => {
    const f = fixture();
    await put(f, keyA, 'a1');
    await put(f, keyB, 'b1');
    const contextA = (await read(f, keyA)).context;
    const before = storedEverywhere(f, keyB);
    const callsBefore = f.peers.calls.length;

    const e = await rejection(put(f, keyB, 'b2', contextA));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(/^context was made for another key/);
    expect(e.failure).toEqual({ applied: 'none', acked: 0, needed: 0, tried: 0 });

    expect(f.peers.calls.length).toBe(callsBefore); // nothing sent to any replica
    expect(storedEverywhere(f, keyB)).toEqual(before);
    expect((await read(f, keyB)).values).toEqual(['b1']);
  });

  it("refuses a Delete of B with A's context, and B still reads", async () => {
    const f = fixture();
    await put(f, keyA, 'a1');
    await put(f, keyB, 'b1');
    const contextA = (await read(f, keyA)).context;
    const before = storedEverywhere(f, keyB);
    const del = f.kv.delete(
      { key: keyB, context: contextA, w: 0, strictQuorum: false },
      deadline(),
    );
    const e = await rejection(del);
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      expect.stringMatching(/^context was made for another key/),
    ]);
    expect(storedEverywhere(f, keyB)).toEqual(before);
  });

  it('refuses before forwarding a key it does not replicate', async () => {
    const f = fixture();
    await put(f, keyA, 'a1');
    const contextA = (await read(f, keyA)).context;
    const callsBefore = f.peers.calls.length;
    const e = await rejection(put(f, remoteKey, 'r1', contextA));
    expect(e.code).toBe('invalid-argument');
    expect(f.peers.calls.length).toBe(callsBefore);
  });

  it("takes the key's own context, a version 1 context (from before the upgrade) and none", async () => {
    const f = fixture();
    await put(f, keyB, 'b1');
    await put(f, keyB, 'b2', (await read(f, keyB)).context);
    expect((await read(f, keyB)).values).toEqual(['b2']);

    await put(f, keyB, 'b3', unkeyed((await read(f, keyB)).context));
    expect((await read(f, keyB)).values).toEqual(['b3']);

    await put(f, keyB, 'b4'); // the empty context: a sibling, superseding nothing
    expect((await read(f, keyB)).values.sort()).toEqual(['b3', 'b4']);
  });
});
