import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { dueOperations, runFixedRate, type FixedRateOptions } from './fixed-rate.js';
import { InsertSequence, type Driver } from './harness.js';
import { workloads } from './workload.js';

/** A driver whose every call waits for `gate` (resolved at once unless given), failing every nth. */
function slowDriver(gate: () => Promise<void>, failEvery = 0): Driver & { calls: number } {
  const d = {
    calls: 0,
    async call(): Promise<void> {
      const n = ++d.calls;
      await gate();
      if (failEvery > 0 && n % failEvery === 0)
        throw Object.assign(new Error('down'), { code: 14 });
    },
    read: () => d.call(),
    update: () => d.call(),
    insert: () => d.call(),
    close: () => Promise.resolve(),
  };
  return d;
}

function options(driver: Driver, over: Partial<FixedRateOptions> = {}): FixedRateOptions {
  return {
    driver,
    workload: workloads.A,
    distribution: 'uniform',
    records: 100,
    inserts: new InsertSequence(100),
    valueBytes: 10,
    ratePerSecond: 1000,
    durationMs: 200,
    seed: 1,
    ...over,
  };
}

describe('dueOperations', () => {
  it('counts the operations whose scheduled start has come, the first at 0', () => {
    expect(dueOperations(-1, 500)).toBe(0);
    expect(dueOperations(0, 500)).toBe(1);
    expect(dueOperations(1.99, 500)).toBe(1);
    expect(dueOperations(2, 500)).toBe(2);
    expect(dueOperations(1000, 500)).toBe(501);
  });
});

describe('runFixedRate', () => {
  it('sends at the rate asked for, not faster, and counts every answer', async () => {
    const driver = slowDriver(() => Promise.resolve());
    const r = await runFixedRate(options(driver));
    // 1,000/s for 200 ms: at most the 200 due before the end; a slow tick only delays a burst.
    expect(r.operations).toBeLessThanOrEqual(200);
    expect(r.operations).toBeGreaterThanOrEqual(150);
    expect(r.ok).toBe(r.operations);
    expect(driver.calls).toBe(r.operations);
    expect(r.ratePerSecond).toBe(1000);
    expect(r.byOperation.read?.count).toBeGreaterThan(0);
    expect(r.byOperation.update?.count).toBeGreaterThan(0);
  });

  it('keeps sending while the target stalls, and counts the stall in the latency (no coordinated omission)', async () => {
    const stallUntilMs = performance.now() + 100;
    const driver = slowDriver(() => sleep(Math.max(0, stallUntilMs - performance.now())));
    const r = await runFixedRate(options(driver, { durationMs: 150 }));
    // A closed loop of one would have sent one operation in the stall; the schedule sent ~100.
    expect(r.operations).toBeGreaterThan(80);
    expect(r.latency.count).toBe(r.operations);
    // The first operation was scheduled at 0 and answered after the 100 ms stall.
    expect(r.latency.maxMs).toBeGreaterThanOrEqual(95);
    expect(r.latency.p50Ms).toBeLessThan(r.latency.maxMs);
  });

  it('ends early once `until` says so', async () => {
    const t0 = performance.now();
    const r = await runFixedRate(
      options(
        slowDriver(() => Promise.resolve()),
        {
          durationMs: 10_000,
          until: () => performance.now() - t0 > 50,
        },
      ),
    );
    expect(r.durationMs).toBeLessThan(1_000);
    expect(r.operations).toBeGreaterThan(0);
  });

  it('counts failures by status and keeps them out of the latency', async () => {
    const r = await runFixedRate(options(slowDriver(() => Promise.resolve(), 4)));
    expect(r.errors).toBe(Math.floor(r.operations / 4));
    expect(r.errorsByStatus).toEqual({ UNAVAILABLE: r.errors });
    expect(r.latency.count).toBe(r.ok);
  });

  it('refuses a rate outside its bound', async () => {
    await expect(
      runFixedRate(
        options(
          slowDriver(() => Promise.resolve()),
          { ratePerSecond: 0 },
        ),
      ),
    ).rejects.toThrow(RangeError);
  });
});
