import { advanceTransfers, type RingDocument } from '@ringstore/membership';
import type { TransferPageRequest, TransferPageResponse } from '@ringstore/proto';
import { primaryReplicas } from '@ringstore/ring';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import type { Peers } from '../../peer/peers.js';
import { committedJoin, founded, ok } from '../../test-support/documents.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { testActors } from '../../test-support/actors.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import type { Exchanger } from '../anti-entropy/exchange.js';
import { PartitionTrees } from '../anti-entropy/trees.js';
import { Replica } from '../replica/replica.js';
import { Transfers, applySliceMax, pageBytesMax, pageObjectsMax } from './transfer.js';

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
const partitionCount = 16;

/** n1..n5, claimant n1, Q=16, N=3, and n6 joining: version 2, then every transfer streaming (3). */
function streaming(): RingDocument {
  const joined = committedJoin(founded(5, { partitionCount }), 'n6');
  return ok(
    advanceTransfers(
      joined,
      joined.transfers.map((t) => t.partition),
      'pending',
    ),
  );
}

const doc = streaming();
const oldOf = (p: number): string[] => primaryReplicas(doc.ring, p, doc.replicas);
/** A partition n1 replicated before the transition, and one it did not. */
const mine = [...Array(partitionCount).keys()].find((p) => oldOf(p).includes('n1'))!;
const notMine = [...Array(partitionCount).keys()].find((p) => !oldOf(p).includes('n1'))!;

const storages: StorageEngine[] = [];
afterEach(async () => {
  for (const s of storages.splice(0)) await s.close();
});

interface Source {
  readonly storage: StorageEngine;
  readonly trees: PartitionTrees;
  readonly transfers: Transfers;
}

/**
 * `selfId`'s transfer role as a source: `objects` stored in `partition` (key i is k0000..., of
 * `keyBytes` bytes, object bytes of `objectBytes`), trees built from storage as at start.
 */
async function source(
  selfId: string,
  document: RingDocument,
  fill: { partition: number; objects: number; keyBytes?: number; objectBytes?: number },
): Promise<Source> {
  const storage = openMemoryEngine();
  storages.push(storage);
  await Promise.all(
    Array.from({ length: fill.objects }, (_, i) =>
      storage.update(fill.partition, keyOf(i, fill.keyBytes), () =>
        Buffer.alloc(fill.objectBytes ?? 16, i % 251),
      ),
    ),
  );
  const view = new ClusterView(selfId, document);
  const trees = new PartitionTrees(storage, view.partitionsHeld());
  await trees.rebuildAll();
  const metrics = new Metrics();
  const transfers = new Transfers({
    selfId,
    storage,
    view,
    peers: {} as unknown as Peers,
    liveness: new FakeLiveness(),
    replica: new Replica(storage, log, metrics),
    trees,
    exchanger: {} as unknown as Exchanger,
    log,
    metrics,
    limits: { concurrency: 2, objectsPerSecond: 0, bytesPerSecond: 0 },
  });
  return { storage, trees, transfers };
}

/** Key i in key order: k, the index in 4 digits, padded with x to `bytes`. */
function keyOf(i: number, bytes = 5): Buffer {
  return Buffer.from(`k${String(i).padStart(4, '0')}`.padEnd(bytes, 'x'));
}

function request(partition: number, over: Partial<TransferPageRequest> = {}): TransferPageRequest {
  return {
    partition,
    afterKey: Buffer.alloc(0),
    objectsMax: pageObjectsMax,
    bytesMax: pageBytesMax,
    transition: BigInt(doc.transition),
    ...over,
  };
}

function refusalOf(f: () => unknown): RingstoreError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    return e as RingstoreError;
  }
  throw new Error('expected a refusal');
}

const bytesOf = (page: TransferPageResponse): number =>
  page.objects.reduce((n, o) => n + o.key.length + o.object.length, 0);

/** Every page of the partition, as the receiver asks for them: after the last key each time. */
function allPages(
  s: Source,
  partition: number,
  over: Partial<TransferPageRequest> = {},
): TransferPageResponse[] {
  const pages: TransferPageResponse[] = [];
  let afterKey: Buffer = Buffer.alloc(0);
  for (let i = 0; i < 100; i++) {
    const page = s.transfers.page(request(partition, { ...over, afterKey }));
    pages.push(page);
    if (page.done) return pages;
    afterKey = page.objects.at(-1)?.key ?? afterKey;
  }
  throw new Error('no last page after 100');
}

describe('Transfers.page: who may be asked', () => {
  it('refuses a page of another transition', async () => {
    const s = await source('n1', doc, { partition: mine, objects: 1 });
    for (const transition of [BigInt(doc.transition + 1), 0n]) {
      const e = refusalOf(() => s.transfers.page(request(mine, { transition })));
      expect([e.code, e.message]).toEqual([
        'failed-precondition',
        `transfer of transition ${transition} asked, this node runs ${doc.transition}`,
      ]);
    }
  });

  it('refuses any page while no transition runs', async () => {
    const s = await source('n1', founded(5, { partitionCount }), { partition: mine, objects: 1 });
    const e = refusalOf(() => s.transfers.page(request(mine, { transition: 0n })));
    expect(e.message).toBe('transfer of transition 0 asked, this node runs 0');
  });

  it('refuses a partition this node did not replicate before the transition', async () => {
    const s = await source('n1', doc, { partition: notMine, objects: 1 });
    const e = refusalOf(() => s.transfers.page(request(notMine)));
    expect([e.code, e.message]).toEqual([
      'failed-precondition',
      `partition ${notMine} was not replicated here before the transition`,
    ]);
    // A receiver holds what it streamed so far: it is never a source of the same transition.
    const receiving = doc.transfers[0]!.partition;
    const joiner = await source('n6', doc, { partition: receiving, objects: 1 });
    expect(refusalOf(() => joiner.transfers.page(request(receiving))).message).toBe(
      `partition ${receiving} was not replicated here before the transition`,
    );
  });

  it('serves a partition it hands over after the flip, while the transition runs', async () => {
    const handed = doc.transfers.find((t) => t.removed.includes('n1'))!;
    const readNew = ok(
      advanceTransfers(
        ok(
          advanceTransfers(
            doc,
            doc.transfers.map((t) => t.partition),
            'streaming',
          ),
        ),
        doc.transfers.map((t) => t.partition),
        'catch-up',
      ),
    );
    const s = await source('n1', readNew, { partition: handed.partition, objects: 3 });
    expect(new ClusterView('n1', readNew).isReplica(handed.partition)).toBe(false);
    const page = s.transfers.page(request(handed.partition));
    expect([page.objects.length, page.done]).toEqual([3, true]);
  });
});

describe('Transfers: clean-up of partitions no longer held', () => {
  const all = doc.transfers.map((t) => t.partition);
  const step = (d: RingDocument, from: 'streaming' | 'catch-up' | 'read-new') =>
    ok(advanceTransfers(d, all, from));
  const readNew = step(step(doc, 'streaming'), 'catch-up');
  const done = step(readNew, 'read-new');
  const handed = doc.transfers.find((t) => t.removed.includes('n1'))!.partition;
  const rows = (st: StorageEngine, p: number) => st.scan(p, { limit: 100 }).length;

  it("deletes a handed-over partition at its transfer's done step, and only then", async () => {
    const s = await source('n1', readNew, { partition: handed, objects: 3 });
    const view = (s.transfers as unknown as { deps: { view: ClusterView } }).deps.view;
    expect(view.holds(handed)).toBe(true); // read-new: n1 still takes the partition's writes
    view.apply(done);
    expect(view.holds(handed)).toBe(false);
    await vi.waitFor(() => expect(rows(s.storage, handed)).toBe(0));
  });

  it('deletes at start the rows of partitions it does not hold, and keeps the ones it does', async () => {
    const s = await source('n1', doc, { partition: notMine, objects: 3 });
    await Promise.all(
      [0, 1].map((i) => s.storage.update(mine, keyOf(i), () => Buffer.from('mine'))),
    );
    s.transfers.start();
    await vi.waitFor(() => expect(rows(s.storage, notMine)).toBe(0));
    await s.transfers.stop();
    expect(rows(s.storage, mine)).toBe(2);
  });
});

describe('Transfers: the receiver', () => {
  it('merges each page in slices, one commit each, and holds the whole partition after', async () => {
    const t = doc.transfers.find((x) => x.added.includes('n6'))!;
    // The source: 1,000 real objects (one page) in the partition, served by its Transfers.page.
    const values = Array.from({ length: pageObjectsMax }, (_, i) =>
      encodeObject(
        coordinateWrite(
          undefined,
          { bytes: Buffer.from(`v${i}`), tombstone: false, timestampMs: 1 },
          [],
          testActors('n1'),
        ),
      ),
    );
    const from = await source('n1', doc, { partition: t.partition, objects: 0 });
    await Promise.all(values.map((v, i) => from.storage.update(t.partition, keyOf(i), () => v)));
    const peers = {
      request: (_id: string, body: { $case: string; value: unknown }) =>
        Promise.resolve(
          body.$case === 'transferPage'
            ? from.transfers.page(body.value as TransferPageRequest)
            : { accepted: true },
        ),
    };
    const storage = openMemoryEngine();
    storages.push(storage);
    const view = new ClusterView('n6', doc);
    const metrics = new Metrics();
    const replica = new Replica(storage, log, metrics);
    let inFlight = 0;
    let inFlightMax = 0;
    const apply = replica.apply.bind(replica);
    replica.apply = async (...args: Parameters<Replica['apply']>) => {
      inFlightMax = Math.max(inFlightMax, ++inFlight);
      try {
        return await apply(...args);
      } finally {
        inFlight--;
      }
    };
    const receiver = new Transfers({
      selfId: 'n6',
      storage,
      view,
      peers: peers as unknown as Peers,
      liveness: new FakeLiveness(),
      replica,
      trees: new PartitionTrees(storage, view.partitionsHeld()),
      exchanger: {} as unknown as Exchanger,
      log,
      metrics,
      limits: { concurrency: 2, objectsPerSecond: 0, bytesPerSecond: 0 },
    });
    receiver.start();
    await vi.waitFor(
      () => expect(storage.getMeta(`transfer:${doc.transition}:${t.partition}`)).toBe('done'),
      { timeout: 10_000, interval: 50 },
    );
    await receiver.stop();
    expect(storage.scan(t.partition, { limit: 2 * pageObjectsMax })).toHaveLength(pageObjectsMax);
    expect(inFlightMax).toBe(applySliceMax);
  });
});

describe('Transfers.page: bounded pages', () => {
  it('caps objectsMax at 1,000 and asks for at least one object', async () => {
    const s = await source('n1', doc, { partition: mine, objects: 1_500 });
    const capped = s.transfers.page(request(mine, { objectsMax: 5_000 }));
    expect([capped.objects.length, capped.done]).toEqual([pageObjectsMax, false]);
    const least = s.transfers.page(request(mine, { objectsMax: 0 }));
    expect([least.objects.length, least.done]).toEqual([1, false]);
    expect(s.transfers.page(request(mine, { objectsMax: 10 })).objects).toHaveLength(10);
  });

  it('caps bytesMax at 1 MiB, but sends one object even when it alone is larger', async () => {
    const objectBytes = 300 * 1024;
    const s = await source('n1', doc, { partition: mine, objects: 5, objectBytes });
    const capped = s.transfers.page(request(mine, { bytesMax: 10 * pageBytesMax }));
    expect([capped.objects.length, capped.done]).toEqual([3, false]);
    expect(bytesOf(capped)).toBeLessThanOrEqual(pageBytesMax);
    for (const bytesMax of [0, 1, objectBytes - 1]) {
      const one = s.transfers.page(request(mine, { bytesMax }));
      expect([one.objects.length, one.done], `bytesMax ${bytesMax}`).toEqual([1, false]);
    }
  });

  it('counts the keys toward bytesMax, as the receiver counts a page', async () => {
    // Two objects of 100-byte keys and 1,000-byte values: 2,200 bytes, over a 2,100 limit.
    const s = await source('n1', doc, {
      partition: mine,
      objects: 2,
      keyBytes: 100,
      objectBytes: 1_000,
    });
    const page = s.transfers.page(request(mine, { bytesMax: 2_100 }));
    expect(bytesOf(page)).toBeLessThanOrEqual(2_100);
    expect(page.objects).toHaveLength(1);
  });

  it('is done only at the end, each page starting after the last key (exclusive)', async () => {
    const count = 25;
    const s = await source('n1', doc, { partition: mine, objects: count });
    const pages = allPages(s, mine, { objectsMax: 5 });
    const keys = pages.flatMap((p) => p.objects.map((o) => o.key.toString()));
    expect(keys).toEqual(Array.from({ length: count }, (_, i) => keyOf(i).toString()));
    expect(pages.slice(0, -1).every((p) => !p.done && p.objects.length === 5)).toBe(true);
    expect(pages.at(-1)!.done).toBe(true);
    const after = s.transfers.page(request(mine, { afterKey: keyOf(4), objectsMax: 2 }));
    expect(after.objects.map((o) => o.key.toString())).toEqual([keyOf(5), keyOf(6)].map(String));
    const last = s.transfers.page(request(mine, { afterKey: keyOf(count - 1) }));
    expect([last.objects, last.done]).toEqual([[], true]);
  });

  it('sends the stored bytes of each object', async () => {
    const s = await source('n1', doc, { partition: mine, objects: 3, objectBytes: 40 });
    const page = s.transfers.page(request(mine));
    for (const [i, o] of page.objects.entries()) {
      const stored = s.storage.get(mine, keyOf(i));
      expect(stored.status).toBe('found');
      if (stored.status === 'found') expect(Buffer.compare(o.object, stored.object)).toBe(0);
    }
  });

  it("estimates the partition's objects from its Merkle tree", async () => {
    const s = await source('n1', doc, { partition: mine, objects: 1_500 });
    expect(s.trees.keys(mine)).toBe(1_500);
    expect(s.transfers.page(request(mine)).estimatedObjects).toBe(1_500n);
    // A write the node applies updates the tree, and with it the estimate.
    s.trees.onWrite(mine, Buffer.from('zz'), undefined, Buffer.from('v'));
    expect(s.transfers.page(request(mine)).estimatedObjects).toBe(1_501n);
  });
});
