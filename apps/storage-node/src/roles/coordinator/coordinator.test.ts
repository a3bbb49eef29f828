import { ClusterView } from '../../cluster-view.js';
import type { PreferenceEntry } from '@ringstore/ring';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { join, values, type StoredValue } from '@ringstore/vclock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { status } from '@grpc/grpc-js';
import { Applied } from '@ringstore/proto';
import { RingstoreError, fromErrorReply, ringStale, toErrorReply } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { coordinateWrite, encodeObject, tryDecodeObject, type KeyObject } from '../../object.js';
import { testActors } from '../../test-support/actors.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { FakePeers, type PeerCall } from '../../test-support/fake-peers.js';
import { Replica } from '../replica/replica.js';
import { Coordinator, remainingMs, repairTimeoutMs, type KeyRequest } from './coordinator.js';
import { hedgeDefaults } from '@ringstore/quorum';

const log = createLogger({ level: 'silent', nodeId: 't', pretty: false });
const partition = 7;
const key = Buffer.from('k');
const primaries: PreferenceEntry[] = ['n1', 'n2', 'n3'].map((nodeId) => ({
  nodeId,
  hintFor: undefined,
}));
/** Long enough never to pass in these tests, unless a test moves the clock. */
const requestTimeoutMs = 5_000;

const value = (text: string, timestampMs = 1): StoredValue => ({
  bytes: Buffer.from(text),
  tombstone: false,
  timestampMs,
});

interface Fixture {
  readonly storage: StorageEngine;
  readonly peers: FakePeers;
  readonly liveness: FakeLiveness;
  readonly metrics: Metrics;
  readonly coordinator: Coordinator;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** n1 coordinating with its own engine and Replica; n2..n4 are FakePeers replicas. */
function fixture(
  storage: StorageEngine = openMemoryEngine(),
  readFanout: 'quorum' | 'all' = 'quorum',
): Fixture {
  const metrics = new Metrics();
  const peers = new FakePeers(['n2', 'n3', 'n4'], log, metrics);
  const liveness = new FakeLiveness();
  cleanups.push(
    () => storage.close(),
    () => peers.close(),
  );
  const coordinator = new Coordinator({
    view: ClusterView.ofNodes(
      'n1',
      ['n1', 'n2', 'n3', 'n4'].map((id) => ({ id, address: `${id}:1` })),
      8,
      3,
    ),
    selfId: 'n1',
    actors: testActors('n1'),
    storage,
    replica: new Replica(storage, log, metrics),
    peers: peers.asPeers(),
    liveness,
    log,
    metrics,
    readFanout,
  });
  return { storage, peers, liveness, metrics, coordinator };
}

function request(targets: readonly PreferenceEntry[] = primaries): KeyRequest {
  return { key, partition, preferenceList: targets, deadlineMs: Date.now() + requestTimeoutMs };
}

function storedObject(storage: StorageEngine): KeyObject | undefined {
  const r = storage.get(partition, key);
  return r.status === 'found' ? tryDecodeObject(r.object) : undefined;
}

async function store(storage: StorageEngine, object: KeyObject): Promise<void> {
  await storage.update(partition, key, () => encodeObject(object));
}

function sentObject(call: PeerCall): Buffer {
  if (call.body.$case !== 'replicate')
    throw new Error(`expected a replicate, got ${call.body.$case}`);
  return call.body.value.object;
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

const texts = (object: KeyObject | undefined): string[] =>
  object === undefined
    ? []
    : values(object).map((v) => (v.tombstone ? '<tombstone>' : Buffer.from(v.bytes).toString()));

/** A first write, and a second that supersedes it (its context covers the first). */
const n1 = testActors('n1');
const older = coordinateWrite(undefined, value('old'), [], n1);
const newer = coordinateWrite(encodeObject(older), value('new', 2), join(older), n1);

describe('Coordinator.put', () => {
  it('writes locally before sending any replicate, and sends exactly what it wrote', async () => {
    const f = fixture();
    const localAtSend: (KeyObject | undefined)[] = [];
    for (const id of ['n2', 'n4']) {
      f.peers.answers.set(id, (call) => {
        localAtSend.push(storedObject(f.storage));
        return f.peers.serve(call);
      });
    }
    const targets = [primaries[0]!, primaries[1]!, { nodeId: 'n4', hintFor: 'n3' }];
    const object = await f.coordinator.put(request(targets), value('v'), [], 2);
    expect(texts(object)).toEqual(['v']);
    expect(join(object)).toEqual([['n1/1', 1]]); // the new dot is the coordinator's, under its first epoch
    expect(localAtSend.map(texts)).toEqual([['v'], ['v']]);
    const written = Buffer.from(encodeObject(object));
    const replicates = f.peers.callsOf('replicate');
    expect(replicates.map((c) => [c.nodeId, sentObject(c).equals(written)])).toEqual([
      ['n2', true],
      ['n4', true],
    ]);
    expect(
      replicates.map((c) => (c.body.$case === 'replicate' ? c.body.value.hintFor : '')),
    ).toEqual(['', 'n3']);
    expect(Buffer.from(encodeObject(storedObject(f.storage)!)).equals(written)).toBe(true);
  });

  it('fails an overloaded local write: resource-exhausted, applied none, none sent', async () => {
    const f = fixture(openMemoryEngine({ pendingWritesMax: 1 }));
    // Fills the engine's one-write queue until its next commit, so the put's write is refused.
    const queued = f.storage.update(partition, Buffer.from('other'), () => Buffer.from('x'));
    const e = await rejection(f.coordinator.put(request(), value('v'), [], 2));
    await queued;
    expect(e.code).toBe('resource-exhausted');
    expect(e.failure).toEqual({ applied: 'none', acked: 0, needed: 2, tried: 1 });
    expect(f.peers.calls).toEqual([]);
    expect(storedObject(f.storage)).toBeUndefined();
  });

  it('fails W=3 with one replica down: unavailable, applied maybe; suspects it', async () => {
    const f = fixture();
    f.peers.answers.set('n3', () =>
      Promise.reject(new RingstoreError('unavailable', 'link to n3 broken')),
    );
    const e = await rejection(f.coordinator.put(request(), value('v'), [], 3));
    expect(e.code).toBe('unavailable');
    // Answered once W was out of reach: the local write acked, n2's still in flight.
    expect(e.failure).toEqual({ applied: 'maybe', acked: 1, needed: 3, tried: 3 });
    expect(f.liveness.suspicions).toEqual([{ nodeId: 'n3', reason: 'link to n3 broken' }]);
    // It is written here and reaches n2: 'maybe' is the truth.
    expect(texts(storedObject(f.storage))).toEqual(['v']);
    await vi.waitFor(() => expect(texts(storedObject(f.peers.storageOf('n2')))).toEqual(['v']));
  });

  it('does not suspect a replica that refused the write ("ring stale" is an answer)', async () => {
    const f = fixture();
    f.peers.answers.set('n3', () =>
      // As the link delivers it: the replica's ErrorReply.
      Promise.reject(
        fromErrorReply(
          'n3',
          toErrorReply(ringStale(partition, { term: 1, version: 1 }, { term: 1, version: 4 }, 4)),
        ),
      ),
    );
    // W=3: the put fails only after n3's refusal was handled, so a suspicion would be recorded.
    const e = await rejection(f.coordinator.put(request(), value('v'), [], 3));
    expect(e.code).toBe('unavailable');
    expect(f.liveness.suspicions).toEqual([]);
  });

  it('does not suspect a replica that answered with an error (it is alive)', async () => {
    const f = fixture();
    f.peers.answers.set('n3', () =>
      Promise.reject(
        fromErrorReply('n3', {
          code: status.RESOURCE_EXHAUSTED,
          message: 'too many requests on this link',
          failure: { applied: Applied.APPLIED_NONE, acked: 0, needed: 0, tried: 0 },
          ringStale: false,
          ringTerm: 0n,
          ringVersion: 0n,
        }),
      ),
    );
    const e = await rejection(f.coordinator.put(request(), value('v'), [], 3));
    expect(e.code).toBe('unavailable');
    expect(f.liveness.suspicions).toEqual([]);
  });

  it('rejects deadline-exceeded, applied maybe, when too few replicas answer in time', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const f = fixture();
    let sent!: () => void;
    const replicated = new Promise<void>((resolve) => (sent = resolve));
    f.peers.answers.set('n2', () => new Promise(() => sent()));
    f.peers.answers.set('n3', () => new Promise(() => undefined));
    const outcome = rejection(f.coordinator.put(request(), value('v'), [], 2));
    await replicated; // the local write committed (its commit runs on the real setImmediate)
    await vi.advanceTimersByTimeAsync(requestTimeoutMs);
    const e = await outcome;
    expect(e.code).toBe('deadline-exceeded');
    expect(e.failure).toEqual({ applied: 'maybe', acked: 1, needed: 2, tried: 3 });
  });
});

describe('Coordinator.get', () => {
  it('answers the newest and read-repairs a replica that was behind', async () => {
    const f = fixture();
    await store(f.storage, newer);
    await store(f.peers.storageOf('n2'), older);
    await store(f.peers.storageOf('n3'), newer);
    const object = await f.coordinator.get(request(), 2);
    expect(texts(object)).toEqual(['new']);
    await vi.waitFor(() => expect(texts(storedObject(f.peers.storageOf('n2')))).toEqual(['new']));
    const repairs = f.peers.callsOf('replicate');
    expect(repairs.map((c) => [c.nodeId, c.timeoutMs])).toEqual([['n2', repairTimeoutMs]]);
    expect(sentObject(repairs[0]!).equals(Buffer.from(encodeObject(newer)))).toBe(true);
    const repaired = await f.metrics.registry
      .getSingleMetric('ringstore_read_repairs_total')
      ?.get();
    expect(repaired?.values[0]?.value).toBe(1);
  });

  it("repairs the coordinator's own copy through its replica, not over the network", async () => {
    const f = fixture();
    await store(f.storage, older);
    await store(f.peers.storageOf('n2'), newer);
    await store(f.peers.storageOf('n3'), newer);
    expect(texts(await f.coordinator.get(request(), 2))).toEqual(['new']);
    await vi.waitFor(() => expect(texts(storedObject(f.storage))).toEqual(['new']));
    expect(f.peers.callsOf('replicate')).toEqual([]);
  });
});

describe('Coordinator.get fanout', () => {
  const reads = (f: Fixture): string[] => f.peers.callsOf('read').map((c) => c.nodeId);

  it('quorum: reads its own copy and R-1 others, its own first whatever the list order', async () => {
    const f = fixture();
    await store(f.peers.storageOf('n3'), newer);
    const reversed = [...primaries].reverse(); // n3, n2, n1
    expect(texts(await f.coordinator.get(request(reversed), 2))).toEqual(['new']);
    expect(reads(f)).toEqual(['n3']);
  });

  it('quorum: reads the next replica at once when one fails', async () => {
    const f = fixture();
    await store(f.peers.storageOf('n3'), newer);
    f.peers.answers.set('n2', () =>
      Promise.reject(new RingstoreError('unavailable', 'link to n2 broken')),
    );
    expect(texts(await f.coordinator.get(request(), 2))).toEqual(['new']);
    expect(reads(f)).toEqual(['n2', 'n3']);
    // n1 answered without the key and is repaired; n2 failed and is left to hints and AE.
    await vi.waitFor(() => expect(texts(storedObject(f.storage))).toEqual(['new']));
    expect(f.peers.callsOf('replicate')).toEqual([]);
  });

  it('quorum: reads the others after the hedge delay when one is slow', async () => {
    const f = fixture();
    await store(f.peers.storageOf('n3'), newer);
    let asked!: () => void;
    const n2Asked = new Promise<void>((resolve) => (asked = resolve));
    f.peers.answers.set('n2', () => new Promise(() => asked())); // never answers
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const got = f.coordinator.get(request(), 2);
    await n2Asked;
    expect(reads(f)).toEqual(['n2']);
    await vi.advanceTimersByTimeAsync(hedgeDefaults.defaultMs);
    expect(reads(f)).toEqual(['n2', 'n3']);
    expect(texts(await got)).toEqual(['new']);
  });

  it('all: reads every replica at once and repairs each one behind', async () => {
    const f = fixture(openMemoryEngine(), 'all');
    await store(f.storage, newer);
    await store(f.peers.storageOf('n2'), newer);
    await store(f.peers.storageOf('n3'), older);
    expect(texts(await f.coordinator.get(request(), 2))).toEqual(['new']);
    expect(reads(f)).toEqual(['n2', 'n3']);
    await vi.waitFor(() => expect(texts(storedObject(f.peers.storageOf('n3')))).toEqual(['new']));
  });
});

describe('Coordinator.delete', () => {
  it('without a context, reads first and writes a tombstone that covers what it read', async () => {
    const f = fixture();
    for (const s of [f.storage, f.peers.storageOf('n2'), f.peers.storageOf('n3')])
      await store(s, older);
    await f.coordinator.delete(request(), undefined, 2, 2);
    const kinds = f.peers.calls.map((c) => `${c.body.$case} ${c.nodeId}`);
    // R=2: its own copy and n2's (quorum fanout); n3 is not read, but is written.
    expect(kinds).toEqual(['read n2', 'replicate n2', 'replicate n3']);
    // Covered: the tombstone replaces the value instead of becoming its sibling.
    expect(texts(storedObject(f.storage))).toEqual(['<tombstone>']);
    const sent = f.peers.callsOf('replicate').map((c) => texts(tryDecodeObject(sentObject(c))));
    expect(sent).toEqual([['<tombstone>'], ['<tombstone>']]);
  });

  it('with a context, writes the tombstone unread: it covers that context only', async () => {
    const f = fixture();
    for (const s of [f.storage, f.peers.storageOf('n2'), f.peers.storageOf('n3')])
      await store(s, older);
    await f.coordinator.delete(request(), [], 2, 2);
    expect(f.peers.callsOf('read')).toEqual([]);
    expect(texts(storedObject(f.storage)).sort()).toEqual(['<tombstone>', 'old']);
  });
});

describe('remainingMs', () => {
  it('is the time left until the deadline, at least 1 ms', () => {
    vi.useFakeTimers({ now: 10_000 });
    expect(remainingMs(10_250)).toBe(250);
    expect(remainingMs(9_000)).toBe(1);
  });
});
