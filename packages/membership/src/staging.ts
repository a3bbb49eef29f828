import {
  claim,
  movementStats,
  replicaChanges,
  type Member,
  type MovementStats,
  type ReplicaChange,
  type Ring,
} from '@ringstore/ring';
import { addressLengthMax, idLengthMax, zoneLengthMax } from './gossip-check.js';
import {
  compareVersions,
  sortNodes,
  type NodeStatus,
  type RingDocument,
  type RingNode,
  type RingVersion,
} from './ring-document.js';

/**
 * Staged membership changes (MEMBERSHIP.md section 1, after Riak's claimant): each command only
 * stages; `plan` shows the transition they make together; `commit` applies it only if neither
 * the ring nor the plan changed since that plan. All pure: the claimant keeps the staged changes
 * and its last plan, and asks its failure detector for `isUp`.
 */
export type ChangeCommand =
  | {
      readonly kind: 'join';
      readonly id: string;
      readonly address: string;
      readonly peerAddress: string;
      readonly zone: string;
    }
  | { readonly kind: 'leave'; readonly id: string }
  /** A dead node: its partitions are rebuilt from the live old replicas. */
  | { readonly kind: 'remove'; readonly id: string }
  /** `id` takes exactly `old`'s partitions; `dead`: `old` is gone, stream from the others. */
  | {
      readonly kind: 'replace';
      readonly old: string;
      readonly id: string;
      readonly address: string;
      readonly peerAddress: string;
      readonly zone: string;
      readonly dead: boolean;
    };

export interface Staged {
  /** The ring version the changes were staged on: a newer ring invalidates them. */
  readonly basedOn: RingVersion;
  readonly changes: readonly ChangeCommand[];
}

/** Why a command or a commit is refused: a gRPC-ready code and a message naming the problem. */
export interface ChangeRefusal {
  readonly code: 'invalid-argument' | 'failed-precondition';
  readonly message: string;
}

export type StageOutcome =
  | { readonly ok: true; readonly staged: Staged }
  | { readonly ok: false; readonly refusal: ChangeRefusal };

/** Changes staged in one transition at most: far above any real operation, bounds the plan. */
export const stagedChangesMax = 64;

/** Stages one more change onto `staged` (undefined: nothing staged yet). The ring stays as it is. */
export function stage(
  doc: RingDocument,
  staged: Staged | undefined,
  command: ChangeCommand,
  isUp: (nodeId: string) => boolean,
): StageOutcome {
  const current = staged ?? { basedOn: { term: doc.term, version: doc.version }, changes: [] };
  const refusal =
    checkTransitionFree(doc, current) ??
    checkCommandShape(command) ??
    checkCommand(doc, current.changes, command, isUp);
  if (refusal !== undefined) return { ok: false, refusal };
  return { ok: true, staged: { ...current, changes: [...current.changes, command] } };
}

function refuse(code: ChangeRefusal['code'], message: string): ChangeRefusal {
  return { code, message };
}

function checkTransitionFree(doc: RingDocument, staged: Staged): ChangeRefusal | undefined {
  if (doc.next !== undefined)
    return refuse(
      'failed-precondition',
      `a transition is running (${doc.transfers.length} partitions moving): wait until it is done`,
    );
  if (compareVersions(staged.basedOn, doc) !== 0)
    return refuse(
      'failed-precondition',
      `the ring changed since these changes were staged (version ${staged.basedOn.version} -> ${doc.version}): clear and stage again`,
    );
  if (staged.changes.length >= stagedChangesMax)
    return refuse('failed-precondition', `at most ${stagedChangesMax} changes per transition`);
  return undefined;
}

function checkCommandShape(c: ChangeCommand): ChangeRefusal | undefined {
  const ids = c.kind === 'replace' ? [c.old, c.id] : [c.id];
  for (const id of ids) {
    if (id.length < 1 || id.length > idLengthMax || !/^[A-Za-z0-9._-]+$/.test(id))
      return refuse(
        'invalid-argument',
        `node id ${JSON.stringify(id.slice(0, 40))} is not 1..${idLengthMax} of [A-Za-z0-9._-]`,
      );
  }
  if (c.kind === 'join' || c.kind === 'replace') {
    for (const address of [c.address, c.peerAddress])
      if (!isHostPort(address))
        return refuse(
          'invalid-argument',
          `address ${JSON.stringify(address.slice(0, 60))} is not HOST:PORT`,
        );
    if (c.address === c.peerAddress)
      return refuse('invalid-argument', `client and peer address are both ${c.address}`);
    if (c.zone.length > zoneLengthMax)
      return refuse('invalid-argument', `zone is longer than ${zoneLengthMax}`);
  }
  return undefined;
}

function isHostPort(address: string): boolean {
  const i = address.lastIndexOf(':');
  if (address.length > addressLengthMax || i < 1) return false;
  const port = address.slice(i + 1);
  return /^\d{1,5}$/.test(port) && Number(port) <= 65_535;
}

function newNode(c: {
  readonly id: string;
  readonly address: string;
  readonly peerAddress: string;
  readonly zone: string;
}) {
  return { id: c.id, address: c.address, peerAddress: c.peerAddress, zone: c.zone };
}

/** The nodes as the staged changes leave them (before this command). */
function afterChanges(doc: RingDocument, changes: readonly ChangeCommand[]): RingNode[] {
  const nodes = new Map(doc.nodes.map((n) => [n.id, n]));
  const set = (id: string, status: NodeStatus): void => {
    const n = nodes.get(id);
    if (n !== undefined) nodes.set(id, { ...n, status });
  };
  for (const c of changes) {
    if (c.kind === 'join') nodes.set(c.id, { ...newNode(c), status: 'joining' });
    if (c.kind === 'leave') set(c.id, 'leaving');
    if (c.kind === 'remove') set(c.id, 'removed');
    if (c.kind === 'replace') {
      set(c.old, c.dead ? 'removed' : 'leaving');
      nodes.set(c.id, { ...newNode(c), status: 'joining' });
    }
  }
  return sortNodes([...nodes.values()]);
}

/** Nodes that own partitions once the transition is done. */
function ownersAfter(nodes: readonly RingNode[]): RingNode[] {
  return nodes.filter((n) => n.status === 'valid' || n.status === 'joining');
}

function checkCommand(
  doc: RingDocument,
  changes: readonly ChangeCommand[],
  c: ChangeCommand,
  isUp: (nodeId: string) => boolean,
): ChangeRefusal | undefined {
  const nodes = afterChanges(doc, changes);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const staged = new Set(changes.flatMap((x) => (x.kind === 'replace' ? [x.old, x.id] : [x.id])));
  for (const id of c.kind === 'replace' ? [c.old, c.id] : [c.id])
    if (staged.has(id)) return refuse('failed-precondition', `${id} already has a staged change`);
  switch (c.kind) {
    case 'join':
      return checkNewNode(byId, nodes, c);
    case 'leave':
    case 'remove':
      return checkDeparture(doc, nodes, byId, c.kind, c.id, isUp);
    case 'replace':
      return checkReplace(doc, byId, nodes, c, isUp);
  }
}

function checkNewNode(
  byId: ReadonlyMap<string, RingNode>,
  nodes: readonly RingNode[],
  c: { readonly id: string; readonly address: string; readonly peerAddress: string },
): ChangeRefusal | undefined {
  const id = c.id;
  const existing = byId.get(id);
  if (existing !== undefined)
    return refuse(
      'failed-precondition',
      `node ${id} exists already (${existing.status}): pick a new id`,
    );
  for (const address of [c.address, c.peerAddress]) {
    const holder = nodes.find(
      (n) =>
        (n.address === address || n.peerAddress === address) &&
        n.status !== 'left' &&
        n.status !== 'removed',
    );
    if (holder !== undefined)
      return refuse(
        'invalid-argument',
        `address ${address} is already in the ring (node ${holder.id})`,
      );
  }
  return undefined;
}

function checkDeparture(
  doc: RingDocument,
  nodes: readonly RingNode[],
  byId: ReadonlyMap<string, RingNode>,
  kind: 'leave' | 'remove',
  id: string,
  isUp: (nodeId: string) => boolean,
): ChangeRefusal | undefined {
  const node = byId.get(id);
  if (node === undefined) return refuse('invalid-argument', `unknown node ${id}`);
  if (node.status !== 'valid')
    return refuse('failed-precondition', `node ${id} is ${node.status}, not valid`);
  if (kind === 'remove' && isUp(id))
    return refuse('failed-precondition', `node ${id} is up: use leave, or stop it first`);
  if (id === doc.claimant) return claimantRefusal(id);
  const left = ownersAfter(nodes).length - 1;
  if (left < doc.replicas)
    return refuse(
      'failed-precondition',
      `without ${id} the ring would have ${left} nodes, fewer than N=${doc.replicas}`,
    );
  return undefined;
}

/**
 * The claimant writes every new version, so no staged change may take it away: it hands the role
 * over first, or an operator forces a take-over (term + 1) once it is gone; neither is built yet.
 */
function claimantRefusal(id: string): ChangeRefusal {
  return refuse(
    'failed-precondition',
    `node ${id} is the claimant: hand the claimant role to another node first`,
  );
}

function checkReplace(
  doc: RingDocument,
  byId: ReadonlyMap<string, RingNode>,
  nodes: readonly RingNode[],
  c: Extract<ChangeCommand, { kind: 'replace' }>,
  isUp: (nodeId: string) => boolean,
): ChangeRefusal | undefined {
  const old = byId.get(c.old);
  if (old === undefined) return refuse('invalid-argument', `unknown node ${c.old}`);
  if (c.old === doc.claimant) return claimantRefusal(c.old);
  if (old.status !== 'valid')
    return refuse('failed-precondition', `node ${c.old} is ${old.status}, not valid`);
  if (c.dead && isUp(c.old))
    return refuse('failed-precondition', `node ${c.old} is up: replace it without --dead`);
  if (!c.dead && !isUp(c.old))
    return refuse('failed-precondition', `node ${c.old} is down: it cannot hand over; use --dead`);
  return checkNewNode(byId, nodes, c);
}

/** The transition the staged changes make, as `ringctl cluster plan` shows it. */
export interface Plan {
  readonly basedOn: RingVersion;
  readonly changes: readonly ChangeCommand[];
  /** The ring once every transfer is done. */
  readonly next: Ring;
  /** Per partition whose replica set changes: who receives it, who hands it over. */
  readonly partitions: readonly ReplicaChange[];
  /** Replica-partitions moving in total and per node (receives: added, hands over: removed). */
  readonly movement: MovementStats;
  readonly warnings: readonly string[];
}

export function plan(doc: RingDocument, staged: Staged): Plan {
  const nodes = afterChanges(doc, staged.changes);
  const next = nextRing(doc, nodes, staged.changes);
  const partitions = replicaChanges(doc.ring, next, doc.replicas);
  const movement = movementStats(partitions);
  const warnings = planWarnings(doc, nodes, next);
  return { basedOn: staged.basedOn, changes: staged.changes, next, partitions, movement, warnings };
}

/**
 * The ring after the changes: a replacement takes exactly its old node's partitions (only that
 * share moves); joins and departures are claimed from the current ring, so as little as possible
 * moves.
 */
function nextRing(
  doc: RingDocument,
  nodes: readonly RingNode[],
  changes: readonly ChangeCommand[],
): Ring {
  let ring = doc.ring;
  for (const c of changes)
    if (c.kind === 'replace') ring = relabel(ring, c.old, { id: c.id, zone: c.zone });
  if (changes.every((c) => c.kind === 'replace')) return ring;
  const members: Member[] = ownersAfter(nodes).map((n) => ({ id: n.id, zone: n.zone }));
  return claim(members, {
    partitionCount: ring.partitionCount,
    replicas: doc.replicas,
    previous: ring,
  });
}

/** The same ring with `oldId`'s partitions owned by `member` (members kept sorted by id). */
export function relabel(ring: Ring, oldId: string, member: Member): Ring {
  const oldIndex = ring.members.findIndex((m) => m.id === oldId);
  const ids = ring.members.map((m, i) => (i === oldIndex ? member : m));
  const sorted = [...ids].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const newIndex = ids.map((m) => sorted.indexOf(m));
  return { ...ring, members: sorted, owners: ring.owners.map((o) => newIndex[o]!) };
}

function planWarnings(doc: RingDocument, nodes: readonly RingNode[], next: Ring): string[] {
  const warnings: string[] = [];
  const owners = ownersAfter(nodes);
  if (owners.length < doc.replicas)
    warnings.push(`fewer than N=${doc.replicas} nodes: some partitions will have fewer replicas`);
  const zones = new Set(owners.map((n) => n.zone));
  if (zones.size > 1 && zones.size < doc.replicas)
    warnings.push(`zones not distinct: ${zones.size} zones for N=${doc.replicas} replicas`);
  if (next.members.length !== owners.length)
    warnings.push('the next ring does not name every owner');
  return warnings;
}

export type CommitOutcome =
  | { readonly ok: true; readonly document: RingDocument }
  | { readonly ok: false; readonly refusal: ChangeRefusal };

/**
 * Applies the last plan: refused without one, or when the ring or the staged changes moved on
 * since it was made (Riak's plan_changed). The new document is version + 1, with the new nodes
 * joining, the departing ones leaving (or removed), and every changed partition pending.
 */
export function commit(
  doc: RingDocument,
  staged: Staged | undefined,
  last: Plan | undefined,
): CommitOutcome {
  if (staged === undefined || staged.changes.length === 0)
    return { ok: false, refusal: refuse('failed-precondition', 'nothing is staged') };
  if (last === undefined)
    return { ok: false, refusal: refuse('failed-precondition', 'no plan: run cluster plan first') };
  const moved =
    compareVersions(last.basedOn, doc) !== 0 ||
    compareVersions(staged.basedOn, doc) !== 0 ||
    !sameChanges(last.changes, staged.changes);
  if (moved)
    return {
      ok: false,
      refusal: refuse(
        'failed-precondition',
        'the ring or the staged changes changed since the last plan: run cluster plan again',
      ),
    };
  const nodes = afterChanges(doc, staged.changes);
  const transfers = last.partitions.map((p) => ({
    partition: p.partition,
    added: p.added,
    removed: p.removed,
    state: 'pending' as const,
    since: doc.version + 1,
  }));
  const document: RingDocument = {
    ...doc,
    version: doc.version + 1,
    nodes,
    next: last.next,
    transfers,
    transition: doc.version + 1,
  };
  return { ok: true, document };
}

/** The same staged commands (the claimant keeps them; a plan holds the array it was made of). */
function sameChanges(a: readonly ChangeCommand[], b: readonly ChangeCommand[]): boolean {
  return a.length === b.length && a.every((c, i) => c === b[i]);
}
