// The delete workload's checker. Every value is written once; a delete (or a rewrite) carries the
// context of a read and supersedes exactly the values that read returned (its `covers`). From the
// history and the final reads: a value an acknowledged operation superseded and a final read still
// returns is resurrected (the tombstone was reaped while a replica still held the value, or never
// reached it); a value acknowledged and superseded by nothing that might have been applied must be
// in every final read, else it is lost. A later value of the key (a rewrite after the delete) is
// a value of its own: present, it resurrects nothing. Pure.
import { examplesMax, overloadOf, type CheckResult, type FinalRead } from './checker.js';
import { itemOf, type CompletionType, type OpEvent } from './history.js';

interface Operation {
  readonly key: string;
  readonly f: OpEvent['f'];
  readonly element: string;
  readonly covers: readonly string[];
  type: CompletionType;
  doneMs: number;
}

interface Tally {
  lost: number;
  lostEverywhere: number;
  unverified: number;
  unknownPresent: number;
  failedPresent: number;
  resurrected: number;
  readonly lostByReader: Record<string, number>;
  readonly lostExamples: { item: string; ackedAtMs: number; missingAt: string[] }[];
  readonly resurrectedExamples: { item: string; supersededAtMs: number; presentAt: string[] }[];
}

/** Checks the delete workload's history against every reader's final read. */
export function checkDeletes(events: readonly OpEvent[], reads: readonly FinalRead[]): CheckResult {
  const ops = operationsOf(events);
  const writes = new Map<string, Operation>();
  const supersededBy = new Map<string, Operation[]>();
  for (const op of ops) {
    if (op.f === 'write') writes.set(itemOf(op.key, op.element), op);
    for (const value of op.covers) {
      const item = itemOf(op.key, value);
      supersededBy.set(item, [...(supersededBy.get(item) ?? []), op]);
    }
  }
  const tally: Tally = {
    lost: 0,
    lostEverywhere: 0,
    unverified: 0,
    unknownPresent: 0,
    failedPresent: 0,
    resurrected: 0,
    lostByReader: {},
    lostExamples: [],
    resurrectedExamples: [],
  };
  for (const [item, write] of writes)
    judge(item, write, supersededBy.get(item) ?? [], reads, tally);
  const unexpected = new Set<string>();
  for (const read of reads)
    for (const item of read.present) if (!writes.has(item)) unexpected.add(item);
  const { lostByReader, lostExamples, resurrectedExamples, ...counts } = tally;
  const overload = overloadOf('delete', events);
  return {
    workload: 'delete',
    attempted: ops.length,
    acknowledged: ops.filter((o) => o.type === 'ok').length,
    failed: ops.filter((o) => o.type === 'fail').length - overload.overloaded,
    ...overload,
    unknown: ops.filter((o) => o.type === 'unknown').length,
    ...counts,
    unexpected: unexpected.size,
    lostByReader,
    lostExamples,
    unexpectedExamples: [...unexpected].slice(0, examplesMax),
    resurrectedExamples,
    valid:
      counts.lost === 0 &&
      counts.unverified === 0 &&
      unexpected.size === 0 &&
      counts.resurrected === 0,
  };
}

/** One written value: resurrected, lost, or fine. */
function judge(
  item: string,
  write: Operation,
  covering: readonly Operation[],
  reads: readonly FinalRead[],
  tally: Tally,
): void {
  const readable = reads.filter((read) => !read.unreadableKeys.has(write.key));
  const presentAt = readable.filter((read) => read.present.has(item)).map((r) => r.reader);
  const acked = covering.filter((op) => op.type === 'ok');
  if (acked.length > 0) {
    if (readable.length === 0) tally.unverified++;
    else if (presentAt.length > 0) {
      tally.resurrected++;
      if (tally.resurrectedExamples.length < examplesMax)
        tally.resurrectedExamples.push({
          item,
          supersededAtMs: Math.min(...acked.map((op) => op.doneMs)),
          presentAt,
        });
    }
    return;
  }
  // A delete that may have been applied may have removed it: nothing is concluded from absence.
  const mayBeGone = covering.some((op) => op.type !== 'fail');
  if (write.type === 'ok' && !mayBeGone) {
    if (readable.length === 0) tally.unverified++;
    const missingAt = readable.filter((r) => !r.present.has(item)).map((r) => r.reader);
    if (missingAt.length === 0) return;
    tally.lost++;
    if (presentAt.length === 0) tally.lostEverywhere++;
    for (const reader of missingAt)
      tally.lostByReader[reader] = (tally.lostByReader[reader] ?? 0) + 1;
    if (tally.lostExamples.length < examplesMax)
      tally.lostExamples.push({ item, ackedAtMs: write.doneMs, missingAt });
  } else if (presentAt.length > 0 && write.type === 'unknown') tally.unknownPresent++;
  else if (presentAt.length > 0 && write.type === 'fail') tally.failedPresent++;
}

/** Every operation of the workload with its outcome; an invoke without completion is unknown. */
function operationsOf(events: readonly OpEvent[]): Operation[] {
  const byOp = new Map<number, Operation>();
  const values = new Set<string>();
  for (const event of events) {
    if (event.workload !== 'delete') continue;
    if (event.type === 'invoke') {
      const item = itemOf(event.key, event.element);
      if (event.f === 'write' && values.has(item))
        throw new Error(
          `assertion failed: value ${item} written twice: the checker needs unique values`,
        );
      values.add(item);
      byOp.set(event.op, {
        key: event.key,
        f: event.f,
        element: event.element,
        covers: event.covers ?? [],
        type: 'unknown',
        doneMs: event.timeMs,
      });
      continue;
    }
    const op = byOp.get(event.op);
    if (op === undefined)
      throw new Error(`assertion failed: op ${event.op} completed before it was invoked`);
    op.type = event.type;
    op.doneMs = event.timeMs;
  }
  return [...byOp.values()];
}
