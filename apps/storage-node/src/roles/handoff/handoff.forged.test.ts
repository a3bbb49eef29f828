import type { ReplicateRequest } from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics, unknownTargetLabel } from '../../metrics.js';
import { coordinateWrite, encodeObject } from '../../object.js';
import { fenceOf, unfenced, type RequestContext } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import { testActors } from '../../test-support/actors.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { Replica } from '../replica/replica.js';
import { Handoff, handoffBatchMax } from './handoff.js';

// Forged hinted writes and handoffs: hint rows (and the pending-hints metric label of their
// target) must never name an id a peer made up, and a refused message changes nothing.

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const ctx: RequestContext = { from: 'n3', deadlineMs: Number.MAX_SAFE_INTEGER };
const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id, i) => ({
  id,
  address: `127.0.0.1:${7_101 + i}`,
  peerAddress: `127.0.0.1:${7_201 + i}`,
}));
const view = ClusterView.ofNodes('n1', nodes, 256, 3);
const object = Buffer.from(
  encodeObject(
    coordinateWrite(
      undefined,
      { bytes: Buffer.from('v'), tombstone: false, timestampMs: 1 },
      [],
      testActors('n3'),
    ),
  ),
);
/** An object whose only entry is at 2^53 - 1: "ff ff ff ff ff ff ff 0f". */
const overflowing = Buffer.from('0101016dffffffffffffff0f0000', 'hex');

const opened: StorageEngine[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function fixture() {
  const storage = openMemoryEngine();
  opened.push(storage);
  const metrics = new Metrics();
  const handoff = new Handoff({
    storage,
    view,
    peers: {} as unknown as Peers,
    replica: new Replica(storage, log, metrics, view),
    liveness: new FakeLiveness(),
    log,
    metrics,
    options: {
      hintAgeMaxMs: 3_600_000,
      hintsPerTargetMax: 10_000,
      handoffRatePerSecond: 1_000,
      handoffIntervalMs: 1_000,
    },
  });
  const objects = (): number =>
    Array.from({ length: 256 }, (_, p) => storage.scan(p, { limit: 1_000 })).flat().length;
  return { storage, metrics, handoff, objects };
}

/** A key whose partition n1 does not replicate and `target` does (`replicates`) or not. */
function keyWhere(target: string, replicates: boolean): { partition: number; key: Buffer } {
  for (let i = 0; i < 100_000; i++) {
    const key = Buffer.from(`key-${i}`);
    const partition = view.partitionOf(key);
    if (!view.holds(partition) && view.writeSet(partition).includes(target) === replicates)
      return { partition, key };
  }
  throw new Error('no such key');
}

function hinted(
  target: string,
  at: { partition: number; key: Buffer },
  body: Buffer = object,
  fence: { ringTerm: bigint; ringVersion: bigint } = fenceOf(view.document),
): ReplicateRequest {
  return { ...at, object: body, hintFor: target, ...fence };
}

async function refusal(p: Promise<unknown>): Promise<RingstoreError> {
  const e: unknown = await p.then(
    () => new Error('expected a refusal'),
    (x: unknown) => x,
  );
  if (!(e instanceof RingstoreError)) throw e;
  return e;
}

describe('a forged hinted write', () => {
  it('for a replica of the partition is kept with its hint (the baseline)', async () => {
    const f = fixture();
    await f.handoff.hintedWrite(hinted('n2', keyWhere('n2', true)));
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 1]]));
    expect(f.objects()).toBe(1);
  });

  it('naming an invented target is refused: no hint row, no copy, no metric series', async () => {
    const f = fixture();
    f.metrics.trackPendingHints(() => f.storage.hintCounts());
    for (const target of ['evil', 'n9', 'x'.repeat(10_000), '{reason="age"}']) {
      const e = await refusal(f.handoff.hintedWrite(hinted(target, keyWhere('n2', true))));
      expect(e.code).toBe('failed-precondition');
      expect(e.message).toMatch(/^hint target ".{0,64}" is not a member of the ring$/);
    }
    expect(f.storage.hintCounts()).toEqual(new Map());
    expect(f.objects()).toBe(0);
    expect(await f.metrics.text()).not.toMatch(/ringstore_hints_pending\{/);
  });

  it('naming a member that does not replicate the partition is refused, unless under a newer ring', async () => {
    const f = fixture();
    const at = keyWhere('n2', false);
    const e = await refusal(f.handoff.hintedWrite(hinted('n2', at)));
    expect(e.code).toBe('failed-precondition');
    expect(e.message).toBe(`hint target "n2" does not replicate partition ${at.partition}`);
    await refusal(f.handoff.hintedWrite(hinted('n2', at, object, unfenced)));
    expect(f.storage.hintCounts()).toEqual(new Map());
    // The coordinator's ring may be newer than n1's: n2 may be a pending replica there.
    const newer = { ringTerm: 1n, ringVersion: BigInt(view.document.version + 1) };
    await f.handoff.hintedWrite(hinted('n2', at, object, newer));
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 1]]));
  });

  it('naming this node, a partition out of range or an empty key is refused INVALID_ARGUMENT', async () => {
    const f = fixture();
    const at = keyWhere('n2', true);
    const cases: ReplicateRequest[] = [
      hinted('n1', at),
      hinted('n2', { partition: 256, key: at.key }),
      hinted('n2', { partition: 0xffff_ffff, key: at.key }),
      hinted('n2', { partition: at.partition, key: Buffer.alloc(0) }),
    ];
    for (const req of cases)
      expect((await refusal(f.handoff.hintedWrite(req))).code).toBe('invalid-argument');
    expect(f.storage.hintCounts()).toEqual(new Map());
  });

  it('whose object holds a counter at 2^53 - 1 is refused "counter out of range": no hint, no copy', async () => {
    const f = fixture();
    const e = await refusal(f.handoff.hintedWrite(hinted('n2', keyWhere('n2', true), overflowing)));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(/counter out of range/);
    expect(f.storage.hintCounts()).toEqual(new Map());
    expect(f.objects()).toBe(0);
  });
});

describe('a forged handoff', () => {
  /** Keys of partitions n1 stores. */
  function held(count: number): { partition: number; key: Buffer }[] {
    const keys: { partition: number; key: Buffer }[] = [];
    for (let i = 0; keys.length < count; i++) {
      const key = Buffer.from(`held-${i}`);
      const partition = view.partitionOf(key);
      if (view.holds(partition)) keys.push({ partition, key });
    }
    return keys;
  }
  const delivered = (at: { partition: number; key: Buffer }, body = object): ReplicateRequest => ({
    ...at,
    object: body,
    hintFor: '',
    ...unfenced,
  });

  it('with one object that does not decode, or overflows a counter, stores none of them', async () => {
    for (const bad of [Buffer.from('junk'), overflowing]) {
      const f = fixture();
      const objects = held(3).map((at, i) => delivered(at, i === 1 ? bad : object));
      const e = await refusal(f.handoff.handlers.handoff({ objects }, ctx));
      expect(e.code).toBe('invalid-argument');
      expect(e.message).toMatch(/^handed-off object does not decode/);
      expect(f.objects()).toBe(0);
    }
  });

  it('of more than a batch, or with a partition out of range, is refused whole', async () => {
    const f = fixture();
    const many = held(handoffBatchMax + 1).map((at) => delivered(at));
    const e = await refusal(f.handoff.handlers.handoff({ objects: many }, ctx));
    expect([e.code, e.message]).toEqual([
      'invalid-argument',
      `handoff of ${handoffBatchMax + 1} objects, at most ${handoffBatchMax}`,
    ]);
    const [first] = held(1);
    const out = { ...delivered(first!), partition: 256 };
    const range = await refusal(
      f.handoff.handlers.handoff({ objects: [delivered(first!), out] }, ctx),
    );
    expect(range.code).toBe('invalid-argument');
    expect(f.objects()).toBe(0);
  });
});

describe('the pending-hints metric', () => {
  it('labels hint rows of targets the ring does not name as one "(unknown)" series', async () => {
    const f = fixture();
    const at = keyWhere('n2', true);
    // Rows stored before targets were checked.
    for (const target of ['n2', 'evil-1', 'evil-2'])
      await f.storage.addHints([{ target, ...at, object, createdAtMs: Date.now() }]);
    f.metrics.trackPendingHints(
      () => f.storage.hintCounts(),
      (id) => view.statusOf(id) !== undefined,
    );
    const text = await f.metrics.text();
    expect(text).toMatch(/ringstore_hints_pending\{target="n2"\} 1/);
    expect(text).toContain(`ringstore_hints_pending{target="${unknownTargetLabel}"} 2`);
    expect(text).not.toMatch(/evil/);
  });
});
