import { join } from 'node:path';
import Database from 'better-sqlite3';

/** Flips one byte of every stored copy of `key` in a stopped node's database, leaving the checksum stale. */
export function corruptStoredObject(dataDir: string, key: string): number {
  const db = new Database(join(dataDir, 'ringstore.db'));
  try {
    const rows = db
      .prepare('SELECT partition, object FROM objects WHERE key = ?')
      .all(Buffer.from(key)) as { partition: number; object: Buffer }[];
    for (const row of rows) {
      const damaged = Buffer.from(row.object);
      damaged[damaged.length - 1] = (damaged[damaged.length - 1] ?? 0) ^ 0xff;
      db.prepare('UPDATE objects SET object = ? WHERE partition = ? AND key = ?').run(
        damaged,
        row.partition,
        Buffer.from(key),
      );
    }
    return rows.length;
  } finally {
    db.close();
  }
}
