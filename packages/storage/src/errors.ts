/**
 * Operating errors of the storage engines, each with a stable code. Programmer errors are
 * assertions instead (see assert.ts).
 */
export type StorageErrorCode =
  /** The engine was closed (or is closing); the call did nothing. */
  | 'closed'
  /** Too many writes are queued for the next group commit; the call did nothing. */
  | 'overloaded'
  /** An object is larger than objectBytesMax; the call did nothing. */
  | 'object_too_large'
  /** The meta name starts with the engine's reserved prefix "storage."; nothing was written. */
  | 'reserved_meta_name'
  /**
   * The database's schema is not one this build can open: written by a newer Ringstore, or a
   * SQLite file Ringstore did not create (or whose meta is damaged).
   */
  | 'schema'
  /** SQLite refused a pragma the engine depends on (for example WAL on a special file). */
  | 'pragma_refused'
  /**
   * The disk (or the database's size limit) is full: SQLite said SQLITE_FULL, or a file operation
   * said ENOSPC. The write's transaction was rolled back, so nothing of it was stored; reads keep
   * working, and writes succeed again once space is freed, without reopening. `cause` holds the
   * original error.
   */
  | 'disk_full'
  /** SQLite failed to read or commit (I/O error, locked file); `cause` holds its error. */
  | 'io';

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}
