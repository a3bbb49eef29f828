import { createHash } from 'node:crypto';
import {
  compareVersions,
  initialDocument,
  defaultPeerAddress,
  mergeDocument,
  type RingDocument,
  type RingVersion,
} from '@ringstore/membership';
import type { PushRingRequest, PushRingResponse, RingDocument as Message } from '@ringstore/proto';
import type { StorageEngine } from '@ringstore/storage';
import { ConfigError, type NodeConfig } from '../config.js';
import { RingstoreError, reasonOf } from '../errors.js';
import type { Logger } from '../logger.js';
import { fetchRingFrom, type PeerChannel, type Peers } from '../peer/peers.js';
import {
  decodeDocument,
  documentFromMessage,
  documentToMessage,
  encodeDocument,
} from './document-codec.js';
import type { ClusterView } from '../cluster-view.js';

const metaKey = 'ring_document';
/** A seed gets this long to answer FetchRing at start, per attempt. */
const seedTimeoutMs = 2_000;
/** Attempts over all seeds at start before giving up (the node exits 2 with the reason). */
const seedAttemptsMax = 30;
const seedRetryMs = 1_000;
/** A push or pull of one document: small, on an idle channel. */
const ringCallTimeoutMs = 2_000;

/**
 * Where the first document of this data directory comes from: persisted in meta (a restart),
 * made from --nodes (a new cluster; every node computes the same one), or fetched from a seed.
 */
export async function loadDocument(
  config: NodeConfig,
  storage: StorageEngine,
  log: Logger,
  /** How to dial a seed (any node of the cluster, with mTLS); plaintext by default. */
  seedChannel?: PeerChannel,
): Promise<RingDocument> {
  const stored = storage.getMeta(metaKey);
  const persisted = stored === undefined ? undefined : storedDocument(stored);
  if (persisted !== undefined) refuseRetired(persisted, config.id);
  if (config.seeds.length === 0) {
    const created = persisted ?? documentOfNodes(config);
    if (persisted === undefined) storage.setMeta(metaKey, encodeDocument(created));
    return created;
  }
  const fetched = await fetchFromSeeds(config, log, seedChannel);
  if (persisted !== undefined && persisted.clusterId !== fetched.clusterId)
    throw new ConfigError(
      `data directory belongs to cluster ${persisted.clusterId}, the seeds are in cluster ${fetched.clusterId}`,
    );
  refuseRetired(fetched, config.id);
  const merged = persisted === undefined ? fetched : pickNewer(persisted, fetched);
  storage.setMeta(metaKey, encodeDocument(merged));
  return merged;
}

/** The data directory's ring document; one that cannot be read stops the start (exit 2). */
function storedDocument(text: string): RingDocument {
  try {
    return decodeDocument(text);
  } catch (e) {
    throw new ConfigError(
      `the data directory's ring document is unreadable (${(e as Error).message}): restore the directory or start a new node with a new id`,
    );
  }
}

function pickNewer(a: RingDocument, b: RingDocument): RingDocument {
  return compareVersions(b, a) > 0 ? b : a;
}

/** A left or removed id never serves again: deletes it missed would come back (invariant 2). */
function refuseRetired(doc: RingDocument, id: string): void {
  const status = doc.nodes.find((n) => n.id === id)?.status;
  if (status === 'left' || status === 'removed')
    throw new ConfigError(
      `node ${id} is ${status} in cluster ${doc.clusterId}: its data directory must not serve again (start a new node with a new id and an empty --data)`,
    );
}

/** Every node started with the same --nodes computes the same document, cluster id included. */
export function documentOfNodes(config: {
  nodes: readonly { id: string; address: string; peerAddress?: string | undefined }[];
  partitions: number;
  replicas: number;
  zone?: string;
}): RingDocument {
  const sorted = [...config.nodes].sort((a, b) => (a.id < b.id ? -1 : 1));
  // A peer address counts only when it is not the default, so ids made before the ports were
  // split stay the same; founders that differ in one do not share an id.
  const entry = (n: (typeof sorted)[number]): string =>
    n.peerAddress === undefined || n.peerAddress === defaultPeerAddress(n.address)
      ? `${n.id}=${n.address}`
      : `${n.id}=${n.address}/${n.peerAddress}`;
  const seed = `${sorted.map(entry).join(',')}/${config.partitions}/${config.replicas}`;
  const clusterId = createHash('sha256').update(seed).digest('hex').slice(0, 16);
  return initialDocument({
    clusterId,
    claimant: sorted[0]!.id,
    partitionCount: config.partitions,
    replicas: config.replicas,
    nodes: sorted.map((n) => ({
      id: n.id,
      address: n.address,
      peerAddress: n.peerAddress ?? defaultPeerAddress(n.address),
      zone: '',
    })),
  });
}

async function fetchFromSeeds(
  config: Pick<NodeConfig, 'id' | 'seeds'>,
  log: Logger,
  seedChannel: PeerChannel | undefined,
): Promise<RingDocument> {
  let last = '';
  for (let attempt = 0; attempt < seedAttemptsMax; attempt++) {
    for (const seed of config.seeds) {
      try {
        const message = await fetchRingFrom(seed, seedTimeoutMs, config.id, seedChannel);
        return documentFromMessage(message);
      } catch (e) {
        last = `${seed}: ${reasonOf(e)}`;
      }
    }
    log.warn({ attempt: attempt + 1, reason: last }, 'no seed answered; retrying');
    await new Promise((r) => setTimeout(r, seedRetryMs));
  }
  throw new ConfigError(`no seed gave the ring after ${seedAttemptsMax} attempts (${last})`);
}

/**
 * Keeps this node's ring document: applies only newer versions of its own cluster, persists each
 * before it takes effect, serves FetchRing/PushRing, pulls from a peer seen ahead in gossip, and
 * (at the claimant) pushes each new version to every node. Also tracks which version each node is
 * known to have applied, for the claimant's barrier.
 */
export class RingKeeper {
  private readonly appliedBy = new Map<string, number>();
  private readonly pulling = new Set<string>();

  constructor(
    private readonly selfId: string,
    private readonly view: ClusterView,
    private readonly storage: StorageEngine,
    private readonly peers: Peers,
    private readonly log: Logger,
  ) {}

  get document(): RingDocument {
    return this.view.document;
  }

  /** Applies `remote` if newer; refused (INVALID_ARGUMENT) when of another cluster or forged. */
  offer(remote: RingDocument, from: string): boolean {
    const outcome = mergeDocument(this.view.document, remote);
    if (!outcome.ok) throw new RingstoreError('invalid-argument', outcome.problem.message);
    if (!outcome.newer) return false;
    this.storage.setMeta(metaKey, encodeDocument(remote));
    const before = this.view.document;
    // Applied versions are compared within a term: a new term starts the count afresh.
    if (remote.term !== before.term) this.appliedBy.clear();
    this.view.apply(remote);
    this.log.info(
      { from, term: remote.term, version: remote.version, previous: before.version },
      'ring version applied',
    );
    return true;
  }

  /** The claimant's write of a new version: applied here, then pushed to every node. */
  write(doc: RingDocument): void {
    this.offer(doc, this.selfId);
    void this.pushAll();
  }

  fetchRing(): Message {
    return documentToMessage(this.view.document);
  }

  pushRing(req: PushRingRequest): PushRingResponse {
    if (req.document === undefined) throw new RingstoreError('invalid-argument', 'no document');
    this.offer(documentFromMessage(req.document), 'push');
    const d = this.view.document;
    return { term: BigInt(d.term), version: BigInt(d.version) };
  }

  /** Pushes the current document to every node but this one and the removed (best effort). */
  async pushAll(): Promise<void> {
    const doc = this.view.document;
    const message = documentToMessage(doc);
    const targets = doc.nodes.filter((n) => n.id !== this.selfId && n.status !== 'removed');
    await Promise.all(
      targets.map(async (n) => {
        try {
          const res = await this.peers.pushRing(n.id, { document: message }, ringCallTimeoutMs);
          this.noteApplied(n.id, { term: Number(res.term), version: Number(res.version) });
        } catch (e) {
          this.log.debug({ peer: n.id, reason: (e as Error).message }, 'ring push failed');
        }
      }),
    );
  }

  /** A peer reported (in gossip) a newer version than ours: fetch it, once at a time per peer. */
  pullIfBehind(peerId: string, theirs: RingVersion): void {
    this.noteApplied(peerId, theirs);
    if (compareVersions(theirs, this.view.document) <= 0 || this.pulling.has(peerId)) return;
    this.pulling.add(peerId);
    this.peers
      .fetchRing(peerId, ringCallTimeoutMs)
      .then((m) => this.offer(documentFromMessage(m), peerId))
      .catch((e: unknown) =>
        this.log.debug({ peer: peerId, reason: (e as Error).message }, 'ring pull failed'),
      )
      .finally(() => this.pulling.delete(peerId));
  }

  /**
   * After a "ring stale" answer: fetch the replica's ring now (bounded by `timeoutMs`); true once
   * this node holds a ring at least as new as `theirs`.
   */
  async pullNow(peerId: string, theirs: RingVersion, timeoutMs: number): Promise<boolean> {
    if (compareVersions(this.view.document, theirs) >= 0) return true;
    try {
      const m = await this.peers.fetchRing(peerId, Math.min(timeoutMs, ringCallTimeoutMs));
      this.offer(documentFromMessage(m), peerId);
    } catch (e) {
      this.log.debug({ peer: peerId, reason: (e as Error).message }, 'ring pull failed');
    }
    return compareVersions(this.view.document, theirs) >= 0;
  }

  noteApplied(nodeId: string, v: RingVersion): void {
    if (v.term !== this.view.document.term) return;
    this.appliedBy.set(nodeId, Math.max(this.appliedBy.get(nodeId) ?? 0, v.version));
  }

  /** The version `nodeId` is known to have applied in the current term (0: not known). */
  applied(nodeId: string): number {
    return nodeId === this.selfId ? this.view.document.version : (this.appliedBy.get(nodeId) ?? 0);
  }
}
