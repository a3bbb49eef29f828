import { checkLevelRequest } from '@ringstore/merkle';
import type {
  HintsHeldRequest,
  HintsHeldResponse,
  MerkleLevelRequest,
  MerkleLevelResponse,
  PartitionAntiEntropy,
  ReapRequest,
  ReapResponse,
  SegmentKeysRequest,
  SegmentKeysResponse,
  TriggerAntiEntropyResponse,
} from '@ringstore/proto';
import type { StorageEngine } from '@ringstore/storage';
import type { ClusterView } from '../../cluster-view.js';
import { RingstoreError, invalidArgument, refused } from '../../errors.js';
import { tryDecodeObject } from '../../object.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import type { Liveness } from '../../liveness.js';
import { checkKey, checkPartition as checkPartitionOf } from '../../peer/checks.js';
import type { LinkHandlers } from '../../peer/link.js';
import type { Peers } from '../../peer/peers.js';
import type { Replica } from '../replica/replica.js';
import { Exchanger, type ExchangeResult } from './exchange.js';
import { Reaper, inTransition, isReapable } from './reaper.js';
import { TokenBucket } from './token-bucket.js';
import type { PartitionTrees } from './trees.js';

export interface AntiEntropyOptions {
  /** Time between two exchanges of this node (each covers one partition); 0: only on demand. */
  readonly intervalMs: number;
  /** Objects repaired per second at most. */
  readonly ratePerSecond: number;
  /** A tombstone-only key older than this, held by every replica, is removed. */
  readonly tombstoneGraceMs: number;
}

export interface AntiEntropyDeps {
  readonly selfId: string;
  readonly storage: StorageEngine;
  readonly trees: PartitionTrees;
  readonly view: ClusterView;
  readonly replica: Replica;
  readonly peers: Peers;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly options: AntiEntropyOptions;
}

interface PartitionStats {
  lastExchangeMs: number;
  lastPeer: string;
  exchanges: number;
  differences: number;
  repairs: number;
  reaped: number;
}

/** Segments asked for in one SegmentKeys request at most. */
export const segmentsPerRequestMax = 65_536;

/**
 * The anti-entropy role: one exchange at a time, cycling through the partitions this node
 * replicates and through their other replicas, plus tombstone reaping, plus the Peer handlers
 * that answer other nodes' exchanges.
 */
export class AntiEntropy {
  readonly exchanger: Exchanger;
  private readonly reaper: Reaper;
  private readonly stats = new Map<number, PartitionStats>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private cursor = 0;
  private peerCursor = 0;
  private stopped = false;

  constructor(private readonly deps: AntiEntropyDeps) {
    const bucket = new TokenBucket(deps.options.ratePerSecond);
    this.exchanger = new Exchanger({
      storage: deps.storage,
      trees: deps.trees,
      replica: deps.replica,
      peers: deps.peers,
      bucket,
    });
    this.reaper = new Reaper({ ...deps, bucket });
  }

  start(): void {
    if (this.deps.options.intervalMs > 0) this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
  }

  private schedule(): void {
    // Staggered: the first exchange waits a random part of the interval, so nodes do not align.
    const delayMs =
      this.cursor === 0
        ? Math.random() * this.deps.options.intervalMs
        : this.deps.options.intervalMs;
    this.timer = setTimeout(() => {
      // Periodic exchanges follow the read sets: a partition still being received catches up
      // through its transfer, not here (MEMBERSHIP.md section 3).
      const partitions = this.deps.trees.partitions.filter((p) => this.deps.view.isReplica(p));
      const partition = partitions[this.cursor++ % Math.max(1, partitions.length)];
      const work =
        partition === undefined
          ? Promise.resolve()
          : this.runPartition(partition).catch((e: unknown) =>
              this.deps.log.debug({ partition, reason: String(e) }, 'anti-entropy exchange failed'),
            );
      this.running = work.finally(() => {
        if (!this.stopped) this.schedule();
      });
    }, delayMs);
  }

  /**
   * Exchanges the partition with its next up replica, then reaps its settled tombstones. A replica
   * that fails the exchange (unreachable although not yet detected down, or restarting) is passed
   * over for the next one; the partition fails only when every other replica did. A failed
   * exchange leaves nothing half-done that matters: every repair is a DVVSet merge.
   */
  private async runPartition(
    partition: number,
  ): Promise<ExchangeResult & { reaped: number; exchanged: boolean }> {
    const peers = this.deps.view
      .primaries(partition)
      .filter((id) => id !== this.deps.selfId && this.deps.liveness.isUp(id));
    const empty = {
      differences: 0,
      repairs: 0,
      bytes: 0,
      causes: { missing: 0, stale: 0, corrupt: 0 },
      reaped: 0,
      exchanged: false,
    };
    if (peers.length === 0) return empty;
    const first = this.peerCursor++;
    let lastError: unknown;
    for (let i = 0; i < peers.length; i++) {
      const peer = peers[(first + i) % peers.length]!;
      let result: ExchangeResult;
      try {
        result = await this.exchanger.exchange(partition, peer);
      } catch (e) {
        lastError = e;
        this.deps.log.debug(
          { partition, peer, reason: String(e) },
          'anti-entropy exchange failed; trying the next replica',
        );
        continue;
      }
      const reaped = await this.reaper.reap(partition);
      this.record(partition, peer, result, reaped);
      return { ...result, reaped, exchanged: true };
    }
    throw lastError;
  }

  private record(partition: number, peer: string, r: ExchangeResult, reaped: number): void {
    const s = this.stats.get(partition) ?? {
      lastExchangeMs: 0,
      lastPeer: '',
      exchanges: 0,
      differences: 0,
      repairs: 0,
      reaped: 0,
    };
    s.lastExchangeMs = Date.now();
    s.lastPeer = peer;
    s.exchanges++;
    s.differences += r.differences;
    s.repairs += r.repairs;
    s.reaped += reaped;
    this.stats.set(partition, s);
    this.deps.metrics.aeExchanges.inc();
    this.deps.metrics.aeBytes.inc(r.bytes);
    this.deps.metrics.aeDifferences.inc(r.differences);
    for (const [cause, n] of Object.entries(r.causes))
      if (n > 0) this.deps.metrics.aeRepairs.inc({ cause }, n);
    if (r.repairs > 0)
      this.deps.log.info(
        {
          partition,
          peer,
          differences: r.differences,
          repairs: r.repairs,
          causes: r.causes,
          bytes: r.bytes,
        },
        'anti-entropy repaired differences',
      );
  }

  /** Cluster.TriggerAntiEntropy: exchanges the partitions now, one after another (after any running one). */
  async trigger(
    partitions: readonly number[],
    rebuild: boolean,
  ): Promise<TriggerAntiEntropyResponse> {
    const own = this.deps.trees.partitions;
    for (const p of partitions)
      if (!own.includes(p)) throw invalidArgument(`partition ${p} is not replicated by this node`);
    const chosen = partitions.length > 0 ? partitions : own;
    const total: TriggerAntiEntropyResponse = {
      exchanges: 0,
      differences: 0n,
      repairs: 0n,
      bytesTransferred: 0n,
      tombstonesReaped: 0n,
    };
    const work = this.running
      .catch(() => undefined)
      .then(async () => {
        for (const partition of chosen) {
          if (rebuild) await this.deps.trees.rebuild(partition);
          const r = await this.runPartition(partition);
          if (r.exchanged) total.exchanges++;
          total.differences += BigInt(r.differences);
          total.repairs += BigInt(r.repairs);
          total.bytesTransferred += BigInt(r.bytes);
          total.tombstonesReaped += BigInt(r.reaped);
        }
      });
    this.running = work;
    await work;
    return total;
  }

  /** --ae-interval-ms: one exchange per interval (0: on demand only). */
  get intervalMs(): number {
    return this.deps.options.intervalMs;
  }

  status(): PartitionAntiEntropy[] {
    return this.deps.trees.partitions.map((partition) => {
      const s = this.stats.get(partition);
      const tree = this.deps.trees.tree(partition);
      return {
        partition,
        lastExchangeMs: BigInt(s?.lastExchangeMs ?? 0),
        lastPeer: s?.lastPeer ?? '',
        exchanges: BigInt(s?.exchanges ?? 0),
        differences: BigInt(s?.differences ?? 0),
        repairs: BigInt(s?.repairs ?? 0),
        tombstonesReaped: BigInt(s?.reaped ?? 0),
        root: tree === undefined ? '' : Buffer.from(tree.root()).toString('hex'),
        keys: BigInt(this.deps.trees.keys(partition)),
      };
    });
  }

  /** Peer.MerkleLevel */
  merkleLevel(req: MerkleLevelRequest): MerkleLevelResponse {
    this.checkPartition(req.partition);
    const tree = this.deps.trees.tree(req.partition);
    if (tree === undefined)
      throw new RingstoreError(
        'failed-precondition',
        `partition ${req.partition} is not replicated by ${this.deps.selfId}`,
      );
    const problem = checkLevelRequest(tree, req.level, req.indexes);
    if (problem !== undefined) throw invalidArgument(`MerkleLevel: ${problem.message}`);
    return { hashes: tree.level(req.level, req.indexes).map((h) => Buffer.from(h)) };
  }

  /** Peer.SegmentKeys */
  async segmentKeys(req: SegmentKeysRequest): Promise<SegmentKeysResponse> {
    this.checkPartition(req.partition);
    const tree = this.deps.trees.tree(req.partition);
    if (tree === undefined)
      throw new RingstoreError(
        'failed-precondition',
        `partition ${req.partition} is not replicated by ${this.deps.selfId}`,
      );
    if (req.segments.length > segmentsPerRequestMax)
      throw invalidArgument(
        `SegmentKeys: ${req.segments.length} segments, at most ${segmentsPerRequestMax}`,
      );
    const segments = tree.options.segments;
    const wrong = req.segments.find((s) => !Number.isInteger(s) || s < 0 || s >= segments);
    if (wrong !== undefined)
      throw invalidArgument(`SegmentKeys: segment ${wrong} out of range 0..${segments - 1}`);
    return { entries: await this.deps.trees.segmentEntries(req.partition, req.segments) };
  }

  /** The anti-entropy role's Link messages; its unary ones are merkleLevel and segmentKeys. */
  readonly handlers: Pick<LinkHandlers, 'reap' | 'hintsHeld'> = {
    reap: (req) => this.reapHere(req),
    hintsHeld: (req) => Promise.resolve(this.hintsHeld(req)),
  };

  /**
   * Link 'reap': removes the tombstone if the stored object is still exactly the one every replica
   * held. Refused for a reaper behind on the ring (fenced like a read), a partition in a
   * transition here or not stored here, and an object that is not a tombstone past the grace
   * period here. What is judged is this node's own copy, never the bytes the request carries:
   * a key whose copy here is anything else (live, young, another version, absent) stays.
   */
  private async reapHere(req: ReapRequest): Promise<ReapResponse> {
    this.checkPartition(req.partition);
    checkKey(req.key);
    if (req.ringVersion === 0n) throw invalidArgument('reap: the request carries no ring version');
    this.deps.replica.checkFence(req);
    if (inTransition(this.deps.view.document, req.partition))
      throw refused('failed-precondition', `partition ${req.partition} is in a transition`);
    if (!this.deps.view.holds(req.partition))
      throw refused('failed-precondition', `partition ${req.partition} is not stored here`);
    const local = this.deps.storage.get(req.partition, req.key);
    if (local.status !== 'found' || !bytesEqual(local.object, req.object)) return { reaped: false };
    const object = tryDecodeObject(local.object);
    const cutoffMs = Date.now() - this.deps.options.tombstoneGraceMs;
    if (object === undefined || !isReapable(object, cutoffMs))
      throw invalidArgument('reap: the object is not a tombstone past the grace period');
    const reaped = await this.deps.storage.remove(req.partition, req.key, local.object);
    if (reaped) this.deps.metrics.tombstonesReaped.inc();
    return { reaped };
  }

  /** Link 'hintsHeld': hints of the partition this node holds, for any target. */
  private hintsHeld(req: HintsHeldRequest): HintsHeldResponse {
    this.checkPartition(req.partition);
    return { count: this.deps.storage.partitionHints(req.partition) };
  }

  private checkPartition(partition: number): void {
    checkPartitionOf(partition, this.deps.view.partitionCount);
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}
