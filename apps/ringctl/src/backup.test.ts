// ringctl backup against fake nodes: what a node streams is checked (its id, size and SHA-256)
// before it gets its final name, and a node that fails is named; the real thing is in
// apps/storage-node/src/integration/backup.test.ts.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupChunk } from '@ringstore/proto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeNode, type FakeNode } from './test-support/fake-node.js';
import { node } from './test-support/membership-fixtures.js';
import { runCli } from './test-support/run-cli.js';

let nodes: FakeNode[] = [];
let dir = '';
beforeEach(async () => {
  nodes = [await startFakeNode(), await startFakeNode()];
  const ring = {
    ...nodes[0]!.ring,
    nodes: [node('n1', nodes[0]!.address), node('n2', nodes[1]!.address)],
  };
  for (const n of nodes) n.ring = ring;
  dir = mkdtempSync(join(tmpdir(), 'ringctl-backup-'));
});
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.stop()));
  rmSync(dir, { recursive: true, force: true });
});

/** A node's backup stream: manifest, data in two chunks, checksum (or `sha256` as given). */
function stream(nodeId: string, data: Buffer, sha256?: Buffer): BackupChunk[] {
  const manifest = {
    nodeId,
    actor: `${nodeId}.abc`,
    ringTerm: 1n,
    ringVersion: 3n,
    createdAtMs: 1_700_000_000_000n,
    databaseBytes: BigInt(data.length),
    objects: 42n,
  };
  const half = Math.floor(data.length / 2);
  return [
    { part: { $case: 'manifest', value: manifest } },
    { part: { $case: 'data', value: data.subarray(0, half) } },
    { part: { $case: 'data', value: data.subarray(half) } },
    { part: { $case: 'sha256', value: sha256 ?? createHash('sha256').update(data).digest() } },
  ];
}

describe('ringctl backup', () => {
  it('writes each member verified: ID.db, ID.json, cluster.json', async () => {
    const data = [Buffer.alloc(10_000, 1), Buffer.alloc(7_000, 2)];
    nodes[0]!.backupChunks = stream('n1', data[0]!);
    nodes[1]!.backupChunks = stream('n2', data[1]!);
    const res = await runCli(['--node', nodes[0]!.address, 'backup', '--dir', dir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('2 of 2 nodes backed up');
    expect(readdirSync(dir).sort()).toEqual([
      'cluster.json',
      'n1.db',
      'n1.json',
      'n2.db',
      'n2.json',
    ]);
    expect(readFileSync(join(dir, 'n2.db'))).toEqual(data[1]);
    const manifest = JSON.parse(readFileSync(join(dir, 'n1.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    expect(manifest).toMatchObject({
      nodeId: 'n1',
      actor: 'n1.abc',
      ringTerm: '1',
      ringVersion: '3',
      databaseBytes: 10_000,
      objects: 42,
      sha256: createHash('sha256').update(data[0]!).digest('hex'),
      file: 'n1.db',
    });
  });

  it('keeps no damaged copy: a wrong checksum, or a backup of another node, fails that node and exits 1', async () => {
    nodes[0]!.backupChunks = stream('n1', Buffer.alloc(5_000, 3), Buffer.alloc(32));
    nodes[1]!.backupChunks = stream('n9', Buffer.alloc(5_000, 4));
    const res = await runCli(['--node', nodes[0]!.address, 'backup', '--dir', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("n1: backup failed: n1's backup arrived damaged");
    expect(res.stderr).toContain('sent a backup of n9, not n2');
    expect(res.stdout).toContain('0 of 2 nodes backed up');
    expect(readdirSync(dir)).toEqual(['cluster.json']);
    const summary = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as {
      failed: { nodeId: string }[];
    };
    expect(summary.failed.map((f) => f.nodeId)).toEqual(['n1', 'n2']);
  });

  it('names a node that cannot back up (an older node: UNIMPLEMENTED) and backs up the others', async () => {
    nodes[1]!.backupChunks = stream('n2', Buffer.alloc(100, 5));
    const res = await runCli(['--node', nodes[0]!.address, 'backup', '--dir', dir]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/n1: backup failed: .*no backup in the fake/);
    expect(existsSync(join(dir, 'n2.db'))).toBe(true);
    expect(existsSync(join(dir, 'n1.db.partial'))).toBe(false);
  });

  it('refuses bad flags before any call', async () => {
    for (const args of [['backup'], ['backup', '--dir', dir, '--pages-per-step', '5000']]) {
      const res = await runCli(['--node', nodes[0]!.address, ...args]);
      expect(res.code, args.join(' ')).toBe(2);
    }
    expect(nodes[0]!.requests).toEqual([]);
  });
});
