import { lastChange, partitionReplicas, type RingDocument } from '../index.js';

/**
 * A brute-force explorer of one partition through a transition (MEMBERSHIP.md section 5): the
 * documents the claimant writes (from staging.commit, advanceTransfers, completeTransition), nodes
 * that hold some version each, one write and every read that could run at each moment. The state
 * space is small enough to enumerate: every interleaving of the events below is visited once per
 * distinct state.
 *
 * Events: the claimant writes the next version once the barrier holds (every party of the
 * partition, old and new replicas, holds the version its transfer entered its state at; none at
 * the commit); a node applies the next version written (one at a time reaches every state a
 * jump would); a write is planned under any
 * version written so far (a coordinator may be stale by any amount) and sent to that version's
 * read set and pending replicas, needing W + p acks; each of its messages is delivered at any
 * later moment (or never) and taken or refused by the fence; a node outside the partition's sets
 * drops its copy once it holds the version at which the transfer is done. When the claimant writes
 * the streaming version, each receiver copies the partition from one old replica (any: the
 * displaced one first, another if it fails); with `catchUp`, when it writes the catch-up version,
 * each receiver copies from every old replica (their union at that instant). With `crashesMax`,
 * parties also go down and come back (see there).
 *
 * Checked in every state, for the write once acknowledged (one write is enough: writes of other
 * keys share nothing with it but the schedule): every read that could run now, planned under any
 * version written so far, sent to that version's read set and answered by R replicas that the
 * fence lets answer, returns the write. With R + W > N that is "an acked write is seen by every
 * later read".
 */
export interface ExplorerOptions {
  readonly writeQuorum: number;
  readonly readQuorum: number;
  readonly catchUp: boolean;
  /**
   * What a replica refuses: 'sets' a request made under a version older than the latest version
   * (at most the replica's) at which partitionReplicas of the partition changed, computed from
   * the sequence; 'document' the same with the document's own lastChange (transfer.since,
   * settledAt), as the storage node does; 'none' nothing.
   */
  readonly fence: 'sets' | 'document' | 'none';
  /**
   * How many times a party may go down in one run, one at a time. A down party applies nothing,
   * takes no message, answers no read, is skipped by the barrier (as claimantStep skips it), and
   * is neither a stream source nor copied from at catch-up ("every live old replica"); it may come
   * back, with the version it had.
   */
  readonly crashesMax: number;
  /** Distinct states explored at most: the explorer fails rather than run without a bound. */
  readonly statesMax: number;
}

/** One partition's side of the transition, with nodes as indexes into `parties`. */
export interface PartitionModel {
  readonly partition: number;
  readonly parties: readonly string[];
  readonly firstVersion: number;
  readonly lastVersion: number;
  /** Per version (index version - firstVersion): the read set and the pending replicas. */
  readonly read: readonly (readonly number[])[];
  readonly pending: readonly (readonly number[])[];
  /** Per version: the partition's last change as the replica holding that version sees it. */
  readonly changedAt: readonly number[];
  /** Per version: what every party must hold before the claimant writes the next; 0: nothing. */
  readonly barrier: readonly number[];
  /** Per version: the partition's transfer state, or '-' without a transfer. */
  readonly states: readonly string[];
  readonly oldReplicas: readonly number[];
  readonly receivers: readonly number[];
  readonly streamingVersion: number;
  readonly catchUpVersion: number;
  readonly doneVersion: number;
  /**
   * Parties that play the same part (in the same sets at every version, old or receiving alike):
   * swapping two of them gives a state with the same futures, so the explorer visits one of each.
   */
  readonly alike: readonly (readonly number[])[];
}

export interface Exploration {
  readonly states: number;
  /** The events leading to the first state where a read misses an acknowledged write. */
  readonly counterexample: readonly string[] | undefined;
}

/**
 * A state's key is two integers below 2^30 (fast in sets): the current version and three parties
 * in one; the write's version, the crashes so far and the other parties in the other. 3 bits per
 * version (1..7: one transition), 7 bits per party, at most 6 parties.
 */
const versionBits = 3;
const versionsMax = 2 ** versionBits - 1;
const partyBits = versionBits + 4;
const partiesMax = 6;

/** The model of `partition` in a transition whose documents are `docs`, versions consecutive. */
export function partitionModel(
  docs: readonly RingDocument[],
  partition: number,
  fence: ExplorerOptions['fence'],
): PartitionModel {
  const firstVersion = docs[0]!.version;
  docs.forEach((d, i) => {
    if (d.version !== firstVersion + i) throw new Error('documents must have consecutive versions');
  });
  const sets = docs.map((d) => partitionReplicas(d, partition));
  const transfer = docs[1]?.transfers.find((t) => t.partition === partition);
  const oldIds = [...sets[0]!.read];
  const added = transfer?.added ?? [];
  const removed = transfer?.removed ?? [];
  // Staying old replicas first, then the removed ones, then the added, and sets as sorted
  // indexes: partitions whose sets change alike get the same model, whatever the node names.
  const staying = oldIds.filter((id) => !removed.includes(id));
  const parties = [...new Set([...staying, ...removed, ...added])];
  if (parties.length > partiesMax) throw new Error(`more than ${partiesMax} parties`);
  if (firstVersion + docs.length - 1 > versionsMax)
    throw new Error(`versions above ${versionsMax}`);
  const index = (id: string): number => parties.indexOf(id);
  const indexes = (ids: readonly string[]): number[] => ids.map(index).sort((a, b) => a - b);
  const stateAt = (v: number): string | undefined =>
    docs[v - firstVersion]?.transfers.find((t) => t.partition === partition)?.state;
  const versionOf = (state: string): number =>
    docs.find((d) => d.transfers.some((t) => t.partition === partition && t.state === state))
      ?.version ?? 0;
  const model = {
    partition,
    parties,
    firstVersion,
    lastVersion: firstVersion + docs.length - 1,
    read: sets.map((s) => indexes(s.read)),
    pending: sets.map((s) => indexes(s.pending)),
    changedAt: docs.map((d) =>
      fence === 'document'
        ? lastChange(d, partition)
        : lastChangeInSequence(docs, partition, d.version),
    ),
    barrier: docs.map((d) =>
      stateAt(d.version) === undefined
        ? 0
        : (d.transfers.find((t) => t.partition === partition)?.since ?? 0),
    ),
    states: docs.map((d) => stateAt(d.version) ?? '-'),
    oldReplicas: indexes(oldIds),
    receivers: indexes(added),
    streamingVersion: versionOf('streaming'),
    catchUpVersion: versionOf('catch-up'),
    doneVersion: versionOf('done'),
  };
  return { ...model, alike: alikeParties(model) };
}

function alikeParties(m: Omit<PartitionModel, 'alike'>): number[][] {
  const groups = new Map<string, number[]>();
  m.parties.forEach((_, i) => {
    const part = JSON.stringify([
      m.read.map((set) => set.includes(i)),
      m.pending.map((set) => set.includes(i)),
      m.oldReplicas.includes(i),
      m.receivers.includes(i),
    ]);
    groups.set(part, [...(groups.get(part) ?? []), i]);
  });
  return [...groups.values()];
}

/**
 * The fence rule computed from the sequence alone: the latest version at or before `version` at
 * which partitionReplicas of `partition` (its read set or its pending replicas, as sets) differs
 * from the version before; the first version if none.
 */
export function lastChangeInSequence(
  docs: readonly RingDocument[],
  partition: number,
  version: number,
): number {
  const firstVersion = docs[0]!.version;
  const same = (a: readonly string[], b: readonly string[]): boolean =>
    a.length === b.length && a.every((id) => b.includes(id));
  for (let k = version - firstVersion; k > 0; k--) {
    const was = partitionReplicas(docs[k - 1]!, partition);
    const is = partitionReplicas(docs[k]!, partition);
    if (!same(was.read, is.read) || !same(was.pending, is.pending)) return firstVersion + k;
  }
  return firstVersion;
}

/** A state of the exploration; `status` per target of the write: 0 in flight, 1 taken, 2 refused. */
interface State {
  readonly current: number;
  readonly held: readonly number[];
  /** The version the write was planned under; 0 before it is. */
  readonly writeVersion: number;
  readonly status: readonly number[];
  /** Parties holding the write, one bit each. */
  readonly holders: number;
  /** Parties that are down, one bit each, and how many times one went down so far. */
  readonly down: number;
  readonly crashes: number;
}

/** A successor state and what led to it (described only for a counterexample: it is costly). */
interface Step {
  readonly event: () => string;
  readonly next: State;
}

/** Every interleaving, depth first, each distinct state once; stops at the first counterexample. */
export function explore(model: PartitionModel, options: ExplorerOptions): Exploration {
  if (options.crashesMax > 3) throw new Error('at most 3 crashes (2 bits of the key)');
  const explorer = new Explorer(model, options);
  const initial: State = {
    current: model.firstVersion,
    held: model.parties.map(() => model.firstVersion),
    writeVersion: 0,
    status: [],
    holders: 0,
    down: 0,
    crashes: 0,
  };
  const counterexample = explorer.visit(initial);
  return { states: explorer.states, counterexample };
}

class Explorer {
  /** Keys of the states seen: the second part, per the first. */
  private readonly seen = new Map<number, Set<number>>();
  states = 0;
  private readonly path: (() => string)[] = [];
  /** Per write version (0: none yet), each party's index among the write's targets, or -1. */
  private readonly targetSlots: Int8Array[];
  private readonly codes = new Int32Array(partiesMax);

  constructor(
    private readonly model: PartitionModel,
    private readonly options: ExplorerOptions,
  ) {
    this.targetSlots = Array.from({ length: model.lastVersion + 1 }, (_, v) => {
      const targets = v < model.firstVersion ? [] : this.targets(v);
      return Int8Array.from(model.parties, (_, i) => targets.indexOf(i));
    });
  }

  /** Depth first from `state`: the events to a counterexample, or undefined. */
  visit(state: State): string[] | undefined {
    if (!this.firstVisit(state)) return undefined;
    if (++this.states > this.options.statesMax)
      throw new Error(`more than ${this.options.statesMax} states`);
    const missed = this.missedRead(state);
    if (missed !== undefined) return [...this.path.map((event) => event()), missed];
    for (const step of this.steps(state)) {
      this.path.push(step.event);
      const found = this.visit(step.next);
      this.path.pop();
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /**
   * Records the state, up to swapping alike parties; false if it was seen before. Each party is 7
   * bits (version held, holds the write, down, its message's status or 3 when it has none), sorted
   * within its group; the key is two integers below 2^30.
   */
  private firstVisit(s: State): boolean {
    const slots = this.targetSlots[s.writeVersion]!;
    const codes = this.codes;
    let k = 0;
    for (const group of this.model.alike) {
      const from = k;
      for (const i of group) {
        const j = slots[i]!;
        const status = j < 0 ? 3 : s.status[j]!;
        const flags = (((s.holders >> i) & 1) << 1) | ((s.down >> i) & 1);
        const c = (((s.held[i]! << 2) | flags) << 2) | status;
        // Insertion sort within the group: a handful of parties.
        let at = k++;
        while (at > from && codes[at - 1]! > c) {
          codes[at] = codes[at - 1]!;
          at--;
        }
        codes[at] = c;
      }
    }
    let high = s.current;
    let low = (s.writeVersion << 2) | s.crashes;
    for (let at = 0; at < k; at++) {
      if (at < 3) high = (high << partyBits) | codes[at]!;
      else low = (low << partyBits) | codes[at]!;
    }
    let seen = this.seen.get(high);
    if (seen === undefined) {
      seen = new Set();
      this.seen.set(high, seen);
    }
    if (seen.has(low)) return false;
    seen.add(low);
    return true;
  }

  private at<T>(perVersion: readonly T[], version: number): T {
    return perVersion[version - this.model.firstVersion]!;
  }

  private name(party: number): string {
    return this.model.parties[party]!;
  }

  private up(s: State, party: number): boolean {
    return (s.down & (1 << party)) === 0;
  }

  /** Whether a replica holding `held` answers a request planned under `planned`. */
  private answers(planned: number, held: number): boolean {
    return this.options.fence === 'none' || planned >= this.at(this.model.changedAt, held);
  }

  private targets(version: number): number[] {
    return [...this.at(this.model.read, version), ...this.at(this.model.pending, version)];
  }

  private acked(s: State): boolean {
    if (s.writeVersion === 0) return false;
    const needed = this.options.writeQuorum + this.at(this.model.pending, s.writeVersion).length;
    let acks = 0;
    for (const status of s.status) if (status === 1) acks++;
    return acks >= needed;
  }

  /** A read that could run now and misses the acknowledged write, described; or undefined. */
  private missedRead(s: State): string | undefined {
    if (!this.acked(s)) return undefined;
    for (let v = this.model.firstVersion; v <= s.current; v++) {
      let answering = 0;
      let without = 0;
      for (const i of this.at(this.model.read, v)) {
        if (!this.up(s, i) || !this.answers(v, s.held[i]!)) continue;
        answering++;
        if ((s.holders & (1 << i)) === 0) without++;
      }
      if (answering >= this.options.readQuorum && without >= this.options.readQuorum)
        return this.describeMiss(s, v);
    }
    return undefined;
  }

  private describeMiss(s: State, v: number): string {
    const from = this.at(this.model.read, v)
      .filter((i) => this.up(s, i) && this.answers(v, s.held[i]!) && (s.holders & (1 << i)) === 0)
      .slice(0, this.options.readQuorum)
      .map((i) => `${this.name(i)} (at v${s.held[i]})`);
    return `a read planned under v${v} is answered by ${from.join(', ')}: none holds the acknowledged write`;
  }

  private steps(s: State): Step[] {
    return [
      ...this.claimantSteps(s),
      ...this.applySteps(s),
      ...this.writeSteps(s),
      ...this.deliverySteps(s),
      ...this.dropSteps(s),
      ...this.failureSteps(s),
    ];
  }

  private claimantSteps(s: State): Step[] {
    const m = this.model;
    if (s.current >= m.lastVersion) return [];
    const barrier = this.at(m.barrier, s.current);
    if (s.held.some((v, i) => this.up(s, i) && v < barrier)) return [];
    const next = s.current + 1;
    const written = (): string => `the claimant writes v${next} (${this.at(m.states, next)})`;
    const to = (holders: number, event: () => string): Step => ({
      event,
      next: { ...s, current: next, holders },
    });
    if (next === m.streamingVersion) {
      return this.sourceChoices(s).map((sources) => {
        let holders = s.holders;
        m.receivers.forEach((r, i) => {
          if ((s.holders & (1 << sources[i]!)) !== 0) holders |= 1 << r;
        });
        const streams = (): string[] =>
          m.receivers.map((r, i) => `${this.name(r)} streams from ${this.name(sources[i]!)}`);
        return to(holders, () => `${written()}: ${streams().join(', ')}`);
      });
    }
    if (next === m.catchUpVersion && this.options.catchUp) {
      const anyOld = m.oldReplicas.some((i) => this.up(s, i) && (s.holders & (1 << i)) !== 0);
      const holders = anyOld ? m.receivers.reduce((h, r) => h | (1 << r), s.holders) : s.holders;
      return [to(holders, () => `${written()}: receivers copy from every old replica`)];
    }
    return [to(s.holders, written)];
  }

  /** One live old replica per receiver, every combination (none at all: nothing streams). */
  private sourceChoices(s: State): number[][] {
    const live = this.model.oldReplicas.filter((i) => this.up(s, i));
    if (live.length === 0) return [];
    let choices: number[][] = [[]];
    for (let r = 0; r < this.model.receivers.length; r++)
      choices = choices.flatMap((c) => live.map((o) => [...c, o]));
    return choices;
  }

  /** A node applies the next version (one at a time reaches every state a jump would). */
  private applySteps(s: State): Step[] {
    const steps: Step[] = [];
    s.held.forEach((held, i) => {
      if (!this.up(s, i) || held >= s.current) return;
      const next = { ...s, held: s.held.map((h, k) => (k === i ? held + 1 : h)) };
      steps.push({ event: () => `${this.name(i)} applies v${held + 1}`, next });
    });
    return steps;
  }

  private writeSteps(s: State): Step[] {
    if (s.writeVersion !== 0) return [];
    const steps: Step[] = [];
    for (let v = this.model.firstVersion; v <= s.current; v++) {
      const targets = this.targets(v);
      const needed = this.options.writeQuorum + this.at(this.model.pending, v).length;
      const names = (): string => targets.map((i) => this.name(i)).join(', ');
      const next = { ...s, writeVersion: v, status: targets.map(() => 0) };
      steps.push({
        event: () => `a write is planned under v${v}: sent to ${names()}, needs ${needed} acks`,
        next,
      });
    }
    return steps;
  }

  private deliverySteps(s: State): Step[] {
    if (s.writeVersion === 0) return [];
    const targets = this.targets(s.writeVersion);
    const steps: Step[] = [];
    targets.forEach((i, j) => {
      if (s.status[j] !== 0 || !this.up(s, i)) return;
      const held = s.held[i]!;
      const takes = this.answers(s.writeVersion, held);
      const status = s.status.map((x, k) => (k === j ? (takes ? 1 : 2) : x));
      const holders = takes ? s.holders | (1 << i) : s.holders;
      const event = (): string =>
        takes
          ? `${this.name(i)} (at v${held}) takes the write`
          : `${this.name(i)} (at v${held}) refuses the write: ring stale`;
      steps.push({ event, next: { ...s, status, holders } });
    });
    return steps;
  }

  /** A party outside the sets of the version it holds, once the transfer is done, drops its copy. */
  private dropSteps(s: State): Step[] {
    const m = this.model;
    if (m.doneVersion === 0) return [];
    const steps: Step[] = [];
    s.held.forEach((held, i) => {
      if ((s.holders & (1 << i)) === 0 || held < m.doneVersion || !this.up(s, i)) return;
      if (this.targets(held).includes(i)) return;
      const event = (): string => `${this.name(i)} (at v${held}) drops its copy of the partition`;
      steps.push({ event, next: { ...s, holders: s.holders & ~(1 << i) } });
    });
    return steps;
  }

  /** A party goes down (while none is and crashes remain), or the down one comes back. */
  private failureSteps(s: State): Step[] {
    const steps: Step[] = [];
    s.held.forEach((held, i) => {
      const bit = 1 << i;
      if (s.down === 0 && s.crashes < this.options.crashesMax) {
        const next = { ...s, down: bit, crashes: s.crashes + 1 };
        steps.push({ event: () => `${this.name(i)} goes down`, next });
      }
      if (!this.up(s, i))
        steps.push({
          event: () => `${this.name(i)} is back, at v${held}`,
          next: { ...s, down: 0 },
        });
    });
    return steps;
  }
}
