import type { PreferenceEntry } from '@ringstore/ring';
import { assert } from './assert.js';
import { putFailure } from './failure.js';
import { checkDurationMs, checkPending, checkQuorum, checkTargets } from './targets.js';
import type { QuorumFailure } from './types.js';

export interface PutOptions {
  /** The key's preference list for this request: primaries, and fallbacks for the down ones. */
  readonly preferenceList: readonly PreferenceEntry[];
  /**
   * Replicas being swapped in for this partition by a transfer in progress; none by default. They
   * get the write like every entry, and the put needs W + p acks, p = pending.length, counted over
   * both lists (Cassandra's blockFor, CASSANDRA-833). At most p acks come from pending replicas
   * and at most p from the replicas they displace, so W copies are in the old replica set and in
   * the new one, whichever way the transfer ends. Reads never go to them.
   */
  readonly pending?: readonly PreferenceEntry[];
  /** Acknowledgements needed before answering, the coordinator's own write included. */
  readonly w: number;
  /**
   * The coordinator, one of the targets. It writes first (the new dot is made there), then sends
   * what it wrote to the others, as Riak's put fsm does (execute_local, then execute_remote).
   */
  readonly localNodeId: string;
  readonly requestTimeoutMs: number;
}

export type PutEvent =
  /** The coordinator's own write committed: the object to send to the others exists. */
  | { readonly type: 'local-written' }
  /** The coordinator's own write failed: nothing was written or sent. */
  | { readonly type: 'local-failed'; readonly reason: string }
  | { readonly type: 'ack'; readonly nodeId: string }
  | { readonly type: 'fail'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'timeout' };

export type PutResult =
  | { readonly ok: true; readonly acked: number }
  | { readonly ok: false; readonly failure: QuorumFailure };

export type PutEffect =
  /** Write the new value locally (supersede what the context covers, add a dot). */
  | { readonly type: 'persist-local' }
  /** Send the coordinator's written object to a replica (a fallback keeps it as a hint). */
  | { readonly type: 'replicate'; readonly nodeId: string; readonly hintFor: string | undefined }
  /** Feed `fire` back after `afterMs`. */
  | { readonly type: 'schedule-timeout'; readonly afterMs: number; readonly fire: PutEvent }
  | { readonly type: 'respond'; readonly result: PutResult }
  | { readonly type: 'done' };

export interface PutStep {
  readonly state: PutState;
  readonly effects: PutEffect[];
}

declare const putStateBrand: unique symbol;

/** Opaque: only startPut and stepPut read it. Never mutated; each step returns a new one. */
export interface PutState {
  readonly [putStateBrand]: true;
}

/** local: waiting for the coordinator's own write; remote: for the other replicas. */
type Phase = 'local' | 'remote' | 'responded' | 'done';

interface PutInternal {
  /** Acks the answer needs: W, plus one per pending replica. */
  readonly needed: number;
  /** How many of the targets are pending replicas (the last ones), for the failure message. */
  readonly pendingCount: number;
  /** Every replica the put writes: the preference list, then the pending replicas. */
  readonly targets: readonly PreferenceEntry[];
  readonly targetIds: ReadonlySet<string>;
  readonly localNodeId: string;
  /** Targets asked that have neither acked nor failed; the first answer from a node is final. */
  readonly awaiting: ReadonlySet<string>;
  readonly acked: number;
  /** Targets the write was handed to: the local write included, once it started. */
  readonly tried: number;
  readonly phase: Phase;
}

const seal = (s: PutInternal): PutState => s as unknown as PutState;
const open = (s: PutState): PutInternal => s as unknown as PutInternal;
const timeoutEvent: PutEvent = { type: 'timeout' };

/**
 * Starts a put. Validate first (riak_kv_put_fsm's validate): with fewer targets (the preference
 * list and the pending replicas) than W + p, refuse before anything is written. Otherwise write
 * locally and arm the deadline.
 */
export function startPut(options: PutOptions): PutStep {
  const { preferenceList, pending = [], w, localNodeId, requestTimeoutMs } = options;
  const preferenceIds = checkTargets(preferenceList);
  checkQuorum('W', w);
  checkDurationMs('requestTimeoutMs', requestTimeoutMs, 1);
  checkPending(pending, preferenceIds, localNodeId);
  assert(
    preferenceIds.has(localNodeId),
    `coordinator ${localNodeId} is not one of the put's targets`,
  );
  // Without a transfer (every put but a few) the preference list is the whole target list.
  const targets = pending.length === 0 ? preferenceList : [...preferenceList, ...pending];
  const s: PutInternal = {
    needed: w + pending.length,
    pendingCount: pending.length,
    targets,
    targetIds: pending.length === 0 ? preferenceIds : checkTargets(targets),
    localNodeId,
    awaiting: new Set(),
    acked: 0,
    tried: 0,
    phase: 'local',
  };
  if (s.needed > targets.length) {
    const failure = failureOf(s, 'unavailable', 'none', { tooFewTargets: true });
    return finish(s, [{ type: 'respond', result: { ok: false, failure } }]);
  }
  const next: PutInternal = { ...s, awaiting: new Set([localNodeId]), tried: 1 };
  return {
    state: seal(next),
    effects: [
      { type: 'persist-local' },
      { type: 'schedule-timeout', afterMs: requestTimeoutMs, fire: timeoutEvent },
    ],
  };
}

/**
 * Feeds one event to a put. Acks and failures after the answer are still counted until every
 * target has answered; then (or at the deadline) the put is done. Events after done do nothing.
 */
export function stepPut(state: PutState, event: PutEvent): PutStep {
  const s = open(state);
  if (s.phase === 'done') return { state, effects: [] };
  switch (event.type) {
    case 'local-written':
      return addResult(s, s.localNodeId, true);
    case 'local-failed':
      return addResult(s, s.localNodeId, false);
    case 'ack':
    case 'fail':
      assert(event.nodeId !== s.localNodeId, 'the local write answers with local-written/failed');
      return addResult(s, event.nodeId, event.type === 'ack');
    case 'timeout':
      return timeout(s);
  }
}

/** One target's answer (riak_kv_put_core:add_result), the coordinator's own included. */
function addResult(s: PutInternal, nodeId: string, acked: boolean): PutStep {
  assert(s.targetIds.has(nodeId), `put event from ${nodeId}, which is not a target`);
  // A duplicate, or a second answer from a node that already answered: the first one stands.
  if (!s.awaiting.has(nodeId)) return { state: seal(s), effects: [] };
  const awaiting = new Set(s.awaiting);
  awaiting.delete(nodeId);
  const next = { ...s, awaiting, acked: s.acked + (acked ? 1 : 0) };
  if (nodeId !== s.localNodeId) return settle(next, []);
  if (!acked) {
    // Nothing committed locally and nothing was sent: the write is provably not applied.
    const failure = failureOf(next, 'local-failed', 'none');
    return finish(next, [{ type: 'respond', result: { ok: false, failure } }]);
  }
  return executeRemote(next);
}

/** The local write is in: send it to every other target. */
function executeRemote(s: PutInternal): PutStep {
  const others = s.targets.filter((t) => t.nodeId !== s.localNodeId);
  const effects: PutEffect[] = others.map((t) => ({
    type: 'replicate',
    nodeId: t.nodeId,
    hintFor: t.hintFor,
  }));
  const next: PutInternal = {
    ...s,
    awaiting: new Set(others.map((t) => t.nodeId)),
    tried: s.tried + others.length,
    phase: 'remote',
  };
  return settle(next, effects);
}

function timeout(s: PutInternal): PutStep {
  if (s.phase === 'responded') return finish(s, []);
  // The local write may still commit, and replicas asked may have applied it.
  const failure = failureOf(s, 'timeout', 'maybe');
  return finish(s, [{ type: 'respond', result: { ok: false, failure } }]);
}

/** Answers once W + p is met or out of reach, and finishes once nobody is left to answer. */
function settle(s: PutInternal, effects: PutEffect[]): PutStep {
  let next = s;
  if (next.phase === 'remote' && next.acked >= next.needed) {
    effects.push({ type: 'respond', result: { ok: true, acked: next.acked } });
    next = { ...next, phase: 'responded' };
  } else if (next.phase === 'remote' && next.acked + next.awaiting.size < next.needed) {
    const failure = failureOf(next, 'unavailable', 'maybe');
    effects.push({ type: 'respond', result: { ok: false, failure } });
    next = { ...next, phase: 'responded' };
  }
  if (next.phase === 'responded' && next.awaiting.size === 0) return finish(next, effects);
  return { state: seal(next), effects };
}

function finish(s: PutInternal, effects: PutEffect[]): PutStep {
  effects.push({ type: 'done' });
  return { state: seal({ ...s, awaiting: new Set(), phase: 'done' }), effects };
}

function failureOf(
  s: PutInternal,
  kind: QuorumFailure['kind'],
  applied: QuorumFailure['applied'],
  detail = { tooFewTargets: false },
): QuorumFailure {
  const counts = { acked: s.acked, needed: s.needed, tried: s.tried, replicas: s.targets.length };
  return putFailure(kind, applied, counts, { ...detail, pending: s.pendingCount });
}
