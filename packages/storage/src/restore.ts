// A node's data directory as the node lays it out, and putting a backup back into one
// (`ringctl restore`). The node keeps its SQLite database as DATA/ringstore.db (with -wal and
// -shm beside it while it runs). A restored database is marked so that the node, at its next
// start, takes a new storage actor: what it wrote after the backup is lost to it, as after a disk
// loss, and a new actor keeps the counters of its new dots from colliding with those writes'.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join } from 'node:path';
import { StorageError } from './errors.js';
import { openSqliteEngine } from './sqlite-engine.js';

/** The node's database file in its data directory. */
export const databaseFileName = 'ringstore.db';
/** Meta row of a restored database: `restoredPending` until the node has taken a new actor. */
export const restoredMetaName = 'restored_from_backup';
export const restoredPending = 'pending';
/** The node's id in its database's meta (a data directory belongs to one node). */
export const nodeIdMetaName = 'node_id';

export interface RestoreOptions {
  /** The backup's database file (`ringctl backup` writes DIR/ID.db). */
  readonly backupFile: string;
  /** The node's data directory (its --data). */
  readonly dataDir: string;
  /** The node the backup must be of (its meta node_id). */
  readonly nodeId: string;
  /**
   * Replace a database the directory holds: it is kept beside, renamed
   * ringstore.db.before-restore-TIME (with its -wal and -shm). Without it, such a directory is
   * refused.
   */
  readonly force?: boolean;
  readonly nowMs?: number;
}

export interface RestoreResult {
  readonly databasePath: string;
  /** Where the database that was there went (force), or undefined. */
  readonly movedAside: string | undefined;
  readonly objects: number;
}

/**
 * Puts the backup in place of the node's database, marked restored. The node must be stopped.
 * StorageError 'io' (nothing changed) when the backup is missing, not of `nodeId`, not a
 * Ringstore database, or the directory holds a database and `force` is not given.
 */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const { backupFile, dataDir, nodeId } = options;
  if (!existsSync(backupFile)) throw new StorageError('io', `no backup file ${backupFile}`);
  const databasePath = join(dataDir, databaseFileName);
  const held = existsSync(databasePath) && statSync(databasePath).size > 0;
  if (held && options.force !== true)
    throw new StorageError(
      'io',
      `${databasePath} exists: stop the node, and restore with --force to replace it (the old database is kept beside it)`,
    );
  // A new disk: the directory as the node makes it (only its user may read the data).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const staging = `${databasePath}.restoring`;
  rmSync(staging, { force: true });
  copyFileSync(backupFile, staging);
  let objects: number;
  try {
    const engine = openSqliteEngine({ path: staging, checkpoints: 'inline' });
    try {
      const owner = engine.getMeta(nodeIdMetaName);
      if (owner !== nodeId)
        throw new StorageError(
          'io',
          `${backupFile} is a backup of ${owner ?? 'no node'}, not of ${nodeId}`,
        );
      engine.setMeta(restoredMetaName, restoredPending);
      objects = engine.countObjects();
    } finally {
      // Closing checkpoints the WAL into the file and removes it: one file to move.
      await engine.close();
    }
  } catch (e) {
    for (const f of [staging, `${staging}-wal`, `${staging}-shm`]) rmSync(f, { force: true });
    throw e;
  }
  let movedAside: string | undefined;
  if (held) {
    movedAside = `${databasePath}.before-restore-${options.nowMs ?? Date.now()}`;
    for (const suffix of ['', '-wal', '-shm'])
      if (existsSync(databasePath + suffix)) renameSync(databasePath + suffix, movedAside + suffix);
  }
  for (const suffix of ['-wal', '-shm']) rmSync(databasePath + suffix, { force: true });
  renameSync(staging, databasePath);
  chmodSync(databasePath, 0o600);
  return { databasePath, movedAside, objects };
}
