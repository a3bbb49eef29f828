import type { GetEffect, GetEvent, GetOptions } from '../index.js';
import { checkEnding } from './check-put.js';
import type { Trace } from './sim.js';
import { verify, verifyEqual } from './verify.js';
import { mergeAll, siblingOps, type Siblings } from './siblings.js';

type Answer =
  { kind: 'reply'; object: Siblings | undefined } | { kind: 'corrupt' } | { kind: 'fail' };
type GetTrace = Trace<GetEvent<Siblings>, GetEffect<Siblings>>;

export type GetOutcome = 'ok' | 'unavailable' | 'timeout';

/** The first answer of each node, as of each step of the trace. */
function answersAt(trace: GetTrace): ReadonlyMap<string, Answer>[] {
  const answers = new Map<string, Answer>();
  return trace.map(({ event }) => {
    if (event?.type === 'reply' && !answers.has(event.nodeId)) {
      answers.set(
        event.nodeId,
        event.corrupt === true ? { kind: 'corrupt' } : { kind: 'reply', object: event.object },
      );
    }
    if (event?.type === 'fail' && !answers.has(event.nodeId))
      answers.set(event.nodeId, { kind: 'fail' });
    return new Map(answers);
  });
}

const readable = (answers: ReadonlyMap<string, Answer>): (Siblings | undefined)[] =>
  [...answers.values()].flatMap((a) => (a.kind === 'reply' ? [a.object] : []));

/** Read repair: exactly the primaries that answered corrupt or behind the final merge. */
function checkRepair(
  o: GetOptions<Siblings>,
  trace: GetTrace,
  doneIndex: number,
  answers: ReadonlyMap<string, Answer>,
): void {
  const repairs = trace.flatMap((entry) => entry.effects.filter((e) => e.type === 'repair'));
  const merged = mergeAll(readable(answers));
  const behind = o.preferenceList.filter((t) => {
    const a = answers.get(t.nodeId);
    if (t.hintFor !== undefined || a === undefined || a.kind === 'fail') return false;
    return (
      a.kind === 'corrupt' ||
      a.object === undefined ||
      !siblingOps.sameVersion(a.object, merged ?? [])
    );
  });
  if (merged === undefined || behind.length === 0) {
    verifyEqual(repairs, [], 'no repair');
    return;
  }
  const wanted = [{ type: 'repair', nodeIds: behind.map((t) => t.nodeId), object: merged }];
  verifyEqual(repairs, wanted, 'repair exactly the primaries that answered corrupt or behind');
  verifyEqual(trace[doneIndex]!.effects.at(-2), repairs[0], "repair comes right before 'done'");
}

/**
 * Promptness: the get answers at the first step where R is met, out of reach, or the deadline
 * passed, and is done at the first step after that where every target answered or a timer fired.
 */
function checkTiming(
  o: GetOptions<Siblings>,
  trace: GetTrace,
  answers: ReadonlyMap<string, Answer>[],
): void {
  const reads = trace[0]!.effects.filter((e) => e.type === 'read').length;
  const timeoutIndex = trace.findIndex((entry) => entry.event?.type === 'timeout');
  const decided = (i: number): boolean => {
    const replied = readable(answers[i]!).length;
    return replied >= o.r || replied + reads - answers[i]!.size < o.r || i === timeoutIndex;
  };
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const doneIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'done'));
  verifyEqual(
    respondIndex,
    trace.findIndex((_e, i) => decided(i)),
    'respond at the deciding step',
  );
  const timer = (i: number): boolean =>
    trace[i]!.event?.type === 'timeout' || trace[i]!.event?.type === 'repair-timeout';
  const finished = (i: number): boolean => answers[i]!.size === reads || timer(i);
  const expectedDone = trace.findIndex((_e, i) => i >= respondIndex && finished(i));
  verifyEqual(doneIndex, expectedDone, "'done' once all answered or a timer fired");
}

/**
 * Each timer carries the event it fires: the request deadline is armed at the start (unless the
 * get is refused there), the repair wait only at the step that responds.
 */
function checkTimers(o: GetOptions<Siblings>, trace: GetTrace, respondIndex: number): void {
  const timers = trace.flatMap((entry, i) =>
    entry.effects.flatMap((e) => (e.type === 'schedule-timeout' ? [{ i, e }] : [])),
  );
  const request = {
    type: 'schedule-timeout',
    afterMs: o.requestTimeoutMs,
    fire: { type: 'timeout' },
  };
  const repair = {
    type: 'schedule-timeout',
    afterMs: o.repairWaitMs,
    fire: { type: 'repair-timeout' },
  };
  const refused = o.r > o.preferenceList.length;
  verifyEqual(timers[0], refused ? undefined : { i: 0, e: request }, 'request deadline at start');
  const rest = timers.slice(refused ? 0 : 1);
  verify(rest.length <= 1, 'at most one repair wait');
  if (rest[0] !== undefined) {
    verifyEqual(rest[0], { i: respondIndex, e: repair }, 'repair wait armed when responding');
  }
}

/** Checks every get invariant on one simulated run and says how it ended. */
export function checkGetTrace(o: GetOptions<Siblings>, trace: GetTrace): GetOutcome {
  checkEnding(trace.flatMap((entry) => entry.effects));
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const doneIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'done'));
  checkTimers(o, trace, respondIndex);
  const answers = answersAt(trace);
  checkTiming(o, trace, answers);
  checkRepair(o, trace, doneIndex, answers[doneIndex]!);
  const timeoutIndex = trace.findIndex((entry) => entry.event?.type === 'timeout');
  const beforeTimeout = timeoutIndex === -1 ? answers.at(-1)! : answers[timeoutIndex - 1]!;
  const respond = trace[respondIndex]!.effects.find((e) => e.type === 'respond');
  if (respond?.type !== 'respond') throw new Error('unreachable: respond located above');
  const enough = readable(beforeTimeout).length >= o.r;
  verify(respond.result.ok === enough, 'ok iff R readable replies arrived before the deadline');
  const atRespond = readable(answers[respondIndex]!);
  if (respond.result.ok) {
    verifyEqual(
      respond.result.object,
      mergeAll(atRespond),
      'answer is the merge of the replies counted',
    );
    return 'ok';
  }
  const kind = trace[respondIndex]!.event?.type === 'timeout' ? 'timeout' : 'unavailable';
  const { message: _message, ...failure } = respond.result.failure;
  const expected = {
    kind,
    op: 'get',
    applied: 'none',
    acked: atRespond.length,
    needed: o.r,
    tried: o.r > o.preferenceList.length ? 0 : o.preferenceList.length,
    replicas: o.preferenceList.length,
  };
  verifyEqual(failure, expected, 'failure numbers');
  return kind;
}
