// The membership nemesis's side of the schedule: which change each membership window makes (join,
// leave, replace, dead replace), on which node, with which new ids, and whether a transfer party is
// killed, paused or cut off mid-transfer. Pure: the schedule simulates the member set window after
// window, so every change it draws is one the cluster can take, and a seed replays it exactly.
import type { Rng } from './prng.js';

export const membershipChangeKinds = ['join', 'leave', 'replace', 'dead-replace'] as const;
/** join: new ids; leave: a member hands over and exits; replace: a new node takes a member's place; dead-replace: the member is killed -9 first. */
export type MembershipChangeKind = (typeof membershipChangeKinds)[number];

export type MembershipChange =
  | { readonly type: 'join'; readonly ids: readonly string[] }
  | { readonly type: 'leave'; readonly id: string }
  | {
      readonly type: 'replace';
      readonly old: string;
      readonly id: string;
      /** The old node is killed -9 and seen down first (a dead node's replacement). */
      readonly dead: boolean;
    };

export const midTransferKinds = ['kill', 'pause', 'partition'] as const;
export type MidTransferKind = (typeof midTransferKinds)[number];

/** A fault on one party of a running transfer, once it streams: kill -9 (then restart), SIGSTOP (then SIGCONT), or cut off from every other node. */
export interface MidTransfer {
  readonly kind: MidTransferKind;
  /** The node receiving the partition, or the one it streams from. */
  readonly party: 'receiver' | 'source';
  /** How long the fault stays before it is undone. */
  readonly holdMs: number;
}

export interface MembershipFault {
  readonly kind: 'membership';
  readonly change: MembershipChange;
  readonly midTransfer?: MidTransfer | undefined;
  /**
   * Before the change, each member in turn is killed -9 for this long and restarted, so each
   * misses writes the others took (the catch-up self-test: a receiver streams from one of them).
   */
  readonly preludeMs?: number | undefined;
}

export interface MembershipScheduleOptions {
  /** N: a leave is drawn only while more than N members exist, so that N remain. */
  readonly replicas: number;
  /** Never leaves, is never replaced: it is the only node that writes ring versions. */
  readonly claimant: string;
  /** The changes to draw from (in this order, for the cycle order). */
  readonly changes: readonly MembershipChangeKind[];
  /** Nodes one join window adds, in one transition. */
  readonly joinSize: number;
  /** A join is drawn only while the members stay within this. */
  readonly membersMax: number;
  /** 0: none. See MembershipFault.preludeMs. */
  readonly preludeMs: number;
}

/** The member set as the schedule expects it, window after window. */
export interface MemberState {
  /** Valid members, in the order they came. */
  members: string[];
  /** The next new node is n<nextId>: ids are never reused. */
  nextId: number;
  /** Membership windows drawn so far (the cycle order's position). */
  drawn: number;
}

export function initialMembers(nodeIds: readonly string[]): MemberState {
  return { members: [...nodeIds], nextId: nodeIds.length + 1, drawn: 0 };
}

/** Shortest hold of a mid-transfer fault: a node paused or cut off for less goes unnoticed. */
const midTransferHoldMsMin = 1_000;
/** Longest hold: long enough to be seen down, short of the node's transfer-stall bound. */
const midTransferHoldMsMax = 5_000;

/** Whether the change can be made on the members now. */
export function feasible(
  kind: MembershipChangeKind,
  state: MemberState,
  options: MembershipScheduleOptions,
): boolean {
  const departable = state.members.filter((id) => id !== options.claimant);
  switch (kind) {
    case 'join':
      return state.members.length + options.joinSize <= options.membersMax;
    case 'leave':
      return state.members.length > options.replicas && departable.length > 0;
    case 'replace':
    case 'dead-replace':
      return departable.length > 0;
  }
}

/**
 * The next membership window's fault, and the members after it; undefined when no change of the
 * list is possible now (the window is left out). Cycle order: the changes in turn (the next
 * possible one), no mid-transfer fault; random order: a random possible change, and half the time
 * a random mid-transfer fault on a random party.
 */
export function drawMembership(
  state: MemberState,
  options: MembershipScheduleOptions,
  order: 'cycle' | 'random',
  faultMs: number,
  rng: Rng,
): MembershipFault | undefined {
  const possible = options.changes.filter((kind) => feasible(kind, state, options));
  if (possible.length === 0) return undefined;
  const kind =
    order === 'cycle'
      ? (rotate(options.changes, state.drawn).find((k) =>
          possible.includes(k),
        ) as MembershipChangeKind)
      : rng.pick(possible);
  state.drawn++;
  const change = changeOf(kind, state, options, rng);
  const midTransfer =
    order === 'random' && rng.next() < 0.5
      ? {
          kind: rng.pick(midTransferKinds),
          party: rng.pick(['receiver', 'source'] as const),
          holdMs: Math.min(
            midTransferHoldMsMax,
            Math.max(midTransferHoldMsMin, Math.round(faultMs / 3)),
          ),
        }
      : undefined;
  return {
    kind: 'membership',
    change,
    ...(midTransfer === undefined ? {} : { midTransfer }),
    ...(options.preludeMs > 0 ? { preludeMs: options.preludeMs } : {}),
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** Draws the node(s) of the change and applies it to the member set. */
function changeOf(
  kind: MembershipChangeKind,
  state: MemberState,
  options: MembershipScheduleOptions,
  rng: Rng,
): MembershipChange {
  const newId = (): string => `n${state.nextId++}`;
  if (kind === 'join') {
    const ids = Array.from({ length: options.joinSize }, newId);
    state.members.push(...ids);
    return { type: 'join', ids };
  }
  const target = rng.pick(state.members.filter((id) => id !== options.claimant));
  state.members = state.members.filter((id) => id !== target);
  if (kind === 'leave') return { type: 'leave', id: target };
  const id = newId();
  state.members.push(id);
  return { type: 'replace', old: target, id, dead: kind === 'dead-replace' };
}

/** "join n6", "leave n3", "replace n2 by n7", "dead replace n4 by n8 (kill -9 n4 first)", with its extras. */
export function describeMembership(fault: MembershipFault): string {
  const c = fault.change;
  const change =
    c.type === 'join'
      ? `join ${c.ids.join(' ')}`
      : c.type === 'leave'
        ? `leave ${c.id}`
        : c.dead
          ? `dead replace ${c.old} by ${c.id} (kill -9 ${c.old} first)`
          : `replace ${c.old} by ${c.id}`;
  const prelude =
    fault.preludeMs === undefined
      ? ''
      : `, after kill -9 of each member in turn for ${fault.preludeMs} ms`;
  const m = fault.midTransfer;
  const extra =
    m === undefined
      ? ''
      : m.kind === 'kill'
        ? `; kill -9 the ${m.party} mid-transfer, restart after ${m.holdMs} ms`
        : m.kind === 'pause'
          ? `; SIGSTOP the ${m.party} mid-transfer for ${m.holdMs} ms`
          : `; cut the ${m.party} off mid-transfer for ${m.holdMs} ms`;
  return `membership: ${change}${prelude}${extra}`;
}

/** The node that leaves the ring in this change (and must exit 0 by itself, unless dead). */
export function departing(change: MembershipChange): string | undefined {
  return change.type === 'join' ? undefined : change.type === 'leave' ? change.id : change.old;
}

/** The nodes this change starts. */
export function newNodes(change: MembershipChange): readonly string[] {
  return change.type === 'join' ? change.ids : change.type === 'replace' ? [change.id] : [];
}
