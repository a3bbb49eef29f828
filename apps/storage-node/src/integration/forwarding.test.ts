import { primaryReplicas, type Ring } from '@ringstore/ring';
import { partitionOf } from '@ringstore/ring';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { siblingValues } from '../test-support/kv-client.js';

describe('a 5-node cluster with N=3', () => {
  let tc: TestCluster;
  let ring: Ring;
  beforeAll(async () => {
    tc = await startTestCluster(5);
    const message = await tc.client('n1').ring();
    ring = {
      partitionCount: message.partitionCount,
      members: message.nodes.map((n) => ({ id: n.id, zone: n.zone })),
      owners: message.owners,
    };
  }, 60_000);
  afterAll(async () => {
    await tc?.stop();
  }, 30_000);

  /** A key whose three replicas do not include `nodeId`. */
  function keyNotOn(nodeId: string, prefix: string): { key: string; replicas: string[] } {
    for (let i = 0; i < 10_000; i++) {
      const key = `${prefix}-${i}`;
      const replicas = primaryReplicas(ring, partitionOf(Buffer.from(key), ring.partitionCount), 3);
      if (!replicas.includes(nodeId)) return { key, replicas };
    }
    throw new Error(`no key avoids ${nodeId}`);
  }

  it('forwards a put and a get from nodes that do not replicate the key to ones that do', async () => {
    const { key, replicas } = keyNotOn('n1', 'fwd');
    expect(replicas).toHaveLength(3);
    await tc.client('n1').put(key, 'forwarded', { w: 3 });
    // W=3 was met by the three replicas, so each of them answers an R=3 read with the value.
    for (const id of replicas) {
      expect(siblingValues(await tc.client(id).get(key, { r: 3 }))).toEqual(['forwarded']);
    }
    const outsiders = ['n1', 'n2', 'n3', 'n4', 'n5'].filter((id) => !replicas.includes(id));
    expect(outsiders).toHaveLength(2);
    for (const id of outsiders) {
      expect(siblingValues(await tc.client(id).get(key))).toEqual(['forwarded']);
    }
    const seen = await tc.client(outsiders[1]!).get(key);
    await tc.client(outsiders[1]!).delete(key, { context: seen.context });
    expect((await tc.client(replicas[0]!).get(key, { r: 3 })).siblings).toEqual([]);
  });
});
