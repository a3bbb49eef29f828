import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { GetOptions, PutOptions, Target } from './index.js';
import { checkGetTrace } from './test-support/check-get.js';
import { checkPutTrace, type Outcome } from './test-support/check-put.js';
import {
  simulateGet,
  simulatePut,
  type NetworkModel,
  type ReplicaCopy,
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

/** Up to 6 targets; each may be a fallback standing in for a primary that is down. */
const targetsArbitrary: fc.Arbitrary<Target[]> = fc
  .array(fc.boolean(), { maxLength: 6 })
  .map((fallbacks) =>
    fallbacks.map((isFallback, i) => ({
      nodeId: `n${i}`,
      hintFor: isFallback ? `down${i}` : undefined,
    })),
  );

const putCase = fc.record({
  simSeed: fc.integer(),
  targets: targetsArbitrary,
  w: fc.integer({ min: 1, max: 7 }),
  localIndex: fc.nat(7), // past the end: the coordinator is not one of the targets
  localAcked: fc.boolean(),
  requestTimeoutMs: fc.integer({ min: 1, max: 250 }),
  net: networkArbitrary,
});

const copyArbitrary: fc.Arbitrary<ReplicaCopy> = fc.record({
  object: fc.option(fc.subarray(['v1', 'v2', 'v3', 'v4'], { minLength: 1 }), { nil: undefined }),
  corrupt: fc.constantFrom(false, false, false, true),
});

const getCase = fc.record({
  simSeed: fc.integer(),
  targets: targetsArbitrary,
  copies: fc.array(copyArbitrary, { minLength: 6, maxLength: 6 }),
  r: fc.integer({ min: 1, max: 7 }),
  requestTimeoutMs: fc.integer({ min: 1, max: 250 }),
  repairWaitMs: fc.integer({ min: 0, max: 100 }),
  net: networkArbitrary,
});

function tally(outcomes: readonly Outcome[]): Record<Outcome, number> {
  const counts: Record<Outcome, number> = { ok: 0, unavailable: 0, timeout: 0 };
  for (const o of outcomes) counts[o] += 1;
  return counts;
}

describe('put over a seeded fake network (drops, errors, duplicates, delays, reordering)', () => {
  it('responds once, truthfully, and is done exactly once, last', () => {
    const outcomes: Outcome[] = [];
    fc.assert(
      fc.property(putCase, (c) => {
        const options: PutOptions = {
          targets: c.targets,
          w: c.w,
          localNodeId: `n${c.localIndex}`,
          localAcked: c.localAcked,
          requestTimeoutMs: c.requestTimeoutMs,
        };
        outcomes.push(checkPutTrace(options, simulatePut(c.simSeed, options, c.net)));
      }),
      { seed, numRuns },
    );
    const counts = tally(outcomes);
    // The runs must reach every ending, or the invariants above were checked on too little.
    expect(Object.values(counts).every((n) => n > numRuns / 20)).toBe(true);
  });

  it('is deterministic: one seed, one run', () => {
    const options: PutOptions = {
      targets: [0, 1, 2, 3].map((i) => ({ nodeId: `n${i}`, hintFor: undefined })),
      w: 3,
      localNodeId: 'n0',
      localAcked: true,
      requestTimeoutMs: 100,
    };
    const net = {
      dropProbability: 0.2,
      failProbability: 0.2,
      duplicateProbability: 0.3,
      delayMaxMs: 150,
    };
    const runs = [1, 2, 3].map((s) => JSON.stringify(simulatePut(s, options, net)));
    expect(JSON.stringify(simulatePut(2, options, net))).toBe(runs[1]);
    expect(new Set(runs).size).toBeGreaterThan(1);
  });
});

describe('get over a seeded fake network (drops, errors, duplicates, delays, reordering)', () => {
  it('answers with the merge of the replies counted, repairs exactly the stale primaries, done last', () => {
    const outcomes: Outcome[] = [];
    let repairs = 0;
    fc.assert(
      fc.property(getCase, (c) => {
        const options: GetOptions<Siblings> = {
          targets: c.targets,
          r: c.r,
          requestTimeoutMs: c.requestTimeoutMs,
          repairWaitMs: c.repairWaitMs,
          ops: siblingOps,
        };
        const copies = new Map(
          c.targets.map((t, i) => {
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
    const counts = tally(outcomes);
    expect(Object.values(counts).every((n) => n > numRuns / 20)).toBe(true);
    expect(repairs).toBeGreaterThan(numRuns / 20);
  });
});
