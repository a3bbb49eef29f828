// The partitions' Merkle trees are rebuilt from storage a page at a time: the scan lets the event
// loop turn between pages, and writes that land while it runs end up in the new tree exactly once.
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { afterEach, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { MerkleTree, pureSha256 } from '@ringstore/merkle';
import { digestOf, nodeSha256, PartitionTrees, scanPageRows, scanPartitionPaced } from './trees.js';
import { trackWrites } from './tracked-storage.js';

const partition = 3;
const opened: StorageEngine[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});

const keyOf = (i: number): Buffer => Buffer.from(`key-${String(i).padStart(6, '0')}`);

async function filled(rows: number): Promise<StorageEngine> {
  const storage = openMemoryEngine();
  opened.push(storage);
  await Promise.all(
    Array.from({ length: rows }, (_, i) =>
      storage.update(partition, keyOf(i), () => Buffer.from(`v${i}`)),
    ),
  );
  return storage;
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('paced partition scans', { timeout: 20_000 }, () => {
  it('read every row in key order, a page per turn of the event loop', async () => {
    const storage = await filled(3 * scanPageRows + 7);
    const seen: string[] = [];
    let turns = 0;
    let scanning = true;
    // Counts the turns other work gets while the scan runs.
    const tick = (): void => {
      if (!scanning) return;
      turns++;
      setImmediate(tick);
    };
    setImmediate(tick);
    const pages = await scanPartitionPaced(storage, partition, (rows) => {
      for (const row of rows) seen.push(Buffer.from(row.key).toString());
    });
    scanning = false;
    expect(pages).toBe(4);
    expect(seen).toHaveLength(3 * scanPageRows + 7);
    expect(seen).toEqual([...seen].sort());
    // Other work ran between the pages (a scan that never yields would leave it none).
    expect(turns).toBeGreaterThanOrEqual(3);
  });

  it('stop when the page handler says so', async () => {
    const storage = await filled(3 * scanPageRows);
    let handled = 0;
    const pages = await scanPartitionPaced(storage, partition, (rows) => {
      handled += rows.length;
      return false;
    });
    expect([pages, handled]).toEqual([1, scanPageRows]);
  });
});

describe('a tree rebuilt while writes go on', { timeout: 20_000 }, () => {
  it('holds every write, before and after the scan cursor, exactly once', async () => {
    const rows = 4 * scanPageRows;
    const inner = await filled(rows);
    const trees = new PartitionTrees(inner, [partition]);
    await trees.rebuildAll();
    // The node's write path: storage that reports each committed change to the trees.
    const storage = trackWrites(inner, (p, key, previous, next) =>
      trees.onWrite(p, key, previous, next),
    );
    const rebuilt = trees.rebuild(partition);
    expect(trees.building(partition)).toBe(true);
    // While the build runs: overwrite, delete and add keys spread over the whole key range, so
    // some land behind the scan's cursor and some ahead of it.
    let writes = 0;
    for (let round = 0; trees.building(partition) && round < 100; round++) {
      const i = (round * 397) % rows;
      await Promise.all([
        storage.update(partition, keyOf(i), () => Buffer.from(`changed-${round}`)),
        storage.remove(partition, keyOf((i + 131) % rows)),
        storage.update(partition, keyOf(rows + round), () => Buffer.from(`new-${round}`)),
      ]);
      writes += 3;
      await nextTurn();
    }
    const tree = await rebuilt;
    expect(trees.building(partition)).toBe(false);
    expect(writes).toBeGreaterThanOrEqual(6);
    // The tree the build left equals one built from what storage holds now.
    const fresh = new PartitionTrees(inner, [partition]);
    await fresh.rebuildAll();
    const expected = fresh.tree(partition);
    expect(tree).toBe(trees.tree(partition));
    expect(Buffer.from(tree!.root()).toString('hex')).toBe(
      Buffer.from(expected!.root()).toString('hex'),
    );
    expect(trees.keys(partition)).toBe(fresh.keys(partition));
  });

  it('serves no tree for a partition until its first build is done, then the built one', async () => {
    const storage = await filled(2 * scanPageRows);
    const trees = new PartitionTrees(storage, [partition]);
    expect(trees.tree(partition)).toBeUndefined(); // starts the build
    expect(trees.building(partition)).toBe(true);
    const built = await trees.rebuild(partition); // joins it
    expect(trees.tree(partition)).toBe(built);
    expect(trees.keys(partition)).toBe(2 * scanPageRows);
  });

  it('drops a build whose partition is no longer held', async () => {
    const storage = await filled(2 * scanPageRows);
    const trees = new PartitionTrees(storage, [partition]);
    const build = trees.rebuild(partition);
    trees.follow([]);
    expect(await build).toBeUndefined();
    expect(trees.tree(partition)).toBeUndefined();
    expect(trees.building(partition)).toBe(false);
  });
});

describe("the trees' SHA-256 from node:crypto", () => {
  it('hashes exactly as the merkle package does, so the trees compare with any replica', () => {
    for (let n = 0; n < 50; n++) {
      const parts = Array.from({ length: 1 + (n % 5) }, (_, i) => randomBytes((n * 37 + i) % 130));
      expect(Buffer.from(nodeSha256(parts)).toString('hex')).toBe(
        Buffer.from(pureSha256(parts)).toString('hex'),
      );
    }
    const entries = Array.from(
      { length: 3_000 },
      (_, i) => [keyOf(i), digestOf(randomBytes(40))] as const,
    );
    const fast = MerkleTree.fromEntries(entries, undefined, nodeSha256);
    const pure = MerkleTree.fromEntries(entries, undefined, pureSha256);
    const last = fast.levelCount() - 1;
    const all = Array.from({ length: fast.levelWidth(last) }, (_, i) => i);
    expect(fast.level(last, all)).toEqual(pure.level(last, all));
    expect(fast.root()).toEqual(pure.root());
    // And updates keep them equal: a change and a removal, then the roots again.
    fast.update(keyOf(7), entries[7]![1], digestOf(Buffer.from('x')));
    pure.update(keyOf(7), entries[7]![1], digestOf(Buffer.from('x')));
    fast.update(keyOf(8), entries[8]![1], undefined);
    pure.update(keyOf(8), entries[8]![1], undefined);
    expect(fast.root()).toEqual(pure.root());
  });
});
