import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  databaseFileName,
  openSqliteEngine,
  restoreDatabase,
  restoredMetaName,
  restoredPending,
} from './index.js';

const root = mkdtempSync(join(tmpdir(), 'ringstore-restore-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = (): string => {
  const dir = join(root, `d${dirs++}`);
  mkdirSync(dir);
  return dir;
};

/** A backup file of node `nodeId` holding `count` objects. */
async function backupOf(nodeId: string, count: number): Promise<string> {
  const dir = freshDir();
  const engine = openSqliteEngine({ path: join(dir, 'live.db') });
  engine.setMeta('node_id', nodeId);
  engine.setMeta('actor', `${nodeId}.old`);
  await Promise.all(
    Array.from({ length: count }, (_, i) =>
      engine.update(1, Buffer.from(`k${i}`), () => Buffer.from(`v${i}`)),
    ),
  );
  const file = join(dir, `${nodeId}.db`);
  await engine.backup(file);
  await engine.close();
  return file;
}

describe('restoring a backup into a data directory', () => {
  it('puts the database in place, marked restored, with its objects', async () => {
    const backupFile = await backupOf('n2', 50);
    const dataDir = freshDir();
    const result = await restoreDatabase({ backupFile, dataDir, nodeId: 'n2' });
    expect(result).toMatchObject({ objects: 50, movedAside: undefined });
    expect(readdirSync(dataDir)).toEqual([databaseFileName]);
    const engine = openSqliteEngine({ path: join(dataDir, databaseFileName) });
    try {
      expect(engine.getMeta(restoredMetaName)).toBe(restoredPending);
      expect(engine.getMeta('actor')).toBe('n2.old'); // the node replaces it at start
      expect(engine.countObjects()).toBe(50);
    } finally {
      await engine.close();
    }
  });

  it('makes a data directory that is not there (a new disk)', async () => {
    const backupFile = await backupOf('n4', 2);
    const dataDir = join(freshDir(), 'new', 'n4');
    expect((await restoreDatabase({ backupFile, dataDir, nodeId: 'n4' })).objects).toBe(2);
    expect(readdirSync(dataDir)).toEqual([databaseFileName]);
  });

  it("refuses another node's backup and a missing file, changing nothing", async () => {
    const backupFile = await backupOf('n1', 3);
    const dataDir = freshDir();
    await expect(restoreDatabase({ backupFile, dataDir, nodeId: 'n2' })).rejects.toThrow(
      /a backup of n1, not of n2/,
    );
    await expect(
      restoreDatabase({ backupFile: join(dataDir, 'nope.db'), dataDir, nodeId: 'n2' }),
    ).rejects.toThrow(/no backup file/);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('refuses a directory holding a database unless forced, then keeps the old one beside', async () => {
    const backupFile = await backupOf('n3', 5);
    const dataDir = freshDir();
    writeFileSync(join(dataDir, databaseFileName), 'the old database');
    writeFileSync(join(dataDir, `${databaseFileName}-wal`), 'its wal');
    await expect(restoreDatabase({ backupFile, dataDir, nodeId: 'n3' })).rejects.toThrow(
      /exists: stop the node, and restore with --force/,
    );
    const result = await restoreDatabase({
      backupFile,
      dataDir,
      nodeId: 'n3',
      force: true,
      nowMs: 1234,
    });
    const aside = join(dataDir, `${databaseFileName}.before-restore-1234`);
    expect(result.movedAside).toBe(aside);
    expect(existsSync(aside)).toBe(true);
    expect(existsSync(`${aside}-wal`)).toBe(true);
    expect(existsSync(join(dataDir, `${databaseFileName}-wal`))).toBe(false);
    expect(result.objects).toBe(5);
  });
});
