import type { StorageEngine } from '@ringstore/storage';
import type { ReadReplicaResponse, ReplicateRequest } from '@ringstore/proto';
import { keyTag, type Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { encodeObject, mergeReceived, tryDecodeObject, type KeyObject } from '../../object.js';
import { refused, ringStale } from '../../errors.js';
import type { ClusterView } from '../../cluster-view.js';
import { checkKey, checkPartition, decodeReceived, madeUnderNewerRing } from '../../peer/checks.js';
import type { LinkHandlers } from '../../peer/link.js';

export interface LocalCopy {
  readonly object: KeyObject | undefined;
  readonly bytes: Uint8Array | undefined;
  /** The stored copy failed its checksum or did not decode: treated as missing, to be repaired. */
  readonly corrupt: boolean;
}

/** The replica role: stores what coordinators send (merging with DVVSet sync) and serves reads. */
export class Replica {
  constructor(
    private readonly storage: StorageEngine,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** The ring the peer messages are checked against (tests of the merge alone leave it out). */
    private readonly view?: Pick<
      ClusterView,
      'document' | 'lastChange' | 'holds' | 'partitionCount' | 'selfId'
    >,
  ) {}

  /**
   * The replica role's peer messages: a coordinator's replicate (no hint) and read, each refused
   * "ring stale" when made under a ring older than the partition's last replica-set change. A
   * replicate is stored only in a partition this node stores, and only an object that decodes
   * with its counters in range; anything else is refused and changes nothing.
   */
  readonly handlers: Pick<LinkHandlers, 'replicate' | 'read'> = {
    replicate: async (req) => {
      this.checkKeyShape(req);
      this.checkFence(req);
      this.checkStored(req);
      await this.replicate(req);
      return {};
    },
    read: (req) => {
      this.checkKeyShape(req);
      this.checkFence(req);
      return Promise.resolve(this.readMessage(req.partition, req.key));
    },
  };

  /** Partition in range and key within limits (where the key belongs is checkPeerRequest's). */
  private checkKeyShape(req: { partition: number; key: Uint8Array }): void {
    if (this.view !== undefined) checkPartition(req.partition, this.view.partitionCount);
    checkKey(req.key);
  }

  /**
   * Refuses a replicate of a partition this node does not store, unless the request was made
   * under a newer ring than this node's: then this node may be a pending replica of it that has
   * not applied that ring yet (refusing would fail a W+p write); should the ring never give it the
   * partition, the row goes with the others of partitions it does not hold (Transfers' clean-up).
   */
  private checkStored(req: ReplicateRequest): void {
    const view = this.view;
    if (view === undefined || view.holds(req.partition)) return;
    if (madeUnderNewerRing(req, view.document)) return;
    const { term, version } = view.document;
    throw refused(
      'failed-precondition',
      `partition ${req.partition} is not stored by ${view.selfId} (ring ${term}.${version}): replicate to its replicas`,
    );
  }

  /** Refuses "ring stale" a request made under a ring older than the partition's last change. */
  checkFence(req: { partition: number; ringTerm: bigint; ringVersion: bigint }): void {
    if (this.view === undefined || req.ringVersion === 0n) return;
    const doc = this.view.document;
    const changedAt = this.view.lastChange(req.partition);
    const term = BigInt(doc.term);
    const older = req.ringTerm < term || (req.ringTerm === term && req.ringVersion < changedAt);
    if (older) {
      const request = { term: Number(req.ringTerm), version: Number(req.ringVersion) };
      throw ringStale(req.partition, request, doc, changedAt);
    }
  }

  /** Merges an object into the local copy; resolves with the stored bytes once committed. */
  async apply(partition: number, key: Uint8Array, object: KeyObject): Promise<Uint8Array> {
    const result = await this.storage.update(partition, key, (current) =>
      mergeReceived(current, object),
    );
    return result.next ?? encodeObject(object);
  }

  /** Merges a received object; INVALID_ARGUMENT, storing nothing, when it does not decode. */
  async replicate(req: ReplicateRequest): Promise<Uint8Array> {
    const object = decodeReceived(req.object, 'replicated object');
    return this.apply(req.partition, req.key, object);
  }

  read(partition: number, key: Uint8Array): LocalCopy {
    const result = this.storage.get(partition, key);
    switch (result.status) {
      case 'missing':
        return { object: undefined, bytes: undefined, corrupt: false };
      case 'corrupt':
        this.metrics.corruptObjects.inc();
        return { object: undefined, bytes: undefined, corrupt: true };
      case 'found': {
        const object = tryDecodeObject(result.object);
        if (object !== undefined) return { object, bytes: result.object, corrupt: false };
        this.metrics.corruptObjects.inc();
        this.log.warn(
          { partition, key: keyTag(key) },
          'stored object does not decode: treated as missing',
        );
        return { object: undefined, bytes: undefined, corrupt: true };
      }
    }
  }

  readMessage(partition: number, key: Uint8Array): ReadReplicaResponse {
    const copy = this.read(partition, key);
    if (copy.bytes === undefined)
      return { found: false, object: Buffer.alloc(0), corrupt: copy.corrupt };
    return { found: true, object: Buffer.from(copy.bytes), corrupt: false };
  }
}
