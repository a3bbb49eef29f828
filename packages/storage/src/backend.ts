import type { NewHint } from './types.js';

/** A stored row as the backend holds it: the engine verifies the checksum, the backend never does. */
export interface StoredObject {
  object: Buffer;
  checksum: number;
}

export interface StoredRow extends StoredObject {
  key: Buffer;
}

export interface StoredHint extends NewHint {
  id: number;
  key: Buffer;
  object: Buffer;
  checksum: number;
}

/**
 * The storage primitives an engine needs; the shared Engine adds checksums, group commit, limits
 * and the closed state on top, so every backend has the same semantics. Buffers a backend returns
 * belong to the caller (copies, or fresh from SQLite).
 */
export interface Backend {
  readObject(partition: number, key: Buffer): StoredObject | undefined;
  writeObject(partition: number, key: Buffer, object: Buffer, checksum: number): void;
  deleteObject(partition: number, key: Buffer): void;
  /** Rows of one partition with key > afterKey (all keys when undefined), in bytewise key order. */
  scanObjects(partition: number, afterKey: Buffer | undefined, limit: number): StoredRow[];
  countObjects(): number;
  insertHint(hint: NewHint, checksum: number): void;
  /** A target's hints in id order (oldest first). */
  selectHints(target: string, limit: number): StoredHint[];
  deleteHint(id: number): void;
  hintCounts(): Map<string, number>;
  /** Hints of keys in the partition, whatever their target. */
  partitionHints(partition: number): number;
  deleteHintsOlderThan(cutoffMs: number): number;
  deleteHintsBeyond(target: string, countMax: number): number;
  readMeta(name: string): string | undefined;
  writeMeta(name: string, value: string): void;
  /** Runs work as one write transaction: if it throws, nothing of it is kept and the error propagates. */
  transaction(work: () => void): void;
  close(): void;
}
