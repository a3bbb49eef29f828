import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { StorageError } from './errors.js';
import { toIoError } from './sqlite-errors.js';

function mapped(error: unknown): [string, string] {
  const result = toIoError(error, 'commit on /data/ringstore.db');
  expect(result).toBeInstanceOf(StorageError);
  return [(result as StorageError).code, (result as StorageError).message];
}

describe('toIoError', () => {
  it("maps SQLITE_FULL and ENOSPC to 'disk_full', saying so first", () => {
    const full = new Database.SqliteError('database or disk is full', 'SQLITE_FULL');
    expect(mapped(full)).toEqual([
      'disk_full',
      'disk full: commit on /data/ringstore.db: database or disk is full (SQLITE_FULL)',
    ]);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
    });
    expect(mapped(enospc)[0]).toBe('disk_full');
    expect((toIoError(enospc, 'x') as StorageError).cause).toBe(enospc);
  });

  it("maps other SQLite errors to 'io' or 'schema', and passes anything else through", () => {
    const ioError = new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE');
    expect(mapped(ioError)).toEqual([
      'io',
      'commit on /data/ringstore.db: disk I/O error (SQLITE_IOERR_WRITE)',
    ]);
    expect(mapped(new Database.SqliteError('file is not a database', 'SQLITE_NOTADB'))[0]).toBe(
      'schema',
    );
    const own = new StorageError('overloaded', 'queue full');
    expect(toIoError(own, 'x')).toBe(own);
    const callers = Object.assign(new Error('refused'), { code: 'EACCES' });
    expect(toIoError(callers, 'x')).toBe(callers);
  });
});
