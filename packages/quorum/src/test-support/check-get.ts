import type { GetEffect, GetEvent, GetOptions } from '../index.js';
import { checkEnding, type Outcome } from './check-put.js';
import type { Trace } from './sim.js';
import { verify, verifyEqual } from './verify.js';
import { mergeAll, siblingOps, type Siblings } from './siblings.js';

type Answer =
  { kind: 'reply'; object: Siblings | undefined } | { kind: 'corrupt' } | { kind: 'fail' };
type GetTrace = Trace<GetEvent<Siblings>, GetEffect<Siblings>>;

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
  const behind = o.targets.filter((t) => {
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

/** Checks every get invariant on one simulated run and says how it ended. */
export function checkGetTrace(o: GetOptions<Siblings>, trace: GetTrace): Outcome {
  checkEnding(trace.flatMap((entry) => entry.effects));
  const respondIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'respond'));
  const doneIndex = trace.findIndex((entry) => entry.effects.some((e) => e.type === 'done'));
  const repairTimers = trace.flatMap((entry, i) =>
    entry.effects.some((e) => e.type === 'schedule-timeout' && e.timer === 'repair') ? [i] : [],
  );
  verify(
    repairTimers.every((i) => i === respondIndex),
    'repair timer armed only when responding',
  );
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
    acked: atRespond.length,
    needed: o.r,
    replicas: o.targets.length,
  };
  verifyEqual(failure, expected, 'failure numbers');
  return kind;
}
