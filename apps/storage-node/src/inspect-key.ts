// Cluster.InspectKey: what this node itself knows of one key (`ringctl explain` asks every member
// and compares). Only reads: the ring this node holds, its failure detector, its stored object,
// its hints, its Merkle tree of the partition. Nothing is fetched from other nodes or repaired.
import { hash } from 'node:crypto';
import type { Dot, HeldHint, InspectedSibling, KeyInspection } from '@ringstore/proto';
import type { StorageEngine } from '@ringstore/storage';
import type { StoredValue } from '@ringstore/vclock';
import type { ClusterView } from './cluster-view.js';
import type { Liveness } from './liveness.js';
import { tryDecodeObject, type KeyObject } from './object.js';
import { digestOf, type PartitionTrees } from './roles/anti-entropy/trees.js';
import { validateKey, type RequestLimits } from './roles/coordinator/validate.js';

/**
 * Hints read per target at most when looking for the key's: the engine lists hints by target
 * only, each with its object, so a replica down for long (up to hints-per-target-max hints) would
 * make one inspection read them all. Beyond this, the answer says hints_truncated.
 */
export const hintsInspectedPerTargetMax = 1_000;

export interface KeyInspectorDeps {
  readonly view: ClusterView;
  readonly storage: StorageEngine;
  readonly trees: PartitionTrees;
  readonly liveness: Liveness;
  readonly limits: RequestLimits;
}

export class KeyInspector {
  constructor(private readonly deps: KeyInspectorDeps) {}

  /** INVALID_ARGUMENT for a key KV would refuse; otherwise this node's view of the key. */
  inspect(key: Uint8Array): KeyInspection {
    validateKey(key, this.deps.limits);
    const { view, liveness } = this.deps;
    const partition = view.partitionOf(key);
    return {
      node: view.selfId,
      // node:crypto's MD5 equals @ringstore/ring's (its tests compare them); only shown here.
      position: hash('md5', key, 'hex'),
      partition,
      ringTerm: BigInt(view.document.term),
      ringVersion: view.version,
      primaries: view.primaries(partition),
      preferenceList: view
        .preferenceList(partition, (id) => liveness.isRoutable(id))
        .map((entry) => ({ node: entry.nodeId, hintFor: entry.hintFor ?? '' })),
      replica: view.isReplica(partition),
      pending: view.isPending(partition),
      ...this.stored(partition, key),
      ...this.hints(partition, key),
      ...this.segment(partition, key),
    };
  }

  private stored(partition: number, key: Uint8Array) {
    const read = this.deps.storage.get(partition, key);
    const none = { clock: [], siblings: [], objectBytes: 0n, objectDigest: '', corruptReason: '' };
    if (read.status === 'missing') return { ...none, objectState: 'missing' };
    if (read.status === 'corrupt')
      return { ...none, objectState: 'corrupt', corruptReason: read.reason };
    const object = tryDecodeObject(read.object);
    const sized = {
      objectBytes: BigInt(read.object.byteLength),
      objectDigest: Buffer.from(digestOf(read.object)).toString('hex'),
    };
    if (object === undefined)
      return { ...none, ...sized, objectState: 'corrupt', corruptReason: 'does not decode' };
    return {
      ...sized,
      objectState: 'found',
      corruptReason: '',
      clock: clockOf(object),
      siblings: siblingsOf(object),
    };
  }

  /** The key's hints, looked for among each target's first hintsInspectedPerTargetMax. */
  private hints(
    partition: number,
    key: Uint8Array,
  ): { hints: HeldHint[]; hintsTruncated: boolean } {
    const { storage } = this.deps;
    const hints: HeldHint[] = [];
    if (storage.partitionHints(partition) === 0) return { hints, hintsTruncated: false };
    let hintsTruncated = false;
    const wanted = Buffer.from(key.buffer, key.byteOffset, key.byteLength);
    for (const [target, count] of storage.hintCounts()) {
      if (count > hintsInspectedPerTargetMax) hintsTruncated = true;
      for (const hint of storage.listHints(target, Math.min(count, hintsInspectedPerTargetMax))) {
        if (hint.partition !== partition || !wanted.equals(hint.key)) continue;
        const object = tryDecodeObject(hint.object);
        hints.push({
          target,
          createdAtMs: BigInt(hint.createdAtMs),
          clock: object === undefined ? [] : clockOf(object),
        });
      }
    }
    return { hints, hintsTruncated };
  }

  private segment(partition: number, key: Uint8Array) {
    const tree = this.deps.trees.tree(partition);
    if (tree === undefined) return { treeBuilt: false, segment: 0, segmentHash: '' };
    const segment = tree.segmentOf(key);
    const [leaf] = tree.level(tree.levelCount() - 1, [segment]);
    return {
      treeBuilt: true,
      segment,
      segmentHash: leaf === undefined ? '' : Buffer.from(leaf).toString('hex'),
    };
  }
}

function clockOf(object: KeyObject): Dot[] {
  return object.entries.map((entry) => ({ actor: entry.actor, counter: BigInt(entry.counter) }));
}

/** Each value with its dot: an entry's values are newest first, at counter, counter - 1, ... */
function siblingsOf(object: KeyObject): InspectedSibling[] {
  const siblings = object.anonymous.map((value) => sibling(value, undefined));
  for (const entry of object.entries)
    entry.values.forEach((value, i) =>
      siblings.push(sibling(value, { actor: entry.actor, counter: BigInt(entry.counter - i) })),
    );
  return siblings;
}

function sibling(value: StoredValue, dot: Dot | undefined): InspectedSibling {
  return {
    dot,
    tombstone: value.tombstone,
    valueBytes: BigInt(value.bytes.byteLength),
    timestampMs: BigInt(value.timestampMs),
  };
}
