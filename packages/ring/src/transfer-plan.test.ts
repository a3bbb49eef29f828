import { describe, expect, it } from 'vitest';
import { claim, transferPlan } from './index.js';
import { ownerOf } from './ring.js';
import { nodes } from './test-support/ring-checks.js';

describe('transferPlan', () => {
  it('is empty between a ring and itself', () => {
    const ring = claim(nodes(5), { partitionCount: 64, replicas: 3 });
    expect(transferPlan(ring, ring)).toEqual([]);
  });

  it('lists exactly the partitions whose owner changes, from the old owner to the new', () => {
    const before = claim(nodes(5), { partitionCount: 64, replicas: 3 });
    const after = claim(nodes(6), { partitionCount: 64, replicas: 3, previous: before });
    const plan = transferPlan(before, after);
    expect(plan.length).toBeGreaterThan(0);
    for (let p = 0; p < 64; p++) {
      const transfer = plan.find((t) => t.partition === p);
      if (ownerOf(before, p) === ownerOf(after, p)) expect(transfer).toBeUndefined();
      else
        expect(transfer).toEqual({ partition: p, from: ownerOf(before, p), to: ownerOf(after, p) });
    }
    expect(plan.map((t) => t.partition)).toEqual(
      [...plan.map((t) => t.partition)].sort((a, b) => a - b),
    );
    // Only the joiner receives partitions here.
    expect(new Set(plan.map((t) => t.to))).toEqual(new Set([nodes(6)[5]!.id]));
  });

  it('refuses rings of different sizes', () => {
    expect(() =>
      transferPlan(
        claim(nodes(2), { partitionCount: 64, replicas: 1 }),
        claim(nodes(2), { partitionCount: 128, replicas: 1 }),
      ),
    ).toThrow(/partition count is fixed/);
  });
});
