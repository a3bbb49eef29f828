import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openSqliteEngine } from '../index.js';
import type { EngineOptions, SqliteOptions, SqliteStorageEngine, StorageEngine } from '../index.js';
import type { EngineHarness } from './engine-contract.js';

/** A temporary directory for database files, removed by cleanup(). */
export function temporaryDirectory(prefix: string): {
  path: (name: string) => string;
  cleanup: () => void;
} {
  const directory = mkdtempSync(join(tmpdir(), prefix));
  let fileCount = 0;
  return {
    path: (name) => join(directory, `${name}-${fileCount++}.db`),
    cleanup: () => rmSync(directory, { recursive: true, force: true }),
  };
}

function sqlitePath(engine: StorageEngine): string {
  return (engine as SqliteStorageEngine).path;
}

/** Runs fn on a second connection to the engine's file: the way to damage rows behind its back. */
export function withSecondConnection<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = new Database(path, { timeout: 5_000 });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

function flipFirstByte(object: Buffer): Buffer {
  const damaged = Buffer.from(object);
  if (damaged.byteLength > 0) damaged[0] = damaged[0]! ^ 0xff;
  return damaged;
}

export function corruptSqliteObject(path: string, partition: number, key: Uint8Array): void {
  withSecondConnection(path, (db) => {
    const row = db
      .prepare<[number, Uint8Array], { object: Buffer }>(
        'SELECT object FROM objects WHERE partition = ? AND key = ?',
      )
      .get(partition, key);
    if (row === undefined) throw new Error('corruptSqliteObject: no such object');
    db.prepare(
      'UPDATE objects SET object = ?, checksum = checksum + ? WHERE partition = ? AND key = ?',
    ).run(flipFirstByte(row.object), row.object.byteLength === 0 ? 1 : 0, partition, key);
  });
}

export function corruptSqliteHint(path: string, id: number): void {
  withSecondConnection(path, (db) => {
    const changes = db
      .prepare("UPDATE hints SET target = target || '' , object = X'00' || object WHERE id = ?")
      .run(id).changes;
    if (changes !== 1) throw new Error('corruptSqliteHint: no such hint');
  });
}

export function sqliteHarness(extra: Omit<SqliteOptions, 'path'> = {}): EngineHarness {
  const files = temporaryDirectory('ringstore-storage-');
  return {
    name: `sqlite${extra.synchronous === 'full' ? ' (synchronous full)' : ''}`,
    open: (options?: EngineOptions) =>
      openSqliteEngine({ ...extra, ...options, path: files.path('engine') }),
    corruptObject: (engine, partition, key) =>
      corruptSqliteObject(sqlitePath(engine), partition, key),
    corruptHint: (engine, id) => corruptSqliteHint(sqlitePath(engine), id),
    reopen: async (engine, options?: EngineOptions) => {
      await engine.close();
      return openSqliteEngine({ ...extra, ...options, path: sqlitePath(engine) });
    },
    cleanup: files.cleanup,
  };
}
