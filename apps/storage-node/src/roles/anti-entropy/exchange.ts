import { unfenced } from '../../peer/link.js';
import { startDescent, stepDescent, type MerkleTree } from '@ringstore/merkle';
import type { KeyDigest } from '@ringstore/proto';
import { RingstoreError } from '../../errors.js';
import { encodeObject, objectOps, tryDecodeObject } from '../../object.js';
import type { Peers } from '../../peer/peers.js';
import type { Replica } from '../replica/replica.js';
import type { TokenBucket } from './token-bucket.js';
import { digestOf, type PartitionTrees } from './trees.js';
import type { StorageEngine } from '@ringstore/storage';

/** Deadline of each exchange RPC. */
export const exchangeRequestTimeoutMs = 10_000;
/**
 * MerkleLevel requests of one descent at most: a bug guard. A full descent of the largest tree
 * (every node differing) asks levelCount + nodes / levelIndexesMax requests, far below this.
 */
export const descentRequestsMax = 65_536;
/** Tree nodes asked for per MerkleLevel request. */
export const levelIndexesMax = 4_096;

export type RepairCause = 'missing' | 'stale' | 'corrupt';

export interface ExchangeResult {
  differences: number;
  repairs: number;
  bytes: number;
  causes: Record<RepairCause, number>;
}

export interface ExchangeDeps {
  readonly storage: StorageEngine;
  readonly trees: PartitionTrees;
  readonly replica: Replica;
  readonly peers: Peers;
  readonly bucket: TokenBucket;
}

/**
 * One anti-entropy exchange of a partition with another replica: compare roots, descend only into
 * differing branches, list the keys of differing segments, and repair just the keys that differ,
 * merging both copies with DVVSet sync and writing the merge wherever it is news.
 */
export class Exchanger {
  constructor(private readonly deps: ExchangeDeps) {}

  async exchange(partition: number, peerId: string): Promise<ExchangeResult> {
    const tree = this.deps.trees.tree(partition);
    if (tree === undefined)
      throw new RingstoreError(
        'failed-precondition',
        `partition ${partition} is not replicated here`,
      );
    const result: ExchangeResult = {
      differences: 0,
      repairs: 0,
      bytes: 0,
      causes: { missing: 0, stale: 0, corrupt: 0 },
    };
    const segments = await this.differingSegments(tree, partition, peerId, result);
    if (segments.length === 0) return result;
    const remote = await this.deps.peers.segmentKeys(
      peerId,
      { partition, segments: [...segments] },
      exchangeRequestTimeoutMs,
    );
    result.bytes += remote.entries.reduce((n, e) => n + e.key.length + e.digest.length, 0);
    const local = await this.deps.trees.segmentEntries(partition, segments);
    for (const key of differingKeys(local, remote.entries)) {
      result.differences++;
      await this.deps.bucket.take(1);
      await this.repairKey(partition, key, peerId, result);
    }
    return result;
  }

  /**
   * Runs the pure Merkle descent (@ringstore/merkle's startDescent/stepDescent) against the
   * peer: it names the tree nodes to ask for, this performs the MerkleLevel calls one at a time.
   */
  private async differingSegments(
    tree: MerkleTree,
    partition: number,
    peerId: string,
    result: ExchangeResult,
  ): Promise<readonly number[]> {
    let step = startDescent(tree, { indexesPerRequestMax: levelIndexesMax });
    for (let request = 0; request < descentRequestsMax; request++) {
      const effect = step.effects[0];
      if (effect === undefined) throw new Error('the Merkle descent stopped without an answer');
      if (effect.type === 'done') return effect.segments;
      if (effect.type === 'failed') {
        const problem = `${peerId} answered MerkleLevel wrongly at level ${effect.level}`;
        throw new RingstoreError('unavailable', `${problem}: ${effect.error.message}`);
      }
      const { level, indexes } = effect;
      const res = await this.deps.peers.merkleLevel(
        peerId,
        { partition, level, indexes: [...indexes] },
        exchangeRequestTimeoutMs,
      );
      result.bytes += indexes.length * 4 + res.hashes.reduce((n, h) => n + h.length, 0);
      step = stepDescent(step.state, { type: 'level-hashes', level, indexes, hashes: res.hashes });
    }
    throw new Error(`the Merkle descent asked more than ${descentRequestsMax} requests`);
  }

  private async repairKey(
    partition: number,
    key: Buffer,
    peerId: string,
    result: ExchangeResult,
  ): Promise<void> {
    const localRead = this.deps.storage.get(partition, key);
    const reply = await this.deps.peers.request(
      peerId,
      { $case: 'read', value: { partition, key, ...unfenced } },
      exchangeRequestTimeoutMs,
    );
    result.bytes += key.length + reply.object.length;
    const localObject =
      localRead.status === 'found' ? tryDecodeObject(localRead.object) : undefined;
    const remoteObject = reply.found ? tryDecodeObject(reply.object) : undefined;
    const merged =
      localObject && remoteObject
        ? objectOps.merge(localObject, remoteObject)
        : (localObject ?? remoteObject);
    if (merged === undefined) return;
    const bytes = encodeObject(merged);
    if (localRead.status !== 'found' || !sameBytes(localRead.object, bytes)) {
      await this.deps.replica.apply(partition, key, merged);
      result.repairs++;
      result.causes[
        localRead.status === 'corrupt'
          ? 'corrupt'
          : localRead.status === 'missing'
            ? 'missing'
            : 'stale'
      ]++;
    }
    if (!reply.found || !sameBytes(reply.object, bytes)) {
      await this.deps.peers.request(
        peerId,
        {
          $case: 'replicate',
          value: { partition, key, object: Buffer.from(bytes), hintFor: '', ...unfenced },
        },
        exchangeRequestTimeoutMs,
      );
      result.bytes += key.length + bytes.length;
      result.repairs++;
      result.causes[reply.corrupt ? 'corrupt' : reply.found ? 'stale' : 'missing']++;
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    Buffer.compare(
      Buffer.from(a.buffer, a.byteOffset, a.byteLength),
      Buffer.from(b.buffer, b.byteOffset, b.byteLength),
    ) === 0
  );
}

/** Keys whose digest differs between the two lists, or that only one side has. */
function differingKeys(local: readonly KeyDigest[], remote: readonly KeyDigest[]): Buffer[] {
  const theirs = new Map(remote.map((e) => [e.key.toString('base64'), e.digest]));
  const keys: Buffer[] = [];
  const seen = new Set<string>();
  for (const e of local) {
    const id = e.key.toString('base64');
    seen.add(id);
    const digest = theirs.get(id);
    if (digest === undefined || !digest.equals(e.digest)) keys.push(e.key);
  }
  for (const e of remote) if (!seen.has(e.key.toString('base64'))) keys.push(e.key);
  return keys;
}

export { digestOf };
