import { hash } from 'node:crypto';
import { openMemoryEngine, type StorageEngine } from '@ringstore/storage';
import { encodeObject, fresh, update, type StoredValue } from '@ringstore/vclock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterView } from './cluster-view.js';
import { RingstoreError } from './errors.js';
import { KeyInspector } from './inspect-key.js';
import { PartitionTrees } from './roles/anti-entropy/trees.js';
import { FakeLiveness } from './test-support/fake-liveness.js';

const testTimeoutMs = 10_000;
const nodes = ['n1', 'n2', 'n3', 'n4'].map((id, i) => ({ id, address: `127.0.0.1:${7001 + i}` }));
const value = (text: string, tombstone = false): StoredValue => ({
  bytes: Buffer.from(text),
  tombstone,
  timestampMs: 1_700_000_000_000,
});

describe('KeyInspector', { timeout: testTimeoutMs }, () => {
  let storage: StorageEngine;
  beforeEach(() => {
    storage = openMemoryEngine();
  });
  afterEach(async () => {
    await storage.close();
  });

  function setUp(selfId: string, key: Buffer) {
    const view = ClusterView.ofNodes(selfId, nodes, 16, 3);
    const liveness = new FakeLiveness();
    const trees = new PartitionTrees(storage, view.partitionsHeld());
    const limits = { keyBytesMax: 32, valueBytesMax: 1024, replicas: 3 };
    const inspector = new KeyInspector({ view, storage, trees, liveness, limits });
    return { view, liveness, trees, inspector, partition: view.partitionOf(key) };
  }

  it('a replica: placement, siblings with their dots, the segment of its tree', async () => {
    const key = Buffer.from('k');
    const probe = ClusterView.ofNodes('n1', nodes, 16, 3);
    const self = probe.primaries(probe.partitionOf(key))[0]!;
    const { inspector, trees, partition } = setUp(self, key);
    const first = update(fresh(value('a')), undefined, 'x/1');
    const both = update(fresh(value('b')), first, 'y/1'); // no context: a sibling of 'a'
    await storage.update(partition, key, () => encodeObject(both));
    await trees.rebuild(partition);

    const i = inspector.inspect(key);
    expect(i.node).toBe(self);
    expect(i.position).toBe(hash('md5', key, 'hex'));
    expect(i.partition).toBe(partition);
    expect(i.replica).toBe(true);
    expect(i.objectState).toBe('found');
    expect(i.clock).toEqual([
      { actor: 'x/1', counter: 1n },
      { actor: 'y/1', counter: 1n },
    ]);
    expect(i.siblings.map((s) => [s.dot, s.valueBytes, s.tombstone])).toEqual([
      [{ actor: 'x/1', counter: 1n }, 1n, false],
      [{ actor: 'y/1', counter: 1n }, 1n, false],
    ]);
    expect(i.treeBuilt).toBe(true);
    expect(i.segmentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(i.hints).toEqual([]);
  });

  it('a fallback: no tree, the hint it holds for the down primary', async () => {
    const key = Buffer.from('k2');
    const probe = ClusterView.ofNodes('n1', nodes, 16, 3);
    const partition = probe.partitionOf(key);
    const primaries = probe.primaries(partition);
    const other = nodes.map((n) => n.id).find((id) => !primaries.includes(id))!;
    const { inspector, liveness } = setUp(other, key);
    liveness.down.add(primaries[1]!);
    const object = encodeObject(update(fresh(value('v')), undefined, 'x/1'));
    const target = primaries[1]!;
    await storage.addHints([{ target, createdAtMs: 5, partition, key, object }]);
    await storage.addHints([{ target, createdAtMs: 6, partition, key: Buffer.from('k3'), object }]);

    const i = inspector.inspect(key);
    expect(i.replica).toBe(false);
    expect(i.objectState).toBe('missing');
    expect(i.treeBuilt).toBe(false);
    expect(i.preferenceList).toContainEqual({ node: other, hintFor: target });
    expect(i.hints).toEqual([{ target, createdAtMs: 5n, clock: [{ actor: 'x/1', counter: 1n }] }]);
    expect(i.hintsTruncated).toBe(false);
  });

  it('places the key as routing does: a suspected primary due for a retry keeps its place', () => {
    const key = Buffer.from('k2');
    const probe = ClusterView.ofNodes('n1', nodes, 16, 3);
    const primaries = probe.primaries(probe.partitionOf(key));
    const { inspector, liveness } = setUp('n1', key);
    liveness.down.add(primaries[1]!);
    expect(inspector.inspect(key).preferenceList).not.toContainEqual({
      node: primaries[1],
      hintFor: '',
    });
    liveness.retrying.add(primaries[1]!);
    expect(inspector.inspect(key).preferenceList).toEqual(
      primaries.map((node) => ({ node, hintFor: '' })),
    );
  });

  it('refuses an empty or oversized key as KV does', () => {
    const { inspector } = setUp('n1', Buffer.from('k'));
    for (const key of [Buffer.alloc(0), Buffer.alloc(33, 1)]) {
      let caught: unknown;
      try {
        inspector.inspect(key);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(RingstoreError);
      expect((caught as RingstoreError).code).toBe('invalid-argument');
    }
  });
});
