import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TreeOptions } from './index.js';
import { MerkleTree, compareLevel, diff, diffWithStats, treeOptionsDefault } from './index.js';
import { exchange, keyBytes, treeFrom } from './test-support/trees.js';

const seed = 20240612;
const shapes: TreeOptions[] = [
  treeOptionsDefault,
  { segments: 2048, fanout: 32 },
  { segments: 16, fanout: 4 },
  { segments: 1, fanout: 2 },
];

// Two replicas: shared keys, plus keys one side changed, dropped or added. The segments of the
// touched keys are exactly the segments that must differ.
const replicasArbitrary = fc
  .record({
    options: fc.constantFrom(...shapes),
    keys: fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12 }), { maxLength: 300 }),
    touched: fc.array(fc.constantFrom('changed', 'dropped', 'added', 'same'), { maxLength: 300 }),
  })
  .map(({ options, keys, touched }) => {
    const a = new Map<string, string>();
    const b = new Map<string, string>();
    const touchedKeys: string[] = [];
    keys.forEach((key, i) => {
      const how = touched[i] ?? 'same';
      if (how !== 'added') a.set(key, `v1:${key}`);
      if (how === 'changed') b.set(key, `v2:${key}`);
      if (how === 'added' || how === 'same') b.set(key, `v1:${key}`);
      if (how !== 'same') touchedKeys.push(key);
    });
    return { options, a, b, touchedKeys };
  });

function expectedSegments(options: TreeOptions, keys: readonly string[]): number[] {
  const tree = MerkleTree.create(options);
  const segments = new Set(keys.map((key) => tree.segmentOf(keyBytes(key))));
  return [...segments].sort((x, y) => x - y);
}

describe('diff', () => {
  it('returns exactly the segments of the keys that differ, ascending', () => {
    fc.assert(
      fc.property(replicasArbitrary, ({ options, a, b, touchedKeys }) => {
        const treeA = treeFrom(a, options);
        const treeB = treeFrom(b, options);
        const expected = expectedSegments(options, touchedKeys);
        expect(diff(treeA, treeB)).toEqual(expected);
        expect(diff(treeB, treeA)).toEqual(expected);
      }),
      { seed, numRuns: 150 },
    );
  });

  it('compares only the root of equal trees', () => {
    const entries = new Map(Array.from({ length: 500 }, (_, i) => [`k${i}`, `v${i}`] as const));
    const result = diffWithStats(
      treeFrom(entries, treeOptionsDefault),
      treeFrom(entries, treeOptionsDefault),
    );
    expect(result).toEqual({ segments: [], nodesCompared: 1 });
    const empty = diffWithStats(MerkleTree.create(), MerkleTree.create());
    expect(empty).toEqual({ segments: [], nodesCompared: 1 });
  });

  it('descends only into differing branches', () => {
    const a = treeFrom(new Map([['x', '1']]), treeOptionsDefault);
    const b = treeFrom(new Map([['x', '2']]), treeOptionsDefault);
    // Root, its 32 children, then the 32 leaves under the one differing child.
    expect(diffWithStats(a, b)).toEqual({
      segments: [a.segmentOf(keyBytes('x'))],
      nodesCompared: 1 + 32 + 32,
    });
    fc.assert(
      fc.property(replicasArbitrary, ({ options, a: entriesA, b: entriesB }) => {
        const { segments, nodesCompared } = diffWithStats(
          treeFrom(entriesA, options),
          treeFrom(entriesB, options),
        );
        const levels = MerkleTree.create(options).levelCount();
        expect(nodesCompared).toBeLessThanOrEqual(
          1 + (levels - 1) * options.fanout * segments.length,
        );
      }),
      { seed, numRuns: 100 },
    );
  });

  it('rejects trees of different shapes', () => {
    expect(() =>
      diff(MerkleTree.create(), MerkleTree.create({ segments: 1024, fanout: 4 })),
    ).toThrow(/different shapes/);
  });
});

describe('compareLevel', () => {
  it('level by level, one round trip per level, finds what diff finds', () => {
    fc.assert(
      fc.property(replicasArbitrary, ({ options, a, b }) => {
        const local = treeFrom(a, options);
        const remote = treeFrom(b, options);
        const expected = diff(local, remote);
        const result = exchange(local, remote);
        expect(result.segments).toEqual(expected);
        expect(result.roundTrips).toBe(expected.length === 0 ? 1 : local.levelCount());
      }),
      { seed, numRuns: 150 },
    );
  });

  it('reports which of the asked nodes differ, in the order asked', () => {
    const local = MerkleTree.create({ segments: 16, fanout: 4 });
    const remote = MerkleTree.create({ segments: 16, fanout: 4 });
    remote.update(keyBytes('k'), undefined, keyBytes('d'));
    const segment = remote.segmentOf(keyBytes('k'));
    const asked = [15, segment, 0].filter((s, i, all) => all.indexOf(s) === i);
    expect(compareLevel(local, 2, asked, remote.level(2, asked))).toEqual([segment]);
    expect(() => compareLevel(local, 2, [0, 1], remote.level(2, [0]))).toThrow(
      /2 indexes, 1 hashes/,
    );
  });
});
