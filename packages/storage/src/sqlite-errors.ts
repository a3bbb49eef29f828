import Database from 'better-sqlite3';
import { StorageError } from './errors.js';

/** SQLite result codes that mean "this file is not a database Ringstore can read". */
const notOurDatabaseCodes = new Set(['SQLITE_NOTADB']);

/**
 * SQLite result codes that mean "no room for this write": the disk is full (SQLite turns a
 * write's ENOSPC into SQLITE_FULL) or the database reached its max_page_count.
 */
const diskFullCodes = new Set(['SQLITE_FULL']);

/** Whether an error says the disk is full: SQLITE_FULL from SQLite, ENOSPC from a file operation. */
export function isDiskFull(error: unknown): boolean {
  if (error instanceof Database.SqliteError) return diskFullCodes.has(error.code);
  return error instanceof Error && (error as NodeJS.ErrnoException).code === 'ENOSPC';
}

/**
 * Wraps an error SQLite raised as a StorageError ('disk_full' for SQLITE_FULL and ENOSPC,
 * 'schema' for a file that is not a usable database, 'io' otherwise); anything else (a
 * StorageError, an error thrown by the caller's code inside a transaction) passes through
 * unchanged.
 */
export function toIoError(error: unknown, context: string): unknown {
  if (isDiskFull(error)) {
    const { message, code } = error as Error & { code: string };
    return new StorageError('disk_full', `disk full: ${context}: ${message} (${code})`, {
      cause: error,
    });
  }
  if (!(error instanceof Database.SqliteError)) return error;
  const code = notOurDatabaseCodes.has(error.code) ? 'schema' : 'io';
  return new StorageError(code, `${context}: ${error.message} (${error.code})`, { cause: error });
}
