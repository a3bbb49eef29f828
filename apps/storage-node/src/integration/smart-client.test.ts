import { connect, type Client } from '@ringstore/client';
import { partitionOf, primaryReplicas } from '@ringstore/ring';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { ringOf } from '../test-support/keys.js';
import { nodeStats } from '../test-support/kv-client.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];

async function forwardedTotal(tc: TestCluster): Promise<number> {
  const stats = await Promise.all(ids.map((id) => nodeStats(tc.address(id))));
  return stats.reduce((n, s) => n + Number(s.forwardedRequests), 0);
}

describe('the smart client against 5 nodes, N=3', () => {
  let tc: TestCluster;
  const clients: Client[] = [];
  beforeAll(async () => {
    tc = await startTestCluster(5);
  }, 60_000);
  afterEach(() => {
    for (const c of clients.splice(0)) c.close();
  });
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  it('zero-hop routing causes no forwarded request; any-node is forwarded about 1 - N/S of the time', async () => {
    const requests = 300;
    const counts: Record<string, number> = {};
    for (const routing of ['zero-hop', 'any-node'] as const) {
      const client = await connect({ seeds: [tc.address('n1')], routing });
      clients.push(client);
      const before = await forwardedTotal(tc);
      for (let i = 0; i < requests / 2; i++) {
        await client.put(`${routing}-${i}`, `v${i}`);
        await client.get(`${routing}-${i}`);
      }
      counts[routing] = (await forwardedTotal(tc)) - before;
    }
    console.log(
      `forwarded requests out of ${requests}: zero-hop ${counts['zero-hop']}, any-node ${counts['any-node']} (expected about ${(1 - 3 / 5) * requests})`,
    );
    expect(counts['zero-hop']).toBe(0);
    expect(counts['any-node']).toBeGreaterThan(0.25 * requests);
    expect(counts['any-node']).toBeLessThan(0.55 * requests);
  }, 60_000);

  it("still serves a key within its deadline after the key's first replica is killed", async () => {
    const client = await connect({ seeds: [tc.address('n2')] });
    clients.push(client);
    const ring = ringOf(await tc.client('n2').ring());
    const key = 'first-replica-dies';
    const [first] = primaryReplicas(ring, partitionOf(Buffer.from(key), ring.partitionCount), 3);
    await client.put(key, 'before', { w: 3 });
    await tc.kill(first!);
    const started = Date.now();
    const res = await client.get(key, { deadlineMs: 2_000 });
    expect(res.siblings.map((s) => s.value.toString())).toEqual(['before']);
    const put = await client.put(key, 'after', { context: res.context, deadlineMs: 2_000 });
    expect(put.context.length).toBeGreaterThan(0);
    expect(Date.now() - started).toBeLessThan(4_000);
    await tc.restart(first!);
  }, 60_000);
});
