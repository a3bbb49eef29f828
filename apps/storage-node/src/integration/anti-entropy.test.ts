import { afterEach, describe, expect, it } from 'vitest';
import { status } from '@grpc/grpc-js';
import {
  putUnlessUnapplied,
  startTestCluster,
  type TestCluster,
} from '../test-support/cluster-fixture.js';
import { corruptStoredObject } from '../test-support/corrupt.js';
import { eventually } from '../test-support/eventually.js';
import { hintsHeld } from '../test-support/hints.js';
import { keysFor, replicasOf, ringOf } from '../test-support/keys.js';
import {
  antiEntropyStatus,
  listMembers,
  siblingValues,
  triggerAntiEntropy,
} from '../test-support/kv-client.js';

const ids = ['n1', 'n2', 'n3'];
/** Few partitions, exchanges only when triggered, tombstones reapable after half a second. */
const reapArgs = ['--partitions', '4', '--ae-interval-ms', '0', '--tombstone-grace-ms', '500'];

/** Partition -> root as each node holds it; resolves when all nodes agree on every partition. */
async function treesEqual(tc: TestCluster): Promise<void> {
  const statuses = await Promise.all(ids.map((id) => antiEntropyStatus(tc.address(id))));
  const [first, ...rest] = statuses;
  for (const other of rest) {
    for (const [i, p] of (first ?? []).entries()) {
      if (other[i]?.root !== p.root) throw new Error(`partition ${p.partition} differs`);
    }
  }
}

describe('anti-entropy, 3 nodes', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('brings a replica that missed writes back in line with no client reads, and then finds nothing to do', async () => {
    tc = await startTestCluster(3, ['--partitions', '16', '--ae-interval-ms', '100']);
    const cluster = tc;
    await cluster.kill('n3');
    const keys = Array.from({ length: 200 }, (_, i) => `missed-${i}`);
    for (const [i, key] of keys.entries())
      await cluster.client(i % 2 === 0 ? 'n1' : 'n2').put(key, `v-${key}`, { w: 2 });
    await cluster.restart('n3');
    const restartedAt = Date.now();
    await eventually(() => treesEqual(cluster), 60_000, 100);
    const convergedMs = Date.now() - restartedAt;
    console.log(
      `anti-entropy convergence: 200 missed writes over 16 partitions, trees equal ${convergedMs} ms after restart (--ae-interval-ms 100)`,
    );

    const idle = await Promise.all(ids.map((id) => triggerAntiEntropy(cluster.address(id))));
    for (const round of idle) {
      expect(round.exchanges).toBe(16);
      expect(round.differences).toBe(0n);
      expect(round.repairs).toBe(0n);
    }
    await cluster.kill('n1');
    await cluster.kill('n2');
    for (const key of keys)
      expect(siblingValues(await cluster.client('n3').get(key, { r: 1 })), key).toEqual([
        `v-${key}`,
      ]);
  }, 120_000);

  it('a triggered round passes over a replica that cannot be reached before it is detected down', async () => {
    tc = await startTestCluster(3, ['--partitions', '8', '--ae-interval-ms', '0']);
    const cluster = tc;
    await cluster.client('n1').put('k', 'v', { w: 3 });
    // Killed, but n1's failure detector still calls it up for seconds: every exchange n1 would
    // start with n3 is refused, and must fall over to n2.
    await cluster.kill('n3');
    const round = await triggerAntiEntropy(cluster.address('n1'));
    expect(round.exchanges).toBe(8);
    expect(round.differences).toBe(0n);
  }, 60_000);

  it('repairs a corrupted stored value without any client read, and no client ever sees it', async () => {
    tc = await startTestCluster(3, ['--partitions', '4', '--ae-interval-ms', '0']);
    const cluster = tc;
    await cluster.client('n1').put('flipped', 'intact', { w: 3 });
    await cluster.stopNode('n3');
    expect(corruptStoredObject(cluster.cluster.node('n3').dataDir, 'flipped')).toBe(1);
    await cluster.restart('n3');
    const round = await triggerAntiEntropy(cluster.address('n3'));
    expect(round.differences).toBe(1n);
    expect(round.repairs).toBe(1n);
    await treesEqual(cluster);
    await cluster.kill('n1');
    await cluster.kill('n2');
    expect(siblingValues(await cluster.client('n3').get('flipped', { r: 1 }))).toEqual(['intact']);
  }, 90_000);

  it('never brings a deleted key back, and reaps the tombstone once every replica holds it past the grace period', async () => {
    tc = await startTestCluster(3, reapArgs);
    const cluster = tc;
    await cluster.client('n1').put('doomed', 'alive', { w: 3 });
    await cluster.kill('n3');
    await cluster.client('n1').delete('doomed', { w: 2 });
    await new Promise((resolve) => setTimeout(resolve, 700));
    // n3 is down: the tombstone is past its grace period but must not be reaped.
    const whileDown = await triggerAntiEntropy(cluster.address('n1'));
    expect(whileDown.tombstonesReaped).toBe(0n);

    await cluster.restart('n3');
    // n3 still holds the old value; its own first exchange brings it the tombstone (the others'
    // links to it may still be backing off from its restart, and they then exchange with each
    // other), and a later round reaps it everywhere.
    const order = ['n3', 'n1', 'n2'];
    let reaped = 0n;
    for (let round = 0; round < 6 && reaped === 0n; round++) {
      const r = await triggerAntiEntropy(cluster.address(order[round % 3]!));
      reaped += r.tombstonesReaped;
      for (const id of ids)
        expect(
          (await cluster.client(id).get('doomed', { r: 1 })).siblings,
          `${id} round ${round}`,
        ).toEqual([]);
    }
    expect(reaped).toBe(1n);
    await eventually(
      async () => {
        for (const id of ids) {
          const keys = (await antiEntropyStatus(cluster.address(id))).reduce(
            (n, p) => n + p.keys,
            0n,
          );
          if (keys !== 0n) throw new Error(`${id} still holds ${String(keys)} keys`);
        }
      },
      10_000,
      100,
    );
    // An R=3 read needs every replica to answer its coordinator. A node's channel to the
    // restarted n3 may still be in reconnect backoff (the r=1 reads above read only the
    // coordinator's own copy, so nothing has used it yet), and its liveness view is no proof it
    // is not: an R=3 read that could not reach every replica (UNAVAILABLE, nothing read) is
    // asked again, bounded; what every replica answers must be no value.
    for (const id of ids)
      await eventually(
        async () => expect((await cluster.client(id).get('doomed', { r: 3 })).siblings).toEqual([]),
        15_000,
        200,
        (e) => (e as { code?: number }).code === status.UNAVAILABLE,
      );
  }, 90_000);
});

/** Resolves once every node in `ids` counts every other one of them up (or `down` down). */
async function waitLiveness(
  tc: TestCluster,
  ids: readonly string[],
  down: readonly string[] = [],
): Promise<void> {
  await eventually(
    async () => {
      for (const id of ids) {
        for (const m of await listMembers(tc.address(id))) {
          const peer = m.node?.id ?? '?';
          const expected = !down.includes(peer);
          if (peer !== id && m.alive !== expected)
            throw new Error(`${id} counts ${peer} ${m.alive ? 'up' : 'down'}`);
        }
      }
    },
    30_000,
    100,
  );
}

describe('tombstone reaping with a fallback, 4 nodes, N=3', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('reaps nothing while a node that may hold an older hinted copy is down, and resurrects nothing after', async () => {
    tc = await startTestCluster(4, reapArgs);
    const cluster = tc;
    const ring = ringOf(await cluster.client('n1').ring());
    const [key] = keysFor(ring, 'n4', 1, 'ghost', false);
    if (key === undefined) throw new Error('no key');
    const [a, b, c] = replicasOf(ring, key) as [string, string, string];
    const all = [a, b, c, 'n4'];
    // c down: the write goes to a, b and to n4 as c's fallback, which keeps a hint for c.
    await cluster.kill(c);
    await waitLiveness(cluster, [a, b, 'n4'], [c]);
    await putUnlessUnapplied(cluster, a, key, 'old', 3);
    expect(hintsHeld(cluster.cluster.node('n4').dataDir).get(c)).toBe(1);
    // n4 dies holding the hint; c comes back and the key is deleted on all three primaries.
    await cluster.kill('n4');
    await cluster.restart(c);
    await waitLiveness(cluster, [a, b, c], ['n4']);
    const read = await cluster.client(a).get(key, { r: 2, strict: true });
    expect(siblingValues(read)).toEqual(['old']);
    await cluster.client(a).delete(key, { context: read.context, w: 3, strict: true });
    await new Promise((resolve) => setTimeout(resolve, 700));
    // Every primary holds the tombstone past its grace period, but n4 is down with an older copy:
    // reaping now would let its hint bring 'old' back.
    for (const id of [a, b, c])
      expect((await triggerAntiEntropy(cluster.address(id))).tombstonesReaped, id).toBe(0n);

    // n4 returns and delivers its hint (c merges the old copy under the tombstone); then the
    // tombstone is reaped everywhere, and the key stays deleted.
    await cluster.restart('n4');
    await waitLiveness(cluster, all);
    await eventually(
      () =>
        (hintsHeld(cluster.cluster.node('n4').dataDir).get(c) ?? 0) === 0
          ? Promise.resolve()
          : Promise.reject(new Error('hint not delivered yet')),
      30_000,
      100,
    );
    let reaped = 0n;
    for (let round = 0; round < 6 && reaped === 0n; round++)
      reaped += (await triggerAntiEntropy(cluster.address([a, b, c][round % 3]!))).tombstonesReaped;
    expect(reaped).toBe(1n);
    for (const id of all)
      expect((await cluster.client(id).get(key, { r: 3 })).siblings, id).toEqual([]);
  }, 120_000);
});
