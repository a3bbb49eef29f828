import {
  checkRingDocument,
  nodeStatuses,
  transferStates,
  defaultPeerAddress,
  type RingDocument,
  type TransferState,
} from '@ringstore/membership';
import {
  RingDocument as DocumentMessageCodec,
  type Ring as RingMessage,
  type RingDocument as DocumentMessage,
  type RingSlots,
  type Transfer,
} from '@ringstore/proto';
import type { Ring } from '@ringstore/ring';
import { RingstoreError } from '../errors.js';

/** Counts on the wire are uint64; a document's numbers must stay exact in a JS number. */
function exact(n: bigint, what: string): number {
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} out of range`);
  return Number(n);
}

function invalid(message: string): RingstoreError {
  return new RingstoreError('invalid-argument', `ring document: ${message}`);
}

function slotsOf(ring: Ring): RingSlots {
  return { members: ring.members.map((m) => m.id), owners: [...ring.owners] };
}

function ringOf(slots: RingSlots, doc: { nodes: readonly { id: string; zone: string }[] }): Ring {
  const zone = (id: string): string => doc.nodes.find((n) => n.id === id)?.zone ?? '';
  return {
    partitionCount: slots.owners.length,
    members: slots.members.map((id) => ({ id, zone: zone(id) })),
    owners: [...slots.owners],
  };
}

function transferMessage(t: RingDocument['transfers'][number]): Transfer {
  return {
    partition: t.partition,
    added: [...t.added],
    removed: [...t.removed],
    state: t.state,
    since: BigInt(t.since),
  };
}

export function documentToMessage(d: RingDocument): DocumentMessage {
  return {
    clusterId: d.clusterId,
    term: BigInt(d.term),
    version: BigInt(d.version),
    claimant: d.claimant,
    replicas: d.replicas,
    partitionCount: d.ring.partitionCount,
    nodes: d.nodes.map((n) => ({ ...n })),
    ring: slotsOf(d.ring),
    next: d.next === undefined ? undefined : slotsOf(d.next),
    transfers: d.transfers.map(transferMessage),
    transition: BigInt(d.transition),
    settledAt: BigInt(d.settledAt),
  };
}

/** A document from the wire or from meta, checked; what is wrong with it is INVALID_ARGUMENT. */
export function documentFromMessage(m: DocumentMessage): RingDocument {
  if (m.ring === undefined) throw invalid('no ring');
  const nodes = m.nodes.map((n) => {
    const status = nodeStatuses.find((s) => s === n.status);
    if (status === undefined) throw invalid(`node ${n.id.slice(0, 64)}: unknown status`);
    // Rings written before the ports were split name no peer address: the client port + 1.
    const peerAddress = n.peerAddress === '' ? defaultPeerAddress(n.address) : n.peerAddress;
    return { id: n.id, address: n.address, peerAddress, zone: n.zone, status };
  });
  const transfers = m.transfers.map((t) => {
    const state: TransferState | undefined = transferStates.find((s) => s === t.state);
    if (state === undefined) throw invalid(`transfer of ${t.partition}: unknown state`);
    const since = exact(t.since, 'since');
    return { partition: t.partition, added: t.added, removed: t.removed, state, since };
  });
  const doc: RingDocument = {
    clusterId: m.clusterId,
    term: exact(m.term, 'term'),
    version: exact(m.version, 'version'),
    claimant: m.claimant,
    replicas: m.replicas,
    nodes,
    ring: ringOf(m.ring, { nodes }),
    next: m.next === undefined ? undefined : ringOf(m.next, { nodes }),
    transfers,
    transition: exact(m.transition, 'transition'),
    settledAt: exact(m.settledAt, 'settledAt'),
  };
  if (doc.ring.partitionCount !== m.partitionCount) throw invalid('owners do not match the count');
  const problem = checkRingDocument(doc);
  if (problem !== undefined) throw invalid(problem.message);
  return doc;
}

export function encodeDocument(d: RingDocument): string {
  return Buffer.from(DocumentMessageCodec.encode(documentToMessage(d)).finish()).toString('base64');
}

export function decodeDocument(text: string): RingDocument {
  let message: DocumentMessage;
  try {
    message = DocumentMessageCodec.decode(Buffer.from(text, 'base64'));
  } catch (e) {
    throw invalid(`does not decode (${e instanceof Error ? e.message : String(e)})`);
  }
  return documentFromMessage(message);
}

/**
 * The public Cluster.Ring: nodes in document order, owners the read ring (next once the transition
 * flipped to read-new), next_owners the ring being moved to.
 */
export function ringMessage(d: RingDocument, readRing: Ring): RingMessage {
  const index = new Map(d.nodes.map((n, i) => [n.id, i]));
  const ownersOf = (r: Ring): number[] => r.owners.map((o) => index.get(r.members[o]!.id)!);
  return {
    version: BigInt(d.version),
    partitionCount: d.ring.partitionCount,
    replicas: d.replicas,
    nodes: d.nodes.map((n) => ({ ...n })),
    owners: ownersOf(readRing),
    term: BigInt(d.term),
    clusterId: d.clusterId,
    claimant: d.claimant,
    nextOwners: d.next === undefined ? [] : ownersOf(d.next),
    transfers: d.transfers.map(transferMessage),
  };
}
