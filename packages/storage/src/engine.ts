import { assert } from './assert.js';
import type { Backend, StoredHint } from './backend.js';
import { bytesEqual, toBuffer } from './bytes.js';
import { hintChecksum, objectChecksum } from './checksum.js';
import { StorageError } from './errors.js';
import { GroupCommitQueue, type Outcome } from './group-commit.js';
import {
  hintTargetCharsMax,
  hintsPerCallMax,
  keyBytesMax,
  metaNameCharsMax,
  metaValueCharsMax,
  pageRowsMax,
  partitionMax,
  reservedMetaPrefix,
  scanRefillsMax,
} from './limits.js';
import type { ResolvedEngineOptions } from './options.js';
import type {
  CorruptionEvent,
  Hint,
  NewHint,
  ReadResult,
  ScanOptions,
  ScanRow,
  StorageEngine,
  StorageStats,
  UpdateResult,
} from './types.js';

type EngineState = 'open' | 'closing' | 'closed';

function assertLocation(partition: number, key: Uint8Array): void {
  assert(
    Number.isInteger(partition) && partition >= 0 && partition <= partitionMax,
    `partition must be an integer in 0..${partitionMax}, got ${partition}`,
  );
  assert(key instanceof Uint8Array, 'key must be a Uint8Array');
  assert(key.byteLength <= keyBytesMax, `key of ${key.byteLength} bytes exceeds ${keyBytesMax}`);
}

function assertPageLimit(limit: number): void {
  assert(
    Number.isInteger(limit) && limit >= 1 && limit <= pageRowsMax,
    `limit must be an integer in 1..${pageRowsMax}, got ${limit}`,
  );
}

function ok<T>(value: T): Outcome<T> {
  return { ok: true, value };
}

function failed(error: unknown): Outcome<never> {
  return { ok: false, error };
}

function isDiskFullError(error: unknown): error is StorageError {
  return error instanceof StorageError && error.code === 'disk_full';
}

function checksumReason(stored: number, computed: number): string {
  return `checksum mismatch: stored ${stored}, computed ${computed}`;
}

/**
 * The StorageEngine both engines share: checksums, group commit, limits and the closed state on
 * top of a Backend, so the SQLite and the in-memory engine cannot drift apart in semantics.
 */
export class Engine implements StorageEngine {
  private state: EngineState = 'open';
  private readonly counters: Omit<StorageStats, 'queuedWrites'> = {
    corruptReads: 0,
    commits: 0,
    writes: 0,
  };
  private readonly queue: GroupCommitQueue;
  private closing: Promise<void> | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly options: ResolvedEngineOptions,
  ) {
    this.queue = new GroupCommitQueue({
      groupCommitMax: options.groupCommitMax,
      pendingWritesMax: options.pendingWritesMax,
      transaction: (work) => backend.transaction(work),
      onCommitted: (writes, batchWrites, durationMs) => {
        this.counters.commits++;
        this.counters.writes += writes;
        options.onCommit?.(batchWrites, durationMs);
      },
      onFailed: (error, writes) => this.reportDiskFull(error, writes),
    });
  }

  get(partition: number, key: Uint8Array): ReadResult {
    this.assertReadable();
    assertLocation(partition, key);
    return this.read(partition, toBuffer(key));
  }

  update(
    partition: number,
    key: Uint8Array,
    fn: (current: Uint8Array | undefined) => Uint8Array | undefined,
  ): Promise<UpdateResult> {
    const refused = this.refusedWrite();
    if (refused !== undefined) return refused;
    assertLocation(partition, key);
    const keyBuffer = toBuffer(key);
    return this.queue.enqueue(() => this.applyUpdate(partition, keyBuffer, fn));
  }

  remove(partition: number, key: Uint8Array, expected?: Uint8Array): Promise<boolean> {
    const refused = this.refusedWrite();
    if (refused !== undefined) return refused;
    assertLocation(partition, key);
    const keyBuffer = toBuffer(key);
    return this.queue.enqueue(() => ok(this.applyRemove(partition, keyBuffer, expected)));
  }

  scan(partition: number, options: ScanOptions): ScanRow[] {
    this.assertReadable();
    assertLocation(partition, options.afterKey ?? new Uint8Array());
    assertPageLimit(options.limit);
    const rows: ScanRow[] = [];
    let afterKey = options.afterKey === undefined ? undefined : toBuffer(options.afterKey);
    for (let refill = 0; refill < scanRefillsMax && rows.length < options.limit; refill++) {
      const page = this.backend.scanObjects(partition, afterKey, options.limit);
      for (const row of page) {
        if (rows.length >= options.limit) break;
        if (this.verifyObject(partition, row.key, row.object, row.checksum)) {
          rows.push({ key: row.key, object: row.object });
        }
        afterKey = row.key;
      }
      if (page.length < options.limit) break;
    }
    return rows;
  }

  countObjects(): number {
    this.assertReadable();
    return this.backend.countObjects();
  }

  addHints(hints: readonly NewHint[]): Promise<void> {
    const refused = this.refusedWrite();
    if (refused !== undefined) return refused;
    assert(
      hints.length <= hintsPerCallMax,
      `${hints.length} hints exceed ${hintsPerCallMax} per call`,
    );
    for (const hint of hints) this.assertHint(hint);
    const tooLarge = hints.find((hint) => hint.object.byteLength > this.options.objectBytesMax);
    if (tooLarge !== undefined) return Promise.reject(this.tooLarge(tooLarge.object));
    return this.queue.enqueue(() => {
      for (const hint of hints) {
        const { target, createdAtMs, partition, key, object } = hint;
        const checksum = hintChecksum(target, createdAtMs, partition, key, object);
        this.backend.insertHint(
          { ...hint, key: toBuffer(key), object: toBuffer(object) },
          checksum,
        );
      }
      return ok(undefined);
    });
  }

  listHints(target: string, limit: number): Hint[] {
    this.assertReadable();
    assertPageLimit(limit);
    const stored = this.backend.selectHints(target, limit);
    const corrupt = stored.filter((hint) => !this.verifyHint(hint));
    if (corrupt.length > 0) this.dropCorruptHints(corrupt);
    return stored
      .filter((hint) => !corrupt.includes(hint))
      .map(({ id, target, partition, key, object, createdAtMs }) => ({
        id,
        target,
        partition,
        key,
        object,
        createdAtMs,
      }));
  }

  deleteHints(ids: readonly number[]): Promise<void> {
    const refused = this.refusedWrite();
    if (refused !== undefined) return refused;
    assert(
      ids.length <= hintsPerCallMax,
      `${ids.length} hint ids exceed ${hintsPerCallMax} per call`,
    );
    for (const id of ids) assert(Number.isSafeInteger(id), `hint id must be an integer, got ${id}`);
    return this.queue.enqueue(() => {
      for (const id of ids) this.backend.deleteHint(id);
      return ok(undefined);
    });
  }

  hintCounts(): Map<string, number> {
    this.assertReadable();
    return this.backend.hintCounts();
  }

  partitionHints(partition: number): number {
    this.assertReadable();
    assertLocation(partition, new Uint8Array());
    return this.backend.partitionHints(partition);
  }

  dropHintsOlderThan(cutoffMs: number): number {
    this.assertWritable();
    assert(Number.isFinite(cutoffMs), `cutoffMs must be finite, got ${cutoffMs}`);
    return this.writeNow(() => this.backend.deleteHintsOlderThan(cutoffMs));
  }

  dropHintsBeyond(target: string, countMax: number): number {
    this.assertWritable();
    assert(
      Number.isSafeInteger(countMax) && countMax >= 0,
      `countMax must be >= 0, got ${countMax}`,
    );
    return this.writeNow(() => this.backend.deleteHintsBeyond(target, countMax));
  }

  getMeta(name: string): string | undefined {
    this.assertReadable();
    return this.backend.readMeta(name);
  }

  setMeta(name: string, value: string): void {
    this.assertWritable();
    if (name.startsWith(reservedMetaPrefix)) {
      const message = `meta name '${name}' is reserved: names starting with '${reservedMetaPrefix}' belong to the engine`;
      throw new StorageError('reserved_meta_name', message);
    }
    this.assertMeta(name, value);
    this.writeNow(() => this.backend.writeMeta(name, value));
  }

  stats(): StorageStats {
    return { ...this.counters, queuedWrites: this.queue.queued };
  }

  close(): Promise<void> {
    this.closing ??= this.closeNow();
    return this.closing;
  }

  protected assertReadable(): void {
    if (this.state === 'closed') throw new StorageError('closed', 'the storage engine is closed');
  }

  private closeNow(): Promise<void> {
    this.state = 'closing';
    this.queue.drain();
    this.state = 'closed';
    try {
      this.backend.close();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private assertWritable(): void {
    if (this.state !== 'open')
      throw new StorageError('closed', `the storage engine is ${this.state}`);
  }

  private refusedWrite(): Promise<never> | undefined {
    if (this.state === 'open') return undefined;
    return Promise.reject(new StorageError('closed', `the storage engine is ${this.state}`));
  }

  private assertHint(hint: NewHint): void {
    assertLocation(hint.partition, hint.key);
    assert(
      hint.target.length > 0 && hint.target.length <= hintTargetCharsMax,
      `hint target must have 1..${hintTargetCharsMax} characters`,
    );
    assert(
      Number.isSafeInteger(hint.createdAtMs),
      `createdAtMs must be an integer, got ${hint.createdAtMs}`,
    );
  }

  private assertMeta(name: string, value: string): void {
    assert(
      name.length > 0 && name.length <= metaNameCharsMax,
      `meta name must have 1..${metaNameCharsMax} characters`,
    );
    assert(
      value.length <= metaValueCharsMax,
      `meta value of ${value.length} characters exceeds ${metaValueCharsMax}`,
    );
  }

  private tooLarge(object: Uint8Array): StorageError {
    const message = `object of ${object.byteLength} bytes exceeds objectBytesMax ${this.options.objectBytesMax}`;
    return new StorageError('object_too_large', message);
  }

  /** A synchronous write in its own transaction, counted like a group commit of one. */
  private writeNow<T>(write: () => T): T {
    let result: T | undefined;
    const startedMs = performance.now();
    try {
      this.backend.transaction(() => {
        result = write();
      });
    } catch (error) {
      this.reportDiskFull(error, 1);
      throw error;
    }
    this.counters.commits++;
    this.counters.writes++;
    this.options.onCommit?.(1, performance.now() - startedMs);
    return result as T;
  }

  private read(partition: number, key: Buffer): ReadResult {
    const stored = this.backend.readObject(partition, key);
    if (stored === undefined) return { status: 'missing' };
    const computed = objectChecksum(partition, key, stored.object);
    if (computed === stored.checksum) return { status: 'found', object: stored.object };
    const reason = checksumReason(stored.checksum, computed);
    this.reportCorruption({ source: 'object', partition, key, reason });
    return { status: 'corrupt', reason };
  }

  private verifyObject(partition: number, key: Buffer, object: Buffer, checksum: number): boolean {
    const computed = objectChecksum(partition, key, object);
    if (computed === checksum) return true;
    this.reportCorruption({
      source: 'object',
      partition,
      key,
      reason: checksumReason(checksum, computed),
    });
    return false;
  }

  private verifyHint(hint: StoredHint): boolean {
    const { target, createdAtMs, partition, key, object } = hint;
    const computed = hintChecksum(target, createdAtMs, partition, key, object);
    if (computed === hint.checksum) return true;
    const reason = `hint ${hint.id} for ${target}: ${checksumReason(hint.checksum, computed)}`;
    this.reportCorruption({ source: 'hint', partition, key, reason });
    return false;
  }

  /**
   * Housekeeping inside a read: on a full disk the corrupt hints stay (and are reported again by
   * the next read) rather than failing the read.
   */
  private dropCorruptHints(corrupt: readonly StoredHint[]): void {
    if (this.state !== 'open') return;
    try {
      this.writeNow(() => {
        for (const hint of corrupt) this.backend.deleteHint(hint.id);
      });
    } catch (error) {
      if (!isDiskFullError(error)) throw error;
    }
  }

  /** A write transaction refused for a full disk: onDiskFull counts and reports it, once. */
  private reportDiskFull(error: unknown, writes: number): void {
    if (isDiskFullError(error) && writes > 0)
      this.options.onDiskFull?.({ writes, reason: error.message });
  }

  private reportCorruption(event: CorruptionEvent): void {
    this.counters.corruptReads++;
    this.options.onCorruption?.(event);
  }

  private applyUpdate(
    partition: number,
    key: Buffer,
    fn: (current: Uint8Array | undefined) => Uint8Array | undefined,
  ): Outcome<UpdateResult> {
    const read = this.read(partition, key);
    const previous = read.status === 'found' ? read.object : undefined;
    let next: Uint8Array | undefined;
    try {
      next = fn(previous);
    } catch (error) {
      return failed(error);
    }
    if (next === undefined) return ok({ previous, next: previous, changed: false });
    if (!(next instanceof Uint8Array))
      return failed(new TypeError('update fn must return a Uint8Array or undefined'));
    if (next.byteLength > this.options.objectBytesMax) return failed(this.tooLarge(next));
    if (previous !== undefined && bytesEqual(previous, next))
      return ok({ previous, next: previous, changed: false });
    const nextBuffer = toBuffer(next);
    this.backend.writeObject(
      partition,
      key,
      nextBuffer,
      objectChecksum(partition, key, nextBuffer),
    );
    return ok({ previous, next, changed: true });
  }

  private applyRemove(partition: number, key: Buffer, expected: Uint8Array | undefined): boolean {
    const read = this.read(partition, key);
    if (read.status === 'missing') return false;
    if (expected !== undefined && (read.status !== 'found' || !bytesEqual(read.object, expected)))
      return false;
    this.backend.deleteObject(partition, key);
    return true;
  }
}
