import type { PutEffect, PutEvent, PutOptions } from '../index.js';
import type { Trace } from './sim.js';
import { verify, verifyEqual } from './verify.js';

export type Outcome = 'ok' | 'unavailable' | 'timeout';

interface PutTally {
  /** The coordinator's own write (when it counts) plus distinct first-answer acks, at each step. */
  readonly ackedAt: number[];
  /** Targets written to that have not answered yet, at each step. */
  readonly unansweredAt: number[];
  /** Index of the first delivered request timeout, or trace.length when none arrived. */
  readonly timeoutIndex: number;
}

/** Replays the trace the way a judge would: first answer per node wins, duplicates ignored. */
function tallyPut(o: PutOptions, trace: Trace<PutEvent, PutEffect>): PutTally {
  const localCounts = o.localAcked && o.targets.some((t) => t.nodeId === o.localNodeId);
  const unanswered = new Set(
    trace[0]!.effects.flatMap((e) => (e.type === 'replicate' ? [e.nodeId] : [])),
  );
  let acked = localCounts ? 1 : 0;
  let timeoutIndex = trace.length;
  const ackedAt: number[] = [];
  const unansweredAt: number[] = [];
  trace.forEach(({ event }, i) => {
    if (event?.type === 'timeout') timeoutIndex = Math.min(timeoutIndex, i);
    if ((event?.type === 'ack' || event?.type === 'fail') && unanswered.has(event.nodeId)) {
      unanswered.delete(event.nodeId);
      if (event.type === 'ack') acked += 1;
    }
    ackedAt.push(acked);
    unansweredAt.push(unanswered.size);
  });
  return { ackedAt, unansweredAt, timeoutIndex };
}

/**
 * Promptness: the put answers at the first step where W is met, out of reach, or the deadline
 * passed (not earlier, not later), and is done at the first step after that where nobody is left
 * to answer or the deadline passed.
 */
function checkTiming(o: PutOptions, trace: Trace<PutEvent, PutEffect>, t: PutTally): void {
  const decided = (i: number): boolean =>
    t.ackedAt[i]! >= o.w || t.ackedAt[i]! + t.unansweredAt[i]! < o.w || i === t.timeoutIndex;
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const doneIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'done'));
  verifyEqual(
    respondIndex,
    trace.findIndex((_e, i) => decided(i)),
    'respond at the deciding step',
  );
  const finished = (i: number): boolean => t.unansweredAt[i] === 0 || i >= t.timeoutIndex;
  const expectedDone = trace.findIndex((_e, i) => i >= respondIndex && finished(i));
  verifyEqual(doneIndex, expectedDone, "'done' once nobody is left to answer or at the deadline");
}

function checkReplicates(o: PutOptions, effects: readonly PutEffect[]): void {
  const localCounts = o.localAcked && o.targets.some((t) => t.nodeId === o.localNodeId);
  const replicated = effects.flatMap((e) => (e.type === 'replicate' ? [e] : []));
  const expected =
    o.w > o.targets.length
      ? []
      : o.targets.filter((t) => !(localCounts && t.nodeId === o.localNodeId));
  const wanted = expected.map((t) => ({ type: 'replicate', nodeId: t.nodeId, hintFor: t.hintFor }));
  verifyEqual(replicated, wanted, 'replicate to every target but a coordinator that already wrote');
}

/** One respond, one done, and done is the very last effect of the run. */
export function checkEnding(effects: readonly { readonly type: string }[]): void {
  verify(effects.filter((e) => e.type === 'respond').length === 1, 'exactly one respond');
  verify(effects.filter((e) => e.type === 'done').length === 1, "exactly one 'done'");
  verify(effects.at(-1)?.type === 'done', "'done' is the last effect");
}

/** Checks every put invariant on one simulated run and says how it ended. */
export function checkPutTrace(o: PutOptions, trace: Trace<PutEvent, PutEffect>): Outcome {
  const effects = trace.flatMap((entry) => entry.effects);
  checkEnding(effects);
  checkReplicates(o, effects);
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const respond = trace[respondIndex]!.effects.find((e) => e.type === 'respond');
  if (respond?.type !== 'respond') throw new Error('unreachable: respond located above');
  const tally = tallyPut(o, trace);
  checkTiming(o, trace, tally);
  const { ackedAt, timeoutIndex } = tally;
  const ackedBeforeTimeout = timeoutIndex === 0 ? ackedAt[0]! : ackedAt[timeoutIndex - 1]!;
  verify(
    respond.result.ok === ackedBeforeTimeout >= o.w,
    'ok iff W acks arrived before the deadline',
  );
  const ackedAtRespond = ackedAt[respondIndex]!;
  if (respond.result.ok) {
    verifyEqual(respond.result.acked, ackedAtRespond, 'acked count on success');
    return 'ok';
  }
  const kind = trace[respondIndex]!.event?.type === 'timeout' ? 'timeout' : 'unavailable';
  const { message, ...failure } = respond.result.failure;
  const expected = {
    kind,
    op: 'put',
    acked: ackedAtRespond,
    needed: o.w,
    replicas: o.targets.length,
  };
  verifyEqual(failure, expected, 'failure numbers');
  verify(
    message.includes(`acked ${ackedAtRespond} of W=${o.w}`),
    `message says the numbers: ${message}`,
  );
  return kind;
}
