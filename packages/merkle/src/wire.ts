import type { MerkleTree } from './merkle-tree.js';
import { hashBytes } from './merkle-tree.js';

/**
 * Operating errors of the level-by-level exchange: what a peer sent does not fit the local tree.
 * The tree itself asserts on bad indexes (a programmer error), so a node checks wire input here
 * first and answers or drops the exchange with the code.
 */
export type MerkleWireErrorCode =
  | 'level-out-of-range'
  | 'index-out-of-range'
  | 'index-repeated'
  | 'hash-count-mismatch'
  | 'hash-size-wrong';

export interface MerkleWireError {
  readonly code: MerkleWireErrorCode;
  readonly message: string;
}

/** Checks a peer's MerkleLevel request (level, node indexes) against the local tree's shape. */
export function checkLevelRequest(
  tree: MerkleTree,
  level: number,
  indexes: readonly number[],
): MerkleWireError | undefined {
  const levels = tree.levelCount();
  if (!Number.isInteger(level) || level < 0 || level >= levels) {
    return {
      code: 'level-out-of-range',
      message: `level ${level} of a tree with ${levels} levels`,
    };
  }
  const width = tree.levelWidth(level);
  // A request can name each node of a level at most once, so the width bounds the count too.
  const seen = new Uint8Array(width);
  for (const index of indexes) {
    if (!Number.isInteger(index) || index < 0 || index >= width) {
      return {
        code: 'index-out-of-range',
        message: `index ${index} on level ${level} of width ${width}`,
      };
    }
    if (seen[index] === 1) return { code: 'index-repeated', message: `index ${index} asked twice` };
    seen[index] = 1;
  }
  return undefined;
}

/** Checks a peer's MerkleLevel response against the indexes that were asked. */
export function checkLevelResponse(
  indexes: readonly number[],
  hashes: readonly Uint8Array[],
): MerkleWireError | undefined {
  if (hashes.length !== indexes.length) {
    return {
      code: 'hash-count-mismatch',
      message: `${hashes.length} hashes for ${indexes.length} indexes`,
    };
  }
  const wrong = hashes.findIndex((hash) => hash.length !== hashBytes);
  if (wrong !== -1) {
    const length = hashes[wrong]?.length ?? 0;
    return {
      code: 'hash-size-wrong',
      message: `hash ${wrong} has ${length} bytes, not ${hashBytes}`,
    };
  }
  return undefined;
}
