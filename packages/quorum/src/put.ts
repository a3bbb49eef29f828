import { assert } from './assert.js';
import { putFailure } from './failure.js';
import { checkDurationMs, checkQuorum, checkTargets } from './targets.js';
import type { QuorumFailure, Target } from './types.js';

export interface PutOptions {
  readonly targets: readonly Target[];
  /** Acknowledgements needed before answering, the coordinator's own write included. */
  readonly w: number;
  readonly localNodeId: string;
  /** The coordinator already wrote locally: its write counts toward W and it is not sent one. */
  readonly localAcked: boolean;
  readonly requestTimeoutMs: number;
}

export type PutEvent =
  | { readonly type: 'ack'; readonly nodeId: string }
  | { readonly type: 'fail'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'timeout' };

export type PutResult =
  | { readonly ok: true; readonly acked: number }
  | { readonly ok: false; readonly failure: QuorumFailure };

export type PutEffect =
  | { readonly type: 'replicate'; readonly nodeId: string; readonly hintFor: string | undefined }
  | { readonly type: 'schedule-timeout'; readonly afterMs: number }
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

type Phase = 'waiting' | 'responded' | 'done';

interface PutInternal {
  readonly w: number;
  readonly replicas: number;
  readonly targetIds: ReadonlySet<string>;
  /** Targets that have neither acked nor failed; the first answer from a node is final. */
  readonly pending: ReadonlySet<string>;
  readonly acked: number;
  readonly sent: boolean;
  readonly phase: Phase;
}

const seal = (s: PutInternal): PutState => s as unknown as PutState;
const open = (s: PutState): PutInternal => s as unknown as PutInternal;

/**
 * Starts a put: replicate to every target but the coordinator itself (when it already wrote),
 * arm the deadline, and answer at once if the local write alone meets W.
 */
export function startPut(options: PutOptions): PutStep {
  const { targets, w, localNodeId, localAcked, requestTimeoutMs } = options;
  const targetIds = checkTargets(targets);
  checkQuorum('W', w);
  checkDurationMs('requestTimeoutMs', requestTimeoutMs, 1);
  // A local write on a node outside the targets does not make the key durable on its replicas.
  const localCounts = localAcked && targetIds.has(localNodeId);
  const acked = localCounts ? 1 : 0;
  if (w > targets.length) {
    const counts = { acked, needed: w, replicas: targets.length };
    const failure = putFailure('unavailable', counts, { sent: false, tooFewTargets: true });
    const state: PutInternal = {
      w,
      replicas: targets.length,
      targetIds,
      pending: new Set(),
      acked,
      sent: false,
      phase: 'done',
    };
    return {
      state: seal(state),
      effects: [{ type: 'respond', result: { ok: false, failure } }, { type: 'done' }],
    };
  }
  const sendTo = targets.filter((t) => !(localCounts && t.nodeId === localNodeId));
  const effects: PutEffect[] = sendTo.map((t) => ({
    type: 'replicate',
    nodeId: t.nodeId,
    hintFor: t.hintFor,
  }));
  if (sendTo.length > 0) effects.push({ type: 'schedule-timeout', afterMs: requestTimeoutMs });
  const state: PutInternal = {
    w,
    replicas: targets.length,
    targetIds,
    pending: new Set(sendTo.map((t) => t.nodeId)),
    acked,
    sent: sendTo.length > 0,
    phase: 'waiting',
  };
  return settle(state, effects);
}

/**
 * Feeds one event to a put. Acks and failures after the answer are still counted until every
 * target has answered; then (or at the deadline) the put is done. Events after done do nothing.
 */
export function stepPut(state: PutState, event: PutEvent): PutStep {
  const s = open(state);
  if (s.phase === 'done') return { state, effects: [] };
  switch (event.type) {
    case 'ack':
    case 'fail':
      return answer(s, event.nodeId, event.type === 'ack');
    case 'timeout':
      return timeout(s);
  }
}

function answer(s: PutInternal, nodeId: string, acked: boolean): PutStep {
  assert(s.targetIds.has(nodeId), `put event from ${nodeId}, which is not a target`);
  // A duplicate, or a second answer from a node that already answered: the first one stands.
  if (!s.pending.has(nodeId)) return { state: seal(s), effects: [] };
  const pending = new Set(s.pending);
  pending.delete(nodeId);
  return settle({ ...s, pending, acked: s.acked + (acked ? 1 : 0) }, []);
}

function timeout(s: PutInternal): PutStep {
  if (s.phase === 'responded')
    return { state: seal({ ...s, phase: 'done' }), effects: [{ type: 'done' }] };
  const failure = putFailure('timeout', counts(s), { sent: s.sent, tooFewTargets: false });
  return {
    state: seal({ ...s, phase: 'done' }),
    effects: [{ type: 'respond', result: { ok: false, failure } }, { type: 'done' }],
  };
}

/** Answers once W is met or out of reach, and finishes once nobody is left to answer. */
function settle(s: PutInternal, effects: PutEffect[]): PutStep {
  let next = s;
  if (next.phase === 'waiting' && next.acked >= next.w) {
    effects.push({ type: 'respond', result: { ok: true, acked: next.acked } });
    next = { ...next, phase: 'responded' };
  } else if (next.phase === 'waiting' && next.acked + next.pending.size < next.w) {
    const failure = putFailure('unavailable', counts(next), {
      sent: next.sent,
      tooFewTargets: false,
    });
    effects.push({ type: 'respond', result: { ok: false, failure } });
    next = { ...next, phase: 'responded' };
  }
  if (next.phase === 'responded' && next.pending.size === 0) {
    effects.push({ type: 'done' });
    next = { ...next, phase: 'done' };
  }
  return { state: seal(next), effects };
}

function counts(s: PutInternal): { acked: number; needed: number; replicas: number } {
  return { acked: s.acked, needed: s.w, replicas: s.replicas };
}
