import { readFileSync } from 'node:fs';
import { status } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { eventually } from '../test-support/eventually.js';
import { siblingValues, statusOf } from '../test-support/kv-client.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('SIGTERM', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it('finishes in-flight requests, refuses new ones cleanly, and closes storage', async () => {
    // 300 puts in flight: above the default admission limit (256), which this test is not about.
    tc = await startTestCluster(3, ['--max-inflight-requests', '1024']);
    const cluster = tc;
    const n1 = cluster.client('n1');
    await n1.put('warm-up', 'x'); // the connection is up before the load starts
    const keys = Array.from({ length: 300 }, (_, i) => `inflight-${i}`);
    const outcomes = keys.map((key) => statusOf(n1.put(key, `v-${key}`, { w: 2 })));
    await new Promise((resolve) => setTimeout(resolve, 5));
    process.kill(cluster.cluster.node('n1').pid, 'SIGTERM');
    const results = await Promise.all(outcomes);

    // Every request either succeeded or was refused as UNAVAILABLE: none was cut off mid-way.
    const codes = new Set(results.map((r) => r.code));
    for (const code of codes) expect([-1, status.UNAVAILABLE]).toContain(code);
    const acked = keys.filter((_, i) => results[i]?.code === -1);
    expect(acked.length).toBeGreaterThan(0);

    // A second signal would exit at once: wait for the node to finish its own graceful stop.
    const pid = cluster.cluster.node('n1').pid;
    await eventually(
      () =>
        isAlive(pid) ? Promise.reject(new Error(`pid ${pid} still running`)) : Promise.resolve(),
      15_000,
      50,
    );
    const log = readFileSync(cluster.cluster.node('n1').logFile, 'utf8');
    expect(log).toMatch(/shutting down/);
    expect(log).toMatch(/"msg":"stopped"/);
    for (const key of acked) {
      expect(siblingValues(await cluster.client('n2').get(key, { r: 2 })), key).toEqual([
        `v-${key}`,
      ]);
    }
  }, 90_000);
});
