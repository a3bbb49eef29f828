import type { PreferenceEntry } from '@ringstore/ring';
import type { PutEffect, PutEvent, PutOptions, PutResult, QuorumFailure } from '../index.js';
import type { Trace } from './sim.js';
import { verify, verifyEqual } from './verify.js';

/** How a put ended; refused: validation turned it down (W+p > targets) before writing anything. */
export type PutOutcome = 'ok' | 'refused' | 'local-failed' | 'unavailable' | 'timeout';

type PutTrace = Trace<PutEvent, PutEffect>;

/** Every replica the put writes: the preference list, then the pending replicas. */
const writeSet = (o: PutOptions): readonly PreferenceEntry[] => [
  ...o.preferenceList,
  ...(o.pending ?? []),
];

/** Acks a put needs: W, plus one per pending replica (Cassandra's blockFor). */
const neededOf = (o: PutOptions): number => o.w + (o.pending?.length ?? 0);

/** How the message names the quorum: "W=2", or "W=2+1 pending" during a transfer. */
function quorumText(o: PutOptions): string {
  const p = o.pending?.length ?? 0;
  return p === 0 ? `W=${o.w}` : `W=${o.w}+${p} pending`;
}

const types = (effects: readonly PutEffect[]): string[] => effects.map((e) => e.type);

function respondOf(trace: PutTrace): { index: number; result: PutResult } {
  const index = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const respond = trace[index]!.effects.find((e) => e.type === 'respond');
  if (respond?.type !== 'respond') throw new Error('unreachable: respond located above');
  return { index, result: respond.result };
}

interface PutTally {
  /** Index of the first delivered request timeout, or trace.length when none arrived. */
  readonly timeoutIndex: number;
  /** Index of the local write's answer when it came before the deadline, else trace.length. */
  readonly localIndex: number;
  /** Whether that answer was local-written (false also when it never came in time). */
  readonly localOk: boolean;
  /** The local write (once written) plus distinct first-answer acks of the others, at each step. */
  readonly ackedAt: number[];
  /** The same, counting only the preference list (the read set), not the pending replicas. */
  readonly preferenceAckedAt: number[];
  /** Targets whose first answer was a failure, the local write included, at each step. */
  readonly failedAt: number[];
  /** Targets that answered, the local write included, at each step. */
  readonly answeredAt: number[];
}

const isLocal = (event: PutEvent | undefined): boolean =>
  event?.type === 'local-written' || event?.type === 'local-failed';

/**
 * Replays the trace the way a judge would: the local write answers first and only then are the
 * others asked; the first answer per node wins; duplicates and answers past the deadline for the
 * local write are ignored.
 */
function tallyPut(o: PutOptions, trace: PutTrace): PutTally {
  const found = (i: number): number => (i === -1 ? trace.length : i);
  const timeoutIndex = found(trace.findIndex((entry) => entry.event?.type === 'timeout'));
  const firstLocal = found(trace.findIndex((entry) => isLocal(entry.event)));
  const localIndex = firstLocal < timeoutIndex ? firstLocal : trace.length;
  const localOk = trace[localIndex]?.event?.type === 'local-written';
  const others = new Set(
    writeSet(o)
      .map((t) => t.nodeId)
      .filter((id) => id !== o.localNodeId),
  );
  const preference = new Set(o.preferenceList.map((t) => t.nodeId));
  const answered = new Set<string>();
  let acked = 0;
  let preferenceAcked = 0;
  let failed = 0;
  const ackedAt: number[] = [];
  const preferenceAckedAt: number[] = [];
  const failedAt: number[] = [];
  const answeredAt: number[] = [];
  trace.forEach(({ event }, i) => {
    if (i === localIndex) {
      answered.add(o.localNodeId);
      if (localOk) {
        acked += 1;
        preferenceAcked += 1; // the coordinator is never a pending replica
      } else failed += 1;
    }
    const remote = event?.type === 'ack' || event?.type === 'fail';
    // Only the others, only once they were asked (after local-written), first answer only.
    if (
      remote &&
      localOk &&
      i > localIndex &&
      others.has(event.nodeId) &&
      !answered.has(event.nodeId)
    ) {
      answered.add(event.nodeId);
      if (event.type === 'ack') acked += 1;
      if (event.type === 'ack' && preference.has(event.nodeId)) preferenceAcked += 1;
      if (event.type === 'fail') failed += 1;
    }
    ackedAt.push(acked);
    preferenceAckedAt.push(preferenceAcked);
    failedAt.push(failed);
    answeredAt.push(answered.size);
  });
  return { timeoutIndex, localIndex, localOk, ackedAt, preferenceAckedAt, failedAt, answeredAt };
}

/**
 * Promptness: the put answers at the first step where the local write failed, W+p is met or out
 * of reach, or the deadline passed (not earlier, not later), and is done at the first step after
 * that where nobody it asked is left to answer, the local write failed, or the deadline passed.
 */
function checkTiming(o: PutOptions, trace: PutTrace, t: PutTally): void {
  const replicas = writeSet(o).length;
  const needed = neededOf(o);
  const localFailedAt = (i: number): boolean => i === t.localIndex && !t.localOk;
  const decided = (i: number): boolean =>
    localFailedAt(i) ||
    t.ackedAt[i]! >= needed ||
    replicas - t.failedAt[i]! < needed ||
    i === t.timeoutIndex;
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const doneIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'done'));
  verifyEqual(
    respondIndex,
    trace.findIndex((_e, i) => decided(i)),
    'respond at the deciding step',
  );
  const askedAt = (i: number): number => (t.localOk && i >= t.localIndex ? replicas : 1);
  const finished = (i: number): boolean =>
    localFailedAt(i) || t.answeredAt[i] === askedAt(i) || i >= t.timeoutIndex;
  const expectedDone = trace.findIndex((_e, i) => i >= respondIndex && finished(i));
  verifyEqual(doneIndex, expectedDone, "'done' once nobody is left to answer or at the deadline");
}

/**
 * Write locally first: the start persists and arms the deadline, and nothing is sent to the
 * others until the local write is in, then exactly once to each of them, the pending replicas
 * last, hintFor as given (never when it failed).
 */
function checkOrder(o: PutOptions, trace: PutTrace, t: PutTally): void {
  const timer = {
    type: 'schedule-timeout',
    afterMs: o.requestTimeoutMs,
    fire: { type: 'timeout' },
  };
  verifyEqual(trace[0]!.effects, [{ type: 'persist-local' }, timer], 'start: persist, then arm');
  trace.slice(1).forEach((entry) => {
    const extra = entry.effects.filter(
      (e) => e.type === 'persist-local' || e.type === 'schedule-timeout',
    );
    verifyEqual(extra, [], 'persist-local and the deadline only at the start');
  });
  const sends = trace.flatMap((entry, i) =>
    entry.effects.flatMap((e) => (e.type === 'replicate' ? [{ i, e }] : [])),
  );
  const others = writeSet(o).filter((target) => target.nodeId !== o.localNodeId);
  const wanted = t.localOk
    ? others.map((target) => ({
        i: t.localIndex,
        e: { type: 'replicate', nodeId: target.nodeId, hintFor: target.hintFor },
      }))
    : [];
  verifyEqual(sends, wanted, 'replicate to every other target, only at local-written');
}

/** One respond, one done, and done is the very last effect of the run. */
export function checkEnding(effects: readonly { readonly type: string }[]): void {
  verify(effects.filter((e) => e.type === 'respond').length === 1, 'exactly one respond');
  verify(effects.filter((e) => e.type === 'done').length === 1, "exactly one 'done'");
  verify(effects.at(-1)?.type === 'done', "'done' is the last effect");
}

/**
 * `applied` is 'none' exactly when nothing was written or sent: no local write was started, or it
 * failed by the time of the answer, and no replica was ever sent the write.
 */
function checkApplied(trace: PutTrace, respondIndex: number, failure: QuorumFailure): void {
  const upToRespond = trace.slice(0, respondIndex + 1);
  const persisted = upToRespond.some((entry) =>
    entry.effects.some((e) => e.type === 'persist-local'),
  );
  const localFailed = upToRespond.some((entry) => entry.event?.type === 'local-failed');
  const sent = trace.some((entry) => entry.effects.some((e) => e.type === 'replicate'));
  const nothing = (!persisted || localFailed) && !sent;
  verifyEqual(
    failure.applied,
    nothing ? 'none' : 'maybe',
    "applied 'none' iff nothing written or sent",
  );
}

/** Validation: W+p > targets is refused at the start, before anything is written or sent. */
function checkRefused(o: PutOptions, trace: PutTrace): PutOutcome {
  const { result } = respondOf(trace);
  verifyEqual(trace.length, 1, 'a refused put starts nothing, so nothing answers it');
  verifyEqual(types(trace[0]!.effects), ['respond', 'done'], 'refused: respond, done');
  if (result.ok) throw new Error('invariant broken: a put with W+p > targets succeeded');
  checkApplied(trace, 0, result.failure);
  const { message: _message, ...failure } = result.failure;
  const expected = {
    kind: 'unavailable',
    op: 'put',
    applied: 'none',
    acked: 0,
    needed: neededOf(o),
    tried: 0,
    replicas: writeSet(o).length,
  };
  verifyEqual(failure, expected, 'refusal numbers');
  verify(result.failure.message.includes(`of ${quorumText(o)} (`), result.failure.message);
  return 'refused';
}

/** Checks every put invariant on one simulated run and says how it ended. */
export function checkPutTrace(o: PutOptions, trace: PutTrace): PutOutcome {
  checkEnding(trace.flatMap((entry) => entry.effects));
  const needed = neededOf(o);
  const replicas = writeSet(o).length;
  if (needed > replicas) return checkRefused(o, trace);
  const tally = tallyPut(o, trace);
  checkOrder(o, trace, tally);
  checkTiming(o, trace, tally);
  const { index, result } = respondOf(trace);
  const { ackedAt, timeoutIndex, localIndex, localOk } = tally;
  verify(
    result.ok === ackedAt[timeoutIndex - 1]! >= needed,
    'ok iff W+p acks came before the deadline',
  );
  if (result.ok) {
    verifyEqual(result.acked, ackedAt[index], 'acked count on success');
    // What W+p is for: however many pending replicas acked, W of the read set hold the write.
    verify(tally.preferenceAckedAt[index]! >= o.w, 'ok means W acks from the preference list');
    return 'ok';
  }
  checkApplied(trace, index, result.failure);
  const localFailed = index === localIndex && !localOk;
  const timedOut = trace[index]!.event?.type === 'timeout';
  const kind = localFailed ? 'local-failed' : timedOut ? 'timeout' : 'unavailable';
  const { message, applied: _applied, ...failure } = result.failure;
  const expected = {
    kind,
    op: 'put',
    acked: ackedAt[index]!,
    needed,
    tried: localOk && localIndex <= index ? replicas : 1,
    replicas,
  };
  verifyEqual(failure, expected, 'failure numbers');
  verify(message.includes(`acked ${expected.acked} of ${quorumText(o)} (`), `message: ${message}`);
  return kind;
}
