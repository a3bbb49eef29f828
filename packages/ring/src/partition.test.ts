import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionOf } from './index.js';
import { partitionCountMax } from './limits.js';
import { validateRingOptions } from './ring.js';

const seed = 4242;

function bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

describe('partitionOf', () => {
  it('is the top log2(Q) bits of the position, for every power of two Q', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.integer({ min: 0, max: 16 }),
        (key, bits) => {
          const partitionCount = 2 ** bits;
          const digest = createHash('md5').update(key).digest();
          expect(partitionOf(key, partitionCount)).toBe(
            Number(BigInt('0x' + digest.toString('hex')) >> BigInt(128 - bits)),
          );
        },
      ),
      { seed, numRuns: 300 },
    );
  });

  it('puts "abc" in partition 0x90 of 256 and every key in partition 0 of 1', () => {
    expect(partitionOf(bytes('abc'), 256)).toBe(0x90);
    expect(partitionOf(bytes('abc'), 1)).toBe(0);
    expect(partitionOf(bytes('abc'), partitionCountMax)).toBe(0x9001);
  });

  it('spreads keys over the partitions roughly evenly', () => {
    const counts = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) {
      const p = partitionOf(bytes(`key-${i}`), 16);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan(850);
    expect(Math.max(...counts)).toBeLessThan(1150);
  });

  it('refuses a partition count that is not a power of two', () => {
    expect(() => partitionOf(bytes('k'), 100)).toThrow(/power of two/);
    expect(() => partitionOf(bytes('k'), partitionCountMax * 2)).toThrow(/power of two/);
  });
});

describe('validateRingOptions', () => {
  it('accepts powers of two up to the maximum with 1..Q replicas', () => {
    expect(validateRingOptions({ partitionCount: 256, replicas: 3 })).toBeUndefined();
    expect(validateRingOptions({ partitionCount: 1, replicas: 1 })).toBeUndefined();
    expect(validateRingOptions({ partitionCount: partitionCountMax, replicas: 5 })).toBeUndefined();
  });

  it('names the problem', () => {
    expect(validateRingOptions({ partitionCount: 0, replicas: 3 })).toMatch(
      /partitionCount must be a power of two/,
    );
    expect(validateRingOptions({ partitionCount: 96, replicas: 3 })).toMatch(/got 96/);
    expect(validateRingOptions({ partitionCount: partitionCountMax * 2, replicas: 3 })).toMatch(
      /power of two/,
    );
    expect(validateRingOptions({ partitionCount: 256, replicas: 0 })).toMatch(/replicas must be/);
    expect(validateRingOptions({ partitionCount: 256, replicas: 1.5 })).toMatch(/replicas must be/);
    expect(validateRingOptions({ partitionCount: 2, replicas: 3 })).toMatch(
      /at most partitionCount/,
    );
  });

  it('refuses a previous ring with another partition count or a malformed shape', () => {
    const previous = { partitionCount: 4, members: [{ id: 'a', zone: '' }], owners: [0, 0, 0, 0] };
    expect(validateRingOptions({ partitionCount: 4, replicas: 1, previous })).toBeUndefined();
    expect(validateRingOptions({ partitionCount: 8, replicas: 1, previous })).toMatch(/fixed/);
    expect(
      validateRingOptions({
        partitionCount: 4,
        replicas: 1,
        previous: { ...previous, owners: [0, 0, 1, 0] },
      }),
    ).toMatch(/partition 2 is not a member index/);
    expect(
      validateRingOptions({
        partitionCount: 4,
        replicas: 1,
        previous: { ...previous, owners: [0] },
      }),
    ).toMatch(/1 owners/);
    const unsorted = [
      { id: 'b', zone: '' },
      { id: 'a', zone: '' },
    ];
    expect(
      validateRingOptions({
        partitionCount: 4,
        replicas: 1,
        previous: { ...previous, members: unsorted },
      }),
    ).toMatch(/sorted/);
  });
});
