import { status } from '@grpc/grpc-js';
import { advanceTransfers, type RingDocument } from '@ringstore/membership';
import {
  Applied,
  ErrorReply,
  type ReadReplicaRequest,
  type ReplicateRequest,
} from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError, fromErrorReply, ringStale, toErrorReply } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import { testActors } from '../../test-support/actors.js';
import { committedJoin, founded, ok } from '../../test-support/documents.js';
import type { RequestContext } from '../../peer/link.js';
import { Replica } from './replica.js';

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
const ctx: RequestContext = { from: 'n2', deadlineMs: Number.MAX_SAFE_INTEGER };
const key = Buffer.from('k');
const object = Buffer.from(
  encodeObject(
    coordinateWrite(
      undefined,
      { bytes: Buffer.from('v'), tombstone: false, timestampMs: 1 },
      [],
      testActors('n2'),
    ),
  ),
);

/**
 * n4 joins n1..n3 (version 2, every transfer pending); the first moving partition streams at 3,
 * then reaches catch-up at 4, while the second streams from 3 on. The replica holds version 4.
 */
function transition(): { doc: RingDocument; changedAt4: number; changedAt3: number } {
  const joined = committedJoin(founded(3), 'n4');
  const [first, second] = joined.transfers.map((t) => t.partition);
  const streaming = ok(advanceTransfers(joined, [first!, second!], 'pending'));
  const doc = ok(advanceTransfers(streaming, [first!], 'streaming'));
  return { doc, changedAt4: first!, changedAt3: second! };
}

const storages: StorageEngine[] = [];
afterEach(async () => {
  for (const s of storages.splice(0)) await s.close();
});

function replicaOver(doc: RingDocument): { replica: Replica; storage: StorageEngine } {
  const storage = openMemoryEngine();
  storages.push(storage);
  const view = new ClusterView('n1', doc);
  return { replica: new Replica(storage, log, new Metrics(), view), storage };
}

function replicate(partition: number, ringTerm: bigint, ringVersion: bigint): ReplicateRequest {
  return { partition, key, object, hintFor: '', ringTerm, ringVersion };
}

function read(partition: number, ringTerm: bigint, ringVersion: bigint): ReadReplicaRequest {
  return { partition, key, ringTerm, ringVersion };
}

/** The handler's refusal (thrown or rejected); fails the test when it answers. */
async function refusalOf(call: () => Promise<unknown>): Promise<RingstoreError> {
  try {
    await call();
  } catch (e) {
    expect(e).toBeInstanceOf(RingstoreError);
    return e as RingstoreError;
  }
  throw new Error('expected a refusal');
}

/** The (term, version) a ring-stale refusal names: the replica's, for the sender to pull. */
function staleAt(e: RingstoreError): { term: number; version: number } | undefined {
  return e.ringStale === undefined
    ? undefined
    : { term: e.ringStale.term, version: e.ringStale.version };
}

describe('Replica fence: requests made under a ring older than the partition last changed', () => {
  const { doc, changedAt4, changedAt3 } = transition();

  it('refuses a replicate made before the change, ring stale with its own version, writing nothing', async () => {
    const { replica, storage } = replicaOver(doc);
    const e = await refusalOf(() => replica.handlers.replicate(replicate(changedAt4, 1n, 3n), ctx));
    expect(e.code).toBe('failed-precondition');
    expect(staleAt(e)).toEqual({ term: 1, version: 4 });
    expect(e.failure).toEqual({ applied: 'none', acked: 0, needed: 0, tried: 0 });
    expect(e.message).toBe(
      `ring stale: partition ${changedAt4} changed at version 4, the request was made under 1.3 (this replica has 1.4)`,
    );
    expect(storage.get(changedAt4, key).status).toBe('missing');
  });

  it('refuses a read made before the change', async () => {
    const { replica, storage } = replicaOver(doc);
    await storage.update(changedAt4, key, () => object);
    const e = await refusalOf(() => replica.handlers.read(read(changedAt4, 1n, 2n), ctx));
    expect([e.code, staleAt(e)]).toEqual(['failed-precondition', { term: 1, version: 4 }]);
  });

  it('fences each partition at its own change', async () => {
    const { replica, storage } = replicaOver(doc);
    await replica.handlers.replicate(replicate(changedAt3, 1n, 3n), ctx);
    expect(storage.get(changedAt3, key).status).toBe('found');
    const e = await refusalOf(() => replica.handlers.replicate(replicate(changedAt3, 1n, 2n), ctx));
    expect(staleAt(e)).toEqual({ term: 1, version: 4 });
    const untouched = [...Array(16).keys()].filter(
      (p) => !doc.transfers.some((t) => t.partition === p),
    );
    expect(untouched.length).toBeGreaterThan(0);
    // Not moving: the fence is settledAt (1), so anything of this term passes.
    await replica.handlers.replicate(replicate(untouched[0]!, 1n, 1n), ctx);
    expect(storage.get(untouched[0]!, key).status).toBe('found');
  });

  it('names in ringStale only the replica term and version, not its whole document', async () => {
    const { replica } = replicaOver(doc);
    const e = await refusalOf(() => replica.handlers.replicate(replicate(changedAt4, 1n, 3n), ctx));
    // The error is kept, logged and passed on: it must not hold the ring document it was made from.
    expect(e.ringStale).toEqual({ term: 1, version: 4 });
  });

  it('accepts a request at the change, a newer one, and an unfenced one (version 0)', async () => {
    for (const [term, version] of [
      [1n, 4n],
      [1n, 9n],
      [2n, 1n],
      [0n, 0n],
      [1n, 0n],
    ] as const) {
      const { replica, storage } = replicaOver(doc);
      await replica.handlers.replicate(replicate(changedAt4, term, version), ctx);
      expect(storage.get(changedAt4, key).status, `${term}.${version}`).toBe('found');
      const reply = await replica.handlers.read(read(changedAt4, term, version), ctx);
      expect(reply.found, `${term}.${version}`).toBe(true);
    }
  });

  it('refuses any request of an older term, whatever its version', async () => {
    const { replica, storage } = replicaOver({ ...doc, term: 2 });
    const e = await refusalOf(() =>
      replica.handlers.replicate(replicate(changedAt4, 1n, 99n), ctx),
    );
    expect(staleAt(e)).toEqual({ term: 2, version: 4 });
    expect(storage.get(changedAt4, key).status).toBe('missing');
    await refusalOf(() => replica.handlers.read(read(changedAt4, 1n, 99n), ctx));
  });
});

describe('ring stale over the peer link: toErrorReply and fromErrorReply', () => {
  const stale = ringStale(5, { term: 1, version: 3 }, { term: 2, version: 7 }, 6);

  /** Through the ErrorReply bytes, as the Link stream carries it. */
  function wire(reply: ErrorReply): ErrorReply {
    return ErrorReply.decode(ErrorReply.encode(reply).finish());
  }

  it('carries the replica version out and back', () => {
    const reply = wire(toErrorReply(stale));
    expect(reply).toMatchObject({
      code: status.FAILED_PRECONDITION,
      ringStale: true,
      ringTerm: 2n,
      ringVersion: 7n,
      failure: { applied: Applied.APPLIED_NONE },
    });
    const back = fromErrorReply('n3', reply);
    expect(back.ringStale).toEqual({ term: 2, version: 7 });
    expect([back.code, back.failure.applied]).toEqual(['failed-precondition', 'none']);
    expect(back.message).toBe(`n3: ${stale.message}`);
    // And on again, should the error travel one more hop.
    expect(toErrorReply(back)).toMatchObject({ ringStale: true, ringTerm: 2n, ringVersion: 7n });
  });

  it('leaves every other error without ringStale, both ways', () => {
    const plain = new RingstoreError('failed-precondition', 'not stale');
    const reply = wire(toErrorReply(plain));
    expect([reply.ringStale, reply.ringTerm, reply.ringVersion]).toEqual([false, 0n, 0n]);
    expect(fromErrorReply('n3', reply).ringStale).toBeUndefined();
    // Version fields without the flag say nothing.
    const unflagged = { ...reply, ringTerm: 2n, ringVersion: 7n };
    expect(fromErrorReply('n3', unflagged).ringStale).toBeUndefined();
  });
});
