import { describe, expect, it } from 'vitest';
import {
  chooseOperation,
  fnv1a64,
  keyChooser,
  recordKey,
  seededRandom,
  workloadNames,
  workloads,
  zipfianChooser,
  zipfianZeta,
  zipfianZetasHeld,
} from './workload.js';

function counts(draw: () => number, n: number): Map<number, number> {
  const seen = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const v = draw();
    seen.set(v, (seen.get(v) ?? 0) + 1);
  }
  return seen;
}

describe('workloads', () => {
  it('define proportions that sum to 1', () => {
    for (const name of workloadNames) {
      const w = workloads[name];
      expect(w.read + w.update + w.insert).toBeCloseTo(1, 12);
    }
  });

  it('draw operations in the workload proportions (A about half reads, C only reads, W only inserts)', () => {
    const random = seededRandom(7);
    const tally = (name: 'A' | 'B' | 'C' | 'W'): Record<string, number> => {
      const t: Record<string, number> = { read: 0, update: 0, insert: 0 };
      for (let i = 0; i < 20_000; i++) t[chooseOperation(workloads[name], random)]! += 1;
      return t;
    };
    const a = tally('A');
    expect(a['read']! / 20_000).toBeGreaterThan(0.48);
    expect(a['read']! / 20_000).toBeLessThan(0.52);
    expect(a['insert']).toBe(0);
    const b = tally('B');
    expect(b['update']! / 20_000).toBeGreaterThan(0.04);
    expect(b['update']! / 20_000).toBeLessThan(0.06);
    expect(tally('C')).toEqual({ read: 20_000, update: 0, insert: 0 });
    expect(tally('W')).toEqual({ read: 0, update: 0, insert: 20_000 });
  });
});

describe('seededRandom', () => {
  it('replays the same sequence from the same seed and differs across seeds', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 5 }, a);
    expect(Array.from({ length: 5 }, b)).toEqual(xs);
    expect(Array.from({ length: 5 }, c)).not.toEqual(xs);
    for (const x of xs) {
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
  });
});

describe('key choosers', () => {
  it('zipfian: rank 0 is the most popular and the top 1% of 10,000 items draw far more than 1%', () => {
    const draw = zipfianChooser(10_000, seededRandom(1));
    const seen = counts(draw, 100_000);
    const top = [...seen.entries()].sort((x, y) => y[1] - x[1]);
    expect(top[0]![0]).toBe(0);
    const top1pct = [...seen.entries()]
      .filter(([rank]) => rank < 100)
      .reduce((s, [, n]) => s + n, 0);
    expect(top1pct / 100_000).toBeGreaterThan(0.4);
    for (const rank of seen.keys()) {
      expect(rank).toBeGreaterThanOrEqual(0);
      expect(rank).toBeLessThan(10_000);
    }
  });

  it('uniform: no key is hot (the most drawn of 1,000 items gets under 0.3% of 100,000 draws)', () => {
    const seen = counts(keyChooser('uniform', 1_000, seededRandom(2)), 100_000);
    expect(Math.max(...seen.values()) / 100_000).toBeLessThan(0.003);
    expect(seen.size).toBe(1_000);
  });

  it('scrambled zipfian: hot records are spread, not the lowest numbers, and stay in range', () => {
    const seen = counts(keyChooser('zipfian', 10_000, seededRandom(3)), 50_000);
    const hottest = [...seen.entries()].sort((x, y) => y[1] - x[1])[0]![0];
    expect(hottest).toBe(Number(fnv1a64(0) % 10_000n));
    for (const i of seen.keys()) expect(i).toBeLessThan(10_000);
  });

  it('sums zeta once per item count in a process, however many workers build a chooser', () => {
    let direct = 0;
    for (let i = 1; i <= 12_345; i++) direct += 1 / Math.pow(i, 0.99);
    const held = zipfianZetasHeld();
    const draws = Array.from({ length: 32 }, (_, w) => zipfianChooser(12_345, seededRandom(w)));
    expect(zipfianZetasHeld()).toBe(held + 1);
    expect(zipfianZeta(12_345)).toBe(direct);
    // Choosers sharing the sum draw exactly what one built alone draws.
    for (let w = 0; w < 32; w += 7) {
      const alone = zipfianChooser(12_345, seededRandom(w));
      for (let k = 0; k < 50; k++) expect(draws[w]!()).toBe(alone());
    }
  });

  it('refuses item counts it cannot serve', () => {
    expect(() => zipfianChooser(0, seededRandom(1))).toThrow(RangeError);
    expect(() => keyChooser('uniform', 0, seededRandom(1))).toThrow(RangeError);
  });

  it('names records as YCSB does', () => {
    expect(recordKey(12).toString()).toBe('user12');
  });

  it('fnv1a64 matches the reference value of the empty-prefixed digit string "0"', () => {
    // FNV-1a 64 of "0" (0x30): (offset ^ 0x30) * prime mod 2^64.
    expect(fnv1a64(0)).toBe(((0xcbf29ce484222325n ^ 0x30n) * 0x100000001b3n) & 0xffffffffffffffffn);
  });
});
