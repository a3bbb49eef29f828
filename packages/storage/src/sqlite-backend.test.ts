import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteBackend } from './sqlite-backend.js';
import { openSchema } from './sqlite-schema.js';
import { temporaryDirectory } from './test-support/sqlite-harness.js';

/**
 * A connection whose transactions are never rolled back by better-sqlite3: what is left when
 * SQLite neither rolls back by itself nor accepts the wrapper's ROLLBACK.
 */
function leakyConnection(path: string): Database.Database {
  const db = new Database(path);
  openSchema(db, path);
  const leaky = (fn: (work: () => void) => void) =>
    Object.assign((work: () => void) => fn(work), {
      immediate: (work: () => void) => {
        db.exec('BEGIN IMMEDIATE');
        fn(work);
        db.exec('COMMIT');
      },
    });
  (db as unknown as { transaction: unknown }).transaction = leaky;
  return db;
}

describe('SqliteBackend.transaction', () => {
  const files = temporaryDirectory('ringstore-backend-');
  afterAll(() => files.cleanup());

  it('never leaves a failed transaction open: the next one begins and commits', () => {
    const path = files.path('leaky');
    const db = leakyConnection(path);
    const backend = new SqliteBackend(db, path);
    try {
      expect(() =>
        backend.transaction(() => {
          backend.writeMeta('lost', 'x');
          throw new Error('failed halfway');
        }),
      ).toThrow('failed halfway');
      expect(db.inTransaction).toBe(false);
      backend.transaction(() => backend.writeMeta('kept', 'y'));
      expect([backend.readMeta('lost'), backend.readMeta('kept')]).toEqual([undefined, 'y']);
    } finally {
      db.close();
    }
  });
});
