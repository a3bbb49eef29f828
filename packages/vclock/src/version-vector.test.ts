import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { VersionVector } from './index.js';
import { vvDescends, vvEqual, vvMerge } from './index.js';
import { assertVersionVector } from './version-vector.js';

const seed = 424242;

const vvArbitrary: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(fc.constantFrom('a', 'b', 'c', 'd', 'é'), fc.integer({ min: 1, max: 5 })), {
    selector: ([actor]) => actor,
    maxLength: 5,
  })
  .map((pairs) => [...pairs].sort(([x], [y]) => (x < y ? -1 : 1)));

describe('version vectors', () => {
  it('descends by every actor of the other side', () => {
    expect(
      vvDescends(
        [
          ['a', 2],
          ['b', 1],
        ],
        [['a', 1]],
      ),
    ).toBe(true);
    expect(
      vvDescends(
        [['a', 2]],
        [
          ['a', 2],
          ['b', 1],
        ],
      ),
    ).toBe(false);
    expect(
      vvDescends(
        [
          ['a', 1],
          ['b', 1],
        ],
        [['a', 2]],
      ),
    ).toBe(false);
    expect(vvDescends([], [])).toBe(true);
    expect(vvDescends([['b', 1]], [['a', 1]])).toBe(false);
  });

  it('merges pointwise', () => {
    expect(
      vvMerge(
        [
          ['a', 2],
          ['c', 1],
        ],
        [
          ['a', 1],
          ['b', 3],
        ],
      ),
    ).toEqual([
      ['a', 2],
      ['b', 3],
      ['c', 1],
    ]);
    expect(vvEqual([['a', 1]], [['a', 1]])).toBe(true);
    expect(vvEqual([['a', 1]], [['a', 2]])).toBe(false);
    expect(
      vvEqual(
        [['a', 1]],
        [
          ['a', 1],
          ['b', 1],
        ],
      ),
    ).toBe(false);
  });

  it('merge is a join: commutative, associative, idempotent, the least upper bound', () => {
    fc.assert(
      fc.property(vvArbitrary, vvArbitrary, vvArbitrary, (a, b, c) => {
        const ab = vvMerge(a, b);
        assertVersionVector(ab);
        expect(ab).toEqual(vvMerge(b, a));
        expect(vvMerge(ab, c)).toEqual(vvMerge(a, vvMerge(b, c)));
        expect(vvMerge(a, a)).toEqual(a);
        expect(vvDescends(ab, a) && vvDescends(ab, b)).toBe(true);
        // least: anything that descends both descends the merge
        if (vvDescends(c, a) && vvDescends(c, b)) expect(vvDescends(c, ab)).toBe(true);
        // descends is antisymmetric: both ways means equal
        expect(vvDescends(a, b) && vvDescends(b, a)).toBe(vvEqual(a, b));
        expect(vvDescends(a, b)).toBe(vvEqual(vvMerge(a, b), a));
      }),
      { seed, numRuns: 500 },
    );
  });
});
