import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkSet, type FinalRead } from './checker.js';
import { History, itemOf } from './history.js';
import { decodeSet, mergeFor, type SetMerge } from './set-value.js';

function read(reader: string, items: string[], unreadable: string[] = []): FinalRead {
  return { reader, present: new Set(items), unreadableKeys: new Set(unreadable) };
}

/** A history of unique-key writes: ok for k0..k3, unknown for k4, fail for k5. */
function uniqueHistory(): History {
  const history = new History(() => 0);
  const outcomes = ['ok', 'ok', 'ok', 'ok', 'unknown', 'fail'] as const;
  outcomes.forEach((type, i) =>
    history.complete(history.invoke('unique-keys', 0, 'write', `k${i}`, `v${i}`), type),
  );
  return history;
}

const acked = ['k0=v0', 'k1=v1', 'k2=v2', 'k3=v3'];

describe('checkSet', () => {
  it('passes when every acknowledged item is in every final read, whatever became of unknown and failed ones', () => {
    const result = checkSet('unique-keys', uniqueHistory().events, [
      read('n1', [...acked, 'k4=v4']),
      read('n2', acked),
    ]);
    expect(result).toMatchObject({
      attempted: 6,
      acknowledged: 4,
      unknown: 1,
      failed: 1,
      lost: 0,
      unknownPresent: 1,
      failedPresent: 0,
      unexpected: 0,
      valid: true,
    });
  });

  it('reports a lost acknowledged write when one is removed from one final read', () => {
    const result = checkSet('unique-keys', uniqueHistory().events, [
      read('n1', acked),
      read(
        'n2',
        acked.filter((i) => i !== 'k2=v2'),
      ),
    ]);
    expect(result.valid).toBe(false);
    expect(result.lost).toBe(1);
    expect(result.lostEverywhere).toBe(0);
    expect(result.lostByReader).toEqual({ n2: 1 });
    expect(result.lostExamples).toEqual([{ item: 'k2=v2', ackedAtMs: 0, missingAt: ['n2'] }]);
  });

  it('reports an item lost everywhere, an unexpected item, and an unreadable key as unverified', () => {
    const missing = acked.filter((i) => i !== 'k0=v0');
    const lostEverywhere = checkSet('unique-keys', uniqueHistory().events, [
      read('n1', missing),
      read('n2', missing),
    ]);
    expect(lostEverywhere).toMatchObject({ lost: 1, lostEverywhere: 1, valid: false });
    const unexpected = checkSet('unique-keys', uniqueHistory().events, [
      read('n1', [...acked, 'k9=v9']),
    ]);
    expect(unexpected).toMatchObject({
      lost: 0,
      unexpected: 1,
      unexpectedExamples: ['k9=v9'],
      valid: false,
    });
    // k1 unreadable on n1 only: n2's read decides; unreadable everywhere: unverified, not lost.
    const partly = checkSet('unique-keys', uniqueHistory().events, [
      read(
        'n1',
        missing.filter((i) => i !== 'k1=v1'),
        ['k0', 'k1'],
      ),
      read('n2', missing, ['k0']),
    ]);
    expect(partly).toMatchObject({ lost: 0, unverified: 1, valid: false });
  });

  it('counts an operation left without completion as unknown, and a failed write that is present as failedPresent', () => {
    const history = new History(() => 0);
    history.invoke('set', 0, 'add', 's', '1');
    history.complete(history.invoke('set', 0, 'add', 's', '2'), 'fail');
    const result = checkSet('set', history.events, [read('n1', ['s=1', 's=2'])]);
    expect(result).toMatchObject({
      unknown: 1,
      failed: 1,
      unknownPresent: 1,
      failedPresent: 1,
      valid: true,
    });
  });

  it('counts refusals as overloaded apart from failures, and every overload answer, retried or not', () => {
    const history = new History(() => 0);
    history.complete(history.invoke('set', 0, 'add', 's', '1'), 'ok', { overloadAnswers: 2 });
    history.complete(history.invoke('set', 0, 'add', 's', '2'), 'fail', {
      overloadAnswers: 3,
      overloaded: true,
    });
    history.complete(history.invoke('set', 0, 'add', 's', '3'), 'fail');
    history.complete(history.invoke('unique-keys', 0, 'write', 'k', 'v'), 'fail', {
      overloadAnswers: 1,
      overloaded: true,
    });
    const result = checkSet('set', history.events, [read('n1', ['s=1'])]);
    expect(result).toMatchObject({
      attempted: 3,
      acknowledged: 1,
      failed: 1,
      overloaded: 1,
      overloadAnswers: 5,
      lost: 0,
      valid: true,
    });
  });
});

/**
 * A one-key store with dotted siblings, as a Ringstore replica set looks to one client: a read
 * returns the live siblings and the dots it saw; a write with that context replaces exactly those
 * siblings and keeps the ones it did not see (concurrent writes survive as siblings).
 */
class SiblingStore {
  private siblings: { dot: number; value: Buffer }[] = [];
  private nextDot = 0;
  read(): { values: Buffer[]; context: Set<number> } {
    return {
      values: this.siblings.map((s) => s.value),
      context: new Set(this.siblings.map((s) => s.dot)),
    };
  }
  write(value: Buffer, context: ReadonlySet<number>): void {
    this.siblings = [
      ...this.siblings.filter((s) => !context.has(s.dot)),
      { dot: this.nextDot++, value },
    ];
  }
}

/** Runs adds of elements 0..n-1 as read-merge-write rounds, their steps interleaved in `order`. */
function simulate(
  mode: SetMerge,
  order: readonly number[],
): { history: History; finals: FinalRead[] } {
  const store = new SiblingStore();
  const history = new History(() => 0);
  const pending = new Map<number, { op: number; seen?: ReturnType<SiblingStore['read']> }>();
  for (const element of order) {
    const state = pending.get(element);
    if (state === undefined) {
      pending.set(element, {
        op: history.invoke('set', element, 'add', 's', String(element)),
        seen: store.read(),
      });
    } else if (state.seen !== undefined) {
      store.write(mergeFor(mode, String(element), element)(state.seen.values), state.seen.context);
      history.complete(state.op, 'ok');
      pending.set(element, { op: state.op });
    }
  }
  const elements = store.read().values.flatMap((v) => decodeSet(v).elements);
  return {
    history,
    finals: [
      read(
        'store',
        elements.map((e) => itemOf('s', e)),
      ),
    ],
  };
}

describe('the last-writer-wins self-test', () => {
  // Two adds read the empty set concurrently (siblings), then a third resolves them.
  const concurrent = [0, 1, 0, 1, 2, 2];

  it('reports the acknowledged elements that resolving siblings by last-writer-wins throws away', () => {
    const { history, finals } = simulate('lww', concurrent);
    const result = checkSet('set', history.events, finals);
    expect(result.acknowledged).toBe(3);
    expect(result.lost).toBe(1);
    expect(result.valid).toBe(false);
  });

  it('finds nothing lost when siblings are merged by union, for any interleaving', () => {
    expect(
      checkSet(
        'set',
        simulate('union', concurrent).history.events,
        simulate('union', concurrent).finals,
      ).lost,
    ).toBe(0);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 1, maxLength: 40 }),
        (choices) => {
          const { history, finals } = simulate('union', interleave(choices));
          expect(checkSet('set', history.events, finals)).toMatchObject({ lost: 0, valid: true });
        },
      ),
      { seed: 5, numRuns: 300 },
    );
  });
});

/** An interleaving of read and write steps: each distinct element read at its first mention, written at its second. */
function interleave(choices: readonly number[]): number[] {
  const seen = new Map<number, number>();
  const order: number[] = [];
  for (const c of choices) {
    const count = seen.get(c) ?? 0;
    if (count < 2) {
      order.push(c);
      seen.set(c, count + 1);
    }
  }
  for (const [c, count] of seen) if (count < 2) order.push(c);
  return order;
}
