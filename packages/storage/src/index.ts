export { openSqliteEngine } from './sqlite-engine.js';
export {
  checkpointDefaults,
  type CheckpointOptions,
  type CheckpointStats,
} from './checkpointer.js';
export { openMemoryEngine } from './memory-engine.js';
export { StorageError, type StorageErrorCode } from './errors.js';
export {
  backupPagesPerStepDefault,
  backupPagesPerStepMax,
  hintsPerCallMax,
  keyBytesMax,
  pageRowsMax,
} from './limits.js';
export type {
  BackupOptions,
  BackupResult,
  CommitListener,
  CorruptionEvent,
  CorruptionListener,
  DiskFullEvent,
  DiskFullListener,
  EngineOptions,
  Hint,
  MemoryOptions,
  NewHint,
  ReadResult,
  ScanOptions,
  ScanRow,
  SqliteOptions,
  SqlitePragmas,
  SqliteStorageEngine,
  StorageEngine,
  StorageStats,
  UpdateResult,
} from './types.js';
export {
  databaseFileName,
  nodeIdMetaName,
  restoreDatabase,
  restoredMetaName,
  restoredPending,
  type RestoreOptions,
  type RestoreResult,
} from './restore.js';
