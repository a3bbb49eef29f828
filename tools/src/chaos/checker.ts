// The set checker, after Jepsen's: from the history and the final reads, which acknowledged items
// were lost (must be none), which unacknowledged ones made it anyway (fine), and which were present
// without ever being written (must be none). Pure.
import { itemOf, type OpEvent, type WorkloadName } from './history.js';

/** One reader's final view of the keys: a node asked with R=N, in practice. */
export interface FinalRead {
  readonly reader: string;
  /** Items (itemOf(key, element)) present in the keys this reader could read. */
  readonly present: ReadonlySet<string>;
  /** Keys this reader could not read (every attempt failed): nothing is concluded from it for them. */
  readonly unreadableKeys: ReadonlySet<string>;
}

export interface CheckResult {
  readonly workload: WorkloadName;
  readonly attempted: number;
  /** Completed ok: acknowledged. */
  readonly acknowledged: number;
  /** Completed fail: certainly not applied (refusals as overloaded apart, below). */
  readonly failed: number;
  /** Completed fail because a node refused it as overloaded (RESOURCE_EXHAUSTED), after the SDK's retries. */
  readonly overloaded: number;
  /** RESOURCE_EXHAUSTED answers the operations' attempts got, retried (and then maybe ok) or not. */
  readonly overloadAnswers: number;
  /** Completed unknown: may or may not have been applied. */
  readonly unknown: number;
  /** Acknowledged and missing from at least one reader's final read: must be 0. */
  readonly lost: number;
  /** Acknowledged and missing from every reader that could read the key. */
  readonly lostEverywhere: number;
  /** Acknowledged, but no reader could read the key: not verified. */
  readonly unverified: number;
  /** Completed unknown and present: fine (it was applied after all). */
  readonly unknownPresent: number;
  /** Completed fail and present. The SDK calls a write failed only when it proves it was not applied, so this would be a bug there. */
  readonly failedPresent: number;
  /** Present and never attempted: must be 0. */
  readonly unexpected: number;
  /** Lost items per reader that missed them. */
  readonly lostByReader: Readonly<Record<string, number>>;
  /** Up to examplesMax lost items, with their acknowledgement times. */
  readonly lostExamples: readonly {
    readonly item: string;
    readonly ackedAtMs: number;
    readonly missingAt: readonly string[];
  }[];
  readonly unexpectedExamples: readonly string[];
  /** Values an acknowledged delete (or write) superseded, present again in a final read: must be 0 (delete workload). */
  readonly resurrected: number;
  /** Up to examplesMax resurrected values, with when they were superseded and who read them. */
  readonly resurrectedExamples: readonly {
    readonly item: string;
    readonly supersededAtMs: number;
    readonly presentAt: readonly string[];
  }[];
  /** No lost, unverified, unexpected or resurrected item. */
  readonly valid: boolean;
}

/** Examples of each problem kept in a result. */
export const examplesMax = 20;

interface Outcome {
  readonly key: string;
  type: 'ok' | 'fail' | 'unknown';
  atMs: number;
}

/** Checks one workload's history against the final reads of every reader. */
export function checkSet(
  workload: WorkloadName,
  events: readonly OpEvent[],
  reads: readonly FinalRead[],
): CheckResult {
  const outcomes = outcomesOf(workload, events);
  const overload = overloadOf(workload, events);
  const counts = { ok: 0, fail: 0, unknown: 0 };
  for (const outcome of outcomes.values()) counts[outcome.type]++;
  const lostByReader: Record<string, number> = {};
  const lostExamples: { item: string; ackedAtMs: number; missingAt: string[] }[] = [];
  let lost = 0;
  let lostEverywhere = 0;
  let unverified = 0;
  let unknownPresent = 0;
  let failedPresent = 0;
  for (const [item, outcome] of outcomes) {
    const readable = reads.filter((read) => !read.unreadableKeys.has(outcome.key));
    const missingAt = readable.filter((read) => !read.present.has(item)).map((read) => read.reader);
    const present = missingAt.length < readable.length;
    if (outcome.type === 'ok') {
      if (readable.length === 0) unverified++;
      if (missingAt.length > 0) {
        lost++;
        if (!present) lostEverywhere++;
        for (const reader of missingAt) lostByReader[reader] = (lostByReader[reader] ?? 0) + 1;
        if (lostExamples.length < examplesMax)
          lostExamples.push({ item, ackedAtMs: outcome.atMs, missingAt });
      }
    } else if (present && outcome.type === 'unknown') unknownPresent++;
    else if (present) failedPresent++;
  }
  const unexpectedItems = new Set<string>();
  for (const read of reads)
    for (const item of read.present) if (!outcomes.has(item)) unexpectedItems.add(item);
  return {
    workload,
    attempted: outcomes.size,
    acknowledged: counts.ok,
    failed: counts.fail - overload.overloaded,
    ...overload,
    unknown: counts.unknown,
    lost,
    lostEverywhere,
    unverified,
    unknownPresent,
    failedPresent,
    unexpected: unexpectedItems.size,
    lostByReader,
    lostExamples,
    unexpectedExamples: [...unexpectedItems].slice(0, examplesMax),
    resurrected: 0,
    resurrectedExamples: [],
    valid: lost === 0 && unverified === 0 && unexpectedItems.size === 0,
  };
}

/** Operations of the workload refused as overloaded in the end, and the overload answers of all. */
export function overloadOf(
  workload: WorkloadName,
  events: readonly OpEvent[],
): { overloaded: number; overloadAnswers: number } {
  let overloaded = 0;
  let overloadAnswers = 0;
  for (const event of events) {
    if (event.workload !== workload || event.type === 'invoke') continue;
    if (event.overloaded === true) overloaded++;
    overloadAnswers += event.overloadAnswers ?? 0;
  }
  return { overloaded, overloadAnswers };
}

/** The outcome of every item of the workload; an invoke without completion counts as unknown. */
function outcomesOf(workload: WorkloadName, events: readonly OpEvent[]): Map<string, Outcome> {
  const outcomes = new Map<string, Outcome>();
  for (const event of events) {
    if (event.workload !== workload) continue;
    const item = itemOf(event.key, event.element);
    if (event.type === 'invoke') {
      if (outcomes.has(item))
        throw new Error(
          `assertion failed: item ${item} invoked twice: the checker needs unique elements`,
        );
      outcomes.set(item, { key: event.key, type: 'unknown', atMs: event.timeMs });
    } else {
      const outcome = outcomes.get(item);
      if (outcome === undefined)
        throw new Error(`assertion failed: ${item} completed before it was invoked`);
      outcome.type = event.type;
      outcome.atMs = event.timeMs;
    }
  }
  return outcomes;
}
