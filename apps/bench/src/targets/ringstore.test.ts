import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, UnauthenticatedError } from '@ringstore/client';
import { startCluster, type Cluster } from '@ringstore/tools';
import { coalescingDriver } from '../coalesce.js';
import { InsertSequence, loadRecords, runPhase } from '../harness.js';
import { workloads, recordKey } from '../workload.js';
import { cpuPerOpUs } from '../run.js';
import { benchNodeArgs, nodeIds, ringstoreDriver, startRingstore } from './ringstore.js';

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

  it('with --batch, gathers concurrent operations into BatchGet/BatchPut calls that all succeed', async () => {
    const seeds = cluster.nodes.map((n) => n.address);
    const plain = await ringstoreDriver(seeds, 'zero-hop', 5_000);
    const sizes: number[] = [];
    const spied = {
      ...plain,
      readMany: (keys: readonly Buffer[]) => {
        sizes.push(keys.length);
        return plain.readMany!(keys);
      },
      writeMany: (items: Parameters<NonNullable<typeof plain.writeMany>>[0]) => {
        sizes.push(items.length);
        return plain.writeMany!(items);
      },
    };
    const driver = coalescingDriver(spied, 8);
    await loadRecords(driver, 40, 20, 16, 1);
    const result = await runPhase({
      driver,
      workload: workloads.A,
      distribution: 'uniform',
      records: 40,
      inserts: new InsertSequence(40),
      valueBytes: 20,
      concurrency: 16,
      stop: { operations: 400 },
      seed: 5,
    });
    await driver.close();
    expect(result.errors).toBe(0);
    const items = sizes.reduce((a, b) => a + b, 0);
    expect(items).toBeGreaterThanOrEqual(440); // the load's 40 and the phase's 400, all batched
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    expect(sizes.length).toBeLessThan(items / 2); // gathered: most calls carried several
    const client = await connect({ seeds });
    try {
      const keys = Array.from({ length: 40 }, (_, i) => recordKey(i));
      const got = await client.getMany(keys, { r: 3 });
      got.forEach((g, i) => expect(g.ok && g.value.found, `record ${i}`).toBe(true));
    } finally {
      client.close();
    }
  }, 60_000);
});

describe('the ringstore backends', () => {
  it('gives each node its metrics port and, secured, its certificate flags', () => {
    expect(nodeIds(3)).toEqual(['n1', 'n2', 'n3']);
    expect(benchNodeArgs('127.0.0.1:9100', [])).toEqual(['--metrics-listen', '127.0.0.1:9100']);
    expect(benchNodeArgs('127.0.0.1:9100', ['--cert-file', '/p/n1.pem'])).toEqual([
      ...['--metrics-listen', '127.0.0.1:9100', '--cert-file', '/p/n1.pem'],
    ]);
    expect(() => benchNodeArgs(undefined, [])).toThrow(/assertion/);
  });

  it('counts server CPU per operation only with both readings and some operations', () => {
    expect(cpuPerOpUs(1.5, 2.5, 1000)).toBe(1000);
    expect(cpuPerOpUs(undefined, 2.5, 1000)).toBeNull();
    expect(cpuPerOpUs(1, 2, 0)).toBeNull();
  });

  it('secured (ringstore-tls): the driver speaks TLS with a token, the CPU counter moves, and a plaintext client is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringstore-bench-tls-'));
    const backend = await startRingstore(
      { nodes: 3, deadlineMs: 5_000, valueBytes: 20, workDir: dir, records: 0 },
      true,
    );
    try {
      expect(backend.kind).toBe('ringstore-tls');
      const cpuBefore = await backend.cpuSeconds!();
      const driver = await backend.driver('ringstore-tls');
      await loadRecords(driver, 20, 20, 4, 1);
      await driver.close();
      expect(await backend.cpuSeconds!()).toBeGreaterThan(cpuBefore);
      const log = readFileSync(join(dir, 'ringstore', 'n1.log'), 'utf8');
      expect(log).toContain('--client-cert-auth');
      expect(log).not.toContain('--insecure');
      const address = /--listen (\S+)/.exec(log)?.[1];
      expect(address).toBeDefined();
      await expect(connect({ seeds: [address!], deadlineMs: 2_000 })).rejects.toThrow();
      const ca = readFileSync(join(dir, 'pki', 'ca.pem'));
      const cert = readFileSync(join(dir, 'pki', 'harness.pem'));
      const key = readFileSync(join(dir, 'pki', 'harness-key.pem'));
      await expect(
        connect({ seeds: [address!], deadlineMs: 2_000, tls: { ca, cert, key } }),
      ).rejects.toBeInstanceOf(UnauthenticatedError);
    } finally {
      await backend.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
