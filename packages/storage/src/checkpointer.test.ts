// The checkpoint worker: WAL frames reach the database file without the engine's connection ever
// checkpointing; the WAL is reset when it passes its bound; a worker that is gone hands
// checkpoints back to SQLite.
import { existsSync, statSync } from 'node:fs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { openSqliteEngine, type SqliteOptions, type SqliteStorageEngine } from './index.js';
import { bytes, readText } from './test-support/engine-contract.js';
import { temporaryDirectory } from './test-support/sqlite-harness.js';

const value = Buffer.alloc(16 * 1024, 0x61);

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Writes `count` 16 KiB values (keys first..first+count-1), in group commits of 32. */
async function write(engine: SqliteStorageEngine, first: number, count: number): Promise<void> {
  for (let i = first; i < first + count; i += 32) {
    const batch = Array.from({ length: Math.min(32, first + count - i) }, (_, j) =>
      engine.update(1, bytes(`k${i + j}`), () => value),
    );
    await Promise.all(batch);
  }
}

describe('the checkpoint worker', { timeout: 30_000 }, () => {
  const files = temporaryDirectory('ringstore-checkpoint-');
  const opened: SqliteStorageEngine[] = [];
  let n = 0;
  const open = (options: Partial<SqliteOptions> = {}) => {
    const path = files.path(`db-${n++}`);
    const engine = openSqliteEngine({ path, ...options });
    opened.push(engine);
    return { engine, path };
  };
  afterEach(async () => {
    await Promise.allSettled(opened.splice(0).map((engine) => engine.close()));
  });
  afterAll(() => files.cleanup());

  it('copies the WAL into the database file while the engine itself never checkpoints', async () => {
    const { engine, path } = open({ checkpointOptions: { intervalMs: 20 } });
    expect(engine.pragmas().walAutocheckpointPages).toBe(0);
    // 8 MiB: twice what SQLite's autocheckpoint (1,000 pages) would have let the WAL hold.
    await write(engine, 0, 512);
    await until(() => (engine.checkpointStats()?.checkpoints ?? 0) >= 1);
    await until(() => sizeOf(path) > 4 * 1024 * 1024);
    expect(engine.checkpointStats()).toMatchObject({ failures: 0, fallenBack: false });
    expect(readText(engine.get(1, bytes('k511')))).toBe(`found:${value.toString()}`);
  });

  it('checkpoints only after new commits', async () => {
    const { engine } = open({ checkpointOptions: { intervalMs: 20 } });
    await write(engine, 0, 4);
    await until(() => (engine.checkpointStats()?.checkpoints ?? 0) >= 1);
    const after = engine.checkpointStats()?.checkpoints ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 200)); // ten intervals, no write
    expect(engine.checkpointStats()?.checkpoints).toBe(after);
  });

  it('resets a WAL that has passed its bound (TRUNCATE)', async () => {
    const { engine, path } = open({
      checkpointOptions: { intervalMs: 20, walBytesMax: 1024 * 1024 },
    });
    await write(engine, 0, 256); // 4 MiB through a WAL bounded at 1 MiB
    await until(() => (engine.checkpointStats()?.truncates ?? 0) >= 1);
    await until(() => sizeOf(`${path}-wal`) < 1024 * 1024);
    expect(readText(engine.get(1, bytes('k0')))).toBe(`found:${value.toString()}`);
  });

  it('hands checkpoints back to SQLite when a checkpoint does not finish in time', async () => {
    // A 1 ms limit no checkpoint of 4 MiB meets: the worker is given up on.
    const { engine, path } = open({ checkpointOptions: { intervalMs: 20, timeoutMs: 1 } });
    await write(engine, 0, 256);
    await until(() => engine.checkpointStats()?.fallenBack === true);
    expect(engine.pragmas().walAutocheckpointPages).toBe(1_000);
    // SQLite's autocheckpoint now runs in the writes: the database file grows with them.
    await write(engine, 256, 256);
    expect(sizeOf(path)).toBeGreaterThan(4 * 1024 * 1024);
  });

  it('closes with the database checkpointed and the WAL gone', async () => {
    const { engine, path } = open({ checkpointOptions: { intervalMs: 60_000 } });
    await write(engine, 0, 64); // 1 MiB in the WAL, no checkpoint run yet
    expect(sizeOf(`${path}-wal`)).toBeGreaterThan(1024 * 1024);
    await engine.close();
    expect(existsSync(`${path}-wal`)).toBe(false);
    expect(sizeOf(path)).toBeGreaterThan(1024 * 1024);
  });

  it('none with inline checkpoints', () => {
    const { engine } = open({ checkpoints: 'inline' });
    expect(engine.checkpointStats()).toBeUndefined();
    expect(engine.pragmas().walAutocheckpointPages).toBe(1_000);
  });
});
