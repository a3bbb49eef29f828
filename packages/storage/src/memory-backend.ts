import { assert } from './assert.js';
import type { Backend, StoredHint, StoredObject, StoredRow } from './backend.js';
import type { NewHint } from './types.js';

interface MemoryRow {
  key: Buffer;
  object: Buffer;
  checksum: number;
}

function copy(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes);
}

function copyHint(hint: StoredHint): StoredHint {
  return { ...hint, key: copy(hint.key), object: copy(hint.object) };
}

/** First index whose key is >= key (or > key when `after`): rows are sorted bytewise. */
function searchRows(rows: readonly MemoryRow[], key: Buffer, after: boolean): number {
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = Buffer.compare(rows[middle]!.key, key);
    if (order < 0 || (after && order === 0)) low = middle + 1;
    else high = middle;
  }
  return low;
}

/**
 * Objects, hints and meta in memory. Each partition is one array sorted bytewise by key (binary
 * search; inserts shift the tail, fine for the sizes tests and the in-memory engine hold).
 * Transactions keep an undo log so a failing batch leaves nothing behind, as SQLite does.
 */
export class MemoryBackend implements Backend {
  private readonly partitions = new Map<number, MemoryRow[]>();
  private readonly hintsByTarget = new Map<string, Map<number, StoredHint>>();
  private readonly hintTargets = new Map<number, string>();
  private readonly meta = new Map<string, string>();
  private hintIdNext = 1;
  private objectCount = 0;
  private undoLog: (() => void)[] | undefined;

  readObject(partition: number, key: Buffer): StoredObject | undefined {
    const row = this.findRow(partition, key);
    return row === undefined ? undefined : { object: copy(row.object), checksum: row.checksum };
  }

  writeObject(partition: number, key: Buffer, object: Buffer, checksum: number): void {
    const rows = this.rowsOf(partition);
    const index = searchRows(rows, key, false);
    const existing = rows[index];
    const row = { key: copy(key), object: copy(object), checksum };
    if (existing !== undefined && existing.key.equals(key)) {
      rows[index] = row;
      this.onUndo(() => this.restoreRow(partition, existing));
      return;
    }
    rows.splice(index, 0, row);
    this.objectCount++;
    this.onUndo(() => this.deleteObject(partition, key));
  }

  deleteObject(partition: number, key: Buffer): void {
    const rows = this.partitions.get(partition);
    if (rows === undefined) return;
    const index = searchRows(rows, key, false);
    const existing = rows[index];
    if (existing === undefined || !existing.key.equals(key)) return;
    rows.splice(index, 1);
    this.objectCount--;
    if (rows.length === 0) this.partitions.delete(partition);
    this.onUndo(() => this.restoreRow(partition, existing));
  }

  scanObjects(partition: number, afterKey: Buffer | undefined, limit: number): StoredRow[] {
    const rows = this.partitions.get(partition) ?? [];
    const start = afterKey === undefined ? 0 : searchRows(rows, afterKey, true);
    return rows.slice(start, start + limit).map((row) => ({
      key: copy(row.key),
      object: copy(row.object),
      checksum: row.checksum,
    }));
  }

  countObjects(): number {
    return this.objectCount;
  }

  insertHint(hint: NewHint, checksum: number): void {
    const id = this.hintIdNext++;
    const stored = { ...hint, id, key: copy(hint.key), object: copy(hint.object), checksum };
    this.putHint(stored);
    this.onUndo(() => this.deleteHint(id));
  }

  selectHints(target: string, limit: number): StoredHint[] {
    const hints: StoredHint[] = [];
    for (const hint of this.hintsByTarget.get(target)?.values() ?? []) {
      if (hints.length >= limit) break;
      hints.push(copyHint(hint));
    }
    return hints;
  }

  deleteHint(id: number): void {
    const target = this.hintTargets.get(id);
    if (target === undefined) return;
    const hints = this.hintsByTarget.get(target)!;
    const hint = hints.get(id)!;
    hints.delete(id);
    this.hintTargets.delete(id);
    if (hints.size === 0) this.hintsByTarget.delete(target);
    this.onUndo(() => this.restoreHint(hint));
  }

  partitionHints(partition: number): number {
    let count = 0;
    for (const hints of this.hintsByTarget.values())
      for (const hint of hints.values()) if (hint.partition === partition) count++;
    return count;
  }

  hintCounts(): Map<string, number> {
    return new Map([...this.hintsByTarget].map(([target, hints]) => [target, hints.size]));
  }

  deleteHintsOlderThan(cutoffMs: number): number {
    const ids: number[] = [];
    for (const hints of this.hintsByTarget.values()) {
      for (const hint of hints.values()) if (hint.createdAtMs < cutoffMs) ids.push(hint.id);
    }
    for (const id of ids) this.deleteHint(id);
    return ids.length;
  }

  deleteHintsBeyond(target: string, countMax: number): number {
    const hints = [...(this.hintsByTarget.get(target)?.keys() ?? [])];
    const dropped = hints.slice(0, Math.max(0, hints.length - countMax));
    for (const id of dropped) this.deleteHint(id);
    return dropped.length;
  }

  readMeta(name: string): string | undefined {
    return this.meta.get(name);
  }

  writeMeta(name: string, value: string): void {
    const previous = this.meta.get(name);
    this.meta.set(name, value);
    this.onUndo(() => {
      if (previous === undefined) this.meta.delete(name);
      else this.meta.set(name, previous);
    });
  }

  transaction(work: () => void): void {
    assert(this.undoLog === undefined, 'memory transactions do not nest');
    const undoLog: (() => void)[] = [];
    this.undoLog = undoLog;
    try {
      work();
    } catch (error) {
      this.undoLog = undefined;
      for (const undo of undoLog.reverse()) undo();
      throw error;
    } finally {
      this.undoLog = undefined;
    }
  }

  close(): void {
    this.partitions.clear();
    this.hintsByTarget.clear();
    this.hintTargets.clear();
    this.meta.clear();
    this.objectCount = 0;
  }

  /** Test hook: changes the stored bytes (or, for an empty object, the checksum) without fixing the checksum. */
  corruptObject(partition: number, key: Buffer): void {
    const row = this.findRow(partition, key);
    assert(row !== undefined, 'corruptObject: no such object');
    if (row.object.byteLength === 0) row.checksum = (row.checksum + 1) >>> 0;
    else row.object[0] = row.object[0]! ^ 0xff;
  }

  /** Test hook: changes a stored hint's object (or checksum) without fixing the checksum. */
  corruptHint(id: number): void {
    const target = this.hintTargets.get(id);
    assert(target !== undefined, 'corruptHint: no such hint');
    const hint = this.hintsByTarget.get(target)!.get(id)!;
    if (hint.object.byteLength === 0) hint.checksum = (hint.checksum + 1) >>> 0;
    else hint.object[0] = hint.object[0]! ^ 0xff;
  }

  private onUndo(undo: () => void): void {
    this.undoLog?.push(undo);
  }

  private findRow(partition: number, key: Buffer): MemoryRow | undefined {
    const rows = this.partitions.get(partition);
    if (rows === undefined) return undefined;
    const row = rows[searchRows(rows, key, false)];
    return row !== undefined && row.key.equals(key) ? row : undefined;
  }

  private rowsOf(partition: number): MemoryRow[] {
    let rows = this.partitions.get(partition);
    if (rows === undefined) {
      rows = [];
      this.partitions.set(partition, rows);
    }
    return rows;
  }

  private restoreRow(partition: number, row: MemoryRow): void {
    this.writeObject(partition, row.key, row.object, row.checksum);
  }

  private putHint(hint: StoredHint): void {
    let hints = this.hintsByTarget.get(hint.target);
    if (hints === undefined) {
      hints = new Map();
      this.hintsByTarget.set(hint.target, hints);
    }
    hints.set(hint.id, hint);
    this.hintTargets.set(hint.id, hint.target);
  }

  /** Undo of a delete: the hint goes back in id order, which a Map keeps only by rebuilding it. */
  private restoreHint(hint: StoredHint): void {
    this.putHint(hint);
    const hints = this.hintsByTarget.get(hint.target)!;
    const sorted = [...hints.values()].sort((a, b) => a.id - b.id);
    hints.clear();
    for (const each of sorted) hints.set(each.id, each);
  }
}
