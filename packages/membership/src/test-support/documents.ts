import {
  defaultPeerAddress,
  initialDocument,
  type RingDocument,
  type RingNode,
  type TransferState,
} from '../ring-document.js';
import { commit, plan, stage, type ChangeCommand, type Plan, type Staged } from '../staging.js';

/** Node ids n1..n<count>, each at its own address 10.0.0.<i>:7000 (peer port 7001), no zone. */
export function newNodes(
  count: number,
): { id: string; address: string; peerAddress: string; zone: string }[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `n${i + 1}`,
    address: `10.0.0.${i + 1}:7000`,
    peerAddress: `10.0.0.${i + 1}:7001`,
    zone: '',
  }));
}

/** A fresh cluster 'c1' of n1..n<count>, claimant n1, Q=16, N=3: frozen, so a mutation throws. */
export function documentOf(count: number, partitionCount = 16): RingDocument {
  return deepFreeze(
    initialDocument({
      clusterId: 'c1',
      claimant: 'n1',
      partitionCount,
      replicas: 3,
      nodes: newNodes(count),
    }),
  );
}

/** `doc` with extra nodes that own nothing (left or removed ones keep their ids taken). */
export function withRetiredNodes(doc: RingDocument, retired: readonly RingNode[]): RingDocument {
  const nodes = [...doc.nodes, ...retired].sort((a, b) => (a.id < b.id ? -1 : 1));
  return deepFreeze({ ...doc, nodes });
}

/** Freezes plain data all the way down: code under test that mutates it throws (ES modules are strict). */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

export const allUp = (): boolean => true;

/** A failure detector that counts only `down` as down. */
export const downOnly =
  (...down: string[]) =>
  (id: string): boolean =>
    !down.includes(id);

/** A join of `id` at 10.0.1.<digits of id>:7000, its peer port the client port + 1, no zone. */
export const join = (
  id: string,
  address = `10.0.1.${id.slice(1)}:7000`,
  peerAddress = defaultPeerAddress(address),
): ChangeCommand => ({ kind: 'join', id, address, peerAddress, zone: '' });
export const leave = (id: string): ChangeCommand => ({ kind: 'leave', id });
export const remove = (id: string): ChangeCommand => ({ kind: 'remove', id });
export const replace = (
  old: string,
  id: string,
  dead: boolean,
  address = `10.0.1.${id.slice(1)}:7000`,
  peerAddress = defaultPeerAddress(address),
): ChangeCommand => ({ kind: 'replace', old, id, address, peerAddress, zone: '', dead });

/** Stages each command in turn, throwing on a refusal: the starting point of a case. */
export function stagedOf(
  doc: RingDocument,
  commands: readonly ChangeCommand[],
  isUp: (id: string) => boolean = allUp,
): Staged {
  let current: Staged | undefined;
  for (const command of commands) {
    const outcome = stage(doc, current, command, isUp);
    if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
    current = outcome.staged;
  }
  if (current === undefined) throw new Error('setup needs a command');
  return deepFreeze(current);
}

/** Plans and commits `s` on `doc`, throwing on a refusal; both results frozen. */
export function committedOf(doc: RingDocument, s: Staged): { plan: Plan; document: RingDocument } {
  const p = deepFreeze(plan(doc, s));
  const outcome = commit(doc, s, p);
  if (!outcome.ok) throw new Error(`setup refused: ${outcome.refusal.message}`);
  return { plan: p, document: deepFreeze(outcome.document) };
}

/** `doc` with the transfers of `partitions` (all when omitted) in `state`, frozen. */
export function withTransferStates(
  doc: RingDocument,
  state: TransferState,
  partitions?: readonly number[],
): RingDocument {
  const moved = (p: number): boolean => partitions === undefined || partitions.includes(p);
  const transfers = doc.transfers.map((t) => (moved(t.partition) ? { ...t, state } : t));
  return deepFreeze({ ...doc, transfers });
}
