import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteEngine, StorageError } from './index.js';
import type { SqliteOptions, SqliteStorageEngine } from './index.js';
import { bytes, describeEngineContract, readText } from './test-support/engine-contract.js';
import {
  sqliteHarness,
  temporaryDirectory,
  withSecondConnection,
} from './test-support/sqlite-harness.js';

describeEngineContract(sqliteHarness());
describeEngineContract(sqliteHarness({ synchronous: 'full' }));

function expectOpenError(
  options: SqliteOptions,
  code: StorageError['code'],
  message: RegExp,
): void {
  let thrown: unknown;
  try {
    openSqliteEngine(options)
      .close()
      .catch(() => undefined);
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(StorageError);
  expect((thrown as StorageError).code).toBe(code);
  expect((thrown as StorageError).message).toMatch(message);
}

describe('sqlite engine', () => {
  const files = temporaryDirectory('ringstore-sqlite-');
  const opened: SqliteStorageEngine[] = [];
  const open = (options: Partial<SqliteOptions> = {}) => {
    const engine = openSqliteEngine({ path: files.path('db'), ...options });
    opened.push(engine);
    return engine;
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((engine) => engine.close()));
  });
  afterAll(() => files.cleanup());

  it('sets every pragma explicitly and reads them back', () => {
    expect(open().pragmas()).toEqual({
      journalMode: 'wal',
      synchronous: 'normal',
      foreignKeys: true,
      busyTimeoutMs: 5_000,
      cacheBytes: 64 * 1024 * 1024,
      tempStore: 'memory',
      walAutocheckpointPages: 0,
      schemaVersion: 2,
    });
    const full = open({
      synchronous: 'full',
      busyTimeoutMs: 250,
      cacheBytes: 8 * 1024 * 1024,
      checkpoints: 'inline',
    }).pragmas();
    expect(full).toMatchObject({
      synchronous: 'full',
      busyTimeoutMs: 250,
      cacheBytes: 8 * 1024 * 1024,
      walAutocheckpointPages: 1_000,
    });
  });

  it('creates the documented tables: objects WITHOUT ROWID keyed by (partition, key), hints indexed by target', async () => {
    const engine = open();
    await engine.close();
    const sql = withSecondConnection(engine.path, (db) =>
      db
        .prepare<[], { name: string; sql: string }>(
          'SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL',
        )
        .all(),
    );
    const byName = new Map(sql.map((row) => [row.name, row.sql]));
    expect(byName.get('objects')).toMatch(/PRIMARY KEY \(partition, key\)\s*\)\s*WITHOUT ROWID/);
    expect(byName.get('meta')).toMatch(/WITHOUT ROWID/);
    expect(byName.get('hints_by_target')).toMatch(/ON hints \(target, id\)/);
    expect(byName.get('hints_by_partition')).toMatch(/ON hints \(partition\)/);
  });

  it('migrates a version 1 database: adds the hints-by-partition index, keeps the rows', async () => {
    const engine = open();
    await engine.addHints([
      {
        target: 'n2',
        partition: 3,
        key: Buffer.from('k'),
        object: Buffer.from('o'),
        createdAtMs: 1,
      },
    ]);
    await engine.close();
    withSecondConnection(engine.path, (db) => {
      db.exec('DROP INDEX hints_by_partition');
      db.prepare("UPDATE meta SET value = '1' WHERE name = 'storage.schema_version'").run();
    });
    const reopened = open({ path: engine.path });
    expect(reopened.pragmas().schemaVersion).toBe(2);
    expect(reopened.partitionHints(3)).toBe(1);
    await reopened.close();
    const index = withSecondConnection(engine.path, (db) =>
      db.prepare("SELECT sql FROM sqlite_master WHERE name = 'hints_by_partition'").pluck().get(),
    );
    expect(index).toMatch(/ON hints \(partition\)/);
  });

  it('refuses a database written by a newer schema version, and says so', async () => {
    const engine = open();
    await engine.close();
    withSecondConnection(engine.path, (db) =>
      db.prepare("UPDATE meta SET value = '3' WHERE name = 'storage.schema_version'").run(),
    );
    expectOpenError({ path: engine.path }, 'schema', /schema version 3, newer than version 2/);
  });

  it('refuses SQLite files Ringstore did not create, and files that are not databases', () => {
    const foreign = files.path('foreign');
    withSecondConnection(foreign, (db) => db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY)'));
    expectOpenError({ path: foreign }, 'schema', /did not create \(tables: users\)/);
    const garbage = files.path('garbage');
    writeFileSync(garbage, Buffer.alloc(8192, 0x41));
    expectOpenError({ path: garbage }, 'schema', /not a database/);
  });

  it("reports a file it cannot open as 'io' and a journal SQLite will not switch to WAL as 'pragma_refused'", () => {
    expectOpenError({ path: join(files.path('missing-dir'), 'db') }, 'io', /cannot open/);
    expectOpenError({ path: ':memory:' }, 'pragma_refused', /WAL/);
  });

  it("rejects a whole batch as 'io' when its transaction cannot commit, then recovers", async () => {
    const engine = open({ busyTimeoutMs: 20 });
    const blocker = new Database(engine.path);
    blocker.exec('BEGIN IMMEDIATE');
    const results = await Promise.allSettled([
      engine.update(1, bytes('a'), () => bytes('v')),
      engine.update(1, bytes('b'), () => bytes('v')),
    ]);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as StorageError;
      expect(reason.code).toBe('io');
      expect(reason.message).toMatch(/SQLITE_BUSY/);
    }
    blocker.exec('ROLLBACK');
    blocker.close();
    await engine.update(1, bytes('a'), () => bytes('v'));
    expect(readText(engine.get(1, bytes('a')))).toBe('found:v');
    expect(engine.stats()).toMatchObject({ commits: 1, writes: 1 });
  });

  it('refuses pragmas() once closed', async () => {
    const engine = open();
    await engine.close();
    expect(() => engine.pragmas()).toThrow(StorageError);
  });

  it('backs up online: a few pages per turn, writes committed meanwhile in the copy, which opens as a database', async () => {
    const engine = open();
    const value = Buffer.alloc(2_000, 0x61);
    await Promise.all(
      Array.from({ length: 2_000 }, (_, i) => engine.update(i % 8, bytes(`k${i}`), () => value)),
    );
    // One page per step: the backup takes many turns, and a write lands between them.
    let turns = 0;
    let counting = true;
    const count = (): void => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const destination = files.path('backup');
    const copying = engine.backup(destination, { pagesPerStep: 1 });
    const during = engine.update(3, bytes('written-during'), () => bytes('yes'));
    const { bytes: size } = await copying;
    counting = false;
    await during;
    expect(turns).toBeGreaterThan(100);
    expect(size).toBeGreaterThan(2_000 * 2_000);
    const copy = openSqliteEngine({ path: destination });
    opened.push(copy);
    expect(copy.countObjects()).toBe(2_001);
    expect(readText(copy.get(3, bytes('written-during')))).toBe('found:yes');
    expect(readText(copy.get(5, bytes('k5')))).toBe(`found:${value.toString()}`);
  });

  it('refuses a backup over an existing file or with a bad step, and once closed', async () => {
    const engine = open();
    const taken = files.path('taken');
    writeFileSync(taken, 'x');
    await expect(engine.backup(taken)).rejects.toThrow(/exists already/);
    await expect(engine.backup(files.path('b2'), { pagesPerStep: 0 })).rejects.toThrow(
      /pagesPerStep/,
    );
    await engine.close();
    await expect(engine.backup(files.path('b3'))).rejects.toThrow(StorageError);
  });
});
