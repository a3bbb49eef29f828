import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  putUnlessUnapplied,
  startTestCluster,
  type TestCluster,
} from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { totalHints } from '../test-support/hints.js';
import { keysFor, ringOf } from '../test-support/keys.js';
import { listMembers, siblingValues, statusOf } from '../test-support/kv-client.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];

/** Waits until every node in `observers` reports `target` with the given alive flag; returns the ms it took. */
async function waitAlive(
  tc: TestCluster,
  observers: readonly string[],
  target: string,
  alive: boolean,
  timeoutMs: number,
): Promise<number> {
  const started = Date.now();
  await eventually(
    async () => {
      for (const id of observers) {
        const member = (await listMembers(tc.address(id))).find((m) => m.node?.id === target);
        if (member?.alive !== alive)
          throw new Error(`${id} sees ${target} alive=${String(member?.alive)}`);
      }
    },
    timeoutMs,
    100,
  );
  return Date.now() - started;
}

describe('always writable: 5 nodes, N=3', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('gossip converges: every node sees every other alive with a heartbeat', async () => {
    tc = await startTestCluster(5);
    const started = Date.now();
    await eventually(
      async () => {
        for (const id of ids) {
          const members = await listMembers(tc!.address(id));
          expect(members.map((m) => m.node?.id).sort()).toEqual(ids);
          for (const m of members) {
            if (m.node?.id === id) continue;
            if (!m.alive || m.heartbeat === 0n || m.generation === 0n)
              throw new Error(`${id} has not heard from ${m.node?.id}`);
          }
        }
      },
      20_000,
      100,
    );
    console.log(
      `gossip convergence (5 nodes, 1 s gossip): every node heard from every other within ${Date.now() - started} ms of all serving`,
    );
  }, 60_000);

  it('SIGSTOP: detected, writes go to fallbacks (not under strict quorum), hints reach the node after SIGCONT, nothing acknowledged is lost', async () => {
    tc = await startTestCluster(5);
    const cluster = tc;
    const ring = ringOf(await cluster.client('n1').ring());
    const keys = keysFor(ring, 'n3', 30, 'paused');
    const others = ids.filter((id) => id !== 'n3');
    await waitAlive(cluster, others, 'n3', true, 20_000);

    process.kill(cluster.cluster.node('n3').pid, 'SIGSTOP');
    const detectedMs = await waitAlive(cluster, others, 'n3', false, 30_000);
    console.log(
      `failure detection: all 4 peers saw the SIGSTOPped node down ${detectedMs} ms after SIGSTOP (1 s gossip, phi threshold 8)`,
    );

    for (const [i, key] of keys.entries())
      await putUnlessUnapplied(cluster, others[i % others.length]!, key, `v-${key}`, 3);
    const strict = await statusOf(
      cluster.client('n1').put(keys[0]!, 'strict', { w: 3, strict: true }),
    );
    expect(strict.code).toBe(status.UNAVAILABLE);
    expect(strict.details).toMatch(/W=3 \(only 2 replicas available/);
    const dataDirs = others.map((id) => cluster.cluster.node(id).dataDir);
    expect(totalHints(dataDirs, 'n3')).toBeGreaterThanOrEqual(keys.length);

    const resumedAt = Date.now();
    process.kill(cluster.cluster.node('n3').pid, 'SIGCONT');
    const seenMs = await waitAlive(cluster, others, 'n3', true, 30_000);
    await eventually(
      () =>
        totalHints(dataDirs, 'n3') === 0
          ? Promise.resolve()
          : Promise.reject(new Error('hints pending')),
      30_000,
      100,
    );
    console.log(
      `recovery: seen alive by all peers ${seenMs} ms after SIGCONT; every hint delivered and deleted ${Date.now() - resumedAt} ms after SIGCONT`,
    );

    for (const id of others) await cluster.kill(id);
    for (const key of keys) {
      expect(siblingValues(await cluster.client('n3').get(key, { r: 1 })), key).toEqual([
        `v-${key}`,
      ]);
    }
  }, 120_000);
});
