import { assert } from './assert.js';
import { receivers } from './claim-fill.js';
import { unowned, type ClaimState } from './claim-state.js';
import { primaryReplicas } from './preference-list.js';
import type { Ring } from './ring.js';

/**
 * How much a step towards even replica load weighs against one replica partition moved (the load
 * term is in units of a member's even share). Measured over histories of joins of 2..24 members in
 * 2, 3 and 4 zones, Q 64, 256 and 1024: at 8 the replica loads within a zone stay as even as the
 * spread fill keeps them (largest over smallest in a zone about 1.2..1.4 at Q >= 256) while a join
 * adds a sixth less; at 2 they drift apart to about 2, because slots where a joiner gains little
 * always look cheapest, and at 12 or more joins move more without the loads getting more even.
 */
const balanceWeight = 8;

/**
 * Replica movement and load of a claim in progress, measured with the preference-list walk (the
 * same rule as `walk` in preference-list.ts, on member indexes): with zones, a slot's owner decides
 * the replicas of every partition whose walk reaches it, more than N when zones repeat. Keeps each
 * partition's primaries and walk length, and each member's replica load and even share of it.
 * Every partition must have an owner (orphans assigned) before this is built.
 */
export class ReplicaCost {
  private readonly state: ClaimState;
  /** Primaries per partition in `previous`, `current` and `after`: N, padded with `unowned`. */
  private readonly stride: number;
  /** Distinct zones and members among the owners once claim is done: where walks stop. */
  private readonly owningZones: number;
  private readonly owningMembers: number;
  private readonly previous: Int32Array;
  private readonly current: Int32Array;
  /** Offset from each partition of the last slot its walk needed. */
  private readonly ends: Int32Array;
  private readonly loads: Float64Array;
  private readonly fair: Float64Array;
  private readonly fairMean: number;
  /** The last `rewalk`: how many partitions (slot, slot-1, ...) it walked again, and their walks. */
  private touched = 0;
  private readonly after: Int32Array;
  private readonly afterEnds: Int32Array;
  /** The last `rewalk`'s load change per member, and the members it changed. */
  private readonly gains: Int32Array;
  private readonly gaining: Uint8Array;
  private readonly gainers: number[] = [];
  /** What `delta` found per slot, until `apply` changes what it read. */
  private readonly cached: (Evaluation | undefined)[];
  /** Slots visited by walks so far: the caller's bound on this stage's time. */
  work = 0;

  constructor(state: ClaimState, previous: Int32Array) {
    const q = state.partitionCount;
    this.state = state;
    this.stride = state.replicas;
    assert(previous.length === q * this.stride, 'ReplicaCost: N previous primaries per partition');
    this.previous = previous;
    const zones = new Set<number>();
    let owning = 0;
    for (let member = 0; member < state.memberCount; member++) {
      if (!ReplicaCost.owns(state, member)) continue;
      zones.add(state.zoneOf[member] ?? 0);
      owning++;
    }
    this.owningZones = zones.size;
    this.owningMembers = owning;
    this.current = new Int32Array(q * this.stride);
    this.after = new Int32Array(q * this.stride);
    this.ends = new Int32Array(q);
    this.afterEnds = new Int32Array(q);
    this.loads = new Float64Array(state.memberCount);
    this.fair = new Float64Array(state.memberCount);
    this.gains = new Int32Array(state.memberCount);
    this.gaining = new Uint8Array(state.memberCount);
    this.cached = new Array<Evaluation | undefined>(q).fill(undefined);
    this.fairMean = (Math.min(this.stride, owning) * q) / Math.max(1, owning);
    for (let p = 0; p < q; p++) {
      assert(state.owner(p) !== unowned, `ReplicaCost: partition ${p} has no owner`);
      this.ends[p] = this.walkInto(p, this.current, p * this.stride);
      for (let i = 0; i < this.stride; i++) this.addLoad(this.current[p * this.stride + i], 1);
    }
    this.updateFair();
  }

  /** Members that own partitions, or will once claim is done (targets set, or a finished ring). */
  private static owns(state: ClaimState, member: number): boolean {
    return state.target(member) > 0 || state.count(member) > 0;
  }

  /** Replica partitions added against the ring before: what the change streams. */
  added(): number {
    let added = 0;
    for (let p = 0; p < this.state.partitionCount; p++) {
      for (let i = 0; i < this.stride; i++) {
        const member = this.current[p * this.stride + i] ?? unowned;
        if (member !== unowned && !this.wasPrimary(p, member)) added++;
      }
    }
    return added;
  }

  /**
   * What giving `slot` to `member` would cost: replica partitions added against the ring before
   * (negative when it restores some), plus the weighted change in uneven load. Lower is better.
   * The walks are redone only when `apply` changed a slot or a walk they read since the last time.
   */
  delta(slot: number, member: number): number {
    let evaluation = this.cached[slot];
    if (evaluation === undefined || evaluation.member !== member) {
      const before = this.state.owner(slot);
      assert(before !== unowned, `ReplicaCost: partition ${slot} has no owner`);
      this.state.assign(slot, member);
      evaluation = this.rewalk(slot, member);
      this.state.assign(slot, before);
      this.cached[slot] = evaluation;
    }
    let unevenness = 0;
    const { gainers, gains } = evaluation;
    for (let i = 0; i < gainers.length; i++) {
      const gainer = gainers[i] ?? 0;
      const gain = gains[i] ?? 0;
      const off = (this.loads[gainer] ?? 0) - (this.fair[gainer] ?? 0);
      unevenness += 2 * gain * off + gain * gain;
    }
    return evaluation.moved + (balanceWeight * unevenness) / (2 * this.fairMean);
  }

  /** Gives `slot` to `member` and keeps the walks and loads up to date. */
  apply(slot: number, member: number): void {
    this.state.assign(slot, member);
    const { gainers, gains } = this.rewalk(slot, member);
    const { stride, touched } = this;
    for (let t = 0; t < touched; t++) {
      const p = this.state.at(slot, -t);
      this.current.set(this.after.subarray(t * stride, (t + 1) * stride), p * stride);
      this.ends[p] = this.afterEnds[t] ?? 0;
    }
    gainers.forEach((gainer, i) => this.addLoad(gainer, gains[i] ?? 0));
    this.updateFair();
    // The slot and the walks redone are partitions slot-touched+1..slot.
    const from = this.state.at(slot, 1 - touched);
    const q = this.state.partitionCount;
    for (let t = 0; t < q; t++) {
      const evaluation = this.cached[t];
      if (evaluation !== undefined && overlaps(q, evaluation, from, touched))
        this.cached[t] = undefined;
    }
  }

  /**
   * Walks again, with the slot's new owner, every partition whose walk reached the slot before or
   * reaches it now: slot, slot-1, ... until one reaches it neither way (a walk that starts earlier
   * cannot end further round, so none before that one can). The new walks are left in `after`.
   */
  private rewalk(slot: number, member: number): Evaluation {
    const q = this.state.partitionCount;
    const { stride } = this;
    for (const gainer of this.gainers) {
      this.gains[gainer] = 0;
      this.gaining[gainer] = 0;
    }
    this.gainers.length = 0;
    let moved = 0;
    let ahead = 0;
    this.touched = 0;
    for (let d = 0; d < q; d++) {
      const p = this.state.at(slot, -d);
      const end = this.walkInto(p, this.after, d * stride);
      if (end < d && (this.ends[p] ?? 0) < d) break;
      this.afterEnds[d] = end;
      this.touched = d + 1;
      ahead = Math.max(ahead, end - d, (this.ends[p] ?? 0) - d);
      for (let i = 0; i < stride; i++) {
        moved += this.gain(p, this.after[d * stride + i] ?? unowned, 1);
        moved -= this.gain(p, this.current[p * stride + i] ?? unowned, -1);
      }
    }
    const gainers = Int32Array.from(this.gainers);
    const gains = new Int32Array(gainers.length);
    for (let i = 0; i < gainers.length; i++) gains[i] = this.gains[gainers[i] ?? 0] ?? 0;
    return {
      member,
      moved,
      gainers,
      gains,
      // What it read: from the partition that stopped it to the furthest slot a walk needed.
      from: this.state.at(slot, -this.touched),
      length: Math.min(q, this.touched + 1 + ahead),
    };
  }

  /** Counts `sign` load for a primary of p; returns 1 if it was not a primary of p before. */
  private gain(p: number, member: number, sign: number): number {
    if (member === unowned) return 0;
    if (this.gaining[member] === 0) {
      this.gaining[member] = 1;
      this.gainers.push(member);
    }
    this.gains[member] = (this.gains[member] ?? 0) + sign;
    return this.wasPrimary(p, member) ? 0 : 1;
  }

  private wasPrimary(p: number, member: number): boolean {
    const from = p * this.stride;
    for (let i = 0; i < this.stride; i++) if (this.previous[from + i] === member) return true;
    return false;
  }

  private addLoad(member: number | undefined, amount: number): void {
    if (member === undefined || member === unowned) return;
    this.loads[member] = (this.loads[member] ?? 0) + amount;
  }

  /** Even share: a zone's replica load over its members that own partitions. */
  private updateFair(): void {
    const { state } = this;
    const totals = new Float64Array(state.zoneCount);
    const counts = new Int32Array(state.zoneCount);
    for (let member = 0; member < state.memberCount; member++) {
      if (!ReplicaCost.owns(state, member)) continue;
      const zone = state.zoneOf[member] ?? 0;
      totals[zone] = (totals[zone] ?? 0) + (this.loads[member] ?? 0);
      counts[zone] = (counts[zone] ?? 0) + 1;
    }
    for (let member = 0; member < state.memberCount; member++) {
      const zone = state.zoneOf[member] ?? 0;
      const owning = ReplicaCost.owns(state, member) && (counts[zone] ?? 0) > 0;
      this.fair[member] = owning ? (totals[zone] ?? 0) / (counts[zone] ?? 1) : 0;
    }
  }

  /**
   * The walk of preference-list.ts over the claim's owners: owners in zones not yet taken, then
   * (when there are fewer zones than N) owners not yet taken. Writes the primaries at `offset` and
   * returns the offset of the last slot it needed.
   */
  private walkInto(partition: number, into: Int32Array, offset: number): number {
    const { stride } = this;
    const { owners, partitionCount: q } = this.state;
    const firstPass = Math.min(stride, this.owningZones);
    let taken = 0;
    let end = 0;
    let i = 0;
    for (; i < q && taken < firstPass; i++) {
      const member = owners[(partition + i) % q] ?? unowned;
      if (member === unowned || this.zoneTaken(into, offset, taken, member)) continue;
      into[offset + taken++] = member;
      end = i;
    }
    this.work += i;
    const wanted = Math.min(stride, this.owningMembers);
    for (i = 0; i < q && taken < wanted; i++) {
      const member = owners[(partition + i) % q] ?? unowned;
      if (member === unowned || isTaken(into, offset, taken, member)) continue;
      into[offset + taken++] = member;
      end = Math.max(end, i);
    }
    this.work += i;
    into.fill(unowned, offset + taken, offset + stride);
    return end;
  }

  private zoneTaken(into: Int32Array, offset: number, taken: number, member: number): boolean {
    const { zoneOf } = this.state;
    const zone = zoneOf[member];
    for (let i = 0; i < taken; i++) if (zoneOf[into[offset + i] ?? 0] === zone) return true;
    return false;
  }
}

/** What one `delta` found, and the partitions (from, from+1, ... cyclically) it read. */
interface Evaluation {
  readonly member: number;
  readonly moved: number;
  readonly gainers: Int32Array;
  readonly gains: Int32Array;
  readonly from: number;
  readonly length: number;
}

/** Whether the partitions an evaluation read and `length` partitions from `from` share one. */
function overlaps(q: number, read: Evaluation, from: number, length: number): boolean {
  return (from - read.from + q) % q < read.length || (read.from - from + q) % q < length;
}

/** Whether `member` is among the `taken` primaries at `offset`. */
function isTaken(into: Int32Array, offset: number, taken: number, member: number): boolean {
  for (let i = 0; i < taken; i++) if (into[offset + i] === member) return true;
  return false;
}

/** The previous ring's N primaries of each partition, as indexes into the new members. */
export function previousPrimaries(
  previous: Ring,
  indexById: ReadonlyMap<string, number>,
  replicas: number,
): Int32Array {
  const primaries = new Int32Array(previous.partitionCount * replicas).fill(unowned);
  for (let p = 0; p < previous.partitionCount; p++) {
    primaryReplicas(previous, p, replicas).forEach((id, i) => {
      primaries[p * replicas + i] = indexById.get(id) ?? unowned;
    });
  }
  return primaries;
}

/** A slot a receiver took, and from whom. */
interface Taken {
  slot: number;
  from: number;
}

/**
 * Members below target take, one at a time, the donor slot (a member's above target) where they
 * fit (node spacing) that costs least by `cost`: with zones, where the walk's change stays local
 * and the load it shifts evens the zone out. Slots whose owner breaks node spacing go first, as
 * in fillReceivers. Then each slot taken is reconsidered once, with the others in place, since the
 * first choices were made without them. Stops for a member when nothing fits, and for all once the
 * walks have visited `workMax` slots; the spread fill places the rest.
 */
export function fillByReplicaCost(state: ClaimState, cost: ReplicaCost, workMax: number): void {
  for (const member of receivers(state)) {
    const taken: Taken[] = [];
    while (state.deficit(member) > 0) {
      const slot = cheapestSlot(state, cost, member, workMax);
      if (slot === undefined) break;
      taken.push({ slot, from: state.owner(slot) });
      cost.apply(slot, member);
    }
    for (const entry of taken) reconsider(state, cost, member, entry, workMax);
  }
}

/** Gives `entry.slot` back and takes the cheapest slot instead, if that costs less in all. */
function reconsider(
  state: ClaimState,
  cost: ReplicaCost,
  member: number,
  entry: Taken,
  workMax: number,
): void {
  const givingBack = cost.delta(entry.slot, entry.from);
  cost.apply(entry.slot, entry.from);
  const slot = cheapestSlot(state, cost, member, workMax);
  // Strictly cheaper by more than rounding, so that equal choices never trade places.
  if (slot !== undefined && slot !== entry.slot) {
    if (givingBack + cost.delta(slot, member) < -scoreEpsilon) {
      entry.from = state.owner(slot);
      entry.slot = slot;
    }
  }
  cost.apply(entry.slot, member);
}

/** Scores closer than this are equal: far below one replica partition, far above rounding. */
const scoreEpsilon = 1e-9;

/** The slot `fillByReplicaCost` takes next, or undefined when none fits or the work is spent. */
function cheapestSlot(
  state: ClaimState,
  cost: ReplicaCost,
  member: number,
  workMax: number,
): number | undefined {
  let best: number | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  let bestFixes = false;
  for (let p = 0; p < state.partitionCount; p++) {
    if (cost.work > workMax) return undefined;
    const owner = state.owner(p);
    if (owner === member || owner === unowned || state.count(owner) <= state.target(owner))
      continue;
    if (state.nodeConflicts(member, p) > 0) continue;
    const fixes = state.violatesNode(p);
    if (bestFixes && !fixes) continue;
    const score = cost.delta(p, member);
    if ((fixes && !bestFixes) || score < bestScore) {
      best = p;
      bestScore = score;
      bestFixes = fixes;
    }
  }
  return best;
}
