// BatchGet and BatchPut on a real 3-node cluster: through the SDK (getMany, putMany: grouped per
// node, one result per item) and raw (limits, bad items refused one by one).
import { Metadata, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { connect, type Client } from '@ringstore/client';
import { KVClient, type BatchGetRequest, type BatchGetResponse } from '@ringstore/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';

const callDeadlineMs = 5_000;

function batchGetRaw(address: string, req: BatchGetRequest): Promise<BatchGetResponse> {
  const kv = new KVClient(address, credentials.createInsecure());
  return new Promise<BatchGetResponse>((resolve, reject) => {
    kv.batchGet(req, new Metadata(), { deadline: Date.now() + callDeadlineMs }, (e, res) => {
      kv.close();
      if (e !== null) reject(e);
      else resolve(res);
    });
  });
}

const texts = (siblings: readonly { value: Buffer }[]) => siblings.map((s) => s.value.toString());

describe('batch operations, 3 nodes', () => {
  let tc: TestCluster;
  let client: Client;
  beforeAll(async () => {
    tc = await startTestCluster(3);
    client = await connect({ seeds: [tc.address('n1')] });
  }, 60_000);
  afterAll(async () => {
    client?.close();
    await tc?.stop();
  }, 30_000);

  it('putMany then getMany: every item in order, in few calls, with its own result', async () => {
    const keys = Array.from({ length: 60 }, (_, i) => `batch-${i}`);
    const before = client.stats().requests;
    const written = await client.putMany(keys.map((key, i) => ({ key, value: `v${i}` })));
    expect(written.every((r) => r.ok)).toBe(true);
    // 60 writes at 25 per call, grouped by first replica over 3 nodes: 3 to 5 calls, not 60.
    const putCalls = client.stats().requests - before;
    expect(putCalls).toBeGreaterThanOrEqual(3);
    expect(putCalls).toBeLessThanOrEqual(5);
    const read = await client.getMany([...keys, 'batch-never-written']);
    expect(client.stats().requests - before - putCalls).toBeLessThanOrEqual(3);
    expect(read).toHaveLength(61);
    read.slice(0, 60).forEach((r, i) => {
      expect(r.ok && texts(r.value.siblings)).toEqual([`v${i}`]);
    });
    const missing = read[60];
    expect(missing?.ok && [missing.value.siblings, missing.value.found]).toEqual([[], false]);
  });

  it('reports siblings per item, deletes by context, and fails bad items alone', async () => {
    await client.put('batch-twice', 'x');
    await client.put('batch-twice', 'y'); // no context: a concurrent sibling
    const [twice, empty, repeat] = await client.getMany(['batch-twice', '', 'batch-twice']);
    expect(twice?.ok && texts(twice.value.siblings).sort()).toEqual(['x', 'y']);
    expect(!empty?.ok && empty?.error.code).toBe(status.INVALID_ARGUMENT);
    expect(!repeat?.ok && repeat?.error.details).toMatch(/repeats the key of item 0/);
    const context = twice?.ok ? twice.value.context : Buffer.alloc(0);
    const results = await client.putMany([
      { key: 'batch-twice', delete: true, context },
      { key: 'batch-new', value: 'n' },
      { key: 'batch-bad-context', value: 'z', context: Buffer.from('not a context') },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);
    expect(results[0]).toEqual({ ok: true, value: undefined });
    const bad = results[2];
    expect(!bad?.ok && bad?.error).toMatchObject({
      code: status.INVALID_ARGUMENT,
      notApplied: true,
    });
    const after = await client.getMany(['batch-twice', 'batch-new', 'batch-bad-context']);
    expect(after.map((r) => r.ok && texts(r.value.siblings.filter((s) => !s.deleted)))).toEqual([
      [],
      ['n'],
      [],
    ]);
  });

  it('refuses a batch over its limit whole (INVALID_ARGUMENT) and an item with a bad quorum alone', async () => {
    const items = Array.from({ length: 101 }, (_, i) => ({
      key: Buffer.from(`raw-${i}`),
      r: 0,
      strictQuorum: false,
    }));
    const over = await batchGetRaw(tc.address('n2'), { items }).catch((e: ServiceError) => e);
    expect((over as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((over as ServiceError).details).toBe('BatchGet takes 1 to 100 items, got 101');
    const res = await batchGetRaw(tc.address('n2'), {
      items: [items[0]!, { ...items[1]!, r: 4 }],
    });
    expect(res.results.map((r) => r.result?.$case)).toEqual(['ok', 'error']);
    const err = res.results[1]?.result;
    expect(err?.$case === 'error' && err.value.code).toBe(status.INVALID_ARGUMENT);
  });
});
