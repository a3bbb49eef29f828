import { primaryReplicas } from '@ringstore/ring';
import type { PartitionTransfer, RingDocument, TransferState } from './ring-document.js';
import { advanceTransfers, completeTransition, type TransitionOutcome } from './transition.js';

/**
 * The claimant's scheduling of a running transition (MEMBERSHIP.md section 3): which step to
 * write next, decided from what it knows (reports, applied versions, liveness, the clock). Pure:
 * the claimant's tick calls it and, when it returns a step, writes and pushes the new version.
 *
 * Barrier instead of Riak's ring_ready: a step on a partition waits only for the partition's live
 * old and new replicas to have applied the version its transfer entered its state at. The flip to
 * read-new is global (every transfer at once, one version), so `Ring.owners` stays the one ring
 * every read uses, for nodes and clients alike; the same holds for done and completion.
 */
export interface ClaimantView {
  /** Per partition, the receivers that reported finishing the transfer's current state. */
  readonly reported: (partition: number) => ReadonlySet<string>;
  /** The ring version a node is known to have applied in the document's term (0: unknown). */
  readonly applied: (nodeId: string) => number;
  readonly isUp: (nodeId: string) => boolean;
  /** Transfers (streaming or catching up) a node takes part in at once, in and out together. */
  readonly concurrency: number;
  /** Whether `ms` have passed since this claimant wrote `version` (the clean-up wait). */
  readonly elapsedSince: (version: number, ms: number) => boolean;
  /** Whether `ms` have passed since every live node was first known to hold `version`. */
  readonly appliedEverywhereFor: (version: number, ms: number) => boolean;
  /** One request deadline: outgoing replicas keep taking writes this long after read-new. */
  readonly requestTimeoutMs: number;
}

/** Nodes whose view of the partition matters for its next step: old readers, added, removed. */
export function transferParties(doc: RingDocument, t: PartitionTransfer): string[] {
  const old = primaryReplicas(doc.ring, t.partition, doc.replicas);
  return [...new Set([...old, ...t.added, ...t.removed])];
}

/** Every live party of the transfer has applied the version it entered its state at. */
export function barrierHolds(doc: RingDocument, t: PartitionTransfer, view: ClaimantView): boolean {
  return transferParties(doc, t).every((id) => !view.isUp(id) || view.applied(id) >= t.since);
}

/**
 * The next document to write, or undefined when nothing may move yet. One step per call, in this
 * order: start transfers (within the concurrency), finish streaming per partition, the global
 * flip to read-new, the global done, completion.
 */
export function claimantStep(doc: RingDocument, view: ClaimantView): TransitionOutcome | undefined {
  if (doc.next === undefined) return undefined;
  const ts = doc.transfers;
  const all = (state: TransferState): boolean => ts.every((t) => t.state === state);
  const ready = (t: PartitionTransfer): boolean => barrierHolds(doc, t, view);
  if (all('done')) return ts.every(ready) ? completeTransition(doc) : undefined;
  if (all('read-new')) {
    const waited = view.elapsedSince(ts[0]!.since, view.requestTimeoutMs);
    return waited && ts.every(ready) ? advance(doc, ts, 'read-new') : undefined;
  }
  const caughtUp = (t: PartitionTransfer): boolean =>
    t.state === 'catch-up' && ready(t) && t.added.every((id) => view.reported(t.partition).has(id));
  if (ts.every(caughtUp)) return advance(doc, ts, 'catch-up');
  // Catch-up starts one request deadline after every live node held the commit's version (the
  // one that added the receivers): a write planned under the older ring (old replicas only) has
  // landed by then, and the catch-up copies it.
  const waited = view.appliedEverywhereFor(doc.transition, view.requestTimeoutMs);
  const streamed = ts.filter(
    (t) =>
      t.state === 'streaming' &&
      ready(t) &&
      waited &&
      t.added.every((id) => view.reported(t.partition).has(id)),
  );
  if (streamed.length > 0) return advance(doc, streamed, 'streaming');
  const starting = startable(doc, view);
  return starting.length > 0 ? advance(doc, starting, 'pending') : undefined;
}

function advance(
  doc: RingDocument,
  ts: readonly PartitionTransfer[],
  from: TransferState,
): TransitionOutcome {
  return advanceTransfers(
    doc,
    ts.map((t) => t.partition),
    from,
  );
}

/** Pending transfers to start now, in partition order, keeping every node within concurrency. */
function startable(doc: RingDocument, view: ClaimantView): PartitionTransfer[] {
  const busy = new Map<string, number>();
  const parties = (t: PartitionTransfer): string[] => [...t.added, ...t.removed];
  // A caught-up transfer only waits for the global flip: it no longer holds a slot, or the flip
  // would wait for transfers that cannot start.
  const working = (t: PartitionTransfer): boolean =>
    t.state === 'streaming' ||
    (t.state === 'catch-up' && !t.added.every((id) => view.reported(t.partition).has(id)));
  for (const t of doc.transfers)
    if (working(t)) for (const id of parties(t)) busy.set(id, (busy.get(id) ?? 0) + 1);
  const chosen: PartitionTransfer[] = [];
  for (const t of doc.transfers) {
    if (t.state !== 'pending' || !barrierHolds(doc, t, view)) continue;
    // A removed (dead) node sends nothing: only the live parties count against the limit.
    const counted = parties(t).filter((id) => view.isUp(id));
    if (counted.some((id) => (busy.get(id) ?? 0) >= view.concurrency)) continue;
    for (const id of counted) busy.set(id, (busy.get(id) ?? 0) + 1);
    chosen.push(t);
  }
  return chosen;
}
