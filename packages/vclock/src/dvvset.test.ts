import { describe, expect, it } from 'vitest';
import type { DVVSet } from './index.js';
import { fresh, join, sameVersion, sync, update, values } from './index.js';
import { AssertionError } from './assert.js';
import { clockProblem, descends } from './dvvset.js';

// Examples ported from the eunit tests of Riak's dvvset.erl (basho/riak_kv, src/dvvset.erl).
// `create(new(V), a)` there is `update(fresh(v), undefined, 'a')` here.

type Clock = DVVSet<string>;
const clock = (entries: [string, number, string[]][], anonymous: string[] = []): Clock => ({
  entries: entries.map(([actor, counter, vs]) => ({ actor, counter, values: vs })),
  anonymous,
});
const create = (value: string, actor: string): Clock => update(fresh(value), undefined, actor);

describe('fresh and join', () => {
  it('join lists the dots a clock has seen (join_test)', () => {
    const a = fresh('v1');
    const a1 = update(a, undefined, 'a');
    const b1 = update(fresh('v2', join(a1)), a1, 'b');
    expect(join(a)).toEqual([]);
    expect(join(a1)).toEqual([['a', 1]]);
    expect(join(b1)).toEqual([
      ['a', 1],
      ['b', 1],
    ]);
  });

  it('fresh keeps the context as entries without values', () => {
    expect(fresh('v', [['a', 2]])).toEqual(clock([['a', 2, []]], ['v']));
  });

  it('fresh refuses a context that is not a sorted version vector', () => {
    expect(() =>
      fresh('v', [
        ['b', 1],
        ['a', 1],
      ]),
    ).toThrow(AssertionError);
    expect(() => fresh('v', [['a', 0]])).toThrow(AssertionError);
    expect(() => fresh('v', [['', 1]])).toThrow(AssertionError);
  });
});

describe('update', () => {
  it('discards what the context covers and adds the next dot (update_test)', () => {
    const a0 = create('v1', 'a');
    const a1 = update(fresh('v2', join(a0)), a0, 'a');
    const a2 = update(fresh('v3', join(a1)), a1, 'b');
    const a3 = update(fresh('v4', join(a0)), a1, 'b');
    const a4 = update(fresh('v5', join(a0)), a1, 'a');
    expect(a0).toEqual(clock([['a', 1, ['v1']]]));
    expect(a1).toEqual(clock([['a', 2, ['v2']]]));
    expect(a2).toEqual(
      clock([
        ['a', 2, []],
        ['b', 1, ['v3']],
      ]),
    );
    expect(a3).toEqual(
      clock([
        ['a', 2, ['v2']],
        ['b', 1, ['v4']],
      ]),
    );
    expect(a4).toEqual(clock([['a', 3, ['v5', 'v2']]]));
  });

  it('keeps a value written without context beside the older ones (syn_update_test)', () => {
    const a0 = create('v1', 'a'); // Mary writes v1 without context
    const vv1 = join(a0); // Mary reads v1 with context vv1
    const a1 = update(fresh('v2'), a0, 'a'); // Peter writes v2 without context
    const a2 = update(fresh('v3', vv1), a1, 'a'); // Mary writes v3 with context vv1
    expect(vv1).toEqual([['a', 1]]);
    expect(a1).toEqual(clock([['a', 2, ['v2', 'v1']]]));
    expect(a2).toEqual(clock([['a', 3, ['v3', 'v2']]])); // v3 supersedes v1 only
  });

  it('inserts a new actor in sorted position (event_test)', () => {
    const a = create('v1', 'b');
    expect(update(fresh('v2', join(a)), a, 'a')).toEqual(
      clock([
        ['a', 1, ['v2']],
        ['b', 1, []],
      ]),
    );
    expect(update(fresh('v2'), a, 'c')).toEqual(
      clock([
        ['b', 1, ['v1']],
        ['c', 1, ['v2']],
      ]),
    );
  });

  it('takes only fresh client clocks and well-formed actors', () => {
    const a = create('v1', 'a');
    expect(() => update(a, undefined, 'b')).toThrow(AssertionError);
    expect(() => update(fresh('v'), undefined, '')).toThrow(AssertionError);
    expect(() => update(fresh('v'), undefined, 'x\ud800')).toThrow(AssertionError);
  });
});

describe('sync', () => {
  const x = clock([['x', 1, []]]);
  const a = create('v1', 'a');
  const y = create('v2', 'b');
  const a1 = update(fresh('v2', join(a)), undefined, 'a');
  const a3 = update(fresh('v3', join(a1)), a1, 'b');
  const a4 = update(fresh('v3', join(a1)), a1, 'c');

  it('merges as Riak does (sync_test)', () => {
    const w = clock([['a', 1, []]]);
    const z = clock([['a', 2, ['v2', 'v1']]]);
    expect(sync(w, z)).toEqual(clock([['a', 2, ['v2']]]));
    expect(sync(w, z)).toEqual(sync(z, w));
    expect(sync(a, a1)).toEqual(sync(a1, a));
    expect(sync(a4, a3)).toEqual(sync(a3, a4));
    expect(sync(a4, a3)).toEqual(
      clock([
        ['a', 2, []],
        ['b', 1, ['v3']],
        ['c', 1, ['v3']],
      ]),
    );
    expect(sync(x, a)).toEqual(
      clock([
        ['a', 1, ['v1']],
        ['x', 1, []],
      ]),
    );
    expect(sync(x, a)).toEqual(sync(a, x));
    expect(sync(a, y)).toEqual(
      clock([
        ['a', 1, ['v1']],
        ['b', 1, ['v2']],
      ]),
    );
    expect(sync(y, a)).toEqual(sync(a, y));
  });

  it('keeps anonymous values of the newer side, or of both sides without duplicates', () => {
    const older = fresh('old');
    const newer = fresh('new', [['a', 1]]);
    expect(sync(older, newer).anonymous).toEqual(['new']);
    expect(sync(newer, older).anonymous).toEqual(['new']);
    const other = fresh('other', [['b', 1]]);
    expect(sync(newer, other).anonymous).toEqual(['new', 'other']);
    expect(sync(newer, fresh('new', [['a', 1]])).anonymous).toEqual(['new']);
    const sameBytes = (p: { n: number }, q: { n: number }): boolean => p.n === q.n;
    expect(sync(fresh({ n: 1 }), fresh({ n: 1 }), sameBytes).anonymous).toEqual([{ n: 1 }]);
    expect(sync(fresh({ n: 1 }), fresh({ n: 1 })).anonymous).toHaveLength(2);
  });
});

describe('values, descends, sameVersion', () => {
  it('lists anonymous values, then each actor newest first', () => {
    const c = clock(
      [
        ['a', 4, ['v5', 'v4']],
        ['b', 2, []],
        ['c', 1, ['v3']],
      ],
      ['v0'],
    );
    expect(values(c)).toEqual(['v0', 'v5', 'v4', 'v3']);
    expect(values(clock([['a', 3, []]]))).toEqual([]);
  });

  it('orders clocks by the dots they have seen (less_test)', () => {
    const a = create('v1', 'a');
    const b = create('v2', 'a');
    const bSeenA = update(fresh('v2', join(a)), a, 'a');
    const b2 = update(fresh('v2', join(a)), undefined, 'b');
    const b3 = update(fresh('v2', join(a)), undefined, 'z');
    const c = update(fresh('v3', join(bSeenA)), a, 'c');
    const d = update(fresh('v4', join(c)), b2, 'd');
    const less = (p: Clock, q: Clock): boolean => descends(q, p) && !descends(p, q);
    expect([
      less(a, bSeenA),
      less(a, c),
      less(bSeenA, c),
      less(bSeenA, d),
      less(b2, d),
      less(a, d),
    ]).toEqual([true, true, true, true, true, true]);
    expect([
      less(b2, c),
      less(bSeenA, b2),
      less(b2, bSeenA),
      less(a, a),
      less(c, c),
      less(d, b2),
      less(b3, d),
    ]).toEqual([false, false, false, false, false, false, false]);
    expect(descends(a, b)).toBe(true); // same dot (a, 1): a dot names one value
    expect(descends(a, a)).toBe(true);
  });

  it('compares causal histories, not values (equal_test)', () => {
    const p = clock([
      ['a', 4, ['v5', 'v0']],
      ['c', 1, ['v3']],
    ]);
    const q = clock([
      ['a', 4, ['v555', 'v0']],
      ['c', 1, ['v3']],
    ]);
    const r = clock([['a', 4, ['v5', 'v0']]], ['v6', 'v1']);
    expect(sameVersion(p, q)).toBe(true);
    expect(sameVersion(q, p)).toBe(true);
    expect(sameVersion(p, r)).toBe(false);
    expect(
      sameVersion(
        p,
        clock([
          ['a', 4, ['v5']],
          ['c', 1, ['v3']],
        ]),
      ),
    ).toBe(false);
    expect(
      sameVersion(
        p,
        clock([
          ['a', 4, ['v5', 'v0']],
          ['c', 2, ['v3']],
        ]),
      ),
    ).toBe(false);
    expect(sameVersion(p, { ...p, anonymous: ['v9'] })).toBe(false);
  });
});

describe('clockProblem', () => {
  it('accepts what update and sync build and names what is wrong otherwise', () => {
    expect(clockProblem(update(fresh('v'), create('w', 'b'), 'a'))).toBeUndefined();
    expect(
      clockProblem(
        clock([
          ['b', 1, []],
          ['a', 1, []],
        ]),
      ),
    ).toMatch(/not sorted/);
    expect(
      clockProblem(
        clock([
          ['a', 1, []],
          ['a', 2, []],
        ]),
      ),
    ).toMatch(/not sorted/);
    expect(clockProblem(clock([['a', 0, []]]))).toMatch(/counter/);
    expect(clockProblem(clock([['a', 1, ['v1', 'v2']]]))).toMatch(/2 values but only 1 dots/);
    expect(clockProblem(clock([['', 1, []]]))).toMatch(/actor/);
  });
});
