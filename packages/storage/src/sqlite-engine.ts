import Database from 'better-sqlite3';
import { assert } from './assert.js';
import {
  Checkpointer,
  checkpointDefaults,
  type CheckpointOptions,
  type CheckpointStats,
} from './checkpointer.js';
import { Engine } from './engine.js';
import { StorageError } from './errors.js';
import { existsSync, rmSync, statSync } from 'node:fs';
import {
  backupPagesPerStepDefault,
  backupPagesPerStepMax,
  busyTimeoutMsDefault,
  busyTimeoutMsMax,
  cacheBytesDefault,
  cacheBytesMax,
  walAutocheckpointPages,
  walBytesKept,
} from './limits.js';
import { integerOption, resolveEngineOptions, type ResolvedEngineOptions } from './options.js';
import { schemaVersionMetaName } from './schema.js';
import { SqliteBackend } from './sqlite-backend.js';
import { isDiskFull, toIoError } from './sqlite-errors.js';
import { openSchema } from './sqlite-schema.js';
import type {
  BackupOptions,
  BackupResult,
  SqliteOptions,
  SqlitePragmas,
  SqliteStorageEngine,
} from './types.js';

const synchronousNames = ['off', 'normal', 'full', 'extra'] as const;
const tempStoreNames = ['default', 'file', 'memory'] as const;

interface SqliteSettings {
  synchronous: 'normal' | 'full';
  busyTimeoutMs: number;
  cacheBytes: number;
  checkpoints: 'worker' | 'inline';
  checkpointOptions: CheckpointOptions;
}

function resolveSqliteSettings(options: SqliteOptions): SqliteSettings {
  const synchronous = options.synchronous ?? 'normal';
  assert(
    synchronous === 'normal' || synchronous === 'full',
    `synchronous must be 'normal' or 'full'`,
  );
  const checkpoints = options.checkpoints ?? 'worker';
  assert(
    checkpoints === 'worker' || checkpoints === 'inline',
    `checkpoints must be 'worker' or 'inline'`,
  );
  const given = options.checkpointOptions ?? {};
  const checkpointOptions: CheckpointOptions = {
    intervalMs: integerOption(
      'checkpointOptions.intervalMs',
      given.intervalMs ?? checkpointDefaults.intervalMs,
      1,
      60_000,
    ),
    walBytesMax: integerOption(
      'checkpointOptions.walBytesMax',
      given.walBytesMax ?? checkpointDefaults.walBytesMax,
      64 * 1024,
      64 * 1024 * 1024 * 1024,
    ),
    timeoutMs: integerOption(
      'checkpointOptions.timeoutMs',
      given.timeoutMs ?? checkpointDefaults.timeoutMs,
      1,
      3_600_000,
    ),
  };
  return {
    synchronous,
    checkpoints,
    checkpointOptions,
    busyTimeoutMs: integerOption(
      'busyTimeoutMs',
      options.busyTimeoutMs ?? busyTimeoutMsDefault,
      0,
      busyTimeoutMsMax,
    ),
    cacheBytes: integerOption(
      'cacheBytes',
      options.cacheBytes ?? cacheBytesDefault,
      1024,
      cacheBytesMax,
    ),
  };
}

/** Every pragma the engine relies on is set explicitly (STYLE.md rule 12), busy_timeout first so the others wait for locks. */
function applyPragmas(db: Database.Database, settings: SqliteSettings, path: string): void {
  db.pragma(`busy_timeout = ${settings.busyTimeoutMs}`);
  const journalMode = db.pragma('journal_mode = WAL', { simple: true });
  if (journalMode !== 'wal') {
    throw new StorageError(
      'pragma_refused',
      `${path}: SQLite kept journal_mode '${String(journalMode)}' instead of WAL`,
    );
  }
  // NORMAL in WAL mode: a power loss may drop the last commits but never corrupts the database.
  db.pragma(`synchronous = ${settings.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
  db.pragma('foreign_keys = ON');
  db.pragma(`cache_size = ${-Math.ceil(settings.cacheBytes / 1024)}`);
  db.pragma('temp_store = MEMORY');
  // 0: the checkpoint worker does it (checkpointer.ts), never a write on the event loop.
  db.pragma(
    `wal_autocheckpoint = ${settings.checkpoints === 'worker' ? 0 : walAutocheckpointPages}`,
  );
  db.pragma(`journal_size_limit = ${walBytesKept}`);
}

function pragmaNumber(db: Database.Database, name: string): number {
  return Number(db.pragma(name, { simple: true }));
}

function readPragmas(db: Database.Database): SqlitePragmas {
  const cacheSize = pragmaNumber(db, 'cache_size');
  const schemaVersion = db
    .prepare<[string], string>('SELECT value FROM meta WHERE name = ?')
    .pluck()
    .get(schemaVersionMetaName);
  return {
    journalMode: String(db.pragma('journal_mode', { simple: true })),
    synchronous: synchronousNames[pragmaNumber(db, 'synchronous')] ?? 'off',
    foreignKeys: pragmaNumber(db, 'foreign_keys') === 1,
    busyTimeoutMs: pragmaNumber(db, 'busy_timeout'),
    // A negative cache_size is in KiB, a positive one in pages.
    cacheBytes: cacheSize < 0 ? -cacheSize * 1024 : cacheSize * pragmaNumber(db, 'page_size'),
    tempStore: tempStoreNames[pragmaNumber(db, 'temp_store')] ?? 'default',
    walAutocheckpointPages: pragmaNumber(db, 'wal_autocheckpoint'),
    schemaVersion: Number(schemaVersion),
  };
}

class SqliteEngine extends Engine implements SqliteStorageEngine {
  private readonly checkpointer: Checkpointer | undefined;
  private closingAll: Promise<void> | undefined;

  constructor(
    private readonly db: Database.Database,
    readonly path: string,
    options: ResolvedEngineOptions,
    settings: SqliteSettings,
  ) {
    super(new SqliteBackend(db, path), options);
    if (settings.checkpoints === 'worker') {
      this.checkpointer = new Checkpointer(
        path,
        settings.busyTimeoutMs,
        pragmaNumber(db, 'page_size'),
        () => this.stats().commits,
        // The worker is gone: SQLite checkpoints in the writes again, so the WAL stays bounded.
        () => {
          if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${walAutocheckpointPages}`);
        },
        settings.checkpointOptions,
      );
    }
  }

  checkpointStats(): CheckpointStats | undefined {
    return this.checkpointer?.current;
  }

  /** Closes both connections; the last to close checkpoints what the WAL still holds. */
  override close(): Promise<void> {
    this.closingAll ??= Promise.all([super.close(), this.checkpointer?.close()]).then(
      () => undefined,
    );
    return this.closingAll;
  }

  async backup(destination: string, options: BackupOptions = {}): Promise<BackupResult> {
    this.assertReadable();
    const pagesPerStep = options.pagesPerStep ?? backupPagesPerStepDefault;
    assert(
      Number.isInteger(pagesPerStep) && pagesPerStep >= 1 && pagesPerStep <= backupPagesPerStepMax,
      `pagesPerStep must be in 1..${backupPagesPerStepMax}`,
    );
    if (existsSync(destination))
      throw new StorageError('io', `backup destination ${destination} exists already`);
    try {
      // better-sqlite3 runs one step per turn of the event loop (setImmediate between steps).
      await this.db.backup(destination, { progress: () => pagesPerStep });
      return { bytes: statSync(destination).size };
    } catch (error) {
      rmSync(destination, { force: true });
      if (!this.db.open) throw new StorageError('closed', 'storage closed during the backup');
      throw toIoError(error, `backing up ${this.path} to ${destination}`);
    }
  }

  pragmas(): SqlitePragmas {
    this.assertReadable();
    try {
      return readPragmas(this.db);
    } catch (error) {
      throw toIoError(error, `reading pragmas of ${this.path}`);
    }
  }
}

function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  try {
    return new Database(path, { timeout: busyTimeoutMs });
  } catch (error) {
    if (isDiskFull(error)) throw toIoError(error, `cannot open ${path}`);
    const reason = error instanceof Error ? error.message : String(error);
    throw new StorageError('io', `cannot open ${path}: ${reason}`, { cause: error });
  }
}

/**
 * Opens (creating when missing) the node's SQLite database: WAL, synchronous NORMAL unless FULL
 * is asked for, schema created or checked. Throws StorageError 'schema', 'pragma_refused',
 * 'disk_full' or 'io'.
 */
export function openSqliteEngine(options: SqliteOptions): SqliteStorageEngine {
  return openSqliteEngineWithConnection(options).engine;
}

/**
 * openSqliteEngine, also handing back the engine's connection. Internal (not exported from
 * index.ts): tests use it to set per-connection pragmas such as max_page_count.
 */
export function openSqliteEngineWithConnection(options: SqliteOptions): {
  engine: SqliteStorageEngine;
  db: Database.Database;
} {
  assert(options.path.length > 0, 'path must not be empty');
  const engineOptions = resolveEngineOptions(options);
  const settings = resolveSqliteSettings(options);
  const db = openDatabase(options.path, settings.busyTimeoutMs);
  try {
    applyPragmas(db, settings, options.path);
    openSchema(db, options.path);
    return { engine: new SqliteEngine(db, options.path, engineOptions, settings), db };
  } catch (error) {
    db.close();
    throw toIoError(error, `opening ${options.path}`);
  }
}
