import { describe, expect, it } from 'vitest';
import { compareLevel } from './compare-level.js';
import { MerkleTree } from './index.js';
import { keyBytes } from './test-support/trees.js';

describe('compareLevel', () => {
  it('reports which of the asked nodes differ, in the order asked', () => {
    const local = MerkleTree.create({ segments: 16, fanout: 4 });
    const remote = MerkleTree.create({ segments: 16, fanout: 4 });
    remote.update(keyBytes('k'), undefined, keyBytes('d'));
    const segment = remote.segmentOf(keyBytes('k'));
    const asked = [15, segment, 0].filter((s, i, all) => all.indexOf(s) === i);
    expect(compareLevel(local, 2, asked, remote.level(2, asked))).toEqual([segment]);
    expect(compareLevel(local, 1, [3, 2, 1, 0], remote.level(1, [3, 2, 1, 0]))).toEqual([
      Math.floor(segment / 4),
    ]);
    expect(compareLevel(local, 0, [0], local.level(0, [0]))).toEqual([]);
  });

  it('asserts one remote hash per index asked (wire input is checked before)', () => {
    const local = MerkleTree.create({ segments: 16, fanout: 4 });
    expect(() => compareLevel(local, 2, [0, 1], local.level(2, [0]))).toThrow(
      /2 indexes, 1 hashes/,
    );
  });
});
