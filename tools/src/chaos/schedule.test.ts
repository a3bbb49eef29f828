import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRng } from './prng.js';
import {
  describeFault,
  generateSchedule,
  nemesisKinds,
  partitionOf,
  type ScheduleOptions,
} from './schedule.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const base: ScheduleOptions = {
  seed: 7,
  durationMs: 600_000,
  nodeIds: ids,
  kinds: [...nemesisKinds],
  order: 'random',
  faultMs: 10_000,
  quietMs: 10_000,
};

describe('generateSchedule', () => {
  it('is the same for the same seed (a run replays) and differs for another seed', () => {
    expect(generateSchedule(base)).toEqual(generateSchedule(base));
    expect(generateSchedule({ ...base, seed: 8 })).not.toEqual(generateSchedule(base));
  });

  it('keeps windows in order, apart, and healed a quiet time before the end; kills and pauses only a minority', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 0xffff_ffff }),
        fc.constantFrom<'cycle' | 'random'>('cycle', 'random'),
        (seed, order) => {
          const windows = generateSchedule({ ...base, seed, order, durationMs: 120_000 });
          expect(windows.length).toBeGreaterThan(0);
          let lastEnd = 0;
          for (const w of windows) {
            expect(w.startMs).toBeGreaterThanOrEqual(lastEnd + (lastEnd === 0 ? 0 : 5_000));
            expect(w.endMs).toBeGreaterThan(w.startMs);
            expect(w.endMs + base.quietMs).toBeLessThanOrEqual(120_000);
            if (w.fault.kind === 'kill' || w.fault.kind === 'pause')
              expect(w.fault.nodes.length).toBeLessThanOrEqual(2);
            lastEnd = w.endMs;
          }
        },
      ),
      { seed: 11, numRuns: 100 },
    );
  });

  it('cycles through the nemeses in order with fixed lengths (the CI smoke: partition, kill, pause)', () => {
    const windows = generateSchedule({
      ...base,
      kinds: ['partition', 'kill', 'pause'],
      order: 'cycle',
      durationMs: 62_000,
      faultMs: 10_000,
      quietMs: 8_000,
    });
    expect(windows.map((w) => [w.fault.kind, w.startMs, w.endMs])).toEqual([
      ['partition', 8_000, 18_000],
      ['kill', 26_000, 36_000],
      ['pause', 44_000, 54_000],
    ]);
  });

  it('with endOnFault lets the last fault heal right at the end instead of a quiet time before it', () => {
    const cycle = {
      ...base,
      kinds: ['partition', 'kill', 'pause'] as const,
      order: 'cycle' as const,
      durationMs: 54_000,
      faultMs: 10_000,
      quietMs: 8_000,
    };
    expect(generateSchedule(cycle).map((w) => w.endMs)).toEqual([18_000, 36_000]);
    expect(generateSchedule({ ...cycle, endOnFault: true }).map((w) => w.endMs)).toEqual([
      18_000, 36_000, 54_000,
    ]);
  });

  it('refuses an empty nemesis list and too few nodes', () => {
    expect(() => generateSchedule({ ...base, kinds: [] })).toThrow(/at least one nemesis/);
    expect(() => generateSchedule({ ...base, nodeIds: ['n1', 'n2'] })).toThrow(/at least 3 nodes/);
  });
});

describe('partitionOf', () => {
  const rng = (): ReturnType<typeof createRng> => createRng(3);
  const edges = (drops: readonly { from: string; to: string }[]): Set<string> =>
    new Set(drops.map((d) => `${d.from}>${d.to}`));

  it('isolate cuts one node from every other, both ways', () => {
    const fault = partitionOf('isolate', ids, rng());
    if (fault.kind !== 'partition') throw new Error('a partition');
    const alone = fault.groups[0]?.[0] as string;
    const expected = ids
      .filter((id) => id !== alone)
      .flatMap((id) => [`${id}>${alone}`, `${alone}>${id}`]);
    expect(edges(fault.drops)).toEqual(new Set(expected));
  });

  it('majority splits 2 | 3 with every cross edge cut both ways', () => {
    const fault = partitionOf('majority', ids, rng());
    if (fault.kind !== 'partition') throw new Error('a partition');
    expect(fault.groups.map((g) => g.length)).toEqual([2, 3]);
    expect(fault.drops).toHaveLength(2 * 3 * 2);
  });

  it('bridge leaves the bridge node connected to both halves, which cannot talk', () => {
    const fault = partitionOf('bridge', ids, rng());
    if (fault.kind !== 'partition') throw new Error('a partition');
    const bridge = fault.groups[1]?.[0] as string;
    expect(fault.drops.some((d) => d.from === bridge || d.to === bridge)).toBe(false);
    expect(fault.drops).toHaveLength(2 * 2 * 2);
  });

  it('one-way drops only what reaches the target', () => {
    const fault = partitionOf('one-way', ids, rng());
    if (fault.kind !== 'partition') throw new Error('a partition');
    const target = fault.groups[0]?.[0] as string;
    expect(fault.drops).toHaveLength(4);
    for (const d of fault.drops) expect(d.to).toBe(target);
    expect(describeFault(fault)).toBe(`partition one-way: ${target} hears nobody`);
  });
});
