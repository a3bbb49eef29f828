import { assert } from './assert.js';
import type { MerkleTree } from './merkle-tree.js';
import { bytesEqual, childIndexes } from './merkle-tree.js';

export interface DiffResult {
  /** Segments whose leaves differ, ascending. */
  readonly segments: number[];
  /** Node pairs compared: 1 when the roots are equal. */
  readonly nodesCompared: number;
}

/** Exactly the segments that differ between two trees of the same shape, ascending. */
export function diff(a: MerkleTree, b: MerkleTree): number[] {
  return diffWithStats(a, b).segments;
}

/** diff, plus how much of the trees it looked at: it descends only into differing branches. */
export function diffWithStats(a: MerkleTree, b: MerkleTree): DiffResult {
  assertSameShape(a, b);
  const result = { segments: [] as number[], nodesCompared: 1 };
  if (!bytesEqual(a.root(), b.root())) descend(a, b, 0, 0, result);
  return result;
}

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

// Recursion depth is the level count: at most log2(segmentsMax) + 1 = 17.
function descend(
  a: MerkleTree,
  b: MerkleTree,
  level: number,
  index: number,
  result: { segments: number[]; nodesCompared: number },
): void {
  const children = childIndexes(a, level, index);
  if (children.length === 0) {
    result.segments.push(index);
    return;
  }
  const differing = compareLevel(a, level + 1, children, b.level(level + 1, children));
  result.nodesCompared += children.length;
  for (const child of differing) descend(a, b, level + 1, child, result);
}

function assertSameShape(a: MerkleTree, b: MerkleTree): void {
  const same = a.options.segments === b.options.segments && a.options.fanout === b.options.fanout;
  assert(same, 'trees of different shapes cannot be compared');
}
