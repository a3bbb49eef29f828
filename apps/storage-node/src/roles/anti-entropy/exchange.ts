import { credentials, Metadata } from '@grpc/grpc-js';
import { childIndexes, compareLevel, type MerkleTree } from '@ringstore/merkle';
import {
  PeerClient,
  type KeyDigest,
  type MerkleLevelResponse,
  type SegmentKeysResponse,
} from '@ringstore/proto';
import { RingstoreError } from '../../errors.js';
import { encodeObject, objectOps, tryDecodeObject } from '../../object.js';
import type { PeerLinks } from '../../peer-link.js';
import type { Replica } from '../replica/replica.js';
import type { TokenBucket } from './token-bucket.js';
import { digestOf, type PartitionTrees } from './trees.js';
import type { StorageEngine } from '@ringstore/storage';

/** Deadline of each exchange RPC. */
export const exchangeRequestTimeoutMs = 10_000;
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
  readonly links: PeerLinks;
  readonly bucket: TokenBucket;
  readonly addressOf: (nodeId: string) => string | undefined;
}

/**
 * One anti-entropy exchange of a partition with another replica: compare roots, descend only into
 * differing branches, list the keys of differing segments, and repair just the keys that differ,
 * merging both copies with DVVSet sync and writing the merge wherever it is news.
 */
export class Exchanger {
  private readonly clients = new Map<string, PeerClient>();

  constructor(private readonly deps: ExchangeDeps) {}

  close(): void {
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }

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
    const remote = await this.call<SegmentKeysResponse>(peerId, (c, cb) =>
      c.segmentKeys({ partition, segments }, new Metadata(), this.options(), cb),
    );
    result.bytes += remote.entries.reduce((n, e) => n + e.key.length + e.digest.length, 0);
    const local = this.deps.trees.segmentEntries(partition, segments);
    for (const key of differingKeys(local, remote.entries)) {
      result.differences++;
      await this.deps.bucket.take(1);
      await this.repairKey(partition, key, peerId, result);
    }
    return result;
  }

  private async differingSegments(
    tree: MerkleTree,
    partition: number,
    peerId: string,
    result: ExchangeResult,
  ): Promise<number[]> {
    let differing = [0];
    for (let level = 0; level < tree.levelCount(); level++) {
      const indexes =
        level === 0 ? [0] : differing.flatMap((i) => childIndexes(tree, level - 1, i));
      const found: number[] = [];
      for (let start = 0; start < indexes.length; start += levelIndexesMax) {
        const chunk = indexes.slice(start, start + levelIndexesMax);
        const res = await this.call<MerkleLevelResponse>(peerId, (c, cb) =>
          c.merkleLevel({ partition, level, indexes: chunk }, new Metadata(), this.options(), cb),
        );
        if (res.hashes.length !== chunk.length)
          throw new RingstoreError(
            'internal',
            `${peerId} answered ${res.hashes.length} hashes for ${chunk.length} nodes`,
          );
        result.bytes += chunk.length * 4 + res.hashes.reduce((n, h) => n + h.length, 0);
        found.push(...compareLevel(tree, level, chunk, res.hashes));
      }
      differing = found;
      if (differing.length === 0) return [];
    }
    return differing;
  }

  private async repairKey(
    partition: number,
    key: Buffer,
    peerId: string,
    result: ExchangeResult,
  ): Promise<void> {
    const localRead = this.deps.storage.get(partition, key);
    const reply = await this.deps.links.request(
      peerId,
      { $case: 'read', value: { partition, key } },
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
      await this.deps.links.request(
        peerId,
        { $case: 'replicate', value: { partition, key, object: Buffer.from(bytes), hintFor: '' } },
        exchangeRequestTimeoutMs,
      );
      result.bytes += key.length + bytes.length;
      result.repairs++;
      result.causes[reply.corrupt ? 'corrupt' : reply.found ? 'stale' : 'missing']++;
    }
  }

  private options(): { deadline: number } {
    return { deadline: Date.now() + exchangeRequestTimeoutMs };
  }

  private call<T>(
    peerId: string,
    fn: (client: PeerClient, cb: (e: Error | null, res: T) => void) => void,
  ): Promise<T> {
    const address = this.deps.addressOf(peerId);
    if (address === undefined)
      return Promise.reject(new RingstoreError('unavailable', `unknown node ${peerId}`));
    let client = this.clients.get(peerId);
    if (client === undefined) {
      client = new PeerClient(address, credentials.createInsecure(), {
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      });
      this.clients.set(peerId, client);
    }
    const c = client;
    return new Promise((resolve, reject) => fn(c, (e, res) => (e ? reject(e) : resolve(res))));
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
