import type Database from 'better-sqlite3';
import { StorageError } from './errors.js';
import { schemaVersionCurrent, schemaVersionMetaName } from './schema.js';

/**
 * Version 1. objects: one row per key, WITHOUT ROWID so a partition is one range scan of the
 * primary key; BLOB keys compare bytewise (memcmp, shorter prefix first). hints: AUTOINCREMENT
 * so the id of a deleted hint is never reused while a delivery may still hold it.
 */
const schemaV1 = `
  CREATE TABLE objects (
    partition INTEGER NOT NULL,
    key BLOB NOT NULL,
    object BLOB NOT NULL,
    checksum INTEGER NOT NULL,
    PRIMARY KEY (partition, key)
  ) WITHOUT ROWID;
  CREATE TABLE hints (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    target TEXT NOT NULL,
    partition INTEGER NOT NULL,
    key BLOB NOT NULL,
    object BLOB NOT NULL,
    created_at_ms INTEGER NOT NULL,
    checksum INTEGER NOT NULL
  );
  CREATE INDEX hints_by_target ON hints (target, id);
  CREATE INDEX hints_by_age ON hints (created_at_ms);
  CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;
`;

/** Version 2: hints by partition, so "does this partition have hints?" reads an index. */
const migrationV2 = `
  CREATE INDEX hints_by_partition ON hints (partition);
`;

/** Each version's migration from the one before, applied in order to an older database. */
const migrations: readonly { readonly version: number; readonly sql: string }[] = [
  { version: 2, sql: migrationV2 },
];

function userTables(db: Database.Database): string[] {
  return db
    .prepare<[], string>(
      "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
    )
    .pluck()
    .all();
}

function storedVersion(db: Database.Database, path: string, tables: readonly string[]): number {
  const foreign = `${path} is a SQLite database Ringstore did not create (tables: ${tables.join(', ')})`;
  if (!tables.includes('meta')) throw new StorageError('schema', foreign);
  const raw = db
    .prepare<[string], unknown>('SELECT value FROM meta WHERE name = ?')
    .pluck()
    .get(schemaVersionMetaName);
  if (raw === undefined)
    throw new StorageError('schema', `${foreign}: meta has no ${schemaVersionMetaName}`);
  if (typeof raw !== 'string' || !/^[1-9][0-9]{0,8}$/.test(raw)) {
    const shown = typeof raw === 'string' ? `'${raw}'` : `a ${typeof raw}`;
    throw new StorageError(
      'schema',
      `${path}: meta ${schemaVersionMetaName} is ${shown}, not a version`,
    );
  }
  return Number(raw);
}

/**
 * Creates the schema in an empty database, or checks the stored version: a newer one is refused
 * (this build would misread it), as is a database without Ringstore's meta. Returns the version.
 */
export function openSchema(db: Database.Database, path: string): number {
  const open = db.transaction(() => {
    const tables = userTables(db);
    if (tables.length === 0) {
      db.exec(schemaV1);
      db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)').run(schemaVersionMetaName, '1');
    }
    const version = storedVersion(db, path, userTables(db));
    if (version > schemaVersionCurrent) {
      const message = `${path} has schema version ${version}, newer than version ${schemaVersionCurrent} this build knows: run a newer Ringstore`;
      throw new StorageError('schema', message);
    }
    for (const m of migrations) {
      if (m.version <= version) continue;
      db.exec(m.sql);
      db.prepare('UPDATE meta SET value = ? WHERE name = ?').run(
        String(m.version),
        schemaVersionMetaName,
      );
    }
    return schemaVersionCurrent;
  });
  return open.immediate();
}
