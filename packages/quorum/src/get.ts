import type { PreferenceEntry } from '@ringstore/ring';
import { assert } from './assert.js';
import { getFailure } from './failure.js';
import { checkDurationMs, checkQuorum, checkTargets } from './targets.js';
import type { ObjectOps, QuorumFailure } from './types.js';

export interface GetOptions<O> {
  /** The key's preference list for this request: primaries, and fallbacks for the down ones. */
  readonly preferenceList: readonly PreferenceEntry[];
  /** Readable replies needed before answering. */
  readonly r: number;
  readonly requestTimeoutMs: number;
  /** How long to keep listening for slower replicas after answering, to read-repair them. */
  readonly repairWaitMs: number;
  readonly ops: ObjectOps<O>;
  /**
   * How the targets are read. 'all' (Riak's way, the default): every target at once. 'quorum'
   * (Cassandra's): the first R targets in list order (put the coordinator's own replica first);
   * one more for each that fails or is corrupt, and every other one once `hedgeAfterMs` passes
   * without R readable replies (a speculative read, after about the replicas' p95 latency). Any R
   * replies still meet every W write set when R + W > N; read repair covers the replicas read.
   */
  readonly fanout?: 'all' | { readonly hedgeAfterMs: number };
}

export type GetEvent<O> =
  | {
      readonly type: 'reply';
      readonly nodeId: string;
      /** undefined: the replica does not have the key. */
      readonly object: O | undefined;
      /** The replica's copy failed its checksum: it counts as no reply, and is repaired. */
      readonly corrupt?: boolean | undefined;
    }
  | { readonly type: 'fail'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'timeout' }
  | { readonly type: 'repair-timeout' }
  /** The speculative-read delay of a 'quorum' fanout passed: read the targets not yet read. */
  | { readonly type: 'hedge' };

export type GetResult<O> =
  | { readonly ok: true; readonly object: O | undefined }
  | { readonly ok: false; readonly failure: QuorumFailure };

export type GetEffect<O> =
  | { readonly type: 'read'; readonly nodeId: string }
  /** Feed `fire` back after `afterMs`: the request deadline, or the end of the repair wait. */
  | { readonly type: 'schedule-timeout'; readonly afterMs: number; readonly fire: GetEvent<O> }
  | { readonly type: 'respond'; readonly result: GetResult<O> }
  | { readonly type: 'repair'; readonly nodeIds: string[]; readonly object: O }
  | { readonly type: 'done' };

export interface GetStep<O> {
  readonly state: GetState<O>;
  readonly effects: GetEffect<O>[];
}

declare const getStateBrand: unique symbol;

/** Opaque: only startGet and stepGet read it. Never mutated; each step returns a new one. */
export interface GetState<O> {
  readonly [getStateBrand]: (object: O) => O;
}

/** A node's first answer; later ones from the same node are ignored. */
type Answer<O> =
  | { readonly kind: 'reply'; readonly object: O | undefined }
  | { readonly kind: 'corrupt' }
  | { readonly kind: 'fail' };

interface GetInternal<O> {
  readonly r: number;
  readonly targets: readonly PreferenceEntry[];
  readonly targetIds: ReadonlySet<string>;
  readonly ops: ObjectOps<O>;
  readonly repairWaitMs: number;
  /** targets[0, asked) have been read; the rest are read only on a failure or the hedge. */
  readonly asked: number;
  readonly answers: ReadonlyMap<string, Answer<O>>;
  readonly replied: number;
  /** Merge of every readable reply so far, in arrival order; undefined while none has the key. */
  readonly merged: O | undefined;
  readonly phase: 'waiting' | 'repairing' | 'done';
}

const seal = <O>(s: GetInternal<O>): GetState<O> => s as unknown as GetState<O>;
const open = <O>(s: GetState<O>): GetInternal<O> => s as unknown as GetInternal<O>;

/**
 * Starts a get: read the targets its fanout says (every one, or the first R) and arm the
 * deadline (and the hedge), or fail at once when R > targets.
 */
export function startGet<O>(options: GetOptions<O>): GetStep<O> {
  const { preferenceList: targets, r, requestTimeoutMs, repairWaitMs, ops } = options;
  const fanout = options.fanout ?? 'all';
  const targetIds = checkTargets(targets);
  checkQuorum('R', r);
  checkDurationMs('requestTimeoutMs', requestTimeoutMs, 1);
  checkDurationMs('repairWaitMs', repairWaitMs, 0);
  if (fanout !== 'all') checkDurationMs('hedgeAfterMs', fanout.hedgeAfterMs, 0);
  const asked = fanout === 'all' ? targets.length : Math.min(r, targets.length);
  const state: GetInternal<O> = {
    r,
    targets,
    targetIds,
    ops,
    repairWaitMs,
    asked,
    answers: new Map(),
    replied: 0,
    merged: undefined,
    phase: 'waiting',
  };
  if (r > targets.length) {
    const counts = { acked: 0, needed: r, tried: 0, replicas: targets.length };
    const failure = getFailure('unavailable', counts, {
      failed: 0,
      corrupt: 0,
      tooFewTargets: true,
    });
    return {
      state: seal({ ...state, phase: 'done' }),
      effects: [{ type: 'respond', result: { ok: false, failure } }, { type: 'done' }],
    };
  }
  const effects: GetEffect<O>[] = targets
    .slice(0, asked)
    .map((t) => ({ type: 'read', nodeId: t.nodeId }));
  effects.push({ type: 'schedule-timeout', afterMs: requestTimeoutMs, fire: { type: 'timeout' } });
  if (fanout !== 'all' && asked < targets.length && fanout.hedgeAfterMs < requestTimeoutMs)
    effects.push({
      type: 'schedule-timeout',
      afterMs: fanout.hedgeAfterMs,
      fire: { type: 'hedge' },
    });
  return { state: seal(state), effects };
}

/**
 * Feeds one event to a get. After answering it keeps collecting replies until every target has
 * answered or the repair wait (or the request deadline) ends, then read-repairs and is done.
 */
export function stepGet<O>(state: GetState<O>, event: GetEvent<O>): GetStep<O> {
  const s = open(state);
  if (s.phase === 'done') return { state, effects: [] };
  switch (event.type) {
    case 'reply':
      return answer(
        s,
        event.nodeId,
        event.corrupt === true ? { kind: 'corrupt' } : { kind: 'reply', object: event.object },
      );
    case 'fail':
      return answer(s, event.nodeId, { kind: 'fail' });
    case 'timeout':
      return timeout(s);
    case 'repair-timeout':
      assert(s.phase === 'repairing', 'repair-timeout before the repair timer was scheduled');
      return finish(s, []);
    case 'hedge':
      // Answered already (or R out of reach and answered): nothing is gained by reading more.
      if (s.phase !== 'waiting') return { state, effects: [] };
      return ask(s, s.targets.length - s.asked, []);
  }
}

/** Reads `more` of the targets not yet read (as many as there are), in list order. */
function ask<O>(s: GetInternal<O>, more: number, effects: GetEffect<O>[]): GetStep<O> {
  const asked = Math.min(s.targets.length, s.asked + more);
  for (const t of s.targets.slice(s.asked, asked)) effects.push({ type: 'read', nodeId: t.nodeId });
  return { state: seal({ ...s, asked }), effects };
}

function answer<O>(s: GetInternal<O>, nodeId: string, a: Answer<O>): GetStep<O> {
  assert(s.targetIds.has(nodeId), `get event from ${nodeId}, which is not a target`);
  assert(
    s.targets.slice(0, s.asked).some((t) => t.nodeId === nodeId),
    `get event from ${nodeId}, which was not read`,
  );
  if (s.answers.has(nodeId)) return { state: seal(s), effects: [] };
  const answers = new Map(s.answers);
  answers.set(nodeId, a);
  const next: GetInternal<O> = { ...s, answers };
  if (a.kind !== 'reply') {
    // A failed or corrupt replica does not count: while R is not met, read one more in its place.
    if (next.phase !== 'waiting' || next.asked === next.targets.length) return settle(next, []);
    const step = ask(next, 1, []);
    return settle(open(step.state), step.effects);
  }
  const merged = mergeMaybe(s.ops, s.merged, a.object);
  return settle({ ...next, replied: s.replied + 1, merged }, []);
}

function timeout<O>(s: GetInternal<O>): GetStep<O> {
  if (s.phase === 'repairing') return finish(s, []);
  const failure = getFailure('timeout', counts(s), { ...tally(s), tooFewTargets: false });
  return finish(s, [{ type: 'respond', result: { ok: false, failure } }]);
}

/**
 * Answers once R is met or out of reach; then waits for the rest of the replicas read, bounded
 * by repairWaitMs (replicas never read are not waited for).
 */
function settle<O>(s: GetInternal<O>, effects: GetEffect<O>[]): GetStep<O> {
  const pending = s.asked - s.answers.size;
  const unread = s.targets.length - s.asked;
  if (s.phase === 'waiting') {
    if (s.replied >= s.r) {
      effects.push({ type: 'respond', result: { ok: true, object: s.merged } });
    } else if (s.replied + pending + unread < s.r) {
      const failure = getFailure('unavailable', counts(s), { ...tally(s), tooFewTargets: false });
      effects.push({ type: 'respond', result: { ok: false, failure } });
    } else {
      return { state: seal(s), effects };
    }
    if (pending > 0) {
      effects.push({
        type: 'schedule-timeout',
        afterMs: s.repairWaitMs,
        fire: { type: 'repair-timeout' },
      });
      return { state: seal({ ...s, phase: 'repairing' }), effects };
    }
    return finish(s, effects);
  }
  return pending === 0 ? finish(s, effects) : { state: seal(s), effects };
}

/** Read repair, then done: write the merge back to every primary that was behind or corrupt. */
function finish<O>(s: GetInternal<O>, effects: GetEffect<O>[]): GetStep<O> {
  const merged = s.merged;
  if (merged !== undefined) {
    const nodeIds = s.targets
      .filter((t) => t.hintFor === undefined && isBehind(s.ops, s.answers.get(t.nodeId), merged))
      .map((t) => t.nodeId);
    if (nodeIds.length > 0) effects.push({ type: 'repair', nodeIds, object: merged });
  }
  effects.push({ type: 'done' });
  return { state: seal({ ...s, phase: 'done' }), effects };
}

/** Only replicas that answered are repaired: one that failed or stayed silent is left to hints and anti-entropy. */
function isBehind<O>(ops: ObjectOps<O>, a: Answer<O> | undefined, merged: O): boolean {
  if (a === undefined || a.kind === 'fail') return false;
  if (a.kind === 'corrupt') return true;
  return a.object === undefined || !ops.sameVersion(a.object, merged);
}

function mergeMaybe<O>(ops: ObjectOps<O>, a: O | undefined, b: O | undefined): O | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return ops.merge(a, b);
}

function tally<O>(s: GetInternal<O>): { failed: number; corrupt: number } {
  let failed = 0;
  let corrupt = 0;
  for (const a of s.answers.values()) {
    if (a.kind === 'fail') failed += 1;
    if (a.kind === 'corrupt') corrupt += 1;
  }
  return { failed, corrupt };
}

function counts<O>(s: GetInternal<O>): {
  acked: number;
  needed: number;
  tried: number;
  replicas: number;
} {
  return { acked: s.replied, needed: s.r, tried: s.asked, replicas: s.targets.length };
}
