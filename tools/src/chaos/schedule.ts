// The fault schedule: which fault starts when, on which nodes, and when it heals. Pure: computed in
// full from the seed before the run starts, so the seed printed by a run replays its schedule.
import {
  describeMembership,
  drawMembership,
  initialMembers,
  membershipChangeKinds,
  type MembershipFault,
  type MembershipScheduleOptions,
} from './membership-schedule.js';
import { createRng, type Rng } from './prng.js';

/** The faults of `--nemesis combined`: each heals, leaving the cluster's members as they were. */
export const faultKinds = ['partition', 'kill', 'pause', 'link'] as const;
export const nemesisKinds = [...faultKinds, 'membership'] as const;
/** partition: iptables drops between nodes; kill: kill -9 then restart; pause: SIGSTOP then SIGCONT; link: slow or lossy link; membership: join, leave, replace, dead replace. */
export type NemesisKind = (typeof nemesisKinds)[number];

export const partitionModes = ['isolate', 'majority', 'bridge', 'one-way'] as const;
export type PartitionMode = (typeof partitionModes)[number];

/** A directed edge whose packets are dropped: `from` cannot reach `to`. */
export interface Drop {
  readonly from: string;
  readonly to: string;
}

export type Fault =
  | {
      readonly kind: 'partition';
      readonly mode: PartitionMode;
      readonly drops: readonly Drop[];
      readonly groups: readonly (readonly string[])[];
    }
  | { readonly kind: 'kill'; readonly nodes: readonly string[] }
  | { readonly kind: 'pause'; readonly nodes: readonly string[] }
  | {
      readonly kind: 'link';
      readonly nodes: readonly string[];
      readonly delayMs: number;
      readonly jitterMs: number;
      readonly lossPercent: number;
    }
  | MembershipFault;

export interface FaultWindow {
  readonly index: number;
  /** Since the start of the workload. */
  readonly startMs: number;
  /** When the fault is healed. */
  readonly endMs: number;
  readonly fault: Fault;
}

export interface ScheduleOptions {
  readonly seed: number;
  /** Length of the workload; every fault heals at least quietMs before it ends (unless endOnFault). */
  readonly durationMs: number;
  readonly nodeIds: readonly string[];
  /** The nemeses to draw from. */
  readonly kinds: readonly NemesisKind[];
  /** 'cycle': kinds in the order given, fixed lengths; 'random': a random kind and random lengths (0.5x..1.5x). */
  readonly order: 'cycle' | 'random';
  readonly faultMs: number;
  readonly quietMs: number;
  /** The last fault may heal right at the end (the load then stops at that heal), instead of a quiet time before it. */
  readonly endOnFault?: boolean | undefined;
  /** For the membership nemesis; default: N=3, the first node claimant, every change, one node per join, up to 2 more nodes than at the start. */
  readonly membership?: MembershipScheduleOptions | undefined;
}

/** Most members the default membership options let the cluster grow to: the launcher's own bound on one machine. */
const membersMaxDefault = 16;

function membershipOptionsOf(options: ScheduleOptions): MembershipScheduleOptions {
  return (
    options.membership ?? {
      replicas: 3,
      claimant: options.nodeIds[0] as string,
      changes: membershipChangeKinds,
      joinSize: 1,
      membersMax: Math.min(membersMaxDefault, options.nodeIds.length + 2),
      preludeMs: 0,
    }
  );
}

/** Most windows a schedule holds: a 24-hour run with 1-second faults and gaps stays below it. */
export const windowsMax = 100_000;

/**
 * The windows of a run, in time order, never overlapping. Faults after a membership window draw
 * their nodes from the members as that window leaves them; a membership window whose changes are
 * all impossible at that point (a leave with N members left) is left out.
 */
export function generateSchedule(options: ScheduleOptions): FaultWindow[] {
  validate(options);
  const rng = createRng(options.seed);
  const membership = membershipOptionsOf(options);
  const members = initialMembers(options.nodeIds);
  const windows: FaultWindow[] = [];
  let atMs = lengthOf(options.quietMs, options, rng);
  for (let slot = 0; slot < windowsMax; slot++) {
    const faultMs = lengthOf(options.faultMs, options, rng);
    const quietMs = lengthOf(options.quietMs, options, rng);
    if (atMs + faultMs + (options.endOnFault === true ? 0 : options.quietMs) > options.durationMs)
      break;
    const kind =
      options.order === 'cycle'
        ? (options.kinds[slot % options.kinds.length] as NemesisKind)
        : rng.pick(options.kinds);
    const fault =
      kind === 'membership'
        ? drawMembership(members, membership, options.order, faultMs, rng)
        : faultOf(kind, slot, { ...options, nodeIds: members.members }, rng);
    if (fault !== undefined)
      windows.push({ index: windows.length, startMs: atMs, endMs: atMs + faultMs, fault });
    atMs += faultMs + quietMs;
  }
  return windows;
}

function validate(options: ScheduleOptions): void {
  if (options.kinds.length === 0) throw new RangeError('at least one nemesis is needed');
  if (options.nodeIds.length < 3)
    throw new RangeError(`faults need at least 3 nodes, got ${options.nodeIds.length}`);
  for (const [name, value] of [
    ['durationMs', options.durationMs],
    ['faultMs', options.faultMs],
    ['quietMs', options.quietMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 1)
      throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
}

function lengthOf(baseMs: number, options: ScheduleOptions, rng: Rng): number {
  return options.order === 'cycle'
    ? baseMs
    : rng.int(Math.ceil(baseMs / 2), Math.floor((baseMs * 3) / 2));
}

/** Most nodes one fault takes down or slows: 2 of the default 5, a minority. */
const faultNodesMax = 2;
/** Added delay of a slow link: from a congested LAN (50 ms) to a far region (300 ms). */
const linkDelayMsMin = 50;
const linkDelayMsMax = 300;
/** Jitter on top of it: enough to reorder packets, small against the client deadline (1 s). */
const linkJitterMsMax = 50;
/** Loss of a lossy link: enough to force retransmits (5%), not so much that nothing passes. */
const linkLossPercentMin = 5;
const linkLossPercentMax = 30;

function faultOf(
  kind: (typeof faultKinds)[number],
  index: number,
  options: ScheduleOptions,
  rng: Rng,
): Fault {
  const ids = options.nodeIds;
  // A minority at most: the majority keeps serving W=2 and R=2 through sloppy quorum.
  const minority = Math.max(1, Math.floor((ids.length - 1) / 2));
  const count = options.order === 'cycle' ? 1 : rng.int(1, Math.min(faultNodesMax, minority));
  switch (kind) {
    case 'partition': {
      const mode =
        options.order === 'cycle'
          ? (partitionModes[
              Math.floor(index / options.kinds.length) % partitionModes.length
            ] as PartitionMode)
          : rng.pick(partitionModes);
      return partitionOf(mode, ids, rng);
    }
    case 'kill':
      return { kind, nodes: rng.shuffle(ids).slice(0, count) };
    case 'pause':
      return { kind, nodes: rng.shuffle(ids).slice(0, count) };
    case 'link':
      return {
        kind,
        nodes: rng.shuffle(ids).slice(0, count),
        delayMs: rng.int(linkDelayMsMin, linkDelayMsMax),
        jitterMs: rng.int(0, linkJitterMsMax),
        lossPercent: rng.int(linkLossPercentMin, linkLossPercentMax),
      };
  }
}

/** The drops of one partition mode over the nodes, shuffled by the rng. */
export function partitionOf(mode: PartitionMode, ids: readonly string[], rng: Rng): Fault {
  const shuffled = rng.shuffle(ids);
  switch (mode) {
    case 'isolate': {
      const [alone, ...rest] = shuffled;
      return {
        kind: 'partition',
        mode,
        groups: [[alone as string], rest],
        drops: cut([alone as string], rest),
      };
    }
    case 'majority': {
      const small = shuffled.slice(0, Math.floor(ids.length / 2));
      const large = shuffled.slice(small.length);
      return { kind: 'partition', mode, groups: [small, large], drops: cut(small, large) };
    }
    case 'bridge': {
      // Jepsen's bridge: two halves that cannot talk, and one node that talks to both.
      const [bridge, ...rest] = shuffled;
      const left = rest.slice(0, Math.floor(rest.length / 2));
      const right = rest.slice(left.length);
      return {
        kind: 'partition',
        mode,
        groups: [left, [bridge as string], right],
        drops: cut(left, right),
      };
    }
    case 'one-way': {
      // The target hears nobody, everybody hears the target.
      const [target, ...rest] = shuffled;
      return {
        kind: 'partition',
        mode,
        groups: [[target as string], rest],
        drops: rest.map((from) => ({ from, to: target as string })),
      };
    }
  }
}

/** Both directions between every node of a and every node of b. */
function cut(a: readonly string[], b: readonly string[]): Drop[] {
  return a.flatMap((x) =>
    b.flatMap((y) => [
      { from: x, to: y },
      { from: y, to: x },
    ]),
  );
}

/** "partition majority [n1 n4] | [n2 n3 n5]", "kill -9 n2", ... */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'partition':
      return fault.mode === 'one-way'
        ? `partition one-way: ${fault.groups[0]?.join(' ') ?? '?'} hears nobody`
        : `partition ${fault.mode} ${fault.groups.map((g) => `[${g.join(' ')}]`).join(' | ')}`;
    case 'kill':
      return `kill -9 ${fault.nodes.join(' ')}, then restart`;
    case 'pause':
      return `SIGSTOP ${fault.nodes.join(' ')}, then SIGCONT`;
    case 'link':
      return `slow/lossy link ${fault.nodes.join(' ')}: +${fault.delayMs}±${fault.jitterMs} ms, ${fault.lossPercent}% loss`;
    case 'membership':
      return describeMembership(fault);
  }
}
