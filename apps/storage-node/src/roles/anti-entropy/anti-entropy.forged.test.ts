import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import type { StoredValue } from '@ringstore/vclock';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError, asRingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import { checkPeerRequest } from '../../peer/checks.js';
import { fenceOf, type RequestContext } from '../../peer/link.js';
import { testActors } from '../../test-support/actors.js';
import { founded } from '../../test-support/documents.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { FakePeers } from '../../test-support/fake-peers.js';
import { Replica } from '../replica/replica.js';
import { AntiEntropy, segmentsPerRequestMax } from './anti-entropy.js';
import { PartitionTrees } from './trees.js';

// Forged reaps, and MerkleLevel / SegmentKeys / hintsHeld requests out of range: a reap removes
// only a tombstone this node holds, past the grace period, in a partition it stores and that is
// in no transition; anything out of range is INVALID_ARGUMENT, never INTERNAL.

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const ctx: RequestContext = { from: 'n2', deadlineMs: Number.MAX_SAFE_INTEGER };
const graceMs = 1_000;
/** n1..n5, Q=16, N=3. */
const doc = founded(5);
const view = new ClusterView('n1', doc);

const value = (tombstone: boolean, timestampMs: number): StoredValue => ({
  bytes: tombstone ? new Uint8Array() : Buffer.from('live'),
  tombstone,
  timestampMs,
});
const old = (): number => Date.now() - 10 * graceMs;

const opened: StorageEngine[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function fixture() {
  const storage = openMemoryEngine();
  opened.push(storage);
  const metrics = new Metrics();
  const replica = new Replica(storage, log, metrics, view);
  const trees = new PartitionTrees(storage, view.partitionsHeld());
  const antiEntropy = new AntiEntropy({
    selfId: 'n1',
    storage,
    trees,
    view,
    replica,
    peers: new FakePeers([], log, metrics).asPeers(),
    liveness: new FakeLiveness(),
    log,
    metrics,
    options: { intervalMs: 0, ratePerSecond: 1_000, tombstoneGraceMs: graceMs },
  });
  const store = async (key: Buffer, v: StoredValue): Promise<Buffer> => {
    const bytes = Buffer.from(encodeObject(coordinateWrite(undefined, v, [], testActors('n2'))));
    await storage.update(view.partitionOf(key), key, () => bytes);
    return bytes;
  };
  const held = (key: Buffer): boolean => storage.get(view.partitionOf(key), key).status === 'found';
  return { storage, replica, antiEntropy, store, held, trees };
}

/** A key whose partition n1 stores (`stored`) or not. */
function keyWhere(stored: boolean): Buffer {
  for (let i = 0; i < 10_000; i++) {
    const key = Buffer.from(`key-${i}`);
    if (view.holds(view.partitionOf(key)) === stored) return key;
  }
  throw new Error('no such key');
}

const reapOf = (key: Buffer, object: Buffer, partition = view.partitionOf(key)) => ({
  partition,
  key,
  object,
  ...fenceOf(doc),
});

/** The handler's answer, or its error as the link would turn it into an ErrorReply. */
async function outcome(p: Promise<unknown>): Promise<unknown> {
  return p.catch((e: unknown) => asRingstoreError(e));
}

describe('a forged reap', () => {
  it('read + reap of a live key changes nothing, on this replica', async () => {
    const f = fixture();
    const key = keyWhere(true);
    await f.store(key, value(false, old()));
    // What an attacker reads, then names in the reap.
    const read = f.replica.readMessage(view.partitionOf(key), key);
    const e = await outcome(f.antiEntropy.handlers.reap(reapOf(key, read.object), ctx));
    expect(e).toMatchObject({ code: 'invalid-argument' });
    expect(f.held(key)).toBe(true);
  });

  it('naming an old tombstone for a key whose copy here is live changes nothing', async () => {
    const f = fixture();
    const key = keyWhere(true);
    await f.store(key, value(false, old()));
    const tombstone = Buffer.from(
      encodeObject(coordinateWrite(undefined, value(true, old()), [], testActors('n3'))),
    );
    expect(await f.antiEntropy.handlers.reap(reapOf(key, tombstone), ctx)).toEqual({
      reaped: false,
    });
    expect(f.held(key)).toBe(true);
  });

  it('naming a key with no copy here removes nothing and answers reaped: false', async () => {
    const f = fixture();
    const key = keyWhere(true);
    const tombstone = Buffer.from(
      encodeObject(coordinateWrite(undefined, value(true, old()), [], testActors('n3'))),
    );
    expect(await f.antiEntropy.handlers.reap(reapOf(key, tombstone), ctx)).toEqual({
      reaped: false,
    });
  });

  it("of a tombstone in a partition this node does not store (a fallback's copy) is refused", async () => {
    const f = fixture();
    const key = keyWhere(false);
    const object = await f.store(key, value(true, old()));
    const e = await outcome(f.antiEntropy.handlers.reap(reapOf(key, object), ctx));
    expect(e).toMatchObject({ code: 'failed-precondition' });
    expect(f.held(key)).toBe(true);
  });

  it('with an oversized key or a partition out of range is INVALID_ARGUMENT, never INTERNAL', async () => {
    const f = fixture();
    const key = keyWhere(true);
    const object = await f.store(key, value(true, old()));
    const cases = [
      reapOf(Buffer.alloc(64 * 1024 + 1, 1), object, 0),
      reapOf(key, object, 16),
      reapOf(key, object, 0xffff_ffff),
    ];
    for (const req of cases)
      expect(await outcome(f.antiEntropy.handlers.reap(req, ctx))).toMatchObject({
        code: 'invalid-argument',
      });
    expect(f.held(key)).toBe(true);
  });

  it('naming the key under another partition is refused by the link checks', () => {
    const key = keyWhere(true);
    const body = { $case: 'reap' as const, value: reapOf(key, Buffer.alloc(1), 0) };
    const partition = view.partitionOf(key);
    body.value.partition = partition === 0 ? 1 : 0;
    expect(() => checkPeerRequest(body, view)).toThrow(RingstoreError);
  });

  it('of an old tombstone this node holds is carried out (the baseline)', async () => {
    const f = fixture();
    const key = keyWhere(true);
    const object = await f.store(key, value(true, old()));
    expect(await f.antiEntropy.handlers.reap(reapOf(key, object), ctx)).toEqual({ reaped: true });
    expect(f.held(key)).toBe(false);
  });
});

describe('MerkleLevel, SegmentKeys and hintsHeld out of range', () => {
  const mine = view.partitionsHeld()[0]!;

  async function codeOf(call: () => unknown): Promise<string> {
    try {
      await call();
    } catch (e) {
      return asRingstoreError(e).code;
    }
    return 'answered';
  }

  it('MerkleLevel: a partition out of range is INVALID_ARGUMENT; so are a level or index out of range', async () => {
    const f = fixture();
    await f.trees.rebuildAll();
    const ml = (partition: number, level: number, indexes: number[]) => () =>
      f.antiEntropy.merkleLevel({ partition, level, indexes });
    expect(await codeOf(ml(16, 0, [0]))).toBe('invalid-argument');
    expect(await codeOf(ml(0xffff_ffff, 0, [0]))).toBe('invalid-argument');
    expect(await codeOf(ml(mine, 0xffff_ffff, [0]))).toBe('invalid-argument');
    expect(await codeOf(ml(mine, 0, [1]))).toBe('invalid-argument');
    expect(await codeOf(ml(mine, 1, [0, 0]))).toBe('invalid-argument');
    expect(await codeOf(ml(mine, 0, [0]))).toBe('answered');
  });

  it('SegmentKeys: a partition or a segment out of range, or too many segments, is INVALID_ARGUMENT', async () => {
    const f = fixture();
    await f.trees.rebuildAll();
    const sk = (partition: number, segments: number[]) => () =>
      f.antiEntropy.segmentKeys({ partition, segments });
    expect(await codeOf(sk(16, [0]))).toBe('invalid-argument');
    expect(await codeOf(sk(mine, [1024]))).toBe('invalid-argument');
    expect(await codeOf(sk(mine, [0xffff_ffff]))).toBe('invalid-argument');
    const many = Array.from({ length: segmentsPerRequestMax + 1 }, () => 0);
    expect(await codeOf(sk(mine, many))).toBe('invalid-argument');
    expect(await codeOf(sk(mine, [0, 1023]))).toBe('answered');
  });

  it('hintsHeld: a partition out of range is INVALID_ARGUMENT', async () => {
    const f = fixture();
    for (const partition of [16, 0xffff_ffff])
      expect(
        await outcome((async () => f.antiEntropy.handlers.hintsHeld({ partition }, ctx))()),
      ).toMatchObject({ code: 'invalid-argument' });
  });
});
