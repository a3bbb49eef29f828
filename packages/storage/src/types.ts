import type { CheckpointOptions, CheckpointStats } from './checkpointer.js';
/** The result of reading one object: a checksum mismatch is 'corrupt' and never returns the bytes. */
export type ReadResult =
  | { status: 'found'; object: Uint8Array }
  | { status: 'missing' }
  | { status: 'corrupt'; reason: string };

/** What update did: `changed` is false when fn returned undefined or the bytes already stored. */
export interface UpdateResult {
  previous: Uint8Array | undefined;
  next: Uint8Array | undefined;
  changed: boolean;
}

/** A write kept for a replica that was down (hinted handoff): `target` names that replica. */
export interface Hint {
  id: number;
  target: string;
  partition: number;
  key: Uint8Array;
  object: Uint8Array;
  createdAtMs: number;
}

export type NewHint = Omit<Hint, 'id'>;

/** Reported once per corrupt row met by a read; `source` says which table held it. */
export interface CorruptionEvent {
  source: 'object' | 'hint';
  partition: number;
  key: Uint8Array;
  reason: string;
}

/** Must not throw: it runs inside reads and inside group-commit transactions. */
export type CorruptionListener = (event: CorruptionEvent) => void;

/**
 * Reported once per write transaction refused as 'disk_full': a group commit's whole batch, or one
 * synchronous write (setMeta, dropHints*). Nothing of it was stored.
 */
export interface DiskFullEvent {
  /** Write calls refused together (every write of the failed batch). */
  writes: number;
  /** The StorageError's message: what SQLite said, and where. */
  reason: string;
}

/** Must not throw: it runs in the group-commit turn of the event loop, after the batch settled. */
export type DiskFullListener = (event: DiskFullEvent) => void;

/**
 * Told of every committed write transaction: how many write calls it held (a group commit's
 * batch; 1 for a synchronous write) and how long it took. Must not throw, and must be cheap: it
 * runs once per commit, in the group-commit turn of the event loop.
 */
export type CommitListener = (writes: number, durationMs: number) => void;

export interface StorageStats {
  /** Rows (objects or hints) whose checksum did not match, counted each time they are read. */
  corruptReads: number;
  /** Write transactions committed (a group commit is one). */
  commits: number;
  /** Write calls committed (update, remove, addHints, deleteHints, setMeta, dropHints*). */
  writes: number;
  /** Write calls queued for the next group commit now. */
  queuedWrites: number;
}

export interface ScanOptions {
  /** Start after this key (exclusive); omit to start at the partition's first key. */
  afterKey?: Uint8Array | undefined;
  /** Rows to return at most, 1..pageRowsMax. */
  limit: number;
}

export interface ScanRow {
  key: Uint8Array;
  object: Uint8Array;
}

/**
 * One node's local store. Objects are opaque bytes (the engine does not know the clock format),
 * keyed by (partition, key) and kept in bytewise key order within a partition.
 *
 * Writes returning a promise are group-committed: calls issued in the same tick share one
 * transaction on the next setImmediate, and each promise settles after its commit. Synchronous
 * methods read or write the committed state only: they do not see writes still queued.
 */
export interface StorageEngine {
  /** Verifies the checksum; a mismatch is counted, reported to onCorruption, and returned as 'corrupt'. */
  get(partition: number, key: Uint8Array): ReadResult;
  /**
   * Read-modify-write of one key in the engine's transaction. fn gets the current object
   * (undefined when missing or corrupt, including writes earlier in the same batch) and returns
   * the new object, or undefined for "no change". An exception in fn rejects only this call.
   */
  update(
    partition: number,
    key: Uint8Array,
    fn: (current: Uint8Array | undefined) => Uint8Array | undefined,
  ): Promise<UpdateResult>;
  /** Deletes the key (only if the stored object still equals `expected`, when given); true if deleted. */
  remove(partition: number, key: Uint8Array, expected?: Uint8Array): Promise<boolean>;
  /** One page of a partition in bytewise key order; corrupt rows are skipped (counted, reported). */
  scan(partition: number, options: ScanOptions): ScanRow[];
  countObjects(): number;
  addHints(hints: readonly NewHint[]): Promise<void>;
  /** A target's hints, oldest first. Corrupt hints are dropped (counted, reported), not returned. */
  listHints(target: string, limit: number): Hint[];
  deleteHints(ids: readonly number[]): Promise<void>;
  /** Hints held per target (targets with none are absent). */
  hintCounts(): Map<string, number>;
  /** Hints held of keys in the partition, whatever their target. */
  partitionHints(partition: number): number;
  /** Drops hints created before cutoffMs; returns how many. */
  dropHintsOlderThan(cutoffMs: number): number;
  /** Keeps a target's newest countMax hints, dropping the older ones; returns how many. */
  dropHintsBeyond(target: string, countMax: number): number;
  getMeta(name: string): string | undefined;
  /** Names starting with "storage." are the engine's own and may not be written. */
  setMeta(name: string, value: string): void;
  stats(): StorageStats;
  /** Commits every queued write, then closes. Later calls fail with StorageError 'closed'. */
  close(): Promise<void>;
}

/** Options both engines take. */
export interface EngineOptions {
  /** Writes per group-commit transaction, 1..65536 (default 1024). */
  groupCommitMax?: number | undefined;
  /** Writes queued for the next commit before new ones are refused as 'overloaded' (default 100000). */
  pendingWritesMax?: number | undefined;
  /** Largest object accepted; larger ones are refused as 'object_too_large' (default 64 MiB). */
  objectBytesMax?: number | undefined;
  onCorruption?: CorruptionListener | undefined;
  /**
   * Told of every write transaction refused because the disk is full (the writes themselves
   * reject with StorageError 'disk_full'): one place to count and rate-limit the news, rather
   * than each caller logging each refusal.
   */
  onDiskFull?: DiskFullListener | undefined;
  /** Told of every committed write transaction (its size and duration): for metrics. */
  onCommit?: CommitListener | undefined;
}

export type MemoryOptions = EngineOptions;

export interface SqliteOptions extends EngineOptions {
  /** The database file; created (with its schema) when missing. */
  path: string;
  /** 'normal' (default) may lose the last commits on power loss, never corrupt; 'full' syncs every commit. */
  synchronous?: 'normal' | 'full' | undefined;
  /** How long a statement waits for another connection's lock (default 5000 ms). */
  busyTimeoutMs?: number | undefined;
  /** SQLite page cache for this connection (default 64 MiB). */
  cacheBytes?: number | undefined;
  /**
   * Who checkpoints the WAL into the database file: 'worker' (default), a worker thread with its
   * own connection, off the request path (checkpointer.ts); 'inline', SQLite's autocheckpoint in
   * the write that crosses 1,000 WAL pages.
   */
  checkpoints?: 'worker' | 'inline' | undefined;
  /** The checkpoint worker's interval, WAL bound and timeout (checkpointDefaults). */
  checkpointOptions?: Partial<CheckpointOptions> | undefined;
}

/** The pragmas of an open SQLite engine, read back from its connection. */
export interface SqlitePragmas {
  journalMode: string;
  synchronous: 'off' | 'normal' | 'full' | 'extra';
  foreignKeys: boolean;
  busyTimeoutMs: number;
  cacheBytes: number;
  tempStore: 'default' | 'file' | 'memory';
  /** 0 when the checkpoint worker checkpoints (or the worker is gone and SQLite does again). */
  walAutocheckpointPages: number;
  schemaVersion: number;
}

export interface SqliteStorageEngine extends StorageEngine {
  readonly path: string;
  pragmas(): SqlitePragmas;
  /** The checkpoint worker's record; undefined with inline checkpoints. */
  checkpointStats(): CheckpointStats | undefined;
  /**
   * An online, consistent copy of the database at `destination` (a new file; SQLite's online
   * backup API on the engine's own connection, so writes committed meanwhile are in the copy):
   * `pagesPerStep` pages at a time with an event-loop turn between steps, so requests go on.
   * Resolves with the copy's size in bytes. StorageError 'io' when it cannot be made (the
   * partial copy removed), 'closed' once the engine is closing.
   */
  backup(destination: string, options?: BackupOptions): Promise<BackupResult>;
}

export interface BackupOptions {
  /** Pages copied per step, 1..backupPagesPerStepMax (default backupPagesPerStepDefault). */
  readonly pagesPerStep?: number;
}

export interface BackupResult {
  readonly bytes: number;
}
