import Database from 'better-sqlite3';
import { StorageError } from './errors.js';

/** SQLite result codes that mean "this file is not a database Ringstore can read". */
const notOurDatabaseCodes = new Set(['SQLITE_NOTADB']);

/**
 * Wraps an error SQLite raised as a StorageError ('io', or 'schema' for a file that is not a
 * usable database); anything else (a StorageError, an error thrown by the caller's code inside a
 * transaction) passes through unchanged.
 */
export function toIoError(error: unknown, context: string): unknown {
  if (!(error instanceof Database.SqliteError)) return error;
  const code = notOurDatabaseCodes.has(error.code) ? 'schema' : 'io';
  return new StorageError(code, `${context}: ${error.message} (${error.code})`, { cause: error });
}
