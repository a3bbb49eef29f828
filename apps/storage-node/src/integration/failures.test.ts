import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { Applied } from '@ringstore/proto';
import { listMembers, siblingValues, statusOf } from '../test-support/kv-client.js';

describe('node failures in a 3-node cluster', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('keeps W=2 puts and R=2 gets working with one node killed, refuses W=2 with two down, and loses no acknowledged write', async () => {
    tc = await startTestCluster(3);
    const acked = new Map<string, string>();
    const putAcked = async (via: string, key: string, value: string): Promise<void> => {
      try {
        await tc!.client(via).put(key, value, { w: 2 });
      } catch (e) {
        throw new Error(`put ${key} via ${via}: ${e instanceof Error ? e.message : String(e)}`);
      }
      acked.set(key, value);
    };
    for (let i = 0; i < 20; i++) await putAcked('n1', `before-${i}`, `v${i}`);

    await tc.kill('n3');
    for (let i = 0; i < 20; i++)
      await putAcked(i % 2 === 0 ? 'n1' : 'n2', `one-down-${i}`, `w${i}`);
    for (const [key, value] of acked) {
      expect(siblingValues(await tc.client('n2').get(key, { r: 2 }))).toEqual([value]);
    }

    await tc.kill('n2');
    const failure = await statusOf(tc.client('n1').put('two-down', 'x', { w: 2 }));
    expect(failure.code).toBe(status.UNAVAILABLE);
    expect(failure.details).toMatch(/acked 1 of W=2/);
    const readFailure = await statusOf(tc.client('n1').get('before-0', { r: 2 }));
    expect(readFailure.code).toBe(status.UNAVAILABLE);
    // W=1 and R=1 still work on the survivor.
    await tc.client('n1').put('survivor', 'alone', { w: 1 });
    expect(siblingValues(await tc.client('n1').get('survivor', { r: 1 }))).toEqual(['alone']);

    await tc.restart('n2');
    await tc.restart('n3');
    for (const [key, value] of acked) {
      const via = ['n1', 'n2', 'n3'][key.length % 3]!;
      const res = await eventually(() => tc!.client(via).get(key, { r: 2 }));
      expect(siblingValues(res), key).toEqual([value]);
    }
    // Written with W=1 while alone: only n1 holds it, so W+R>N needs R=3 to be sure to see it.
    expect(siblingValues(await tc.client('n2').get('survivor', { r: 3 }))).toEqual(['alone']);
  }, 90_000);

  it('says in the ringstore-failure-bin trailer whether a failed write may have been applied', async () => {
    tc = await startTestCluster(3);
    const n1 = tc.client('n1');
    const bad = await statusOf(n1.put('', 'x'));
    expect(bad.code).toBe(status.INVALID_ARGUMENT);
    expect(bad.failure).toMatchObject({ applied: Applied.APPLIED_NONE, tried: 0 });

    await tc.kill('n3');
    // Not yet detected down: n1 writes locally, sends to n3 and misses W=3.
    const sent = await statusOf(n1.put('sent', 'x', { w: 3 }));
    expect(sent.code).toBe(status.UNAVAILABLE);
    // The put answers as soon as W is out of reach: n3's failure may come before n2's ack.
    expect(sent.failure).toMatchObject({ applied: Applied.APPLIED_MAYBE, needed: 3, tried: 3 });
    expect([1, 2]).toContain(sent.failure?.acked);

    await eventually(async () => {
      const n3 = (await listMembers(tc!.address('n1'))).find((m) => m.node?.id === 'n3');
      if (n3?.alive !== false) throw new Error('n1 still counts n3 up');
    }, 20_000);
    // Detected down: a strict W=3 is refused before anything is written.
    const refused = await statusOf(n1.put('refused', 'x', { w: 3, strict: true }));
    expect(refused.code).toBe(status.UNAVAILABLE);
    expect(refused.failure).toEqual({
      applied: Applied.APPLIED_NONE,
      acked: 0,
      needed: 3,
      tried: 0,
    });
    expect((await n1.get('refused', { r: 2 })).siblings).toEqual([]);
    expect(siblingValues(await n1.get('sent', { r: 2 }))).toEqual(['x']);
  }, 60_000);

  it('keeps every acknowledged write when all three nodes are killed -9 in the middle of a write load', async () => {
    tc = await startTestCluster(3);
    const cluster = tc;
    const acked = new Map<string, string>();
    let stopped = false;
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 100_000 && !stopped; i++) {
        const key = `load-${w}-${i}`;
        try {
          await cluster
            .client(`n${(i % 3) + 1}`)
            .put(key, `value-${w}-${i}`, { w: 2, deadlineMs: 2_000 });
          acked.set(key, `value-${w}-${i}`);
        } catch {
          return; // the cluster went down under us: only acknowledged writes count
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    await eventually(
      () =>
        acked.size >= 200
          ? Promise.resolve()
          : Promise.reject(new Error(`only ${acked.size} writes so far`)),
      30_000,
      50,
    );
    await Promise.all(['n1', 'n2', 'n3'].map((id) => cluster.kill(id)));
    stopped = true;
    await Promise.all(writers);
    expect(acked.size).toBeGreaterThanOrEqual(200);

    await Promise.all(['n1', 'n2', 'n3'].map((id) => cluster.restart(id)));
    let checked = 0;
    for (const [key, value] of acked) {
      const res = await eventually(() =>
        cluster.client(`n${(checked % 3) + 1}`).get(key, { r: 2 }),
      );
      expect(siblingValues(res), key).toEqual([value]);
      checked++;
    }
    expect(checked).toBe(acked.size);
  }, 120_000);
});
