import { rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteEngine, StorageError } from './index.js';
import type { DiskFullEvent, SqliteOptions, SqliteStorageEngine } from './index.js';
import { openSqliteEngineWithConnection } from './sqlite-engine.js';
import { bytes, readText } from './test-support/engine-contract.js';
import { temporaryDirectory, withSecondConnection } from './test-support/sqlite-harness.js';
import { mountTmpfs } from './test-support/tmpfs.js';

/**
 * SQLITE_FULL without root or a small filesystem: max_page_count caps the database on the
 * engine's own connection, and SQLite refuses a write that would grow it past the cap exactly as
 * it refuses one that finds the disk full.
 */

/** Room left above the current size: a few small rows fit, a 1 MiB object never does. */
const headroomPages = 16;
const huge = Buffer.alloc(1024 * 1024, 0x5a);

function capAtCurrentSize(db: Database.Database): void {
  const pages = Number(db.pragma('page_count', { simple: true }));
  db.pragma(`max_page_count = ${pages + headroomPages}`);
}

function lift(db: Database.Database): void {
  db.pragma('max_page_count = 1073741823');
}

function diskFullReason(error: unknown): string {
  expect(error).toBeInstanceOf(StorageError);
  expect((error as StorageError).code).toBe('disk_full');
  return (error as StorageError).message;
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  const [settled] = await Promise.allSettled([promise]);
  expect(settled.status).toBe('rejected');
  return diskFullReason((settled as PromiseRejectedResult).reason);
}

describe('sqlite engine on a full disk (max_page_count)', () => {
  const files = temporaryDirectory('ringstore-disk-full-');
  const opened: SqliteStorageEngine[] = [];
  const open = (options: Partial<SqliteOptions> = {}) => {
    const events: DiskFullEvent[] = [];
    const onDiskFull = (event: DiskFullEvent) => events.push(event);
    const opening = openSqliteEngineWithConnection({
      path: files.path('db'),
      onDiskFull,
      ...options,
    });
    opened.push(opening.engine);
    return { ...opening, events };
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((engine) => engine.close()));
  });
  afterAll(() => files.cleanup());

  it("refuses the write as 'disk_full', keeps reads working, and writes again once there is room", async () => {
    const { engine, db, events } = open();
    await engine.update(1, bytes('kept'), () => bytes('v1'));
    engine.setMeta('owner', 'n1');
    capAtCurrentSize(db);

    const reason = await refusal(engine.update(1, bytes('big'), () => huge));
    expect(reason).toMatch(/^disk full: commit on .*: database or disk is full \(SQLITE_FULL\)$/);
    expect(events).toEqual([{ writes: 1, reason }]);
    expect(engine.stats()).toMatchObject({ commits: 2, writes: 2 });

    // Nothing of the refused write was stored; everything before it still reads.
    expect(readText(engine.get(1, bytes('big')))).toBe('missing');
    expect(readText(engine.get(1, bytes('kept')))).toBe('found:v1');
    expect(engine.scan(1, { limit: 10 }).map((row) => Buffer.from(row.key).toString())).toEqual([
      'kept',
    ]);
    expect(engine.countObjects()).toBe(1);
    expect(engine.getMeta('owner')).toBe('n1');

    lift(db);
    await engine.update(1, bytes('big'), () => huge);
    const read = engine.get(1, bytes('big'));
    expect(read.status === 'found' && huge.equals(read.object)).toBe(true);
    expect(engine.stats()).toMatchObject({ commits: 3, writes: 3 });
  });

  it('fails exactly the group commit that hit SQLITE_FULL; the next batch commits', async () => {
    const { engine, db, events } = open({ groupCommitMax: 3 });
    capAtCurrentSize(db);
    const put = (key: string, value: Uint8Array) => engine.update(2, bytes(key), () => value);
    const results = await Promise.allSettled([
      put('a', bytes('small')),
      engine.update(2, bytes('bad'), () => {
        throw new TypeError('fn failed on its own');
      }),
      put('b', huge),
      // The next batch: small enough to fit.
      put('c', bytes('small')),
      put('d', bytes('small')),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
      'fulfilled',
    ]);
    const reasons = results.map((r) => (r.status === 'rejected' ? (r.reason as unknown) : r));
    diskFullReason(reasons[0]);
    expect(reasons[1]).toBeInstanceOf(TypeError);
    diskFullReason(reasons[2]);
    // One report for the failed batch, counting the writes it refused (not the one that failed alone).
    expect(events.map((e) => e.writes)).toEqual([2]);
    expect(['a', 'b', 'c', 'd'].map((k) => readText(engine.get(2, bytes(k))))).toEqual([
      'missing',
      'missing',
      'found:small',
      'found:small',
    ]);
    expect(engine.stats()).toMatchObject({ commits: 1, writes: 2 });
  });

  it("refuses a meta write as 'disk_full' without wedging the engine", async () => {
    const { engine, db, events } = open();
    engine.setMeta('ring', 'small');
    capAtCurrentSize(db);

    let thrown: unknown;
    try {
      engine.setMeta('ring', 'x'.repeat(huge.byteLength));
    } catch (error) {
      thrown = error;
    }
    const reason = diskFullReason(thrown);
    expect(events).toEqual([{ writes: 1, reason }]);
    expect(engine.getMeta('ring')).toBe('small');

    // The connection is not left inside a transaction: small writes still commit at once...
    expect(db.inTransaction).toBe(false);
    await engine.update(3, bytes('k'), () => bytes('v'));
    engine.setMeta('other', 'fits');
    // ...and the big one does once there is room.
    lift(db);
    engine.setMeta('ring', 'x'.repeat(huge.byteLength));
    expect(engine.getMeta('ring')).toHaveLength(huge.byteLength);
  });
});

/** The real thing: ENOSPC from a small tmpfs (root only), met by WAL appends and checkpoints. */
describe('sqlite engine on a full filesystem (tmpfs)', () => {
  /** Room for the WAL (about 4 MiB before its autocheckpoint) and as much again in the database. */
  const tmpfsBytes = 12 * 1024 * 1024;
  /** Takes the room the first fill-up would need to reach a checkpoint; deleted to free space. */
  const fillerBytes = 8 * 1024 * 1024;
  const valueBytes = 64 * 1024;
  /** No more writes than the filesystem could hold, with slack: the fill loops are bounded. */
  const writesMax = Math.ceil(tmpfsBytes / valueBytes) + 16;
  const value = Buffer.alloc(valueBytes, 0x6b);

  /** Writes k<first>, k<first+1>, ... until one is refused; the keys that were acknowledged. */
  async function fillUntilRefused(engine: SqliteStorageEngine, first: number): Promise<string[]> {
    const acknowledged: string[] = [];
    for (let n = first; n < first + writesMax; n++) {
      const key = `k${n}`;
      const [result] = await Promise.allSettled([engine.update(5, bytes(key), () => value)]);
      if (result.status === 'rejected') {
        diskFullReason(result.reason);
        expect(readText(engine.get(5, bytes(key)))).toBe('missing');
        return acknowledged;
      }
      acknowledged.push(key);
    }
    throw new Error(`${writesMax} writes of ${valueBytes} bytes fit in a ${tmpfsBytes}-byte tmpfs`);
  }

  function expectAllFound(engine: SqliteStorageEngine, keys: readonly string[]): void {
    const found = keys.filter((key) => readText(engine.get(5, bytes(key))).startsWith('found:'));
    expect(found).toEqual(keys);
  }

  it('refuses writes as disk_full, survives a failed checkpoint, and writes again once space is freed', async (ctx) => {
    const tmpfs = mountTmpfs(tmpfsBytes);
    if ('skipReason' in tmpfs) {
      console.log(`tmpfs disk-full test skipped: ${tmpfs.skipReason}`);
      return ctx.skip(tmpfs.skipReason);
    }
    const engines: SqliteStorageEngine[] = [];
    const events: DiskFullEvent[] = [];
    const path = join(tmpfs.dir, 'ringstore.db');
    const open = () => {
      // SQLite's own checkpoints, in the writes: the ENOSPC this test meets is theirs (the
      // checkpoint worker's runs on its own connection; checkpointer.test.ts).
      const engine = openSqliteEngine({
        path,
        checkpoints: 'inline',
        onDiskFull: (event) => events.push(event),
      });
      engines.push(engine);
      return engine;
    };
    try {
      writeFileSync(join(tmpfs.dir, 'filler'), Buffer.alloc(fillerBytes));
      let engine = open();
      const before = await fillUntilRefused(engine, 0);
      expect(before.length).toBeGreaterThan(0);
      expect(events).toHaveLength(1);
      expectAllFound(engine, before);

      // A checkpoint needs room in the database file for what the WAL holds: there is none.
      expect(() =>
        withSecondConnection(path, (db) => db.pragma('wal_checkpoint(TRUNCATE)')),
      ).toThrow(/full/);
      await refusal(engine.update(5, bytes('still-full'), () => value));
      expectAllFound(engine, before);

      // Closing checkpoints too, and fails quietly; the WAL is kept and read again on open.
      await engine.close();
      engine = open();
      expectAllFound(engine, before);

      rmSync(join(tmpfs.dir, 'filler'));
      const after = await fillUntilRefused(engine, before.length + 1);
      // Past the WAL's capacity: checkpoints ran, moved pages into the database, reset the WAL.
      expect(after.length).toBeGreaterThan(before.length);
      expect(events.map((event) => event.writes)).toEqual([1, 1, 1]);
      expect(statSync(path).size).toBeGreaterThan(fillerBytes / 2);
      await engine.close();
      engine = open();
      expectAllFound(engine, [...before, ...after]);
      expect(engine.countObjects()).toBe(before.length + after.length);
    } finally {
      await Promise.allSettled(engines.map((engine) => engine.close()));
      tmpfs.unmount();
    }
  });
});
