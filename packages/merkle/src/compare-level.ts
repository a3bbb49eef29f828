import { assert } from './assert.js';
import type { MerkleTree } from './merkle-tree.js';
import { bytesEqual } from './merkle-tree.js';

/**
 * One round of a networked exchange: which of the asked nodes on a level differ from the remote
 * hashes (in the order asked). Their childIndexes are the next level to ask for; on the leaf level
 * they are the differing segments. Wire input must be validated first (counts, index ranges).
 */
export function compareLevel(
  local: MerkleTree,
  level: number,
  indexes: readonly number[],
  remoteHashes: readonly Uint8Array[],
): number[] {
  assert(
    indexes.length === remoteHashes.length,
    `${indexes.length} indexes, ${remoteHashes.length} hashes`,
  );
  const localHashes = local.level(level, indexes);
  return indexes.filter((_, k) => {
    const localHash = localHashes[k];
    const remoteHash = remoteHashes[k];
    assert(localHash !== undefined && remoteHash !== undefined, `hash ${k}`);
    return !bytesEqual(localHash, remoteHash);
  });
}
