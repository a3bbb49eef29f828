import type { Hash } from 'node:crypto';
import fc from 'fast-check';
import type { TreeOptions } from '../index.js';
import { MerkleTree } from '../index.js';
import { treeOptionsDefault } from '../merkle-tree.js';

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

/** Tree shapes the properties run over: the default, a wider one, a deep one, a lone segment. */
export const shapes: readonly TreeOptions[] = [
  treeOptionsDefault,
  { segments: 2048, fanout: 32 },
  { segments: 16, fanout: 4 },
  { segments: 1, fanout: 2 },
];

/**
 * Two replicas: shared keys, plus keys one side changed, dropped or added. The segments of the
 * touched keys are exactly the segments that must differ.
 */
export const replicasArbitrary = fc
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

/** The segments of these keys, ascending, once each. */
export function segmentsOfKeys(options: TreeOptions, keys: readonly string[]): number[] {
  const tree = MerkleTree.create(options);
  const segments = new Set(keys.map((key) => tree.segmentOf(keyBytes(key))));
  return [...segments].sort((x, y) => x - y);
}

/** Segments whose leaf hashes differ, found by comparing every leaf (no descent), ascending. */
export function differingLeaves(a: MerkleTree, b: MerkleTree): number[] {
  const leafLevel = a.levelCount() - 1;
  const all = Array.from({ length: a.levelWidth(leafLevel) }, (_, i) => i);
  const leavesA = a.level(leafLevel, all);
  const leavesB = b.level(leafLevel, all);
  return all.filter((_, k) => !Buffer.from(leavesA[k]!).equals(leavesB[k]!));
}

/** Every hash on every level, as hex, so trees compare with toEqual. */
export function allLevels(tree: MerkleTree): string[][] {
  return Array.from({ length: tree.levelCount() }, (_, level) => {
    const indexes = Array.from({ length: tree.levelWidth(level) }, (_, i) => i);
    return tree.level(level, indexes).map((hash) => Buffer.from(hash).toString('hex'));
  });
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
