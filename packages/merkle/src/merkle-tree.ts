import { assert } from './assert.js';
import { Sha256, sha256Bytes } from './sha256.js';

/** Shape of a partition's tree. Both are powers of two; replicas must use the same shape. */
export interface TreeOptions {
  readonly segments: number;
  readonly fanout: number;
}

// 1,024 leaves under a 32-way root: two round trips from root to segment, 32 hashes per level message.
export const treeOptionsDefault: TreeOptions = { segments: 1024, fanout: 32 };

// 65,536 segments × 32 bytes = 2 MiB of leaves per partition tree: the memory bound per tree.
export const segmentsMax = 1 << 16;
// A level message carries at most fanout hashes per differing parent: 1,024 × 32 bytes = 32 KiB.
export const fanoutMax = 1 << 10;
// SHA-256 output (pure TypeScript, sha256.ts); every node and leaf hash has this size.
export const hashBytes = sha256Bytes;

/**
 * SHA-256 of the concatenation of `parts`. The tree hashes with this package's pure TypeScript
 * SHA-256 unless given another implementation of the very same function (a node passes
 * node:crypto's, several times faster, which the pure packages may not import): the hashes, and
 * so the trees replicas compare, are identical either way.
 */
export type Sha256Of = (parts: readonly Uint8Array[]) => Uint8Array;

/** This package's SHA-256 (sha256.ts) as a Sha256Of. */
export const pureSha256: Sha256Of = (parts) => {
  const h = new Sha256();
  for (const part of parts) h.update(part);
  return h.digest();
};

const encoder = new TextEncoder();
// Domain tags keep the segment hash, entry hash and node hash independent of each other (and of
// the ring's key hash, so a partition's keys still spread over all of its segments).
const segmentDomain = encoder.encode('ringstore/merkle/segment\0');
const entryDomain = encoder.encode('ringstore/merkle/entry\0');
const nodeDomain = encoder.encode('ringstore/merkle/node\0');

/**
 * A hash tree over the fixed segments of one partition. A leaf is the sum modulo 2^256 of
 * sha256(key, digest) over the segment's entries, so add, change and remove are O(1) and the tree
 * does not depend on the order of updates. Internal nodes hash their children and are recomputed
 * lazily: update marks ancestors dirty, root() and level() recompute what is dirty.
 *
 * Mutable on purpose: one tree per replicated partition is updated on every write, and copying
 * 32 KiB of leaves per write would defeat O(1) updates. The tree keeps no keys: the caller (the
 * storage engine) knows each key's previous digest and passes it to update().
 */
export class MerkleTree {
  readonly options: TreeOptions;
  // Nodes per level, level 0 = root, last level = segments (leaves).
  readonly #widths: readonly number[];
  // Per level: width × hashBytes.
  readonly #hashes: readonly Uint8Array[];
  // Per internal level: dirty flags and the list of dirty indexes (so refresh skips clean nodes).
  readonly #dirtyFlags: readonly Uint8Array[];
  readonly #dirtyIndexes: readonly number[][];
  readonly #sha256: Sha256Of;

  private constructor(options: TreeOptions, sha256: Sha256Of) {
    this.#sha256 = sha256;
    assertTreeOptions(options);
    this.options = { segments: options.segments, fanout: options.fanout };
    this.#widths = levelWidths(options);
    this.#hashes = this.#widths.map((width) => new Uint8Array(width * hashBytes));
    const internal = this.#widths.slice(0, -1);
    this.#dirtyFlags = internal.map((width) => new Uint8Array(width).fill(1));
    this.#dirtyIndexes = internal.map((width) => Array.from({ length: width }, (_, i) => i));
  }

  /** An empty tree; `sha256`: how it hashes (Sha256Of), this package's SHA-256 by default. */
  static create(
    options: TreeOptions = treeOptionsDefault,
    sha256: Sha256Of = pureSha256,
  ): MerkleTree {
    return new MerkleTree(options, sha256);
  }

  /** A rebuild from storage: the tree of exactly these (key, digest) entries, one per key. */
  static fromEntries(
    entries: Iterable<readonly [key: Uint8Array, digest: Uint8Array]>,
    options: TreeOptions = treeOptionsDefault,
    sha256: Sha256Of = pureSha256,
  ): MerkleTree {
    const tree = new MerkleTree(options, sha256);
    for (const [key, digest] of entries) tree.update(key, undefined, digest);
    return tree;
  }

  /** Stable: the low bits of the first big-endian word of a domain-tagged sha256 of the key. */
  segmentOf(key: Uint8Array): number {
    const hash = this.#sha256([segmentDomain, key]);
    const high =
      ((hash[0] ?? 0) << 24) | ((hash[1] ?? 0) << 16) | ((hash[2] ?? 0) << 8) | (hash[3] ?? 0);
    return high & (this.options.segments - 1);
  }

  /**
   * Replaces the key's entry: oldDigest is what the tree holds for it (undefined: absent), newDigest
   * what it should hold (undefined: removed). The caller owns that bookkeeping; the tree keeps no keys.
   */
  update(
    key: Uint8Array,
    oldDigest: Uint8Array | undefined,
    newDigest: Uint8Array | undefined,
  ): void {
    if (oldDigest === undefined && newDigest === undefined) return;
    if (oldDigest !== undefined && newDigest !== undefined && bytesEqual(oldDigest, newDigest))
      return;
    const segment = this.segmentOf(key);
    const leaves = this.#leafLevel();
    const offset = segment * hashBytes;
    if (oldDigest !== undefined)
      subtractInto(leaves, offset, entryHash(this.#sha256, key, oldDigest));
    if (newDigest !== undefined) addInto(leaves, offset, entryHash(this.#sha256, key, newDigest));
    this.#markAncestorsDirty(segment);
  }

  root(): Uint8Array {
    const [root] = this.level(0, [0]);
    assert(root !== undefined, 'a tree has a root');
    return root;
  }

  levelCount(): number {
    return this.#widths.length;
  }

  /** Nodes on a level: 1 for the root, segments for the leaves. */
  levelWidth(level: number): number {
    const width = this.#widths[level];
    assert(width !== undefined, `level ${level} of ${this.#widths.length}`);
    return width;
  }

  /** Copies of the hashes of nodes on one level (level 0 = root), in the order asked. */
  level(level: number, indexes: readonly number[]): Uint8Array[] {
    const width = this.levelWidth(level);
    this.#refresh();
    const hashes = this.#hashes[level];
    assert(hashes !== undefined, `level ${level} has hashes`);
    return indexes.map((index) => {
      assert(Number.isInteger(index) && index >= 0 && index < width, `index ${index} of ${width}`);
      return hashes.slice(index * hashBytes, (index + 1) * hashBytes);
    });
  }

  #leafLevel(): Uint8Array {
    const leaves = this.#hashes[this.#hashes.length - 1];
    assert(leaves !== undefined, 'a tree has a leaf level');
    return leaves;
  }

  // Invariant: a dirty node's ancestors are all dirty, so the walk stops at the first dirty one.
  #markAncestorsDirty(segment: number): void {
    let index = segment;
    for (let level = this.#widths.length - 2; level >= 0; level--) {
      index = Math.floor(index / this.options.fanout);
      const flags = this.#dirtyFlags[level];
      assert(flags !== undefined, `dirty flags for level ${level}`);
      if (flags[index] === 1) return;
      flags[index] = 1;
      this.#dirtyIndexes[level]?.push(index);
    }
  }

  // Bottom-up, so children are clean before their parent hashes them.
  #refresh(): void {
    for (let level = this.#widths.length - 2; level >= 0; level--) {
      const dirty = this.#dirtyIndexes[level];
      const flags = this.#dirtyFlags[level];
      assert(dirty !== undefined && flags !== undefined, `dirty state for level ${level}`);
      for (const index of dirty) {
        this.#recompute(level, index);
        flags[index] = 0;
      }
      dirty.length = 0;
    }
  }

  #recompute(level: number, index: number): void {
    const parents = this.#hashes[level];
    const children = this.#hashes[level + 1];
    const childWidth = this.#widths[level + 1];
    assert(parents !== undefined && children !== undefined && childWidth !== undefined, 'levels');
    const first = index * this.options.fanout;
    const end = Math.min(first + this.options.fanout, childWidth);
    const hash = this.#sha256([nodeDomain, children.subarray(first * hashBytes, end * hashBytes)]);
    parents.set(hash, index * hashBytes);
  }
}

/** Children of a node, ascending; empty for a leaf (a segment). */
export function childIndexes(tree: MerkleTree, level: number, index: number): number[] {
  const width = tree.levelWidth(level);
  assert(Number.isInteger(index) && index >= 0 && index < width, `index ${index} of ${width}`);
  if (level === tree.levelCount() - 1) return [];
  const childWidth = tree.levelWidth(level + 1);
  const first = index * tree.options.fanout;
  const end = Math.min(first + tree.options.fanout, childWidth);
  return Array.from({ length: end - first }, (_, k) => first + k);
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}

function assertTreeOptions(options: TreeOptions): void {
  const { segments, fanout } = options;
  assert(isPowerOfTwo(segments) && segments <= segmentsMax, `segments ${segments}`);
  assert(isPowerOfTwo(fanout) && fanout >= 2 && fanout <= fanoutMax, `fanout ${fanout}`);
}

// Widths from the leaves up: each parent covers up to fanout children, until one root remains.
function levelWidths(options: TreeOptions): number[] {
  const widths = [options.segments];
  for (let width = options.segments; width > 1;) {
    width = Math.ceil(width / options.fanout);
    widths.unshift(width);
  }
  return widths;
}

// The key's length goes first so that (key, digest) pairs cannot alias one another.
function entryHash(sha256: Sha256Of, key: Uint8Array, digest: Uint8Array): Uint8Array {
  const keyBytes = new Uint8Array(4);
  new DataView(keyBytes.buffer).setUint32(0, key.length);
  return sha256([entryDomain, keyBytes, key, digest]);
}

// Little-endian 256-bit addition modulo 2^256 into target[offset, offset + 32).
function addInto(target: Uint8Array, offset: number, value: Uint8Array): void {
  let carry = 0;
  for (let i = 0; i < hashBytes; i++) {
    const sum = (target[offset + i] ?? 0) + (value[i] ?? 0) + carry;
    target[offset + i] = sum & 0xff;
    carry = sum >> 8;
  }
}

function subtractInto(target: Uint8Array, offset: number, value: Uint8Array): void {
  let borrow = 0;
  for (let i = 0; i < hashBytes; i++) {
    const difference = (target[offset + i] ?? 0) - (value[i] ?? 0) - borrow;
    target[offset + i] = difference & 0xff;
    borrow = difference < 0 ? 1 : 0;
  }
}
