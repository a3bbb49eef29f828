import { describe, expect, it } from 'vitest';
import { MerkleTree, checkLevelRequest } from './index.js';
import { hashBytes } from './merkle-tree.js';
import { checkLevelResponse } from './wire.js';

describe('checkLevelRequest', () => {
  const tree = MerkleTree.create({ segments: 1024, fanout: 32 });

  it('accepts indexes that exist on the level, once each', () => {
    expect(checkLevelRequest(tree, 0, [0])).toBeUndefined();
    expect(checkLevelRequest(tree, 1, [31, 0, 5])).toBeUndefined();
    expect(checkLevelRequest(tree, 2, [1023])).toBeUndefined();
    expect(checkLevelRequest(tree, 2, [])).toBeUndefined();
  });

  it('names what is wrong with a request that does not fit the tree', () => {
    expect(checkLevelRequest(tree, 3, [0])?.code).toBe('level-out-of-range');
    expect(checkLevelRequest(tree, -1, [0])?.code).toBe('level-out-of-range');
    expect(checkLevelRequest(tree, 1, [32])).toEqual({
      code: 'index-out-of-range',
      message: 'index 32 on level 1 of width 32',
    });
    expect(checkLevelRequest(tree, 2, [1.5])?.code).toBe('index-out-of-range');
    expect(checkLevelRequest(tree, 2, [7, 8, 7])?.code).toBe('index-repeated');
  });
});

describe('checkLevelResponse', () => {
  it('accepts one hash of the right size per index asked', () => {
    const hashes = [new Uint8Array(hashBytes), new Uint8Array(hashBytes)];
    expect(checkLevelResponse([3, 4], hashes)).toBeUndefined();
  });

  it('rejects a wrong count or a wrong hash size', () => {
    expect(checkLevelResponse([3, 4], [new Uint8Array(hashBytes)])).toEqual({
      code: 'hash-count-mismatch',
      message: '1 hashes for 2 indexes',
    });
    expect(checkLevelResponse([3], [new Uint8Array(31)])).toEqual({
      code: 'hash-size-wrong',
      message: 'hash 0 has 31 bytes, not 32',
    });
  });
});
