import type Database from 'better-sqlite3';
import type { Backend, StoredHint, StoredObject, StoredRow } from './backend.js';
import { toIoError } from './sqlite-errors.js';
import type { NewHint } from './types.js';

interface HintRow {
  id: number;
  target: string;
  partition: number;
  key: Buffer;
  object: Buffer;
  createdAtMs: number;
  checksum: number;
}

function prepareStatements(db: Database.Database) {
  const hintColumns = 'id, target, partition, key, object, created_at_ms AS createdAtMs, checksum';
  return {
    readObject: db.prepare<[number, Buffer], StoredObject>(
      'SELECT object, checksum FROM objects WHERE partition = ? AND key = ?',
    ),
    writeObject: db.prepare<[number, Buffer, Buffer, number]>(
      `INSERT INTO objects (partition, key, object, checksum) VALUES (?, ?, ?, ?)
       ON CONFLICT (partition, key) DO UPDATE SET object = excluded.object, checksum = excluded.checksum`,
    ),
    deleteObject: db.prepare<[number, Buffer]>(
      'DELETE FROM objects WHERE partition = ? AND key = ?',
    ),
    scanFirst: db.prepare<[number, number], StoredRow>(
      'SELECT key, object, checksum FROM objects WHERE partition = ? ORDER BY key LIMIT ?',
    ),
    scanAfter: db.prepare<[number, Buffer, number], StoredRow>(
      'SELECT key, object, checksum FROM objects WHERE partition = ? AND key > ? ORDER BY key LIMIT ?',
    ),
    countObjects: db.prepare<[], number>('SELECT count(*) FROM objects').pluck(),
    insertHint: db.prepare<[string, number, Uint8Array, Uint8Array, number, number]>(
      `INSERT INTO hints (target, partition, key, object, created_at_ms, checksum)
       VALUES (?, ?, ?, ?, ?, ?)`,
    ),
    selectHints: db.prepare<[string, number], HintRow>(
      `SELECT ${hintColumns} FROM hints WHERE target = ? ORDER BY id LIMIT ?`,
    ),
    deleteHint: db.prepare<[number]>('DELETE FROM hints WHERE id = ?'),
    partitionHints: db
      .prepare<[number], number>('SELECT count(*) FROM hints WHERE partition = ?')
      .pluck(),
    hintCounts: db.prepare<[], { target: string; count: number }>(
      'SELECT target, count(*) AS count FROM hints GROUP BY target',
    ),
    deleteHintsOlderThan: db.prepare<[number]>('DELETE FROM hints WHERE created_at_ms < ?'),
    deleteHintsBeyond: db.prepare<[string, string, number]>(
      `DELETE FROM hints WHERE target = ? AND id <=
         (SELECT id FROM hints WHERE target = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`,
    ),
    readMeta: db.prepare<[string], string>('SELECT value FROM meta WHERE name = ?').pluck(),
    writeMeta: db.prepare<[string, string]>(
      'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
    ),
  };
}

/** The SQLite primitives behind the engine: one connection, every statement prepared once. */
export class SqliteBackend implements Backend {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly runTransaction: Database.Transaction<(work: () => void) => void>;

  constructor(
    private readonly db: Database.Database,
    private readonly path: string,
  ) {
    this.statements = prepareStatements(db);
    this.runTransaction = db.transaction((work: () => void) => work());
  }

  readObject(partition: number, key: Buffer): StoredObject | undefined {
    return this.guard('read', () => this.statements.readObject.get(partition, key));
  }

  writeObject(partition: number, key: Buffer, object: Buffer, checksum: number): void {
    this.statements.writeObject.run(partition, key, object, checksum);
  }

  deleteObject(partition: number, key: Buffer): void {
    this.statements.deleteObject.run(partition, key);
  }

  scanObjects(partition: number, afterKey: Buffer | undefined, limit: number): StoredRow[] {
    return this.guard('scan', () =>
      afterKey === undefined
        ? this.statements.scanFirst.all(partition, limit)
        : this.statements.scanAfter.all(partition, afterKey, limit),
    );
  }

  countObjects(): number {
    return this.guard('count', () => this.statements.countObjects.get() ?? 0);
  }

  insertHint(hint: NewHint, checksum: number): void {
    const { target, partition, key, object, createdAtMs } = hint;
    this.statements.insertHint.run(target, partition, key, object, createdAtMs, checksum);
  }

  selectHints(target: string, limit: number): StoredHint[] {
    return this.guard('read hints', () => this.statements.selectHints.all(target, limit));
  }

  deleteHint(id: number): void {
    this.statements.deleteHint.run(id);
  }

  partitionHints(partition: number): number {
    return this.guard('count hints', () => this.statements.partitionHints.get(partition) ?? 0);
  }

  hintCounts(): Map<string, number> {
    const rows = this.guard('count hints', () => this.statements.hintCounts.all());
    return new Map(rows.map((row) => [row.target, row.count]));
  }

  deleteHintsOlderThan(cutoffMs: number): number {
    return this.statements.deleteHintsOlderThan.run(cutoffMs).changes;
  }

  deleteHintsBeyond(target: string, countMax: number): number {
    return this.statements.deleteHintsBeyond.run(target, target, countMax).changes;
  }

  readMeta(name: string): string | undefined {
    return this.guard('read meta', () => this.statements.readMeta.get(name));
  }

  writeMeta(name: string, value: string): void {
    this.statements.writeMeta.run(name, value);
  }

  /**
   * BEGIN IMMEDIATE: takes the write lock up front, so a second connection cannot make it fail
   * halfway. A failed transaction is never left open (SQLite rolls back on SQLITE_FULL, and
   * better-sqlite3 otherwise; should that rollback fail too, this one tries again): an open one
   * would fail every later BEGIN, wedging the engine until a restart.
   */
  transaction(work: () => void): void {
    const outermost = !this.db.inTransaction;
    try {
      this.runTransaction.immediate(work);
    } catch (error) {
      if (outermost) this.rollbackLeftover();
      throw toIoError(error, `commit on ${this.path}`);
    }
  }

  close(): void {
    this.guard('close', () => this.db.close());
  }

  private rollbackLeftover(): void {
    if (!this.db.inTransaction) return;
    try {
      this.db.exec('ROLLBACK');
    } catch {
      // The commit's error is the one to report; a connection still stuck fails the next BEGIN.
    }
  }

  private guard<T>(action: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw toIoError(error, `${action} on ${this.path}`);
    }
  }
}
