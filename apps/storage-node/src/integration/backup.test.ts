// Backup and restore on a real 3-node cluster: `ringctl backup` under write load, one node's data
// destroyed and restored (every write acknowledged before the backup is in its copy, the node takes
// a new actor, anti-entropy brings the writes made after the backup), then the whole cluster wiped
// and restored from the same backup.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type Client } from '@ringstore/client';
import { startTestCluster, type TestCluster } from '../test-support/cluster-fixture.js';

const run = promisify(execFile);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const ringctlBin = join(repoRoot, 'apps/ringctl/bin/ringctl.js');

async function ringctl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [ringctlBin, ...args], {
      timeout: 120_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** Keys a node stores and one of its meta rows, read from its database file read-only. */
function stored(dataDir: string): {
  keys: Set<string>;
  meta: (name: string) => string | undefined;
} {
  const db = new Database(join(dataDir, 'ringstore.db'), { readonly: true, timeout: 5_000 });
  try {
    const keys = new Set(
      (db.prepare('SELECT key FROM objects').all() as { key: Buffer }[]).map((r) =>
        r.key.toString(),
      ),
    );
    const rows = new Map(
      (db.prepare('SELECT name, value FROM meta').all() as { name: string; value: string }[]).map(
        (r) => [r.name, r.value],
      ),
    );
    return { keys, meta: (name) => rows.get(name) };
  } finally {
    db.close();
  }
}

describe('ringctl backup and restore (real 3-node cluster)', () => {
  let tc: TestCluster;
  let client: Client;
  const acked = new Map<string, { value: string; atMs: number }>();
  let backupStartedMs = 0;
  let backupDir = '';
  const dataDir = (id: string): string => join(tc.dir, 'data', id);

  beforeAll(async () => {
    tc = await startTestCluster(3);
    client = await connect({ seeds: [tc.address('n1')], deadlineMs: 5_000 });
    backupDir = join(tc.dir, 'backup');
  }, 90_000);
  afterAll(async () => {
    client?.close();
    await tc?.stop();
  }, 60_000);

  /** Writes keys (w=3: on every replica when acknowledged) until `stop` says so. */
  async function writeUntil(stop: () => boolean, from: number): Promise<number> {
    let i = from;
    const writer = async (): Promise<void> => {
      while (!stop() && i < from + 100_000) {
        const key = `k${i++}`;
        const value = `v-${key}`;
        await client.put(key, value, { w: 3 });
        acked.set(key, { value, atMs: Date.now() });
      }
    };
    await Promise.all([writer(), writer(), writer(), writer()]);
    return i;
  }

  it('backs up every node online while writes go on, each file verified', async () => {
    let next = await writeUntil(() => acked.size >= 300, 0);
    let backingUp = true;
    const writing = writeUntil(() => !backingUp, next);
    backupStartedMs = Date.now();
    const backup = await ringctl([
      '--node',
      tc.address('n1'),
      'backup',
      '--dir',
      backupDir,
      '--pages-per-step',
      '8',
    ]);
    backingUp = false;
    next = await writing;
    // More writes after the backup: the restored node misses them until anti-entropy.
    await writeUntil(() => acked.size >= next + 100, next);
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain('3 of 3 nodes backed up');
    expect(readdirSync(backupDir).sort()).toEqual([
      'cluster.json',
      'n1.db',
      'n1.json',
      'n2.db',
      'n2.json',
      'n3.db',
      'n3.json',
    ]);
    for (const id of ['n1', 'n2', 'n3']) {
      const m = JSON.parse(readFileSync(join(backupDir, `${id}.json`), 'utf8')) as {
        nodeId: string;
        actor: string;
        objects: number;
        createdAtMs: number;
      };
      expect(m.nodeId).toBe(id);
      expect(m.actor.startsWith(`${id}.`)).toBe(true);
      expect(m.objects).toBeGreaterThanOrEqual(300);
      expect(m.createdAtMs).toBeGreaterThanOrEqual(backupStartedMs);
    }
    // No temporary copy is left in any data directory.
    for (const id of ['n1', 'n2', 'n3'])
      expect(readdirSync(dataDir(id)).filter((f) => f.startsWith('backup-'))).toEqual([]);
    // A second backup into the same directory is refused (usage), changing nothing.
    const again = await ringctl(['--node', tc.address('n1'), 'backup', '--dir', backupDir]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('holds a backup already');
  }, 180_000);

  it("restores one node's destroyed data: every write acknowledged before the backup, a new actor, anti-entropy brings the rest", async () => {
    const manifest = JSON.parse(readFileSync(join(backupDir, 'n2.json'), 'utf8')) as {
      actor: string;
    };
    await tc.stopNode('n2');
    // Refused while the node's database is there, unless forced.
    const refused = await ringctl([
      'restore',
      '--dir',
      backupDir,
      '--id',
      'n2',
      '--data',
      dataDir('n2'),
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--force');
    rmSync(dataDir('n2'), { recursive: true, force: true });
    const restore = await ringctl([
      'restore',
      '--dir',
      backupDir,
      '--id',
      'n2',
      '--data',
      dataDir('n2'),
    ]);
    expect(restore.code, restore.stderr).toBe(0);
    const before = [...acked].filter(([, a]) => a.atMs < backupStartedMs).map(([k]) => k);
    expect(before.length).toBeGreaterThanOrEqual(300);
    const restoredKeys = stored(dataDir('n2')).keys;
    expect(before.filter((k) => !restoredKeys.has(k))).toEqual([]);
    await tc.restart('n2');
    const meta = stored(dataDir('n2')).meta;
    expect(meta('actor')).not.toBe(manifest.actor);
    expect(meta('actor')?.startsWith('n2.')).toBe(true);
    expect(meta('restored_from_backup')).toBe(`new actor ${meta('actor')}`);
    // Anti-entropy (run now rather than waiting for its round) brings what n2 missed.
    const ae = await ringctl(['--node', tc.address('n2'), 'ae', 'trigger']);
    expect(ae.code, ae.stderr).toBe(0);
    const after = stored(dataDir('n2')).keys;
    expect([...acked.keys()].filter((k) => !after.has(k))).toEqual([]);
    for (const [key, { value }] of [...acked].slice(0, 50)) {
      const got = await client.get(key);
      expect(got.siblings.map((s) => s.value.toString())).toEqual([value]);
    }
  }, 180_000);

  it('restores a whole cluster from the backup: every write acknowledged before it is readable', async () => {
    for (const id of ['n1', 'n2', 'n3']) await tc.stopNode(id);
    for (const id of ['n1', 'n2', 'n3']) {
      rmSync(dataDir(id), { recursive: true, force: true });
      const r = await ringctl(['restore', '--dir', backupDir, '--id', id, '--data', dataDir(id)]);
      expect(r.code, r.stderr).toBe(0);
    }
    for (const id of ['n1', 'n2', 'n3']) await tc.restart(id);
    client.close();
    client = await connect({ seeds: [tc.address('n1')], deadlineMs: 5_000 });
    const before = [...acked].filter(([, a]) => a.atMs < backupStartedMs);
    expect(before.length).toBeGreaterThanOrEqual(300);
    const missing: string[] = [];
    for (const [key, { value }] of before) {
      const got = await client.get(key, { r: 3 });
      if (got.siblings.map((s) => s.value.toString()).join() !== value) missing.push(key);
    }
    expect(missing).toEqual([]);
    expect(existsSync(join(dataDir('n1'), 'ringstore.db'))).toBe(true);
  }, 180_000);
});
