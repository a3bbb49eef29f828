import { primaryReplicas } from '@ringstore/ring';
import { assert } from './assert.js';
import type { ChangeRefusal } from './staging.js';
import type { NodeStatus, RingDocument, TransferState } from './ring-document.js';

/**
 * A running transition, partition by partition (MEMBERSHIP.md section 3). The claimant moves each
 * transfer along pending -> streaming -> catch-up -> read-new -> done, one new document version
 * per step, and completes the transition once every transfer is done. Where reads and writes go
 * follows from a partition's state alone, so every node computes it from the document it holds.
 */

/** Where one partition's requests go under a document. */
export interface PartitionReplicas {
  /** The N replicas reads go to, in preference order: the old set until read-new, then the new. */
  readonly read: readonly string[];
  /**
   * Replicas that take every write but serve no read, each counting toward W+p: the incoming ones
   * until read-new, then the outgoing ones until done (so a node still on the older document
   * reads a set that has every write), except a removed one, which is known dead.
   */
  readonly pending: readonly string[];
}

export function partitionReplicas(doc: RingDocument, partition: number): PartitionReplicas {
  const transfer = doc.transfers.find((t) => t.partition === partition);
  const next = doc.next;
  if (transfer === undefined || next === undefined)
    return { read: primaryReplicas(doc.ring, partition, doc.replicas), pending: [] };
  switch (transfer.state) {
    case 'pending':
    case 'streaming':
    case 'catch-up':
      return { read: primaryReplicas(doc.ring, partition, doc.replicas), pending: transfer.added };
    case 'read-new': {
      // A removed node is known dead: counting it would make every write need an ack it can
      // never give (W+1 of the N live ones). Readers still on the old set meet it as down and
      // read from fallbacks, as for any down replica.
      const outgoing = transfer.removed.filter((id) => statusOf(doc, id) !== 'removed');
      return { read: primaryReplicas(next, partition, doc.replicas), pending: outgoing };
    }
    case 'done':
      return { read: primaryReplicas(next, partition, doc.replicas), pending: [] };
  }
}

function statusOf(doc: RingDocument, nodeId: string): NodeStatus | undefined {
  return doc.nodes.find((n) => n.id === nodeId)?.status;
}

/** The one state each transfer state moves to. */
const following: Readonly<Record<TransferState, TransferState | undefined>> = {
  pending: 'streaming',
  streaming: 'catch-up',
  'catch-up': 'read-new',
  'read-new': 'done',
  done: undefined,
};

export type TransitionOutcome =
  | { readonly ok: true; readonly document: RingDocument }
  | { readonly ok: false; readonly refusal: ChangeRefusal };

function refused(message: string): TransitionOutcome {
  return { ok: false, refusal: { code: 'failed-precondition', message } };
}

/**
 * Moves the transfers of `partitions` from `from` to the next state, in one new version. Refused
 * as a whole (the document unchanged) if any of them has no transfer or is not in `from`: a late
 * or repeated report (a stale step) changes nothing.
 */
export function advanceTransfers(
  doc: RingDocument,
  partitions: readonly number[],
  from: TransferState,
): TransitionOutcome {
  const to = following[from];
  if (to === undefined) return refused(`a transfer in state ${from} has no next state`);
  if (partitions.length === 0) return refused('no partitions to advance');
  const wanted = new Set(partitions);
  for (const partition of wanted) {
    const transfer = doc.transfers.find((t) => t.partition === partition);
    if (transfer === undefined) return refused(`partition ${partition} has no transfer`);
    if (transfer.state !== from)
      return refused(`partition ${partition} is ${transfer.state}, not ${from}`);
  }
  const version = doc.version + 1;
  const transfers = doc.transfers.map((t) =>
    wanted.has(t.partition) ? { ...t, state: to, since: version } : t,
  );
  return { ok: true, document: { ...doc, version, transfers } };
}

/** Node statuses once a transition completes. */
const settled: Readonly<Record<NodeStatus, NodeStatus>> = {
  joining: 'valid',
  valid: 'valid',
  leaving: 'left',
  left: 'left',
  removed: 'removed',
};

/**
 * Ends the transition once every transfer is done: the next ring becomes the read ring, joiners
 * become valid and leavers left; the document is idle again (a new transition may be staged).
 */
export function completeTransition(doc: RingDocument): TransitionOutcome {
  if (doc.next === undefined) return refused('no transition is running');
  const open = doc.transfers.filter((t) => t.state !== 'done');
  if (open.length > 0)
    return refused(
      `${open.length} transfers are not done (first: partition ${open[0]!.partition})`,
    );
  const nodes = doc.nodes.map((n) => ({ ...n, status: settled[n.status] }));
  const document: RingDocument = {
    ...doc,
    version: doc.version + 1,
    nodes,
    ring: doc.next,
    next: undefined,
    transfers: [],
    transition: 0,
    // Completion changes no replica set (at done every partition already uses the next ring):
    // the fence stays where the last step put it, so requests made under done are not refused.
    settledAt: Math.max(doc.settledAt, ...doc.transfers.map((t) => t.since)),
  };
  assert(
    document.ring.members.every((m) => nodes.some((n) => n.id === m.id && n.status === 'valid')),
    'a member of the completed ring is not valid',
  );
  return { ok: true, document };
}
