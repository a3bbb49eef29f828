import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DVVSet, VersionVector } from './index.js';
import { fresh, join, sameVersion, sync, update, values } from './index.js';
import { clockProblem, descends } from './dvvset.js';
import {
  actors,
  historyArbitrary,
  modelJoin,
  runHistory,
  sortedNumbers,
  syncAll,
} from './test-support/histories.js';

const seed = 20251123;

/** The values of `c` at dots the context has not seen: value i of an entry sits at dot counter - i. */
function valuesNotCovered(c: DVVSet<number>, context: VersionVector): number[] {
  const seen = new Map(context);
  return c.entries.flatMap(({ actor, counter, values: vs }) =>
    vs.filter((_, i) => counter - i > (seen.get(actor) ?? 0)),
  );
}
const numRuns = 200;

/** A history and three of the replica states it went through. */
const statesArbitrary = fc
  .tuple(historyArbitrary, fc.nat(), fc.nat(), fc.nat())
  .map(([ops, i, j, k]) => {
    const { snapshots } = runHistory(ops);
    const empty: DVVSet<number> = { entries: [], anonymous: [] };
    const pick = (n: number): DVVSet<number> =>
      snapshots.length === 0 ? empty : snapshots[n % snapshots.length]!;
    return [pick(i), pick(j), pick(k)] as const;
  });

/** An equal clock that is not the same object, so idempotence is tested beyond `a === b`. */
const copyOf = (c: DVVSet<number>): DVVSet<number> => ({
  entries: c.entries.map((e) => ({ ...e, values: [...e.values] })),
  anonymous: [...c.anonymous],
});

/** Anonymous values keep no order a test should rely on; everything else must be identical. */
const normalized = (c: DVVSet<number>): DVVSet<number> => ({
  entries: c.entries,
  anonymous: sortedNumbers(c.anonymous),
});

describe('DVVSet against a reference model of dots', () => {
  it('every replica keeps exactly the values whose dots no context covered, and joins every dot seen', () => {
    fc.assert(
      fc.property(historyArbitrary, (ops) => {
        const { replicas, model } = runHistory(ops);
        replicas.forEach((replica, i) => {
          const reference = model[i]!;
          const live = sortedNumbers([...reference.live.values()]);
          expect(replica === undefined ? [] : sortedNumbers(values(replica))).toEqual(live);
          expect(replica === undefined ? [] : join(replica)).toEqual(modelJoin(reference));
          if (replica !== undefined) {
            expect(clockProblem(replica)).toBeUndefined();
            expect(replica.entries.length).toBeLessThanOrEqual(actors.length);
            expect(replica.anonymous).toEqual([]);
          }
        });
      }),
      { seed, numRuns },
    );
  });
});

describe('sync laws', () => {
  it('is commutative, associative and idempotent on the clocks replicas hold', () => {
    fc.assert(
      fc.property(statesArbitrary, ([a, b, c]) => {
        const ab = sync(a, b);
        expect(ab).toEqual(sync(b, a));
        expect(sync(ab, c)).toEqual(sync(a, sync(b, c)));
        expect(sync(a, copyOf(a))).toEqual(a);
        expect(sync(a, ab)).toEqual(ab);
        expect(descends(ab, a) && descends(ab, b)).toBe(true);
        expect(clockProblem(ab)).toBeUndefined();
        // on reachable clocks, having seen every dot of b means having applied b's supersessions too
        expect(sameVersion(ab, a)).toBe(descends(a, b));
        if (descends(a, b)) expect(ab).toEqual(a);
      }),
      { seed, numRuns },
    );
  });

  it('is commutative and idempotent up to the order of anonymous values', () => {
    const withAnonymous = fc
      .tuple(statesArbitrary, fc.nat(2), fc.nat(2))
      .map(
        ([[a, b, c], from, value]) => [fresh(1000 + value, join([a, b, c][from]!)), a, b] as const,
      );
    fc.assert(
      fc.property(withAnonymous, ([f, a, b]) => {
        for (const [x, y] of [
          [f, a],
          [f, b],
          [sync(f, a), fresh(1001, join(b))],
        ] as const) {
          expect(normalized(sync(x, y))).toEqual(normalized(sync(y, x)));
          expect(sync(x, copyOf(x))).toEqual(x);
          expect(sync(x, sync(x, y))).toEqual(sync(x, y));
        }
      }),
      { seed, numRuns },
    );
  });
});

describe('writes', () => {
  it('concurrent updates with the same context through the same actor all survive', () => {
    const arbitrary = fc.tuple(
      historyArbitrary,
      fc.nat(actors.length - 1),
      fc.nat(actors.length - 1),
      fc.integer({ min: 2, max: 5 }),
    );
    fc.assert(
      fc.property(arbitrary, ([ops, coordinator, readFrom, writers]) => {
        const { replicas, writes } = runHistory(ops);
        const read = replicas[readFrom];
        const context = read === undefined ? [] : join(read);
        const server = replicas[coordinator];
        let stored = server;
        const written = Array.from({ length: writers }, (_, i) => writes + i);
        for (const value of written)
          stored = update(fresh(value, context), stored, actors[coordinator]!);
        const survivors = values(stored!);
        for (const value of written) expect(survivors).toContain(value);
        // what the context had not seen survives too; what it had seen (dead or alive) is gone
        const unseen = server === undefined ? [] : valuesNotCovered(server, context);
        expect(sortedNumbers(survivors)).toEqual(sortedNumbers([...written, ...unseen]));
      }),
      { seed, numRuns },
    );
  });

  it('concurrent updates with the same context through different actors all survive the replicas syncing', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.nat(actors.length - 1), (ops, readFrom) => {
        const { replicas, writes } = runHistory(ops);
        const read = replicas[readFrom];
        const context = read === undefined ? [] : join(read);
        const after = replicas.map((replica, i) =>
          update(fresh(writes + i, context), replica, actors[i]!),
        );
        const merged = syncAll(after);
        for (let i = 0; i < actors.length; i++) expect(values(merged)).toContain(writes + i);
      }),
      { seed, numRuns },
    );
  });

  it('an update with the joined context supersedes everything it saw, on every replica after anti-entropy', () => {
    fc.assert(
      fc.property(
        historyArbitrary,
        fc.nat(actors.length - 1),
        fc.nat(actors.length - 1),
        (ops, readFrom, coordinator) => {
          const { replicas, writes } = runHistory(ops);
          const read = replicas[readFrom];
          fc.pre(read !== undefined);
          const written = update(
            fresh(writes, join(read)),
            replicas[coordinator],
            actors[coordinator]!,
          );
          const stored = replicas.map((replica, i) => (i === coordinator ? written : replica));
          const merged = syncAll(stored);
          const survivors = values(merged);
          expect(survivors).toContain(writes);
          for (const seen of values(read)) expect(survivors).not.toContain(seen);
          expect(descends(merged, read)).toBe(true);
          // a read of everything, then a write with its context, leaves a single value
          const last = update(fresh(writes + 1, join(merged)), merged, actors[coordinator]!);
          expect(values(last)).toEqual([writes + 1]);
        },
      ),
      { seed, numRuns },
    );
  });
});
