import type { PreferenceEntry } from '@ringstore/ring';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { counterMax, join, values, type StoredValue } from '@ringstore/vclock';
import { afterEach, describe, expect, it } from 'vitest';
import type { ActorEpochs } from '../../actor-epochs.js';
import { ClusterView } from '../../cluster-view.js';
import { RingstoreError } from '../../errors.js';
import { createLogger } from '../../logger.js';
import { Metrics } from '../../metrics.js';
import { testActors } from '../../test-support/actors.js';
import { FakeLiveness } from '../../test-support/fake-liveness.js';
import { FakePeers } from '../../test-support/fake-peers.js';
import { Replica } from '../replica/replica.js';
import { Coordinator, type KeyRequest } from './coordinator.js';

// A peer (before replicas checked counters) stored a clock with this node's dot counter at or near
// 2^53 - 1: every later write through this node failed an assertion, INTERNAL, for good.

const log = createLogger({ level: 'silent', nodeId: 'n1', pretty: false });
const key = Buffer.from('k');
const partition = 7;
const primaries: PreferenceEntry[] = ['n1', 'n2', 'n3'].map((nodeId) => ({
  nodeId,
  hintFor: undefined,
}));
const value = (text: string): StoredValue => ({
  bytes: Buffer.from(text),
  tombstone: false,
  timestampMs: 1,
});

/** A stored object of one entry, `actor` at `counter` with one value, encoded by hand. */
function objectAt(actor: string, counter: bigint): Buffer {
  const varint: number[] = [];
  for (let rest = counter; ; rest >>= 7n) {
    if (rest < 128n) {
      varint.push(Number(rest));
      break;
    }
    varint.push(Number(rest & 0x7fn) | 0x80);
  }
  const name = Buffer.from(actor);
  // entry: actor, counter, one value (flags 0, timestamp 1, 1 byte "x"); no anonymous values
  return Buffer.from([1, 1, name.length, ...name, ...varint, 1, 0, 1, 1, 0x78, 0]);
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function fixture(actors: ActorEpochs) {
  const storage: StorageEngine = openMemoryEngine();
  const metrics = new Metrics();
  const peers = new FakePeers(['n2', 'n3'], log, metrics);
  cleanups.push(
    () => storage.close(),
    () => peers.close(),
  );
  const coordinator = new Coordinator({
    view: ClusterView.ofNodes(
      'n1',
      ['n1', 'n2', 'n3'].map((id) => ({ id, address: `${id}:1` })),
      8,
      3,
    ),
    selfId: 'n1',
    actors,
    storage,
    replica: new Replica(storage, log, metrics),
    peers: peers.asPeers(),
    liveness: new FakeLiveness(),
    log,
    metrics,
    readFanout: 'quorum',
  });
  const request = (): KeyRequest => ({
    key,
    partition,
    preferenceList: primaries,
    deadlineMs: Date.now() + 5_000,
  });
  return { storage, peers, coordinator, request };
}

async function rejection(p: Promise<unknown>): Promise<RingstoreError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  if (!(e instanceof RingstoreError)) throw new Error(`expected a RingstoreError: ${String(e)}`);
  return e;
}

describe('a local write over a clock a forged replicate pushed to the counter limit', () => {
  it('succeeds over a stored counter of 2^53 - 1 (now refused when decoded: a corrupt copy)', async () => {
    const f = fixture(testActors('n1'));
    await f.storage.update(partition, key, () => objectAt('n1/1', 2n ** 53n - 1n));
    const object = await f.coordinator.put(f.request(), value('v'), [], 2);
    expect(values(object).map((v) => Buffer.from(v.bytes).toString())).toEqual(['v']);
    expect(join(object).every(([, counter]) => counter <= counterMax)).toBe(true);
  });

  it('takes a new epoch when its own epoch is at counterMax, so the key stays writable', async () => {
    const actors = testActors('n1');
    actors.newEpoch(); // n1/1, the epoch the forged clock holds at counterMax
    const f = fixture(actors);
    await f.storage.update(partition, key, () => objectAt('n1/1', BigInt(counterMax)));
    const object = await f.coordinator.put(f.request(), value('v'), [], 2);
    // The used-up entry is kept as it is; the new dot is 1 under a new epoch.
    expect(join(object)).toEqual([
      ['n1/1', counterMax],
      ['n1/2', 1],
    ]);
  });

  it('is refused INVALID_ARGUMENT "counter out of range", writing nothing, when the new epoch is used up too', async () => {
    const actors = testActors('n1');
    actors.newEpoch(); // n1/1 was taken before; the next epoch is n1/2, which the forger filled
    const f = fixture(actors);
    const forged = objectAt('n1/2', BigInt(counterMax));
    await f.storage.update(partition, key, () => forged);
    const e = await rejection(f.coordinator.put(f.request(), value('v'), [], 2));
    expect(e.code).toBe('invalid-argument');
    expect(e.message).toMatch(/counter out of range/);
    expect(e.failure.applied).toBe('none');
    expect(f.peers.callsOf('replicate')).toEqual([]);
    const stored = f.storage.get(partition, key);
    expect(stored.status === 'found' && Buffer.from(stored.object).equals(forged)).toBe(true);
    // The next write takes the next epoch and succeeds.
    const object = await f.coordinator.put(f.request(), value('w'), [], 2);
    expect(join(object).map(([actor]) => actor)).toEqual(['n1/2', 'n1/3']);
  });
});
