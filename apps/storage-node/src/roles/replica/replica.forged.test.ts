import type { ReplicateRequest } from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import { withPeerChecks } from '../../peer/checks.js';
import { fenceOf, unfenced, type LinkHandlers, type RequestContext } from '../../peer/link.js';
import { testActors } from '../../test-support/actors.js';
import { founded } from '../../test-support/documents.js';
import { Replica } from './replica.js';

// Forged replicate and read messages: each must be refused, changing nothing, with
// INVALID_ARGUMENT or FAILED_PRECONDITION (never INTERNAL).

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const ctx: RequestContext = { from: 'n2', deadlineMs: Number.MAX_SAFE_INTEGER };
/** n1..n5, Q=16, N=3: n1 stores some partitions, not all. */
const doc = founded(5);
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

/** An object of one entry, actor "n2/1" at `counter`, no values, encoded by hand. */
function objectWithCounter(counter: bigint): Buffer {
  const varint: number[] = [];
  for (let rest = counter; ; rest >>= 7n) {
    if (rest < 128n) {
      varint.push(Number(rest));
      break;
    }
    varint.push(Number(rest & 0x7fn) | 0x80);
  }
  const actor = Buffer.from('n2/1');
  return Buffer.from([1, 1, actor.length, ...actor, ...varint, 0, 0]);
}

const storages: StorageEngine[] = [];
afterEach(async () => {
  for (const s of storages.splice(0)) await s.close();
});

function fixture() {
  const storage = openMemoryEngine();
  storages.push(storage);
  const view = new ClusterView('n1', doc);
  const replica = new Replica(storage, log, new Metrics(), view);
  const notServed = (): Promise<never> => Promise.reject(new Error('not served in this test'));
  // As node.ts assembles them, with the shared shape checks in front (peer/checks.ts).
  const linked: LinkHandlers = withPeerChecks(
    {
      ...replica.handlers,
      forwardGet: notServed,
      forwardPut: notServed,
      forwardDelete: notServed,
      handoff: notServed,
      reap: notServed,
      hintsHeld: notServed,
      transferPage: notServed,
      transferReport: notServed,
    },
    view,
  );
  const rows = (): number =>
    Array.from({ length: doc.ring.partitionCount }, (_, p) =>
      storage.scan(p, { limit: 100 }),
    ).flat().length;
  return { storage, view, replica, linked, rows };
}

/** A key of `partition` (searched among k0, k1, ...). */
function keyOf(view: ClusterView, partition: number): Buffer {
  for (let i = 0; i < 10_000; i++) {
    const key = Buffer.from(`k${i}`);
    if (view.partitionOf(key) === partition) return key;
  }
  throw new Error(`no key of partition ${partition}`);
}

async function refusal(p: Promise<unknown>): Promise<RingstoreError> {
  const e: unknown = await p.then(
    () => new Error('expected a refusal'),
    (x: unknown) => x,
  );
  if (!(e instanceof RingstoreError)) throw e;
  return e;
}

function replicate(
  partition: number,
  key: Buffer,
  body: Buffer = object,
  fence = fenceOf(doc),
): ReplicateRequest {
  return { partition, key, object: body, hintFor: '', ...fence };
}

describe('a forged replicate', () => {
  const view = new ClusterView('n1', doc);
  const held = view.partitionsHeld();
  const foreign = Array.from({ length: 16 }, (_, p) => p).find((p) => !view.holds(p))!;

  it('is stored when well formed, in a partition this node stores (the baseline)', async () => {
    const f = fixture();
    const p = held[0]!;
    await f.linked.replicate(replicate(p, keyOf(f.view, p)), ctx);
    expect(f.rows()).toBe(1);
  });

  it('naming a key under another partition than its own is refused, storing nothing', async () => {
    const f = fixture();
    const [p, q] = held as [number, number];
    const e = await refusal(f.linked.replicate(replicate(q, keyOf(f.view, p)), ctx));
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      `the key belongs to partition ${p}, not to partition ${q}`,
    ]);
    expect(f.rows()).toBe(0);
  });

  it('with a partition out of range is refused, by the role itself too', async () => {
    const f = fixture();
    for (const partition of [16, 0xffff_ffff]) {
      const req = replicate(partition, Buffer.from('k'));
      for (const handler of [f.replica.handlers.replicate, f.linked.replicate]) {
        const e = await refusal(handler(req, ctx));
        expect([e.code, e.message]).toEqual([
          'invalid-argument',
          `partition ${partition} out of range 0..15`,
        ]);
      }
    }
    expect(f.rows()).toBe(0);
  });

  it('with an empty or oversized key is refused (the engine would assert: INTERNAL)', async () => {
    const f = fixture();
    for (const key of [Buffer.alloc(0), Buffer.alloc(64 * 1024 + 1, 1)]) {
      const e = await refusal(f.replica.handlers.replicate(replicate(held[0]!, key), ctx));
      expect(e.code).toBe('invalid-argument');
      expect(e.message).toMatch(/^key of \d+ bytes/);
    }
  });

  it('of a partition this node does not store is refused FAILED_PRECONDITION', async () => {
    const f = fixture();
    const key = keyOf(f.view, foreign);
    for (const fence of [fenceOf(doc), unfenced]) {
      const e = await refusal(f.linked.replicate(replicate(foreign, key, object, fence), ctx));
      expect(e.code).toBe('failed-precondition');
      expect(e.message).toMatch(new RegExp(`partition ${foreign} is not stored by n1`));
    }
    expect(f.rows()).toBe(0);
  });

  it('of such a partition under a newer ring is stored: this node may be behind', async () => {
    const f = fixture();
    const newer = { ringTerm: BigInt(doc.term), ringVersion: BigInt(doc.version + 1) };
    await f.linked.replicate(replicate(foreign, keyOf(f.view, foreign), object, newer), ctx);
    expect(f.rows()).toBe(1);
  });

  it('whose clock holds a counter at 2^53 - 1 is refused "counter out of range", not stored', async () => {
    const f = fixture();
    const p = held[0]!;
    const key = keyOf(f.view, p);
    for (const counter of [2n ** 53n - 1n, 2n ** 53n - 2n ** 32n + 1n]) {
      const e = await refusal(
        f.linked.replicate(replicate(p, key, objectWithCounter(counter)), ctx),
      );
      expect(e.code).toBe('invalid-argument');
      expect(e.message).toMatch(/^replicated object does not decode: .*counter out of range/);
    }
    expect(f.rows()).toBe(0);
    // The key stays writable: an honest write is merged as ever.
    await f.linked.replicate(replicate(p, key), ctx);
    expect(f.storage.get(p, key).status).toBe('found');
  });

  it('whose object does not decode is refused', async () => {
    const f = fixture();
    const p = held[0]!;
    const e = await refusal(
      f.linked.replicate(replicate(p, keyOf(f.view, p), Buffer.from('junk')), ctx),
    );
    expect(e.code).toBe('invalid-argument');
    expect(f.rows()).toBe(0);
  });
});

describe('a forged read', () => {
  it('with a partition out of range, a bad key or a key of another partition is refused', async () => {
    const f = fixture();
    const read = (partition: number, key: Buffer) => ({ partition, key, ...fenceOf(doc) });
    const cases: [ReturnType<typeof read>, RegExp][] = [
      [read(16, Buffer.from('k')), /^partition 16 out of range 0\.\.15$/],
      [read(0, Buffer.alloc(0)), /^key of 0 bytes/],
      [read(f.view.partitionOf(Buffer.from('k')) ^ 1, Buffer.from('k')), /^the key belongs/],
    ];
    for (const [req, message] of cases) {
      const e = await refusal(f.linked.read(req, ctx));
      expect([e.code, e.message]).toEqual(['invalid-argument', expect.stringMatching(message)]);
    }
  });
});
