import { copyFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { partitionOf } from '@ringstore/ring';
import { openSqliteEngine, type StorageEngine } from '@ringstore/storage';
import { encodeObject, fresh, update } from '@ringstore/vclock';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';
import { antiEntropyStatus, siblingValues, triggerAntiEntropy } from '../test-support/kv-client.js';

const keysPerPartition = 100_000;
const differing = 100;
const partitionCount = 4;
const wave = 10_000;

function keysOfPartitionZero(): Buffer[] {
  const keys: Buffer[] = [];
  for (let i = 0; keys.length < keysPerPartition && i < 10 * keysPerPartition; i++) {
    const key = Buffer.from(`bulk-${i}`);
    if (partitionOf(key, partitionCount) === 0) keys.push(key);
  }
  return keys;
}

async function bulkLoad(
  engine: StorageEngine,
  keys: readonly Buffer[],
  object: Uint8Array,
): Promise<void> {
  for (let start = 0; start < keys.length; start += wave) {
    await Promise.all(
      keys.slice(start, start + wave).map((key) => engine.update(0, key, () => object)),
    );
  }
}

function dbPath(dataDir: string): string {
  return join(dataDir, 'ringstore.db');
}

describe('anti-entropy efficiency', () => {
  let tc: TestCluster | undefined;
  afterEach(async () => {
    await tc?.stop();
    tc = undefined;
  }, 30_000);

  it(`repairs ${differing} differing keys of a ${keysPerPartition}-key partition moving a small fraction of its bytes`, async () => {
    tc = await startTestCluster(3, [
      '--partitions',
      String(partitionCount),
      '--ae-interval-ms',
      '0',
    ]);
    const cluster = tc;
    for (const id of ['n1', 'n2', 'n3']) await cluster.stopNode(id);
    const keys = keysOfPartitionZero();
    const object = encodeObject(
      update(
        fresh({ bytes: Buffer.alloc(100, 7), tombstone: false, timestampMs: Date.now() }),
        undefined,
        'bulk.000000000001',
      ),
    );

    // n1 is loaded through the storage engine; n2 and n3 get copies of its file with their own identity.
    const dirs = ['n1', 'n2', 'n3'].map((id) => cluster.cluster.node(id).dataDir);
    const n1 = openSqliteEngine({ path: dbPath(dirs[0]!), groupCommitMax: 65_536 });
    await bulkLoad(n1, keys, object);
    await n1.close();
    for (const [i, dir] of dirs.entries()) {
      if (i === 0) continue;
      const identity = openSqliteEngine({ path: dbPath(dir) });
      const nodeId = identity.getMeta('node_id') ?? '';
      const actor = identity.getMeta('actor') ?? '';
      await identity.close();
      for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath(dir) + suffix, { force: true });
      copyFileSync(dbPath(dirs[0]!), dbPath(dir));
      if (existsSync(dbPath(dirs[0]!) + '-wal'))
        copyFileSync(dbPath(dirs[0]!) + '-wal', dbPath(dir) + '-wal');
      const copy = openSqliteEngine({ path: dbPath(dir) });
      copy.setMeta('node_id', nodeId);
      copy.setMeta('actor', actor);
      if (i === 2) await Promise.all(keys.slice(0, differing).map((key) => copy.remove(0, key)));
      await copy.close();
    }
    for (const id of ['n1', 'n2', 'n3']) await cluster.restart(id);

    const partitionBytes = keys.reduce((n, k) => n + k.length + object.length, 0);
    // n3's two peers both hold every key: whichever it exchanges with, it finds exactly the missing ones.
    const round = await triggerAntiEntropy(cluster.address('n3'), [0]);
    expect(round.differences).toBe(BigInt(differing));
    expect(round.repairs).toBe(BigInt(differing));
    const share = Number(round.bytesTransferred) / partitionBytes;
    console.log(
      `anti-entropy efficiency: ${differing} of ${keys.length} keys differing; exchange moved ${round.bytesTransferred} bytes, ` +
        `${(share * 100).toFixed(2)}% of the partition's ${partitionBytes} bytes`,
    );
    expect(share).toBeLessThan(0.05);

    const roots = await Promise.all(
      ['n1', 'n2', 'n3'].map(async (id) => (await antiEntropyStatus(cluster.address(id)))[0]),
    );
    expect(new Set(roots.map((r) => r?.root)).size).toBe(1);
    expect(roots.map((r) => r?.keys)).toEqual([
      BigInt(keys.length),
      BigInt(keys.length),
      BigInt(keys.length),
    ]);
    await cluster.kill('n1');
    await cluster.kill('n2');
    expect(siblingValues(await cluster.client('n3').get(keys[0]!, { r: 1 }))).toEqual([
      Buffer.alloc(100, 7).toString(),
    ]);
  }, 240_000);
});
