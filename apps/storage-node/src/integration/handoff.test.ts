import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  putUnlessUnapplied,
  startTestCluster,
  type TestCluster,
} from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { hintsHeld, totalHints } from '../test-support/hints.js';
import { keysFor, ringOf } from '../test-support/keys.js';
import { listMembers, siblingValues } from '../test-support/kv-client.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const others = ids.filter((id) => id !== 'n3');

async function waitSeenDown(tc: TestCluster, target: string): Promise<void> {
  await eventually(
    async () => {
      for (const id of ids.filter((i) => i !== target)) {
        const member = (await listMembers(tc.address(id))).find((m) => m.node?.id === target);
        if (member?.alive !== false) throw new Error(`${id} still sees ${target} alive`);
      }
    },
    30_000,
    100,
  );
}

describe('hinted handoff, 5 nodes, N=3', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('keeps hints through a kill -9 of the fallback holding them, and still delivers them', async () => {
    tc = await startTestCluster(5);
    const cluster = tc;
    const keys = keysFor(ringOf(await cluster.client('n1').ring()), 'n3', 20, 'durable');
    await cluster.kill('n3');
    await waitSeenDown(cluster, 'n3');
    for (const [i, key] of keys.entries())
      await putUnlessUnapplied(cluster, others[i % others.length]!, key, `v-${key}`, 3);

    const held = others.map((id) => ({
      id,
      hints: hintsHeld(cluster.cluster.node(id).dataDir).get('n3') ?? 0,
    }));
    const fallback = held.reduce((a, b) => (b.hints > a.hints ? b : a));
    expect(fallback.hints).toBeGreaterThan(0);
    await cluster.kill(fallback.id);
    await cluster.restart(fallback.id);
    expect(hintsHeld(cluster.cluster.node(fallback.id).dataDir).get('n3')).toBe(fallback.hints);

    await cluster.restart('n3');
    const dataDirs = others.map((id) => cluster.cluster.node(id).dataDir);
    await eventually(
      () =>
        totalHints(dataDirs, 'n3') === 0
          ? Promise.resolve()
          : Promise.reject(new Error('hints pending')),
      30_000,
      100,
    );
    for (const id of others) await cluster.kill(id);
    for (const key of keys) {
      expect(siblingValues(await cluster.client('n3').get(key, { r: 1 })), key).toEqual([
        `v-${key}`,
      ]);
    }
  }, 120_000);

  it('bounds hints by count and by age while the replica stays down, counting and logging what it drops', async () => {
    tc = await startTestCluster(5, ['--hint-age-max-ms', '3000', '--hints-per-target-max', '5']);
    const cluster = tc;
    const keys = keysFor(ringOf(await cluster.client('n1').ring()), 'n3', 40, 'bounded');
    await cluster.kill('n3');
    await waitSeenDown(cluster, 'n3');
    for (const [i, key] of keys.entries())
      await putUnlessUnapplied(cluster, others[i % others.length]!, key, `v-${key}`, 3);
    const dataDirs = others.map((id) => cluster.cluster.node(id).dataDir);
    for (const dir of dataDirs) expect(hintsHeld(dir).get('n3') ?? 0).toBeLessThanOrEqual(5);
    expect(totalHints(dataDirs, 'n3')).toBeGreaterThan(0);

    await eventually(
      () =>
        totalHints(dataDirs, 'n3') === 0
          ? Promise.resolve()
          : Promise.reject(new Error('hints not yet aged out')),
      20_000,
      200,
    );
    const logs = others
      .map((id) => readFileSync(cluster.cluster.node(id).logFile, 'utf8'))
      .join('\n');
    expect(logs).toMatch(/"reason":"count".*hints dropped/);
    expect(logs).toMatch(/"reason":"age".*hints dropped/);

    // Nothing crashed: every surviving node still serves, and the returning node starts cleanly.
    for (const id of others)
      expect(siblingValues(await cluster.client(id).get(keys[0]!))).toEqual([`v-${keys[0]!}`]);
    await cluster.restart('n3');
    expect(totalHints(dataDirs, 'n3')).toBe(0);
  }, 120_000);
});
