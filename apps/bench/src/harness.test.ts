import { describe, expect, it } from 'vitest';
import { InsertSequence, loadRecords, runPhase, type Driver } from './harness.js';
import { workloads } from './workload.js';

/** An in-memory driver that records what it was asked, and fails where told to. */
function fakeDriver(
  failEvery = 0,
  failCode = 14,
): Driver & { reads: string[]; updates: string[]; inserts: string[]; calls: number } {
  const d = {
    reads: [] as string[],
    updates: [] as string[],
    inserts: [] as string[],
    calls: 0,
    async step(list: string[], key: Buffer): Promise<void> {
      const n = ++d.calls;
      await Promise.resolve();
      if (failEvery > 0 && n % failEvery === 0)
        throw Object.assign(new Error('down'), { code: failCode });
      list.push(key.toString());
    },
    read: (key: Buffer) => d.step(d.reads, key),
    update: (key: Buffer) => d.step(d.updates, key),
    insert: (key: Buffer) => d.step(d.inserts, key),
    close: () => Promise.resolve(),
  };
  return d;
}

const recordNumber = (key: string): number => Number(key.slice('user'.length));

describe('runPhase', () => {
  it('stops after exactly the operation count, reading and updating only loaded records', async () => {
    const driver = fakeDriver();
    const result = await runPhase({
      driver,
      workload: workloads.A,
      distribution: 'zipfian',
      records: 500,
      inserts: new InsertSequence(500),
      valueBytes: 10,
      concurrency: 8,
      stop: { operations: 2_000 },
      seed: 1,
    });
    expect(result.operations).toBe(2_000);
    expect(result.ok).toBe(2_000);
    expect(driver.reads.length + driver.updates.length).toBe(2_000);
    expect(driver.inserts).toHaveLength(0);
    expect(driver.reads.length).toBeGreaterThan(800);
    expect(driver.updates.length).toBeGreaterThan(800);
    for (const k of [...driver.reads, ...driver.updates]) expect(recordNumber(k)).toBeLessThan(500);
    expect(result.latency.count).toBe(2_000);
    expect(result.byOperation.read?.count).toBe(driver.reads.length);
    expect(result.byOperation.update?.count).toBe(driver.updates.length);
  });

  it('inserts fresh records after the loaded ones, never the same key twice, across phases', async () => {
    const driver = fakeDriver();
    const inserts = new InsertSequence(100);
    await runPhase({
      driver,
      workload: workloads.W,
      distribution: 'uniform',
      records: 100,
      inserts,
      valueBytes: 10,
      concurrency: 4,
      stop: { operations: 300 },
      seed: 2,
    });
    await runPhase({
      driver,
      workload: workloads.W,
      distribution: 'uniform',
      records: 100,
      inserts,
      valueBytes: 10,
      concurrency: 4,
      stop: { operations: 200 },
      seed: 3,
    });
    const numbers = driver.inserts.map(recordNumber);
    expect(new Set(numbers).size).toBe(500);
    expect(Math.min(...numbers)).toBe(100);
    expect(Math.max(...numbers)).toBe(599);
    expect(inserts.issued).toBe(600);
  });

  it('counts failures by gRPC status name and keeps them out of the latency histogram', async () => {
    const driver = fakeDriver(4, 4);
    const result = await runPhase({
      driver,
      workload: workloads.C,
      distribution: 'uniform',
      records: 10,
      inserts: new InsertSequence(10),
      valueBytes: 10,
      concurrency: 2,
      stop: { operations: 400 },
      seed: 4,
    });
    expect(result.errors).toBe(100);
    expect(result.ok).toBe(300);
    expect(result.errorsByStatus).toEqual({ DEADLINE_EXCEEDED: 100 });
    expect(result.latency.count).toBe(300);
  });

  it('runs for a duration when no operation count is given', async () => {
    const driver = fakeDriver();
    const result = await runPhase({
      driver,
      workload: workloads.B,
      distribution: 'zipfian',
      records: 50,
      inserts: new InsertSequence(50),
      valueBytes: 10,
      concurrency: 2,
      stop: { durationMs: 50 },
      seed: 5,
    });
    expect(result.ok).toBeGreaterThan(0);
    expect(result.durationMs).toBeGreaterThanOrEqual(50);
  });

  it('refuses a concurrency outside its bound', async () => {
    await expect(
      runPhase({
        driver: fakeDriver(),
        workload: workloads.A,
        distribution: 'uniform',
        records: 1,
        inserts: new InsertSequence(1),
        valueBytes: 1,
        concurrency: 0,
        stop: { operations: 1 },
        seed: 1,
      }),
    ).rejects.toThrow(RangeError);
  });
});

describe('loadRecords', () => {
  it('inserts every record 0..n-1 exactly once and retries a failed insert', async () => {
    const driver = fakeDriver(7);
    const loaded = await loadRecords(driver, 300, 10, 16, 1);
    expect(new Set(driver.inserts).size).toBe(300);
    expect(driver.inserts).toHaveLength(300);
    expect(loaded.retries).toBeGreaterThan(0);
  });

  it('gives up after the attempt bound and says which record failed', async () => {
    const driver = fakeDriver(1);
    await expect(loadRecords(driver, 5, 10, 1, 1, undefined, 3)).rejects.toThrow(
      /loading record 0 failed 3 times/,
    );
    expect(driver.calls).toBe(3);
  });
});
