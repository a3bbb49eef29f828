import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PreferenceEntry } from '@ringstore/ring';
import type { GetOptions, PutEffect, PutEvent, PutOptions, QuorumFailure } from './index.js';
import { checkGetTrace, type GetOutcome } from './test-support/check-get.js';
import { checkPutTrace, type PutOutcome } from './test-support/check-put.js';
import {
  simulateGet,
  simulatePut,
  type DiskModel,
  type NetworkModel,
  type ReplicaCopy,
  type Trace,
} from './test-support/sim.js';
import { siblingOps, siblings, type Siblings } from './test-support/siblings.js';

const seed = 20250611;
const numRuns = 1500;

const networkArbitrary: fc.Arbitrary<NetworkModel> = fc.record({
  dropProbability: fc.constantFrom(0, 0.05, 0.2, 0.5),
  failProbability: fc.constantFrom(0, 0.1, 0.3, 0.7),
  duplicateProbability: fc.constantFrom(0, 0.2, 0.5),
  delayMaxMs: fc.integer({ min: 0, max: 200 }),
});

/** Mostly a quick local write; sometimes one slower than the deadline (250 ms at most). */
const diskArbitrary: fc.Arbitrary<DiskModel> = fc.record({
  failProbability: fc.constantFrom(0, 0.1, 0.3),
  delayMaxMs: fc.oneof(
    { arbitrary: fc.integer({ min: 0, max: 20 }), weight: 3 },
    { arbitrary: fc.integer({ min: 0, max: 300 }), weight: 1 },
  ),
});

/** Up to 6 targets; each may be a fallback standing in for a primary that is down. */
const targetsArbitrary = (minLength: number): fc.Arbitrary<PreferenceEntry[]> =>
  fc.array(fc.boolean(), { minLength, maxLength: 6 }).map((fallbacks) =>
    fallbacks.map((isFallback, i) => ({
      nodeId: `n${i}`,
      hintFor: isFallback ? `down${i}` : undefined,
    })),
  );

/**
 * 0..2 replicas being swapped in by a transfer, named apart from the preference list; the put
 * passes hintFor through untouched, so some carry one.
 */
const pendingArbitrary: fc.Arbitrary<PreferenceEntry[]> = fc
  .array(fc.boolean(), { maxLength: 2 })
  .map((hinted) =>
    hinted.map((isHinted, i) => ({
      nodeId: `p${i}`,
      hintFor: isHinted ? `down-p${i}` : undefined,
    })),
  );

// A put needs a coordinator, and the coordinator is always one of the targets (never pending).
const putCase = fc.record({
  simSeed: fc.integer(),
  preferenceList: targetsArbitrary(1),
  pending: pendingArbitrary,
  // W = preference list - wBelowTargets (at least 1): at -1, W+p exceeds every target: refused.
  wBelowTargets: fc.integer({ min: -1, max: 2 }),
  localIndex: fc.nat(), // taken modulo the number of targets
  requestTimeoutMs: fc.integer({ min: 1, max: 250 }),
  net: networkArbitrary,
  disk: diskArbitrary,
});

const copyArbitrary: fc.Arbitrary<ReplicaCopy> = fc.record({
  object: fc.option(fc.subarray(['v1', 'v2', 'v3', 'v4'], { minLength: 1 }), { nil: undefined }),
  corrupt: fc.constantFrom(false, false, false, true),
});

const getCase = fc.record({
  simSeed: fc.integer(),
  preferenceList: targetsArbitrary(0),
  copies: fc.array(copyArbitrary, { minLength: 6, maxLength: 6 }),
  r: fc.integer({ min: 1, max: 7 }),
  requestTimeoutMs: fc.integer({ min: 1, max: 250 }),
  repairWaitMs: fc.integer({ min: 0, max: 100 }),
  net: networkArbitrary,
});

/** How many runs ended each way; every ending must be reached, or too little was checked. */
function tally<O extends string>(endings: readonly O[], outcomes: readonly O[]): Map<O, number> {
  const counts = new Map(endings.map((e) => [e, 0]));
  for (const o of outcomes) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

const putEndings: PutOutcome[] = ['ok', 'refused', 'local-failed', 'unavailable', 'timeout'];
const getEndings: GetOutcome[] = ['ok', 'unavailable', 'timeout'];

/** The failure a put responded with, if it failed. */
function putFailureOf(trace: Trace<PutEvent, PutEffect>): QuorumFailure | undefined {
  const respond = trace.flatMap((entry) => entry.effects).find((e) => e.type === 'respond');
  return respond?.type === 'respond' && !respond.result.ok ? respond.result.failure : undefined;
}

describe('put over a seeded fake network (drops, errors, duplicates, delays, reordering)', () => {
  it('writes locally first, responds once, truthfully (applied too), done once, last', () => {
    const outcomes: PutOutcome[] = [];
    /** The outcomes again, by whether the put had pending replicas (W+p) or not (W alone). */
    const byPending = { none: [] as PutOutcome[], some: [] as PutOutcome[] };
    let lateLocalWrites = 0;
    fc.assert(
      fc.property(putCase, (c) => {
        const options: PutOptions = {
          preferenceList: c.preferenceList,
          pending: c.pending,
          w: Math.max(1, c.preferenceList.length - c.wBelowTargets),
          localNodeId: `n${c.localIndex % c.preferenceList.length}`,
          requestTimeoutMs: c.requestTimeoutMs,
        };
        const trace = simulatePut(c.simSeed, options, c.net, c.disk);
        const outcome = checkPutTrace(options, trace);
        outcomes.push(outcome);
        byPending[c.pending.length === 0 ? 'none' : 'some'].push(outcome);
        const failure = putFailureOf(trace);
        if (failure?.kind === 'timeout' && failure.tried === 1) lateLocalWrites += 1;
      }),
      { seed, numRuns },
    );
    const counts = tally(putEndings, outcomes);
    // The runs must reach every ending, or the invariants above were checked on too little.
    expect([...counts].filter(([, n]) => n <= numRuns / 20)).toEqual([]);
    // So must the runs with pending replicas (W+p decides) and those without (W alone).
    for (const group of [byPending.none, byPending.some]) {
      expect([...tally(putEndings, group)].filter(([, n]) => n <= numRuns / 50)).toEqual([]);
    }
    expect(lateLocalWrites).toBeGreaterThan(numRuns / 100);
  });

  it('is deterministic: one seed, one run', () => {
    const options: PutOptions = {
      preferenceList: [0, 1, 2, 3].map((i) => ({ nodeId: `n${i}`, hintFor: undefined })),
      w: 3,
      localNodeId: 'n0',
      requestTimeoutMs: 100,
    };
    const net = {
      dropProbability: 0.2,
      failProbability: 0.2,
      duplicateProbability: 0.3,
      delayMaxMs: 150,
    };
    const disk = { failProbability: 0.2, delayMaxMs: 50 };
    const runs = [1, 2, 3].map((s) => JSON.stringify(simulatePut(s, options, net, disk)));
    expect(JSON.stringify(simulatePut(2, options, net, disk))).toBe(runs[1]);
    expect(new Set(runs).size).toBeGreaterThan(1);
  });
});

describe('get over a seeded fake network (drops, errors, duplicates, delays, reordering)', () => {
  it('answers with the merge of the replies counted, repairs exactly the stale primaries, done last', () => {
    const outcomes: GetOutcome[] = [];
    let repairs = 0;
    fc.assert(
      fc.property(getCase, (c) => {
        const options: GetOptions<Siblings> = {
          preferenceList: c.preferenceList,
          r: c.r,
          requestTimeoutMs: c.requestTimeoutMs,
          repairWaitMs: c.repairWaitMs,
          ops: siblingOps,
        };
        const copies = new Map(
          c.preferenceList.map((t, i) => {
            const copy = c.copies[i]!;
            return [
              t.nodeId,
              { ...copy, object: copy.object && siblings(...copy.object) },
            ] as const;
          }),
        );
        const trace = simulateGet(c.simSeed, options, copies, c.net);
        outcomes.push(checkGetTrace(options, trace));
        if (trace.some((entry) => entry.effects.some((e) => e.type === 'repair'))) repairs += 1;
      }),
      { seed, numRuns },
    );
    const counts = tally(getEndings, outcomes);
    expect([...counts].filter(([, n]) => n <= numRuns / 20)).toEqual([]);
    expect(repairs).toBeGreaterThan(numRuns / 20);
  });
});
