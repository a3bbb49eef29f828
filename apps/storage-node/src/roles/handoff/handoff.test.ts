import type { HandoffResponse, ReplicateRequest } from '@ringstore/proto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { initialDocument } from '@ringstore/membership';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterView } from '../../cluster-view.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { unfenced, type RequestBody } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import { Replica } from '../replica/replica.js';
import {
  Handoff,
  handoffBatchMax,
  handoffRequestTimeoutMs,
  type HandoffOptions,
} from './handoff.js';

const nodes = ['n1', 'n2', 'n3', 'n4', 'n5'].map((id, i) => ({
  id,
  address: `127.0.0.1:${7_101 + i}`,
  peerAddress: `127.0.0.1:${7_201 + i}`,
}));
const view = ClusterView.ofNodes('n1', nodes, 256, 3);
const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
const defaults: HandoffOptions = {
  hintAgeMaxMs: 3_600_000,
  hintsPerTargetMax: 10_000,
  handoffRatePerSecond: 1_000,
  handoffIntervalMs: 1_000,
};
/** Candidate keys looked at to find one in a partition with the wanted replicas. */
const keySearchMax = 100_000;

interface Key {
  readonly partition: number;
  readonly key: string;
}

interface Call {
  readonly nodeId: string;
  readonly body: RequestBody;
  readonly timeoutMs: number;
}

/** The one Peers method handoff uses; answers with `respond` (by default: every object applied). */
class FakeLinks {
  readonly calls: Call[] = [];
  respond: (call: Call) => Promise<HandoffResponse> = (call) =>
    Promise.resolve({ applied: sentObjects(call).length });
  request(nodeId: string, body: RequestBody, timeoutMs: number): Promise<HandoffResponse> {
    const call = { nodeId, body, timeoutMs };
    this.calls.push(call);
    return this.respond(call);
  }
}

function sentObjects(call: Call): ReplicateRequest[] {
  if (call.body.$case !== 'handoff')
    throw new Error(`expected a handoff request, got ${call.body.$case}`);
  return call.body.value.objects;
}

interface Fixture {
  readonly storage: StorageEngine;
  readonly liveness: FakeLiveness;
  readonly links: FakeLinks;
  readonly metrics: Metrics;
  readonly handoff: Handoff;
}

const opened: StorageEngine[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

function fixture(options: Partial<HandoffOptions> = {}, at: ClusterView = view): Fixture {
  const storage = openMemoryEngine();
  opened.push(storage);
  const liveness = new FakeLiveness();
  const links = new FakeLinks();
  const metrics = new Metrics();
  const handoff = new Handoff({
    storage,
    view: at,
    peers: links as unknown as Peers,
    replica: new Replica(storage, log, metrics),
    liveness,
    log,
    metrics,
    options: { ...defaults, ...options },
  });
  return { storage, liveness, links, metrics, handoff };
}

/** The first `count` keys whose partition `target` replicates and n1 replicates too (`n1Primary`) or not. */
function keysFor(target: string, n1Primary: boolean, count: number): Key[] {
  const keys: Key[] = [];
  for (let i = 0; i < keySearchMax && keys.length < count; i++) {
    const key = `${target}-${n1Primary ? 'shared' : 'foreign'}-${i}`;
    const partition = view.partitionOf(Buffer.from(key));
    if (view.primaries(partition).includes(target) && view.isReplica(partition) === n1Primary)
      keys.push({ partition, key });
  }
  if (keys.length < count)
    throw new Error(`${keys.length} of ${count} keys for ${target} within ${keySearchMax} tries`);
  return keys;
}

function keyFor(target: string, n1Primary: boolean): Key {
  return keysFor(target, n1Primary, 1)[0]!;
}

/** `count` distinct keys in partitions n1 does not replicate but `target` does. */
function foreignKeys(target: string, count: number): Key[] {
  return keysFor(target, false, count);
}

function replicateRequest(target: string, at: Key, object: string): ReplicateRequest {
  return {
    partition: at.partition,
    key: Buffer.from(at.key),
    object: Buffer.from(object),
    hintFor: target,
    ...unfenced,
  };
}

async function hint(f: Fixture, target: string, at: Key, object: string): Promise<void> {
  await f.handoff.addHint(replicateRequest(target, at, object), Buffer.from(object));
}

async function store(storage: StorageEngine, at: Key, object: string): Promise<void> {
  await storage.update(at.partition, Buffer.from(at.key), () => Buffer.from(object));
}

function stored(storage: StorageEngine, at: Key): string | undefined {
  const r = storage.get(at.partition, Buffer.from(at.key));
  return r.status === 'found' ? Buffer.from(r.object).toString() : undefined;
}

async function counter(metrics: Metrics, name: string, reason?: string): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  const values =
    metric?.values.filter((v) => reason === undefined || v.labels['reason'] === reason) ?? [];
  return values.reduce((sum, v) => sum + v.value, 0);
}

/** What a call carried, as key=object strings. */
function carried(call: Call | undefined): string[] {
  if (call === undefined) return [];
  return sentObjects(call).map((o) => `${o.key.toString()}=${o.object.toString()}`);
}

describe('Handoff: delivery', () => {
  it('keeps the hints of a down target, and of a target with no address, without sending', async () => {
    const f = fixture();
    f.liveness.down.add('n2');
    for (const at of foreignKeys('n2', 3)) await hint(f, 'n2', at, 'v');
    await f.handoff.addHint(
      { partition: 5, key: Buffer.from('x'), object: Buffer.from('v'), hintFor: 'n9', ...unfenced },
      Buffer.from('v'),
    );
    await f.handoff.tick();
    expect(f.links.calls).toEqual([]);
    expect(f.storage.hintCounts()).toEqual(
      new Map([
        ['n2', 3],
        ['n9', 1],
      ]),
    );
    expect(await counter(f.metrics, 'ringstore_hints_stored_total')).toBe(4);
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(0);
  });

  it('sends an up target its hints in one handoff request, then deletes them and counts them delivered', async () => {
    const f = fixture();
    f.liveness.down.add('n3');
    const keys = foreignKeys('n2', 3);
    for (const [i, at] of keys.entries()) await hint(f, 'n2', at, `v${i}`);
    await hint(f, 'n3', keyFor('n3', false), 'w');
    await f.handoff.tick();
    expect(f.links.calls).toHaveLength(1);
    const call = f.links.calls[0]!;
    expect(call.nodeId).toBe('n2');
    expect(call.timeoutMs).toBe(handoffRequestTimeoutMs);
    expect(sentObjects(call)).toEqual(
      keys.map((at, i) => ({
        partition: at.partition,
        key: Buffer.from(at.key),
        object: Buffer.from(`v${i}`),
        hintFor: '',
        ...unfenced,
      })),
    );
    expect(f.storage.hintCounts()).toEqual(new Map([['n3', 1]]));
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(3);
    expect(f.liveness.suspicions).toEqual([]);
  });

  it('sends at most handoffBatchMax objects per request and the rate budget per tick, oldest first', async () => {
    // 300 objects a second, looked at each second: a budget of 300 per tick.
    const f = fixture({ handoffRatePerSecond: 300, handoffIntervalMs: 1_000 });
    const keys = foreignKeys('n2', 400);
    await Promise.all(keys.map((at, i) => hint(f, 'n2', at, `v${i}`)));
    await f.handoff.tick();
    expect(f.links.calls.map((c) => sentObjects(c).length)).toEqual([
      handoffBatchMax,
      handoffBatchMax,
      300 - 2 * handoffBatchMax,
    ]);
    expect(f.links.calls.flatMap(carried)).toEqual(
      keys.slice(0, 300).map((at, i) => `${at.key}=v${i}`),
    );
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 100]]));
    await f.handoff.tick();
    expect(f.links.calls.slice(3).map(carried)).toEqual([
      keys.slice(300).map((at, i) => `${at.key}=v${300 + i}`),
    ]);
    expect(f.storage.hintCounts()).toEqual(new Map());
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(400);
  });

  it('spreads a budget smaller than a batch over ticks', async () => {
    // 10 a second, every 500 ms: 5 per tick.
    const f = fixture({ handoffRatePerSecond: 10, handoffIntervalMs: 500 });
    for (const at of foreignKeys('n2', 12)) await hint(f, 'n2', at, 'v');
    for (let i = 0; i < 4; i++) await f.handoff.tick();
    expect(f.links.calls.map((c) => sentObjects(c).length)).toEqual([5, 5, 2]);
    expect(f.storage.hintCounts().size).toBe(0);
  });

  it('sends a key hinted twice once, as the fallback current copy, and deletes both hints', async () => {
    const f = fixture();
    const at = keyFor('n2', false);
    await hint(f, 'n2', at, 'first');
    await hint(f, 'n2', at, 'second');
    await store(f.storage, at, 'merged');
    await f.handoff.tick();
    expect(f.links.calls.map(carried)).toEqual([[`${at.key}=merged`]]);
    expect(f.storage.hintCounts().size).toBe(0);
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(2);
  });

  it('with no local copy, sends a key hinted twice as its newest hint', async () => {
    const f = fixture();
    const at = keyFor('n2', false);
    await hint(f, 'n2', at, 'older');
    await hint(f, 'n2', at, 'newer');
    await f.handoff.tick();
    expect(f.links.calls.map(carried)).toEqual([[`${at.key}=newer`]]);
  });

  it('after handing a key to one replica (removing the copy), hands the newest write to another', async () => {
    const f = fixture();
    const partition = [...Array(256).keys()].find(
      (p) =>
        !view.isReplica(p) && view.primaries(p).includes('n2') && view.primaries(p).includes('n3'),
    )!;
    const at = { partition, key: 'k' };
    await store(f.storage, at, 'A');
    await hint(f, 'n3', at, 'A');
    await store(f.storage, at, 'B');
    await hint(f, 'n2', at, 'B');
    await store(f.storage, at, 'C');
    await hint(f, 'n2', at, 'C');
    f.liveness.down.add('n2');
    await f.handoff.tick(); // n3 gets C; n1's copy removed
    f.liveness.down.delete('n2');
    await f.handoff.tick();
    expect(f.links.calls.slice(1).map(carried)).toEqual([['k=C']]);
  });

  it("sends the fallback's stored copy when it has one, else the hint's bytes", async () => {
    const f = fixture();
    const [withCopy, withoutCopy] = foreignKeys('n2', 2) as [Key, Key];
    await hint(f, 'n2', withCopy, 'hinted-a');
    await store(f.storage, withCopy, 'newer-a');
    await hint(f, 'n2', withoutCopy, 'hinted-b');
    await f.handoff.tick();
    expect(f.links.calls.map(carried)).toEqual([
      [`${withCopy.key}=newer-a`, `${withoutCopy.key}=hinted-b`],
    ]);
  });
});

describe('Handoff: hints for a node that left or was removed', () => {
  // n2 was removed: the ring is n1, n3, n4, n5; n1 still holds hints made for n2 before.
  const base = initialDocument({
    clusterId: 'c',
    claimant: 'n1',
    partitionCount: 256,
    replicas: 3,
    nodes: nodes.filter((n) => n.id !== 'n2').map((n) => ({ ...n, zone: '' })),
  });
  const removed = {
    ...nodes[1]!,
    zone: '',
    status: 'removed' as const,
  };
  const after = new ClusterView('n1', {
    ...base,
    nodes: [...base.nodes, removed].sort((a, b) => (a.id < b.id ? -1 : 1)),
  });
  const at: Key = { key: 'gone', partition: after.partitionOf(Buffer.from('gone')) };

  it("go to each of the partition's current replicas, then are deleted", async () => {
    const f = fixture({}, after);
    await hint(f, 'n2', at, 'v');
    await f.handoff.tick();
    const expected = after.writeSet(at.partition).filter((id) => id !== 'n1');
    expect(f.links.calls.map((c) => c.nodeId).sort()).toEqual(expected.sort());
    for (const call of f.links.calls) expect(carried(call)).toEqual(['gone=v']);
    expect(f.storage.hintCounts()).toEqual(new Map());
  });

  it('are kept while one of those replicas is down', async () => {
    const f = fixture({}, after);
    await hint(f, 'n2', at, 'v');
    const other = after.writeSet(at.partition).find((id) => id !== 'n1')!;
    f.liveness.down.add(other);
    await f.handoff.tick();
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 1]]));
  });
});

describe('Handoff: hints of a partition a ring change took from their target', () => {
  // n6 joined and the transition completed: some partitions n2 replicated are n6's now, and n1
  // still holds hints made for n2 in them while n2 was down.
  const base = initialDocument({
    clusterId: 'c',
    claimant: 'n1',
    partitionCount: 256,
    replicas: 3,
    nodes: [...nodes, { id: 'n6', address: '127.0.0.1:7106', peerAddress: '127.0.0.1:7206' }].map(
      (n) => ({ ...n, zone: '' }),
    ),
  });
  const now = new ClusterView('n1', base);
  const moved = ((): Key => {
    for (let i = 0; i < keySearchMax; i++) {
      const key = `moved-${i}`;
      const partition = view.partitionOf(Buffer.from(key));
      const before = view.primaries(partition);
      const after = now.primaries(partition);
      if (before.includes('n2') && !after.includes('n2') && !after.includes('n1'))
        return { key, partition };
    }
    throw new Error('no key moved away from n2');
  })();

  it("go to the partition's current replicas instead of the target", async () => {
    const f = fixture({}, now);
    await hint(f, 'n2', moved, 'v');
    await f.handoff.tick();
    expect(f.links.calls.map((c) => c.nodeId).sort()).toEqual(now.writeSet(moved.partition).sort());
    for (const call of f.links.calls) expect(carried(call)).toEqual([`${moved.key}=v`]);
    expect(f.storage.hintCounts()).toEqual(new Map());
  });

  it('are refused by a node that does not store the partition, which keeps nothing', async () => {
    // n1 receives hints for `moved`, a partition it does not store.
    const f = fixture({}, now);
    const objects = [
      {
        partition: moved.partition,
        key: Buffer.from(moved.key),
        object: Buffer.alloc(0),
        hintFor: '',
        ...unfenced,
      },
    ];
    const handler = f.handoff.handlers.handoff;
    const e: unknown = await handler(
      { objects },
      { from: 'n3', deadlineMs: Date.now() + 1_000 },
    ).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'failed-precondition' });
    expect(stored(f.storage, moved)).toBeUndefined();
  });
});

describe("Handoff: the fallback's own copy after an ack", () => {
  it('is removed in a partition n1 does not replicate, kept where n1 is a primary', async () => {
    const f = fixture();
    const foreign = keyFor('n2', false);
    const shared = keyFor('n2', true);
    expect(view.isReplica(foreign.partition)).toBe(false);
    expect(view.isReplica(shared.partition)).toBe(true);
    for (const at of [foreign, shared]) {
      await store(f.storage, at, 'copy');
      await hint(f, 'n2', at, 'copy');
    }
    await f.handoff.tick();
    expect(f.links.calls.map(carried)).toEqual([[`${foreign.key}=copy`, `${shared.key}=copy`]]);
    expect(stored(f.storage, foreign)).toBeUndefined();
    expect(stored(f.storage, shared)).toBe('copy');
  });

  it('is kept when a write changed it while the handoff was in flight', async () => {
    const f = fixture();
    const [changed, unchanged] = foreignKeys('n2', 2) as [Key, Key];
    for (const at of [changed, unchanged]) {
      await store(f.storage, at, 'copy');
      await hint(f, 'n2', at, 'copy');
    }
    f.links.respond = async (call) => {
      await store(f.storage, changed, 'written-meanwhile');
      return { applied: sentObjects(call).length };
    };
    await f.handoff.tick();
    expect(carried(f.links.calls[0])).toEqual([`${changed.key}=copy`, `${unchanged.key}=copy`]);
    expect(stored(f.storage, changed)).toBe('written-meanwhile');
    expect(stored(f.storage, unchanged)).toBeUndefined();
  });
});

describe('Handoff: failures and bounds', () => {
  it('keeps the hints and the copies when the request fails, suspects the target, and stops for this tick', async () => {
    const f = fixture({ handoffRatePerSecond: 300 });
    const keys = foreignKeys('n2', 200);
    for (const at of keys.slice(0, 2)) await store(f.storage, at, 'copy');
    await Promise.all(keys.map((at) => hint(f, 'n2', at, 'copy')));
    f.links.respond = () => Promise.reject(new Error('link to n2 broken'));
    await f.handoff.tick();
    expect(f.links.calls).toHaveLength(1);
    expect(f.liveness.suspicions).toEqual([{ nodeId: 'n2', reason: 'link to n2 broken' }]);
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 200]]));
    expect(stored(f.storage, keys[0]!)).toBe('copy');
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(0);
    // Once the target answers, the same hints go.
    f.links.respond = (call) => Promise.resolve({ applied: sentObjects(call).length });
    await f.handoff.tick();
    expect(f.storage.hintCounts().size).toBe(0);
    expect(await counter(f.metrics, 'ringstore_hints_delivered_total')).toBe(200);
  });

  it('keeps at most hintsPerTargetMax hints per target, dropping the oldest and counting them', async () => {
    const f = fixture({ hintsPerTargetMax: 3 });
    f.liveness.down.add('n2');
    const keys = foreignKeys('n2', 5);
    for (const [i, at] of keys.entries()) await hint(f, 'n2', at, `v${i}`);
    await hint(f, 'n3', keyFor('n3', false), 'w');
    expect(f.storage.hintCounts()).toEqual(
      new Map([
        ['n2', 3],
        ['n3', 1],
      ]),
    );
    expect(f.storage.listHints('n2', 10).map((h) => Buffer.from(h.object).toString())).toEqual([
      'v2',
      'v3',
      'v4',
    ]);
    expect(await counter(f.metrics, 'ringstore_hints_dropped_total', 'count')).toBe(2);
    expect(await counter(f.metrics, 'ringstore_hints_dropped_total', 'age')).toBe(0);
    expect(await counter(f.metrics, 'ringstore_hints_stored_total')).toBe(6);
  });

  it('drops hints older than hintAgeMaxMs on tick, counted with reason "age"', async () => {
    const hintAgeMaxMs = 60_000;
    const f = fixture({ hintAgeMaxMs });
    f.liveness.down.add('n2');
    const [old1, old2, fresh] = foreignKeys('n2', 3) as [Key, Key, Key];
    const oldMs = Date.now() - hintAgeMaxMs - 5_000;
    await f.storage.addHints(
      [old1, old2].map((at) => ({
        target: 'n2',
        partition: at.partition,
        key: Buffer.from(at.key),
        object: Buffer.from('old'),
        createdAtMs: oldMs,
      })),
    );
    await hint(f, 'n2', fresh, 'fresh');
    expect(f.storage.hintCounts()).toEqual(new Map([['n2', 3]]));
    await f.handoff.tick();
    expect(f.storage.listHints('n2', 10).map((h) => Buffer.from(h.object).toString())).toEqual([
      'fresh',
    ]);
    expect(await counter(f.metrics, 'ringstore_hints_dropped_total', 'age')).toBe(2);
    expect(await counter(f.metrics, 'ringstore_hints_dropped_total', 'count')).toBe(0);
    expect(f.links.calls).toEqual([]);
  });
});
