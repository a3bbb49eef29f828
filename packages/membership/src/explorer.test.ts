import { describe, expect, it } from 'vitest';
import type { ChangeCommand, RingDocument } from './index.js';
import { advanceTransfers, completeTransition, lastChange, transferStates } from './index.js';
import { committedOf, documentOf, join, leave, stagedOf } from './test-support/documents.js';
import {
  explore,
  lastChangeInSequence,
  partitionModel,
  type Exploration,
  type ExplorerOptions,
  type PartitionModel,
} from './test-support/transition-explorer.js';

/**
 * The brute-force explorer of MEMBERSHIP.md section 5. Invariant checked in every reachable state:
 * once a write has W + p acks, every read that could run (planned under any version written so
 * far, sent to that version's read set from partitionReplicas, answered by R replicas the fence
 * lets answer) returns it; with N=3, W=2, R=2 that is "an acked write is seen by every later read
 * at R, R + W > N", through a whole join or leave.
 */
const writeQuorum = 2;
const readQuorum = 2;
/**
 * Above what one partition of these transitions reaches (alike parties merged): about 15,000
 * states with one receiver, 56,000 with two, 226,000 with one receiver and a crash.
 */
const statesMax = 1_000_000;

/**
 * The documents of one transition as the claimant writes them, from the real functions: the
 * commit, every transfer moved one state at a time (all together, as the global flip does), then
 * completion. Versions 1..7.
 */
function transition(before: RingDocument, changes: readonly ChangeCommand[]): RingDocument[] {
  const docs = [before, committedOf(before, stagedOf(before, changes)).document];
  for (const state of transferStates.slice(0, -1)) {
    const last = docs[docs.length - 1]!;
    const partitions = last.transfers.filter((t) => t.state === state).map((t) => t.partition);
    const outcome = advanceTransfers(last, partitions, state);
    if (!outcome.ok) throw new Error(outcome.refusal.message);
    docs.push(outcome.document);
  }
  const completed = completeTransition(docs[docs.length - 1]!);
  if (!completed.ok) throw new Error(completed.refusal.message);
  return [...docs, completed.document];
}

/**
 * Q=8, N=3: n5 joins n1..n4; n2 (not the claimant) leaves n1..n5; n6 and n7 join n1..n5 in one
 * transition (partition 7 changes two replicas: writes need W + 2 acks of 5).
 */
const scenarios = [
  { name: 'join of n5 to n1..n4', docs: transition(documentOf(4, 8), [join('n5')]) },
  { name: 'leave of n2 from n1..n5', docs: transition(documentOf(5, 8), [leave('n2')]) },
  {
    name: 'join of n6 and n7 to n1..n5',
    docs: transition(documentOf(5, 8), [join('n6'), join('n7')]),
  },
];

/**
 * Every partition with a transfer, grouped by shape (the same sets over the versions, nodes
 * renamed): one exploration per shape covers them all.
 */
function shapes(fence: ExplorerOptions['fence']): { model: PartitionModel; names: string[] }[] {
  const byShape = new Map<string, { model: PartitionModel; names: string[] }>();
  for (const { name, docs } of scenarios) {
    for (const t of docs[1]!.transfers) {
      const model = partitionModel(docs, t.partition, fence);
      const { partition: _partition, parties: _parties, ...shape } = model;
      const key = JSON.stringify(shape);
      const entry = byShape.get(key) ?? { model, names: [] };
      entry.names.push(`${name}, partition ${t.partition} (${model.parties.join(' ')})`);
      byShape.set(key, entry);
    }
  }
  return [...byShape.values()];
}

type Variant = Pick<ExplorerOptions, 'catchUp' | 'fence' | 'crashesMax'>;

function exploreAll(
  variant: Variant,
  receiversMax = Number.POSITIVE_INFINITY,
): (Exploration & { names: string[] })[] {
  const options: ExplorerOptions = { writeQuorum, readQuorum, statesMax, ...variant };
  return shapes(variant.fence)
    .filter(({ model }) => model.receivers.length <= receiversMax)
    .map(({ model, names }) => ({ names, ...explore(model, options) }));
}

function expectNoCounterexample(variant: Variant, receiversMax?: number): void {
  const results = exploreAll(variant, receiversMax);
  expect(results.length).toBeGreaterThan(0);
  for (const r of results) {
    console.log(`${JSON.stringify(variant)}: ${r.states} states for ${r.names.join('; ')}`);
    expect(r.counterexample, r.counterexample?.join('\n')).toBeUndefined();
  }
}

function expectCounterexample(variant: Variant): void {
  const found = exploreAll(variant).find((r) => r.counterexample !== undefined);
  expect(found, `no counterexample for ${JSON.stringify(variant)}`).toBeDefined();
  console.log(
    `${JSON.stringify(variant)}, ${found?.names[0]}:\n  ${found?.counterexample?.join('\n  ')}`,
  );
}

describe('transition explorer: no acknowledged write is lost', () => {
  it('holds for every interleaving of each transition, with the fence from the sets or the document', () => {
    expectNoCounterexample({ catchUp: true, fence: 'sets', crashesMax: 0 });
    expectNoCounterexample({ catchUp: true, fence: 'document', crashesMax: 0 });
  });

  // The claimant's barrier skips down parties, which come back holding an old version. Partitions
  // with one receiver only: with two, a crash makes 3.4 million states (about 45 s).
  it('holds when a party goes down and comes back mid-transition (barrier skipping it), one receiver', () => {
    expectNoCounterexample({ catchUp: true, fence: 'document', crashesMax: 1 }, 1);
  });

  it("uses a fence at least as strict as the sets' last change: the document's lastChange", () => {
    for (const { docs } of scenarios) {
      for (const doc of docs) {
        for (let p = 0; p < doc.ring.partitionCount; p++) {
          const fromSets = lastChangeInSequence(docs, p, doc.version);
          expect(lastChange(doc, p)).toBeGreaterThanOrEqual(fromSets);
          expect(lastChange(doc, p)).toBeLessThanOrEqual(doc.version);
        }
      }
    }
  });
});

describe('transition explorer: self-test', () => {
  // A receiver that streamed from an old replica without the write (its source failed over, or
  // the write missed the displaced one) holds it only after catch-up copies every old replica.
  it('finds a lost write when receivers only stream, without catch-up', () => {
    expectCounterexample({ catchUp: false, fence: 'sets', crashesMax: 0 });
  });

  // A coordinator still on the ring before the commit writes only to the old replicas.
  it('finds a lost write without the fence', () => {
    expectCounterexample({ catchUp: true, fence: 'none', crashesMax: 0 });
  });
});
