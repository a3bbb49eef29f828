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
