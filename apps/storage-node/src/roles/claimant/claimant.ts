import {
  claimantStep,
  commit,
  cancelTransition,
  handOverClaimant,
  takeOverClaimant,
  plan,
  stage,
  type ChangeCommand,
  type ChangeRefusal,
  type Plan,
  type RingDocument,
  type Staged,
  defaultPeerAddress,
} from '@ringstore/membership';
import type {
  Change,
  ClusterStatus,
  Plan as PlanMessage,
  StageChangeRequest,
  TransferReport,
  TransferReportResponse,
} from '@ringstore/proto';
import type { ClusterView } from '../../cluster-view.js';
import { ringMessage } from '../../ring/document-codec.js';
import { RingstoreError } from '../../errors.js';
import type { Liveness } from '../../liveness.js';
import type { Logger } from '../../logger.js';
import type { LinkHandlers } from '../../peer/link.js';
import type { RingKeeper } from '../../ring/ring-keeper.js';

/** How often the claimant looks whether a transfer may move (and re-pushes the ring). */
const tickMs = 250;
/** Re-push the current version to nodes that have not applied it, at most this often. */
const repushMs = 2_000;

export interface ClaimantDeps {
  readonly selfId: string;
  readonly view: ClusterView;
  readonly keeper: RingKeeper;
  readonly liveness: Liveness;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly limits: { readonly concurrency: number };
  readonly transferStallMs: number;
  /** Estimated objects and bytes per partition, from this node's own replicas. */
  readonly perPartition: () => { objects: number; bytes: number };
}

/**
 * The claimant role (Riak's riak_core_claimant): takes staged membership changes, plans and
 * commits them, and drives the running transition with claimantStep, writing each new version
 * and pushing it. Only the node the document names as claimant acts; the others refuse, naming it.
 */
export class Claimant {
  private staged: Staged | undefined;
  private lastPlan: Plan | undefined;
  /** `${transition}:${partition}:${state}` -> receivers that reported finishing it. */
  private readonly reports = new Map<string, Set<string>>();
  private readonly writtenAtMs = new Map<number, number>();
  private readonly downSinceMs = new Map<string, number>();
  private readonly everywhereAtMs = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private lastPushMs = 0;
  private stopped = false;
  private kicked = false;

  constructor(private readonly deps: ClaimantDeps) {}

  readonly handlers: Pick<LinkHandlers, 'transferReport'> = {
    transferReport: (req, ctx) => Promise.resolve(this.report(req, ctx.from)),
  };

  start(): void {
    const loop = (): void => {
      if (this.stopped) return;
      try {
        this.tick();
      } catch (e) {
        this.deps.log.error({ reason: (e as Error).message }, 'claimant tick failed');
      }
      this.timer = setTimeout(loop, tickMs);
    };
    this.timer = setTimeout(loop, tickMs);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private get doc(): RingDocument {
    return this.deps.view.document;
  }

  private requireClaimant(): void {
    const claimant = this.doc.claimant;
    if (claimant === this.deps.selfId) return;
    const address = this.deps.view.addressOf(claimant) ?? 'unknown address';
    throw new RingstoreError(
      'failed-precondition',
      `not the claimant: membership changes go to ${claimant} at ${address}`,
    );
  }

  stageChange(req: StageChangeRequest): Change[] {
    this.requireClaimant();
    const command = commandOf(req.change);
    const outcome = stage(this.doc, this.staged, command, (id) => this.isUp(id));
    if (!outcome.ok) throw refusalError(outcome.refusal);
    this.staged = outcome.staged;
    this.deps.log.info({ change: command }, 'membership change staged');
    return this.staged.changes.map(changeMessage);
  }

  planChanges(): PlanMessage {
    this.requireClaimant();
    if (this.staged === undefined || this.staged.changes.length === 0)
      throw new RingstoreError('failed-precondition', 'nothing is staged');
    const p = plan(this.doc, this.staged);
    // What the commit would write, for the node list (addresses of joiners) of the next ring.
    const preview = commit(this.doc, this.staged, p);
    if (!preview.ok) throw refusalError(preview.refusal);
    this.lastPlan = p;
    return planMessage(this.doc, preview.document, p, this.deps.perPartition());
  }

  commitPlan(): RingDocument {
    this.requireClaimant();
    const outcome = commit(this.doc, this.staged, this.lastPlan);
    if (!outcome.ok) throw refusalError(outcome.refusal);
    this.staged = undefined;
    this.lastPlan = undefined;
    this.write(outcome.document);
    this.deps.log.info(
      { version: outcome.document.version, transfers: outcome.document.transfers.length },
      'transition committed',
    );
    return outcome.document;
  }

  /** Hands the role over (at the claimant) or, forced, takes it over (at the new claimant). */
  moveClaimant(to: string, force: boolean): RingDocument {
    const isUp = (id: string): boolean => this.isUp(id);
    if (force && to !== this.deps.selfId)
      throw new RingstoreError(
        'invalid-argument',
        `a forced take-over is sent to the node taking over (${to}), not to ${this.deps.selfId}`,
      );
    if (!force) this.requireClaimant();
    const from = this.doc.claimant;
    const outcome = force
      ? takeOverClaimant(this.doc, to, isUp)
      : handOverClaimant(this.doc, to, isUp);
    if (!outcome.ok) throw refusalError(outcome.refusal);
    this.staged = undefined;
    this.lastPlan = undefined;
    this.write(outcome.document);
    this.deps.log.warn(
      { from, to, force, term: outcome.document.term },
      force ? 'claimant role taken over (forced)' : 'claimant role handed over',
    );
    return outcome.document;
  }

  /** Cancels the running transition before its flip (an operator's call, or a stall). */
  cancelTransition(reason: string): RingDocument {
    this.requireClaimant();
    const outcome = cancelTransition(this.doc);
    if (!outcome.ok) throw refusalError(outcome.refusal);
    this.deps.log.warn({ version: outcome.document.version, reason }, 'transition cancelled');
    this.write(outcome.document);
    return outcome.document;
  }

  /**
   * Invariant 6 (progress): a receiver down longer than the stall bound cannot finish its
   * transfers; the transition is cancelled (while that is still possible) rather than left pending.
   */
  private cancelIfStalled(now: number): boolean {
    const doc = this.doc;
    const receivers = new Set(doc.transfers.flatMap((t) => t.added));
    for (const id of receivers) {
      if (this.isUp(id)) this.downSinceMs.delete(id);
      else if (!this.downSinceMs.has(id)) this.downSinceMs.set(id, now);
    }
    const stalled = [...receivers].find(
      (id) => now - (this.downSinceMs.get(id) ?? now) >= this.deps.transferStallMs,
    );
    if (stalled === undefined || !cancelTransition(doc).ok) return false;
    this.cancelTransition(`receiver ${stalled} down for over ${this.deps.transferStallMs} ms`);
    this.downSinceMs.clear();
    return true;
  }

  clearChanges(): number {
    this.requireClaimant();
    const cleared = this.staged?.changes.length ?? 0;
    this.staged = undefined;
    this.lastPlan = undefined;
    return cleared;
  }

  status(): ClusterStatus {
    const doc = this.doc;
    return {
      ring: this.deps.view.toMessage(),
      staged: (this.staged?.changes ?? []).map(changeMessage),
      applied: doc.nodes.map((n) => ({
        node: n.id,
        term: BigInt(doc.term),
        version: BigInt(this.deps.keeper.applied(n.id)),
      })),
      node: this.deps.selfId,
    };
  }

  private report(req: TransferReport, from: string): TransferReportResponse {
    const doc = this.doc;
    if (doc.claimant !== this.deps.selfId || BigInt(doc.transition) !== req.transition)
      return { accepted: false };
    const t = doc.transfers.find((x) => x.partition === req.partition);
    if (t === undefined || t.state !== req.finished || !t.added.includes(from))
      return { accepted: false };
    const key = `${doc.transition}:${t.partition}:${t.state}`;
    let set = this.reports.get(key);
    if (set === undefined) this.reports.set(key, (set = new Set()));
    set.add(from);
    this.kick();
    return { accepted: true };
  }

  /** A report may let a step happen: look now rather than at the next tick (coalesced). */
  private kick(): void {
    if (this.kicked || this.stopped) return;
    this.kicked = true;
    setImmediate(() => {
      this.kicked = false;
      if (this.stopped) return;
      try {
        this.tick();
      } catch (e) {
        this.deps.log.error({ reason: (e as Error).message }, 'claimant tick failed');
      }
    });
  }

  private tick(): void {
    const doc = this.doc;
    if (doc.claimant !== this.deps.selfId) return;
    const now = Date.now();
    if (!this.writtenAtMs.has(doc.version)) this.writtenAtMs.set(doc.version, now);
    if (now - this.lastPushMs >= repushMs && this.someoneBehind()) {
      this.lastPushMs = now;
      void this.deps.keeper.pushAll();
    }
    if (doc.next !== undefined && this.cancelIfStalled(now)) return;
    const outcome = claimantStep(doc, {
      reported: (p) => this.reports.get(`${doc.transition}:${p}:${stateOf(doc, p)}`) ?? new Set(),
      applied: (id) => this.deps.keeper.applied(id),
      isUp: (id) => this.isUp(id),
      concurrency: this.deps.limits.concurrency,
      elapsedSince: (v, ms) => now - (this.writtenAtMs.get(v) ?? now) >= ms,
      appliedEverywhereFor: (v, ms) => now - (this.appliedEverywhereAt(v, now) ?? now) >= ms,
      requestTimeoutMs: this.deps.requestTimeoutMs,
    });
    if (outcome === undefined) return;
    if (!outcome.ok) {
      this.deps.log.error({ reason: outcome.refusal.message }, 'claimant step refused');
      return;
    }
    logStep(this.deps.log, doc, outcome.document);
    this.write(outcome.document);
  }

  private write(doc: RingDocument): void {
    this.writtenAtMs.set(doc.version, Date.now());
    this.deps.keeper.write(doc);
    this.lastPushMs = Date.now();
  }

  /** When every live node was first seen holding `version` (undefined: not yet). */
  private appliedEverywhereAt(version: number, now: number): number | undefined {
    const known = this.everywhereAtMs.get(version);
    if (known !== undefined) return known;
    const behind = this.doc.nodes.some(
      (n) =>
        n.status !== 'removed' &&
        n.status !== 'left' &&
        this.isUp(n.id) &&
        this.deps.keeper.applied(n.id) < version,
    );
    if (behind) return undefined;
    this.everywhereAtMs.set(version, now);
    return now;
  }

  private someoneBehind(): boolean {
    const doc = this.doc;
    return doc.nodes.some(
      (n) =>
        n.status !== 'removed' &&
        n.id !== this.deps.selfId &&
        this.isUp(n.id) &&
        this.deps.keeper.applied(n.id) < doc.version,
    );
  }

  private isUp(id: string): boolean {
    return id === this.deps.selfId || this.deps.liveness.isUp(id);
  }
}

function stateOf(doc: RingDocument, partition: number): string {
  return doc.transfers.find((t) => t.partition === partition)?.state ?? '';
}

function refusalError(r: ChangeRefusal): RingstoreError {
  return new RingstoreError(r.code, r.message);
}

/** A change names the new node's peer port, or leaves it to the default (client port + 1). */
function peerAddressOr(peerAddress: string, address: string): string {
  return peerAddress !== '' ? peerAddress : defaultPeerAddress(address);
}

function commandOf(change: Change | undefined): ChangeCommand {
  const kind = change?.kind;
  if (kind === undefined) throw new RingstoreError('invalid-argument', 'no change given');
  switch (kind.$case) {
    case 'join':
      return {
        kind: 'join',
        id: kind.value.id,
        address: kind.value.address,
        peerAddress: peerAddressOr(kind.value.peerAddress, kind.value.address),
        zone: kind.value.zone,
      };
    case 'leave':
      return { kind: 'leave', id: kind.value.id };
    case 'remove':
      return { kind: 'remove', id: kind.value.id };
    case 'replace':
      return {
        kind: 'replace',
        ...kind.value,
        peerAddress: peerAddressOr(kind.value.peerAddress, kind.value.address),
      };
  }
}

export function changeMessage(c: ChangeCommand): Change {
  switch (c.kind) {
    case 'join':
      return {
        kind: {
          $case: 'join',
          value: { id: c.id, address: c.address, peerAddress: c.peerAddress, zone: c.zone },
        },
      };
    case 'leave':
      return { kind: { $case: 'leave', value: { id: c.id } } };
    case 'remove':
      return { kind: { $case: 'remove', value: { id: c.id } } };
    case 'replace':
      return {
        kind: {
          $case: 'replace',
          value: {
            ...{ old: c.old, id: c.id, address: c.address, peerAddress: c.peerAddress },
            ...{ zone: c.zone, dead: c.dead },
          },
        },
      };
  }
}

function planMessage(
  doc: RingDocument,
  nextDoc: RingDocument,
  p: Plan,
  per: { objects: number; bytes: number },
): PlanMessage {
  const movement = p.movement.perNode.map((m) => ({
    node: m.nodeId,
    partitionsIn: m.added,
    partitionsOut: m.removed,
    objectsIn: BigInt(Math.round(m.added * per.objects)),
    bytesIn: BigInt(Math.round(m.added * per.bytes)),
    objectsOut: BigInt(Math.round(m.removed * per.objects)),
    bytesOut: BigInt(Math.round(m.removed * per.bytes)),
  }));
  return {
    current: ringMessage(doc, doc.ring),
    next: { ...ringMessage(nextDoc, p.next), nextOwners: [], transfers: [] },
    changes: p.changes.map(changeMessage),
    transfers: p.partitions.map((c) => ({
      partition: c.partition,
      added: [...c.added],
      removed: [...c.removed],
      state: 'pending',
      since: BigInt(doc.version + 1),
    })),
    movement,
    replicaPartitionsMoving: p.movement.added,
    warnings: [...p.warnings],
    objectsPerPartition: BigInt(Math.round(per.objects)),
    bytesPerPartition: BigInt(Math.round(per.bytes)),
  };
}

/** One log line per step the claimant writes: which partitions moved to which state. */
function logStep(log: Logger, before: RingDocument, after: RingDocument): void {
  if (after.next === undefined) {
    log.info({ version: after.version }, 'transition complete');
    return;
  }
  const moved = after.transfers.filter(
    (t) => before.transfers.find((b) => b.partition === t.partition)?.state !== t.state,
  );
  const to = moved[0]?.state ?? 'unchanged';
  log.info(
    { version: after.version, state: to, partitions: moved.map((t) => t.partition) },
    `transfers -> ${to}`,
  );
}
