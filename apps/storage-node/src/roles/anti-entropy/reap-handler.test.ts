import type { RingDocument } from '@ringstore/membership';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import type { StoredValue } from '@ringstore/vclock';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import { fenceOf, unfenced, type RequestContext } from '../../peer/link.js';
import { testActors } from '../../test-support/actors.js';
import { committedJoin, founded } from '../../test-support/documents.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { FakePeers } from '../../test-support/fake-peers.js';
import { Replica } from '../replica/replica.js';
import { AntiEntropy } from './anti-entropy.js';
import { PartitionTrees } from './trees.js';

// The replica side of tombstone reaping: what a 'reap' and a 'hintsHeld' peer message may do.

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const ctx: RequestContext = { from: 'n2', deadlineMs: Number.MAX_SAFE_INTEGER };
const graceMs = 1_000;
const key = Buffer.from('k');

/** n1..n5, Q=16, N=3 (version 1), and the same with n6's join committed (version 2). */
function documents(): { founded: RingDocument; joining: RingDocument } {
  const base = founded(5);
  return { founded: base, joining: committedJoin(base, 'n6') };
}

const value = (tombstone: boolean, timestampMs: number): StoredValue => ({
  bytes: tombstone ? new Uint8Array() : Buffer.from('v'),
  tombstone,
  timestampMs,
});

function fixture(doc: RingDocument) {
  const first = documents().founded;
  const view = new ClusterView('n1', first);
  if (doc.version !== first.version) view.apply(doc);
  const storage: StorageEngine = openMemoryEngine();
  const metrics = new Metrics();
  const peers = new FakePeers([], log, metrics);
  const antiEntropy = new AntiEntropy({
    selfId: 'n1',
    storage,
    trees: new PartitionTrees(storage, view.partitionsHeld()),
    view,
    replica: new Replica(storage, log, metrics, view),
    peers: peers.asPeers(),
    liveness: new FakeLiveness(),
    log,
    metrics,
    options: { intervalMs: 0, ratePerSecond: 1_000, tombstoneGraceMs: graceMs },
  });
  /** Stores a one-value object of the key in the partition; returns its bytes. */
  const store = async (partition: number, v: StoredValue): Promise<Buffer> => {
    const bytes = Buffer.from(encodeObject(coordinateWrite(undefined, v, [], testActors('n2'))));
    await storage.update(partition, key, () => bytes);
    return bytes;
  };
  const held = (partition: number): boolean => storage.get(partition, key).status === 'found';
  return { view, storage, antiEntropy, store, held };
}

async function refusal(p: Promise<unknown>): Promise<RingstoreError> {
  const e: unknown = await p.then(
    () => new Error('expected a refusal'),
    (x: unknown) => x,
  );
  if (!(e instanceof RingstoreError)) throw e;
  return e;
}

describe("the 'reap' peer message", () => {
  const opened: StorageEngine[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('removes a tombstone past the grace period, under a current ring', async () => {
    const f = fixture(documents().founded);
    opened.push(f.storage);
    const object = await f.store(3, value(true, Date.now() - 2 * graceMs));
    const req = { partition: 3, key, object, ...fenceOf(f.view.document) };
    expect(await f.antiEntropy.handlers.reap(req, ctx)).toEqual({ reaped: true });
    expect(f.held(3)).toBe(false);
  });

  it('refuses a live value, a young tombstone and a request with no ring version; keeps the key', async () => {
    const f = fixture(documents().founded);
    opened.push(f.storage);
    for (const v of [value(false, 1), value(true, Date.now())]) {
      const object = await f.store(3, v);
      const req = { partition: 3, key, object, ...fenceOf(f.view.document) };
      expect((await refusal(f.antiEntropy.handlers.reap(req, ctx))).code).toBe('invalid-argument');
      expect(f.held(3)).toBe(true);
    }
    const object = await f.store(3, value(true, Date.now() - 2 * graceMs));
    const unversioned = { partition: 3, key, object, ...unfenced };
    const e = await refusal(f.antiEntropy.handlers.reap(unversioned, ctx));
    expect(e.code).toBe('invalid-argument');
    expect(f.held(3)).toBe(true);
  });

  it('refuses a partition in a transition, and a reaper behind on the ring (ring stale)', async () => {
    const { founded: before, joining } = documents();
    const f = fixture(joining);
    opened.push(f.storage);
    const moving = joining.transfers.map((t) => t.partition);
    const still = Array.from({ length: 16 }, (_, p) => p).filter((p) => !moving.includes(p));
    const [inTransfer] = moving;
    const [unchanged] = still;
    if (inTransfer === undefined || unchanged === undefined) throw new Error('setup');
    const old = Date.now() - 2 * graceMs;
    const object = await f.store(inTransfer, value(true, old));
    const current = { partition: inTransfer, key, object, ...fenceOf(joining) };
    const e = await refusal(f.antiEntropy.handlers.reap(current, ctx));
    expect(e.code).toBe('failed-precondition');
    expect(e.message).toMatch(/in a transition/);
    // Made under version 1, before the partition's replica set changed at version 2.
    const behind = { partition: inTransfer, key, object, ...fenceOf(before) };
    const stale = await refusal(f.antiEntropy.handlers.reap(behind, ctx));
    expect(stale.ringStale).toEqual({ term: joining.term, version: joining.version });
    expect(f.held(inTransfer)).toBe(true);
  });
});

describe("the 'hintsHeld' peer message", () => {
  it('counts the hints of one partition, and refuses a partition out of range', async () => {
    const f = fixture(documents().founded);
    const hint = (partition: number, target: string) => ({
      target,
      partition,
      key,
      object: Buffer.from('o'),
      createdAtMs: 1,
    });
    await f.storage.addHints([hint(2, 'n3'), hint(2, 'n4'), hint(5, 'n3')]);
    expect(await f.antiEntropy.handlers.hintsHeld({ partition: 2 }, ctx)).toEqual({ count: 2 });
    expect(await f.antiEntropy.handlers.hintsHeld({ partition: 4 }, ctx)).toEqual({ count: 0 });
    // As the link calls a handler: inside an async function, so a throw is a rejection.
    const e = await refusal(
      (async () => f.antiEntropy.handlers.hintsHeld({ partition: 16 }, ctx))(),
    );
    expect(e.code).toBe('invalid-argument');
    await f.storage.close();
  });
});
