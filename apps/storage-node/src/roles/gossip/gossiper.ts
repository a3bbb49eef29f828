import {
  beat,
  changedMembers,
  checkGossipState,
  mergeState,
  pickGossipPeers,
  type GossipState,
  type MemberState,
  memberStatuses,
  LivenessTable,
  type LivenessOptions,
} from '@ringstore/membership';
import {
  type GossipRequest,
  type GossipResponse,
  type Member,
  type MemberState as MemberMessage,
} from '@ringstore/proto';
import { RingstoreError, reasonOf } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Liveness } from '../../liveness.js';
import type { Metrics } from '../../metrics.js';
import type { Peers } from '../../peer/peers.js';
import {
  gossipIgnoreReasons,
  outbid,
  screenGossip,
  type GossipIgnoreReason,
} from './gossip-screen.js';

export interface GossipOptions extends LivenessOptions {
  readonly gossipIntervalMs: number;
  /**
   * Whether this node's event loop is stalled right now (a local pause): then late heartbeats
   * and timed-out requests say more about this node than about its peers, so no peer is
   * convicted or suspected (Cassandra's "not marking nodes down due to local pause").
   */
  readonly localPause?: () => boolean;
  /**
   * Whether this node's own request queue is nearly full: its timeouts are then its own, so a
   * failed request does not make it suspect the peer; heartbeats still convict (a dead peer is
   * still found under load).
   */
  readonly busy?: () => boolean;
}

/** Gossip rounds after a local pause during which verdicts stay frozen (heartbeats catch up). */
const pauseGraceRounds = 2;

export interface GossipSelf {
  readonly id: string;
  readonly address: string;
  readonly peerAddress: string;
  readonly zone: string;
  /** Start time in ms: a restarted node's state always wins over its previous incarnation's. */
  readonly generation: number;
}

/** Liveness runs on a monotonic clock: a wall-clock step back must not stall failure detection. */
function monotonicMs(): number {
  return performance.now();
}

/** What gossip tells about ring versions: ours goes out, a peer's comes in. */
export interface GossipRing {
  version(): { term: number; version: number };
  /** A peer said which ring version it has applied (it may be ahead: pull it). */
  seen(peerId: string, ring: { term: number; version: number }): void;
}

function toMessage(m: MemberState, ring?: { term: number; version: number }): MemberMessage {
  return {
    id: m.id,
    address: m.address,
    peerAddress: m.peerAddress,
    zone: m.zone,
    generation: BigInt(m.generation),
    heartbeat: BigInt(m.heartbeat),
    status: m.status,
    ringTerm: BigInt(ring?.term ?? 0),
    ringVersion: BigInt(ring?.version ?? 0),
  };
}

/** The ring version a member reports for itself (0.0 when absent or out of range). */
function ringOfMember(members: readonly MemberMessage[], id: string) {
  const m = members.find((x) => x.id === id);
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  if (m === undefined || m.ringVersion === 0n || m.ringTerm > max || m.ringVersion > max)
    return undefined;
  return { term: Number(m.ringTerm), version: Number(m.ringVersion) };
}

function fromMessages(members: readonly MemberMessage[]): GossipState | RingstoreError {
  const state = new Map<string, MemberState>();
  for (const m of members) {
    const status = memberStatuses.find((s) => s === m.status);
    if (status === undefined)
      return new RingstoreError(
        'invalid-argument',
        `member ${m.id}: unknown status ${JSON.stringify(m.status).slice(0, 40)}`,
      );
    if (
      m.generation > BigInt(Number.MAX_SAFE_INTEGER) ||
      m.heartbeat > BigInt(Number.MAX_SAFE_INTEGER)
    ) {
      return new RingstoreError(
        'invalid-argument',
        `member ${m.id}: generation or heartbeat out of range`,
      );
    }
    state.set(m.id, {
      id: m.id,
      address: m.address,
      peerAddress: m.peerAddress,
      zone: m.zone,
      generation: Number(m.generation),
      heartbeat: Number(m.heartbeat),
      status,
    });
  }
  return sortedState(state);
}

/** Rounds a peer that did not answer a gossip exchange is left out of the live pick, at first. */
const silentRoundsMin = 4;
/** At most: a peer that answers again is back in the live pick within a minute of rounds. */
const silentRoundsMax = 64;

/** A unary call that got no answer (the peer unreachable, or silent until the deadline). */
function noAnswer(e: unknown): boolean {
  return (
    e instanceof RingstoreError && (e.code === 'unavailable' || e.code === 'deadline-exceeded')
  );
}

function sortedState(state: ReadonlyMap<string, MemberState>): GossipState {
  return new Map([...state].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/**
 * The gossip role: every gossipIntervalMs, beat our own heartbeat and exchange member states with
 * one random live peer (sometimes a down one, so recovery is noticed), push and pull. A member's
 * heartbeat advancing feeds its phi-accrual detector; routing asks isUp. The members gossiped
 * about are the ring document's active ones (follow): detection never changes ownership.
 */
export class Gossiper implements Liveness {
  private state: GossipState;
  private readonly table: LivenessTable;
  private readonly upListeners: ((nodeId: string) => void)[] = [];
  /**
   * Peers whose gossip exchanges got no answer: left out of the live pick for the rounds left,
   * a span that doubles with each unanswered try (silentRoundsMin..silentRoundsMax).
   */
  private readonly silent = new Map<string, { roundsLeft: number; span: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Each member's up/down as judged in the last round this node was not paused. */
  private readonly verdicts = new Map<string, { up: boolean; routable: boolean }>();
  /** Verdicts stay frozen until then (monotonic ms): a local pause and its grace rounds. */
  private frozenUntilMs = 0;
  private suppressed = 0;
  private readonly ignoredCounts = new Map<GossipIgnoreReason, number>(
    gossipIgnoreReasons.map((r) => [r, 0]),
  );

  constructor(
    private readonly self: GossipSelf,
    members: readonly { id: string; address: string; peerAddress: string }[],
    private readonly options: GossipOptions,
    private readonly peers: Peers,
    private readonly log: Logger,
    private readonly ring?: GossipRing,
    /** Where ignored gossip is counted (ringstore_gossip_ignored_total), besides ignored(). */
    private readonly metrics?: Pick<Metrics, 'gossipIgnored' | 'suspicionsSuppressed'>,
    /** Wall-clock time in ms, which generations (start times) are compared with. */
    private readonly wallClockMs: () => number = Date.now,
  ) {
    const initial = new Map<string, MemberState>();
    for (const m of members)
      initial.set(m.id, {
        id: m.id,
        address: m.address,
        peerAddress: m.peerAddress,
        zone: '',
        generation: 0,
        heartbeat: 0,
        status: 'up',
      });
    initial.set(self.id, {
      id: self.id,
      address: self.address,
      peerAddress: self.peerAddress,
      zone: self.zone,
      generation: self.generation,
      heartbeat: 0,
      status: 'up',
    });
    this.state = sortedState(initial);
    this.table = new LivenessTable(
      self.id,
      members.map((m) => m.id),
      options,
      monotonicMs(),
    );
  }

  start(): void {
    const round = (): void => {
      if (this.stopped) return;
      void this.round().finally(() => {
        if (!this.stopped) this.timer = setTimeout(round, this.options.gossipIntervalMs);
      });
    };
    this.timer = setTimeout(round, this.options.gossipIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  isUp(nodeId: string): boolean {
    return this.judged(nodeId).up;
  }

  isRoutable(nodeId: string): boolean {
    return this.judged(nodeId).routable;
  }

  /** The table's verdict now, or the one from before a local pause while verdicts are frozen. */
  private judged(nodeId: string): { readonly up: boolean; readonly routable: boolean } {
    const now = monotonicMs();
    if (this.frozen(now)) {
      const verdict = this.verdicts.get(nodeId);
      if (verdict !== undefined) return verdict;
    }
    return this.table.of(nodeId, now);
  }

  /** Suspicions and convictions not made because this node was paused (saturated). */
  suppressedSuspicions(): number {
    return this.suppressed;
  }

  /** Paused now (then frozen for the grace rounds after), or still in the grace rounds. */
  private frozen(now: number): boolean {
    if (this.options.localPause?.() === true)
      this.frozenUntilMs = now + pauseGraceRounds * this.options.gossipIntervalMs;
    return now < this.frozenUntilMs;
  }

  suspect(nodeId: string, reason: string): void {
    if (this.frozen(monotonicMs()) || this.options.busy?.() === true) {
      this.suppressed++;
      this.metrics?.suspicionsSuppressed.inc();
      this.log.debug({ peer: nodeId, reason }, 'not suspecting a peer: this node is saturated');
      return;
    }
    const wasUp = this.isUp(nodeId);
    this.table.suspect(nodeId, monotonicMs());
    if (wasUp && !this.isUp(nodeId))
      this.log.debug({ peer: nodeId, reason }, 'peer suspected after a failed request');
  }

  /**
   * A peer answered a request sent at `sentAtMs` (monotonic): ends a suspicion that began before.
   * The up transition (log line, hint delivery) follows at the next round, as after a heartbeat.
   */
  answered(nodeId: string, sentAtMs: number): void {
    this.table.answered(nodeId, sentAtMs);
  }

  /** Called with a node id each time it is seen up again (hint delivery listens). */
  onUp(listener: (nodeId: string) => void): void {
    this.upListeners.push(listener);
  }

  /** Gossip entries not merged since start, by reason (what ringstore_gossip_ignored_total counts). */
  ignored(): Readonly<Record<GossipIgnoreReason, number>> {
    return Object.fromEntries(this.ignoredCounts) as Record<GossipIgnoreReason, number>;
  }

  /** The Peer.Gossip handler: merge what the caller knows, answer with what we know. */
  handle(req: GossipRequest): GossipResponse {
    this.merge(this.decode(req.members));
    const theirs = ringOfMember(req.members, req.from);
    if (theirs !== undefined && this.state.has(req.from)) this.ring?.seen(req.from, theirs);
    return { members: this.messages(), ring: undefined };
  }

  /**
   * Follows the ring document's active members (neither left nor removed): a node that joined is
   * gossiped with (and counted up until the evidence says otherwise, like every member at start);
   * a departed one is forgotten, so it is never picked as a "down" peer to probe and its stale
   * entry, still in other nodes' gossip, is not taken back (see merge).
   */
  follow(
    members: readonly { id: string; address: string; peerAddress: string; zone: string }[],
  ): void {
    const now = monotonicMs();
    const active = new Set(members.map((m) => m.id));
    const next = new Map<string, MemberState>();
    for (const [id, m] of this.state) {
      if (id === this.self.id || active.has(id)) next.set(id, m);
      else {
        this.table.forget(id);
        this.silent.delete(id);
      }
    }
    for (const m of members) {
      if (next.has(m.id)) continue;
      next.set(m.id, { ...m, generation: 0, heartbeat: 0, status: 'up' as const });
      this.table.heard(m.id, now);
    }
    this.state = sortedState(next);
  }

  private messages(): MemberMessage[] {
    const own = this.ring?.version();
    return [...this.state.values()].map((m) =>
      toMessage(m, m.id === this.self.id ? own : undefined),
    );
  }

  members(): Member[] {
    const now = monotonicMs();
    return [...this.state.values()].map((m) => {
      const l = this.table.of(m.id, now);
      return {
        node: {
          id: m.id,
          address: m.address,
          peerAddress: m.peerAddress,
          zone: m.zone,
          status: m.status,
        },
        alive: l.up, // the wire name (cluster.proto Member.alive) of "up"
        phi: Number.isFinite(l.phi) ? l.phi : Number.MAX_VALUE,
        heartbeat: BigInt(m.heartbeat),
        generation: BigInt(m.generation),
        suspected: l.suspected,
      };
    });
  }

  /**
   * A peer's member list as a gossip state, refused whole (counted 'malformed') when an entry is
   * not well formed or it names more than membersMax members, whether the ring knows them or not.
   */
  private decode(members: readonly MemberMessage[]): GossipState {
    const remote = fromMessages(members);
    if (remote instanceof RingstoreError) return this.refuse(remote);
    const problem = checkGossipState(remote, new Map());
    if (problem !== undefined)
      return this.refuse(
        new RingstoreError('invalid-argument', `gossip refused: ${problem.message}`),
      );
    return remote;
  }

  private refuse(e: RingstoreError): never {
    this.countIgnored('malformed', 1);
    throw e;
  }

  private countIgnored(reason: GossipIgnoreReason, count: number): void {
    this.ignoredCounts.set(reason, (this.ignoredCounts.get(reason) ?? 0) + count);
    this.metrics?.gossipIgnored.inc({ reason }, count);
  }

  private merge(remote: GossipState): void {
    // Nobody else may speak for us: the entry about ourselves is never merged (ours is always the
    // newest; a newer one is outbid). Only members of the ring are gossiped about: entries of
    // departed or unknown ids are left out (a peer behind on the ring still lists a departed
    // member; a new member is added by follow once the ring document names it). Entries beyond
    // what this node's clock allows are left out too (gossip-screen.ts).
    const screened = screenGossip(
      remote,
      this.self.id,
      (id) => this.state.has(id),
      this.wallClockMs(),
    );
    for (const [reason, count] of screened.ignored) this.countIgnored(reason, count);
    if (screened.aboutSelf !== undefined) this.outbidClaim(screened.aboutSelf);
    const before = this.state;
    this.state = mergeState(before, screened.others);
    const now = monotonicMs();
    for (const id of changedMembers(before, this.state)) {
      this.table.heard(id, now);
      // A member restarted, or is heard of for the first time (a newer generation than the one we
      // knew, 0 at start): dial it afresh instead of waiting out the reconnect backoff its
      // downtime built up on our channel to it (at start: dialled before it listened, where a
      // W=N write failed at once). A channel already talking to it is left alone.
      const knownGeneration = before.get(id)?.generation ?? 0;
      if (knownGeneration < (this.state.get(id)?.generation ?? 0)) this.peers.redial(id);
    }
    this.reportTransitions();
  }

  /** A peer holds a newer state of this node than its own: raise ours above it (gossip-screen.ts). */
  private outbidClaim(claimed: MemberState): void {
    const own = this.state.get(this.self.id);
    const next = own === undefined ? undefined : outbid(own, claimed);
    if (next === undefined) return;
    this.state = sortedState(new Map(this.state).set(this.self.id, next));
    this.log.warn(
      {
        claimed: { generation: claimed.generation, heartbeat: claimed.heartbeat },
        own: { generation: next.generation, heartbeat: next.heartbeat },
      },
      'gossip holds a newer state of this node than its own: outbid it',
    );
  }

  private async round(): Promise<void> {
    this.state = beat(this.state, this.self.id);
    if (this.frozen(monotonicMs())) {
      this.suppressed++;
      this.metrics?.suspicionsSuppressed.inc();
    } else {
      this.reportTransitions();
      const now = monotonicMs();
      for (const id of this.state.keys()) {
        const { up, routable } = this.table.of(id, now);
        this.verdicts.set(id, { up, routable });
      }
    }
    const down = [...this.state.keys()].filter(
      (id) => id !== this.self.id && !this.isUp(id),
    ).length;
    const live = this.state.size - 1 - down;
    // Cassandra: a live member every round, and a down one with probability down / (live + 1).
    // A peer that did not answer lately counts as down here (it may be up for everyone else).
    for (const s of this.silent.values()) s.roundsLeft--;
    const answering = (id: string): boolean =>
      this.isUp(id) && (this.silent.get(id)?.roundsLeft ?? 0) <= 0;
    const peers = pickGossipPeers(
      this.state,
      this.self.id,
      answering,
      Math.random,
      Math.min(1, down / (live + 1)),
    );
    await Promise.all(peers.map((peer) => this.gossipWith(peer)));
  }

  private async gossipWith(peer: string): Promise<void> {
    let res: GossipResponse;
    try {
      res = await this.exchange(peer);
    } catch (e) {
      // No answer: the next rounds' live pick goes to peers that answer. The others' gossip keeps
      // its heartbeat fresh here, so a peer cut off from this node alone was picked again and
      // again as live, each time for a whole timeout; now it is only probed, as a down one is.
      if (noAnswer(e)) {
        const span = Math.min(
          silentRoundsMax,
          2 * (this.silent.get(peer)?.span ?? silentRoundsMin / 2),
        );
        this.silent.set(peer, { roundsLeft: span, span });
      }
      this.log.trace({ peer, reason: reasonOf(e) }, 'gossip exchange failed');
      return;
    }
    this.silent.delete(peer);
    try {
      this.merge(this.decode(res.members));
      const theirs = ringOfMember(res.members, peer);
      if (theirs !== undefined) this.ring?.seen(peer, theirs);
    } catch (e) {
      this.log.trace({ peer, reason: reasonOf(e) }, 'gossip answer refused');
    }
  }

  private exchange(peerId: string): Promise<GossipResponse> {
    const req: GossipRequest = {
      from: this.self.id,
      members: this.messages(),
      ring: undefined,
    };
    return this.peers.gossip(peerId, req, this.options.gossipIntervalMs);
  }

  private reportTransitions(): void {
    for (const t of this.table.transitions(monotonicMs())) {
      const phiShown = Number.isFinite(t.phi) ? Math.round(t.phi * 100) / 100 : t.phi;
      if (t.up) {
        this.log.info({ peer: t.nodeId, phi: phiShown }, 'peer is up');
        for (const listener of this.upListeners) listener(t.nodeId);
      } else
        this.log.warn({ peer: t.nodeId, phi: phiShown, suspected: t.suspected }, 'peer is down');
    }
  }
}
