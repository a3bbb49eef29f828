import { claim, validateRing, type Member, type Ring } from '@ringstore/ring';
import { assert } from './assert.js';
import { addressLengthMax, idLengthMax, membersMax, zoneLengthMax } from './gossip-check.js';

/**
 * A node's place in the ring document (MEMBERSHIP.md section 2), in lifecycle order. joining: a
 * pending replica of the partitions it takes; valid: a full member; leaving: hands its partitions
 * over; left / removed: owns nothing, and its id is never admitted again (its old data directory
 * must not come back, or deletes it missed would be resurrected).
 */
export type NodeStatus = 'joining' | 'valid' | 'leaving' | 'left' | 'removed';

export const nodeStatuses: readonly NodeStatus[] = [
  'joining',
  'valid',
  'leaving',
  'left',
  'removed',
];

export interface RingNode {
  readonly id: string;
  /** host:port of the client port (KV, Cluster). */
  readonly address: string;
  /** host:port of the peer port (node-to-node traffic). */
  readonly peerAddress: string;
  /** '' when zones are not configured. */
  readonly zone: string;
  readonly status: NodeStatus;
}

/** Documents are ordered by (term, version); only the claimant writes version + 1. */
export interface RingVersion {
  /** Grows only when an operator forces a new claimant (the old one was removed). */
  readonly term: number;
  readonly version: number;
}

/** The per-partition states of a transfer (after Scylla's topology state machine). */
export type TransferState = 'pending' | 'streaming' | 'catch-up' | 'read-new' | 'done';

export const transferStates: readonly TransferState[] = [
  'pending',
  'streaming',
  'catch-up',
  'read-new',
  'done',
];

/** One partition whose replica set changes in the running transition. */
export interface PartitionTransfer {
  readonly partition: number;
  /** Replicas that receive the partition (pending replicas: they take writes, never reads). */
  readonly added: readonly string[];
  /** Replicas that hand it over and clean up once the new ones serve reads. */
  readonly removed: readonly string[];
  readonly state: TransferState;
  /** The version at which the transfer entered `state`: the partition's last replica-set change. */
  readonly since: number;
}

/**
 * What every node knows of the cluster's shape. Plain data: persisted in meta, spread by the
 * claimant's push and by gossip; a node never applies one older than its own.
 */
export interface RingDocument extends RingVersion {
  /** Made when the cluster is created; a document of another cluster is refused. */
  readonly clusterId: string;
  /** The one node that writes new versions. */
  readonly claimant: string;
  /** N. */
  readonly replicas: number;
  /** Every node ever admitted, sorted by id (left and removed ones stay, so their ids stay taken). */
  readonly nodes: readonly RingNode[];
  /** The read ring: where reads go, and (with `next`) where writes go. */
  readonly ring: Ring;
  /** The ring being moved to while a transition runs (Riak's `next`); undefined when idle. */
  readonly next: Ring | undefined;
  /** The running transition's partitions, in partition order; empty when idle. */
  readonly transfers: readonly PartitionTransfer[];
  /** The version whose commit started the running transition (0 when idle): names its transfers. */
  readonly transition: number;
  /**
   * The version at which the last transition completed (1 for a new cluster). A partition without
   * a transfer last changed replica sets no later than this (completion itself changes none).
   */
  readonly settledAt: number;
}

/**
 * The peer address a node has when none is given: its client port + 1 (as etcd's 2379/2380);
 * port 0 (any free port) stays 0. `host:port` in, `host:port` out; an address without a valid
 * port, or with port 65535, is returned unchanged (and then refused as equal to the client's).
 */
export function defaultPeerAddress(clientAddress: string): string {
  const i = clientAddress.lastIndexOf(':');
  const portText = clientAddress.slice(i + 1);
  if (i < 0 || !/^\d{1,5}$/.test(portText)) return clientAddress;
  const port = Number(portText);
  if (port === 0) return clientAddress;
  if (port >= 65_535) return clientAddress;
  return `${clientAddress.slice(0, i)}:${port + 1}`;
}

export interface NewCluster {
  readonly clusterId: string;
  readonly claimant: string;
  readonly partitionCount: number;
  readonly replicas: number;
  readonly nodes: readonly {
    readonly id: string;
    readonly address: string;
    readonly peerAddress: string;
    readonly zone: string;
  }[];
}

/** The first document of a cluster created with `--nodes`: every node valid, version 1. */
export function initialDocument(c: NewCluster): RingDocument {
  assert(
    c.nodes.some((n) => n.id === c.claimant),
    `claimant ${c.claimant} is not a node`,
  );
  const nodes = sortNodes(c.nodes.map((n) => ({ ...n, status: 'valid' as const })));
  const members: Member[] = nodes.map((n) => ({ id: n.id, zone: n.zone }));
  const ring = claim(members, { partitionCount: c.partitionCount, replicas: c.replicas });
  return {
    clusterId: c.clusterId,
    term: 1,
    version: 1,
    claimant: c.claimant,
    replicas: c.replicas,
    nodes,
    ring,
    next: undefined,
    transfers: [],
    transition: 0,
    settledAt: 1,
  };
}

/**
 * The version at which `partition`'s read or write set last changed: a request made under an
 * older version may go to the wrong replicas, so a replica answers it "ring stale" (the fence).
 */
export function lastChange(doc: RingDocument, partition: number): number {
  return doc.transfers.find((t) => t.partition === partition)?.since ?? doc.settledAt;
}

export function compareVersions(a: RingVersion, b: RingVersion): number {
  return a.term !== b.term ? a.term - b.term : a.version - b.version;
}

export type MergeOutcome =
  | { readonly ok: true; readonly document: RingDocument; readonly newer: boolean }
  | { readonly ok: false; readonly problem: DocumentProblem };

/**
 * The newer of two documents (a join: commutative, associative, idempotent on documents of one
 * cluster). A document of another cluster, or one with our (term, version) but other contents
 * (two writers of one version: a bug or a forgery), is refused and the local one stays.
 */
export function mergeDocument(local: RingDocument, remote: RingDocument): MergeOutcome {
  if (remote.clusterId !== local.clusterId) {
    const message = `ring document of cluster ${remote.clusterId}, this node is in ${local.clusterId}`;
    return { ok: false, problem: { code: 'other-cluster', message } };
  }
  const order = compareVersions(remote, local);
  if (order > 0) return { ok: true, document: remote, newer: true };
  if (order < 0 || sameDocument(local, remote)) return { ok: true, document: local, newer: false };
  const message = `two ring documents claim term ${local.term} version ${local.version}`;
  return { ok: false, problem: { code: 'conflict', message } };
}

export type DocumentProblemCode = 'other-cluster' | 'conflict' | 'malformed';

export interface DocumentProblem {
  readonly code: DocumentProblemCode;
  readonly message: string;
}

/** Whether a document from the wire is well formed, or what is wrong with it (bounded checks). */
export function checkRingDocument(d: RingDocument): DocumentProblem | undefined {
  const problem = checkHeader(d) ?? checkNodes(d.nodes) ?? checkRings(d);
  return problem === undefined ? undefined : { code: 'malformed', message: problem };
}

function checkHeader(d: RingDocument): string | undefined {
  if (!isCount(d.term) || !isCount(d.version)) return 'term and version must be integers >= 1';
  if (d.clusterId.length < 1 || d.clusterId.length > idLengthMax) return 'bad cluster id';
  if (!Number.isInteger(d.replicas) || d.replicas < 1) return 'replicas must be >= 1';
  return undefined;
}

function checkNodes(nodes: readonly RingNode[]): string | undefined {
  if (nodes.length < 1 || nodes.length > membersMax) return `1..${membersMax} nodes expected`;
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i]!;
    if (n.id.length < 1 || n.id.length > idLengthMax) return `node ${i}: bad id`;
    if (
      n.address.length > addressLengthMax ||
      n.peerAddress.length > addressLengthMax ||
      n.zone.length > zoneLengthMax
    )
      return `node ${n.id}: address or zone too long`;
    if (!nodeStatuses.includes(n.status)) return `node ${n.id}: unknown status`;
    if (i > 0 && !(nodes[i - 1]!.id < n.id)) return 'nodes must be sorted by id, without repeats';
  }
  return undefined;
}

function checkRings(d: RingDocument): string | undefined {
  if (!d.nodes.some((n) => n.id === d.claimant)) return `claimant ${d.claimant} is not a node`;
  for (const [name, ring] of [['ring', d.ring] as const, ['next', d.next] as const]) {
    if (ring === undefined) continue;
    const problem = validateRing(ring);
    if (problem !== undefined) return `${name}: ${problem}`;
    const unknown = ring.members.find((m) => !d.nodes.some((n) => n.id === m.id));
    if (unknown !== undefined) return `${name}: member ${unknown.id} is not a node`;
  }
  if (d.next !== undefined && d.next.partitionCount !== d.ring.partitionCount)
    return 'next has another partition count';
  if (d.next === undefined && d.transfers.length > 0) return 'transfers without a next ring';
  if ((d.next === undefined) !== (d.transition === 0))
    return 'a transition number without a next ring, or the reverse';
  if (!Number.isSafeInteger(d.transition) || d.transition < 0 || d.transition > d.version)
    return 'transition out of range';
  if (!isCount(d.settledAt) || d.settledAt > d.version) return 'settledAt out of range';
  if (d.replicas > d.ring.partitionCount) return 'more replicas than partitions';
  return checkTransfers(d);
}

/** Transfers name partitions of the ring, in ascending order, nodes of the document, known states. */
function checkTransfers(d: RingDocument): string | undefined {
  const ids = new Set(d.nodes.map((n) => n.id));
  let previous = -1;
  for (const t of d.transfers) {
    if (
      !Number.isInteger(t.partition) ||
      t.partition <= previous ||
      t.partition >= d.ring.partitionCount
    )
      return `transfer of partition ${t.partition}: out of range or out of order`;
    previous = t.partition;
    if (!transferStates.includes(t.state))
      return `transfer of partition ${t.partition}: unknown state`;
    if (!isCount(t.since) || t.since > d.version || t.since < d.transition)
      return `transfer of partition ${t.partition}: since out of range`;
    const stranger = [...t.added, ...t.removed].find((id) => !ids.has(id));
    if (stranger !== undefined)
      return `transfer of partition ${t.partition}: ${stranger} is not a node`;
  }
  return undefined;
}

function isCount(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

function sameDocument(a: RingDocument, b: RingDocument): boolean {
  return equalData(a, b);
}

/** Deep equality of plain data (what a decoder makes): key order does not matter. */
function equalData(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  return ka.every((k) => equalData(ra[k], rb[k]));
}

export function sortNodes(nodes: readonly RingNode[]): RingNode[] {
  return [...nodes].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
