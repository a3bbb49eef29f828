import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '@ringstore/client';
import { startCluster, type Cluster } from '@ringstore/tools';
import { InsertSequence, loadRecords, runPhase } from '../harness.js';
import { workloads, recordKey } from '../workload.js';
import { ringstoreDriver } from './ringstore.js';

describe('the ringstore driver (real 3-node cluster)', () => {
  let dir: string;
  let cluster: Cluster;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-driver-'));
    cluster = await startCluster({
      nodes: 3,
      basePort: 0,
      dataDir: dir,
      extraArgs: ['--log-level', 'warn'],
    });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 30_000);

  it('sends each update with the context of the last read or write of its key, so updates supersede instead of piling up siblings', async () => {
    const seeds = cluster.nodes.map((n) => n.address);
    const contexts = new Map<string, Buffer>();
    const loader = await ringstoreDriver(seeds, 'zero-hop', 5_000, contexts);
    await loadRecords(loader, 5, 20, 1, 1);
    await loader.close();
    // A second driver (another target on the same backend) continues from the shared contexts.
    const driver = await ringstoreDriver(seeds, 'any-node', 5_000, contexts);
    const result = await runPhase({
      driver,
      workload: workloads.A,
      distribution: 'uniform',
      records: 5,
      inserts: new InsertSequence(5),
      valueBytes: 20,
      concurrency: 1,
      stop: { operations: 100 },
      seed: 9,
    });
    await driver.close();
    expect(result.errors).toBe(0);
    expect(result.byOperation.update?.count).toBeGreaterThan(20);
    const client = await connect({ seeds });
    try {
      for (let i = 0; i < 5; i++) {
        const got = await client.get(recordKey(i), { r: 3 });
        expect(got.siblings, `record ${i}`).toHaveLength(1);
      }
    } finally {
      client.close();
    }
  }, 60_000);
});
