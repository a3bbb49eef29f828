import type { Hash } from 'node:crypto';
import type { TreeOptions } from '../index.js';
import { MerkleTree, childIndexes, compareLevel } from '../index.js';

const encoder = new TextEncoder();

export function keyBytes(key: string): Uint8Array {
  return encoder.encode(key);
}

export function digestBytes(digest: string): Uint8Array {
  return encoder.encode(digest);
}

/** A tree built from scratch out of a final key -> digest map (what a rebuild from storage does). */
export function treeFrom(entries: ReadonlyMap<string, string>, options: TreeOptions): MerkleTree {
  const tree = MerkleTree.create(options);
  for (const [key, digest] of entries) tree.update(keyBytes(key), undefined, digestBytes(digest));
  return tree;
}

/** Every hash on every level, as hex, so trees compare with toEqual. */
export function allLevels(tree: MerkleTree): string[][] {
  return Array.from({ length: tree.levelCount() }, (_, level) => {
    const indexes = Array.from({ length: tree.levelWidth(level) }, (_, i) => i);
    return tree.level(level, indexes).map((hash) => Buffer.from(hash).toString('hex'));
  });
}

/**
 * The networked exchange, one level per round trip: ask the remote for the hashes of the nodes
 * that are still in question, keep those that differ, ask for their children next.
 */
export function exchange(
  local: MerkleTree,
  remote: MerkleTree,
): { segments: number[]; roundTrips: number } {
  let indexes = [0];
  let roundTrips = 0;
  for (let level = 0; level < local.levelCount() && indexes.length > 0; level++) {
    roundTrips++;
    const differing = compareLevel(local, level, indexes, remote.level(level, indexes));
    if (level === local.levelCount() - 1) return { segments: differing, roundTrips };
    indexes = differing.flatMap((index) => childIndexes(local, level, index));
  }
  return { segments: [], roundTrips };
}

/**
 * The root computed independently of the package: node:crypto SHA-256, BigInt leaf sums, an
 * explicit recursion over the levels. Any drift in the tree's hashing shows as a mismatch.
 */
export function referenceRoot(
  entries: ReadonlyMap<string, string>,
  options: TreeOptions,
  createHash: (algorithm: 'sha256') => Hash,
): string {
  const sha = (...parts: (Uint8Array | string)[]): Buffer => {
    const hash = createHash('sha256');
    for (const part of parts) hash.update(part);
    return hash.digest();
  };
  const modulus = 1n << 256n;
  const sums = new Array<bigint>(options.segments).fill(0n);
  for (const [key, digest] of entries) {
    const segment = sha('ringstore/merkle/segment\0', key).readUInt32BE(0) & (options.segments - 1);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(Buffer.byteLength(key));
    const entry = sha('ringstore/merkle/entry\0', length, key, digest);
    // The tree adds little-endian 256-bit numbers.
    const value = BigInt(`0x${Buffer.from(entry).reverse().toString('hex')}`);
    sums[segment] = ((sums[segment] ?? 0n) + value) % modulus;
  }
  let level: Buffer[] = sums.map((sum) =>
    Buffer.from(sum.toString(16).padStart(64, '0'), 'hex').reverse(),
  );
  while (level.length > 1) {
    const parents: Buffer[] = [];
    for (let first = 0; first < level.length; first += options.fanout) {
      parents.push(
        sha('ringstore/merkle/node\0', Buffer.concat(level.slice(first, first + options.fanout))),
      );
    }
    level = parents;
  }
  return level[0]!.toString('hex');
}
