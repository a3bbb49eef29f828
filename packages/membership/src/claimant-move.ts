import type { RingDocument } from './ring-document.js';
import type { TransitionOutcome } from './transition.js';

function refused(code: 'invalid-argument' | 'failed-precondition', message: string) {
  return { ok: false as const, refusal: { code, message } };
}

/**
 * Hands the claimant role to another node (MEMBERSHIP.md section 2): the claimant writes
 * version + 1 naming `to`, only while no transition runs (so the schedule never changes hands
 * mid-step) and only to a valid member that is up. Afterwards the old claimant can leave.
 */
export function handOverClaimant(
  doc: RingDocument,
  to: string,
  isUp: (nodeId: string) => boolean,
): TransitionOutcome {
  const problem = checkTarget(doc, to, isUp);
  if (problem !== undefined) return problem;
  if (doc.next !== undefined)
    return refused('failed-precondition', 'a transition is running: hand over once it is done');
  return { ok: true, document: { ...doc, version: doc.version + 1, claimant: to } };
}

/**
 * An operator's forced take-over (never automatic: suspicion is not death): `to` makes itself
 * claimant in a new term, which orders after every version of the old one, so the old
 * claimant's later writes (if it was not dead after all) lose to it everywhere. Refused while
 * `to` still sees the old claimant up. A running transition goes on under the new claimant.
 */
export function takeOverClaimant(
  doc: RingDocument,
  to: string,
  isUp: (nodeId: string) => boolean,
): TransitionOutcome {
  const problem = checkTarget(doc, to, isUp);
  if (problem !== undefined) return problem;
  if (isUp(doc.claimant))
    return refused(
      'failed-precondition',
      `claimant ${doc.claimant} is up: hand the role over from it instead of forcing`,
    );
  return {
    ok: true,
    document: { ...doc, term: doc.term + 1, version: doc.version + 1, claimant: to },
  };
}

function checkTarget(
  doc: RingDocument,
  to: string,
  isUp: (nodeId: string) => boolean,
): TransitionOutcome | undefined {
  const node = doc.nodes.find((n) => n.id === to);
  if (node === undefined) return refused('invalid-argument', `unknown node ${to}`);
  if (to === doc.claimant) return refused('failed-precondition', `${to} is the claimant already`);
  if (node.status !== 'valid')
    return refused('failed-precondition', `node ${to} is ${node.status}, not valid`);
  if (!isUp(to)) return refused('failed-precondition', `node ${to} is down`);
  return undefined;
}

/**
 * Cancels the running transition before its flip (invariant 6: a transfer that cannot finish,
 * e.g. a joining node that died, is never left pending for good): the ring stays what reads use,
 * the old replicas have every write (they took all of them), and the pending receivers drop what
 * they got. Joining nodes and replacements become removed (their ids are spent), leaving nodes
 * valid again. Refused after the flip (reads already use the new replicas), and for transitions
 * that remove a node (a remove or a dead replace): those go back to a ring owning a dead node;
 * bring the receiver back instead, or wait for the transfers to finish.
 */
export function cancelTransition(doc: RingDocument): TransitionOutcome {
  if (doc.next === undefined) return refused('failed-precondition', 'no transition is running');
  const flipped = doc.transfers.some((t) => t.state === 'read-new' || t.state === 'done');
  if (flipped)
    return refused(
      'failed-precondition',
      'the transition has flipped reads to the new replicas: it can only finish now',
    );
  if (doc.nodes.some((n) => n.status === 'removed' && doc.ring.members.some((m) => m.id === n.id)))
    return refused(
      'failed-precondition',
      'the transition removes a node that still owns partitions: it cannot be cancelled',
    );
  const version = doc.version + 1;
  const nodes = doc.nodes.map((n) =>
    n.status === 'joining'
      ? { ...n, status: 'removed' as const }
      : n.status === 'leaving'
        ? { ...n, status: 'valid' as const }
        : n,
  );
  return {
    ok: true,
    document: {
      ...doc,
      version,
      nodes,
      next: undefined,
      transfers: [],
      transition: 0,
      settledAt: version,
    },
  };
}
