import { advanceTransfers } from '@ringstore/membership';
import type { TransferPageRequest } from '@ringstore/proto';
import { primaryReplicas } from '@ringstore/ring';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { asRingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import type { Peers } from '../../peer/peers.js';
import { testActors } from '../../test-support/actors.js';
import { committedJoin, founded, ok } from '../../test-support/documents.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import type { Exchanger } from '../anti-entropy/exchange.js';
import { PartitionTrees } from '../anti-entropy/trees.js';
import { Replica } from '../replica/replica.js';
import { Transfers, pageBytesMax, pageObjectsMax } from './transfer.js';

// Forged TransferPage requests: partition numbers out of range and oversized keys are
// INVALID_ARGUMENT, never INTERNAL (the engine asserts on them); page sizes stay capped.

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const joined = committedJoin(founded(5), 'n6');
const doc = ok(
  advanceTransfers(
    joined,
    joined.transfers.map((t) => t.partition),
    'pending',
  ),
);
const mine = [...Array(16).keys()].find((p) =>
  primaryReplicas(doc.ring, p, doc.replicas).includes('n1'),
)!;

const opened: StorageEngine[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function transfers(selfId = 'n1', peers: unknown = {}, metrics = new Metrics()): Transfers {
  const storage = openMemoryEngine();
  opened.push(storage);
  const view = new ClusterView(selfId, doc);
  return new Transfers({
    selfId,
    storage,
    view,
    peers: peers as Peers,
    liveness: new FakeLiveness(),
    replica: new Replica(storage, log, metrics, view),
    trees: new PartitionTrees(storage, view.partitionsHeld()),
    exchanger: {} as unknown as Exchanger,
    log,
    metrics,
    limits: { concurrency: 2, objectsPerSecond: 0, bytesPerSecond: 0 },
  });
}

const request = (over: Partial<TransferPageRequest>): TransferPageRequest => ({
  partition: mine,
  afterKey: Buffer.alloc(0),
  objectsMax: pageObjectsMax,
  bytesMax: pageBytesMax,
  transition: BigInt(doc.transition),
  ...over,
});

function codeOf(call: () => unknown): string {
  try {
    call();
  } catch (e) {
    return asRingstoreError(e).code;
  }
  return 'answered';
}

describe('a forged TransferPage', () => {
  it('with a partition out of range is INVALID_ARGUMENT', () => {
    const t = transfers();
    for (const partition of [16, 0xffff_ffff])
      expect(codeOf(() => t.page(request({ partition })))).toBe('invalid-argument');
  });

  it('with an afterKey beyond the key limit is INVALID_ARGUMENT', () => {
    const t = transfers();
    const afterKey = Buffer.alloc(64 * 1024 + 1, 1);
    expect(codeOf(() => t.page(request({ afterKey })))).toBe('invalid-argument');
  });

  it('asking for the largest page sizes gets a capped page', () => {
    const t = transfers();
    const page = t.page(request({ objectsMax: 0xffff_ffff, bytesMax: 0xffff_ffff }));
    expect(page.objects.length).toBeLessThanOrEqual(pageObjectsMax);
  });
});

describe('a streamed page holding an object a forger pushed past the counter limit', () => {
  it('is merged without it (skipped, counted corrupt): the transfer does not stall', async () => {
    const good = Buffer.from(
      encodeObject(
        coordinateWrite(
          undefined,
          { bytes: Buffer.from('v'), tombstone: false, timestampMs: 1 },
          [],
          testActors('n1'),
        ),
      ),
    );
    const overflowing = Buffer.from('0101016dffffffffffffff0f0000', 'hex');
    const objects = [
      { key: Buffer.from('a'), object: good },
      { key: Buffer.from('b'), object: overflowing },
      { key: Buffer.from('c'), object: good },
    ];
    const peers = {
      request: (_id: string, body: { $case: string }) =>
        Promise.resolve(
          body.$case === 'transferPage'
            ? { objects, done: true, estimatedObjects: 3n }
            : { accepted: true },
        ),
    };
    const metrics = new Metrics();
    const receiver = transfers('n6', peers, metrics);
    const storage = opened.at(-1)!;
    receiver.start();
    const received = doc.transfers.filter((x) => x.added.includes('n6'));
    await vi.waitFor(
      () =>
        expect(
          received.map((x) => storage.getMeta(`transfer:${doc.transition}:${x.partition}`)),
        ).toEqual(received.map(() => 'done')),
      { timeout: 10_000, interval: 50 },
    );
    await receiver.stop();
    const keys = storage
      .scan(received[0]!.partition, { limit: 10 })
      .map((r) => Buffer.from(r.key).toString());
    expect(keys).toEqual(['a', 'c']);
    const corrupt = await metrics.registry
      .getSingleMetric('ringstore_corrupt_objects_total')
      ?.get();
    // One skipped per partition n6 receives (the fake source serves the same page for each).
    expect(corrupt?.values[0]?.value).toBe(received.length);
  });
});
