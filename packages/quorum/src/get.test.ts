import type { PreferenceEntry } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  startGet,
  stepGet,
  type GetEffect,
  type GetEvent,
  type GetOptions,
  type GetState,
} from './index.js';
import { siblingOps, siblings, type Siblings } from './test-support/siblings.js';

type Effect = GetEffect<Siblings>;
type Event = GetEvent<Siblings>;

const primary = (nodeId: string): PreferenceEntry => ({ nodeId, hintFor: undefined });
const fallback = (nodeId: string, hintFor: string): PreferenceEntry => ({ nodeId, hintFor });
const abc = [primary('a'), primary('b'), primary('c')];
const reply = (nodeId: string, ...names: string[]): Event => ({
  type: 'reply',
  nodeId,
  object: names.length === 0 ? undefined : siblings(...names),
});
const corrupt = (nodeId: string): Event => ({
  type: 'reply',
  nodeId,
  object: undefined,
  corrupt: true,
});
const fail = (nodeId: string): Event => ({ type: 'fail', nodeId, reason: 'down' });
const timeout: Event = { type: 'timeout' };
const repairTimeout: Event = { type: 'repair-timeout' };

function options(overrides: Partial<GetOptions<Siblings>> = {}): GetOptions<Siblings> {
  return {
    preferenceList: abc,
    r: 2,
    requestTimeoutMs: 1000,
    repairWaitMs: 200,
    ops: siblingOps,
    ...overrides,
  };
}

function run(
  o: GetOptions<Siblings>,
  events: readonly Event[],
): { steps: Effect[][]; state: GetState<Siblings> } {
  const start = startGet(o);
  const steps = [start.effects];
  let state = start.state;
  for (const event of events) {
    const next = stepGet(state, event);
    steps.push(next.effects);
    state = next.state;
  }
  return { steps, state };
}

const types = (effects: readonly Effect[]): string[] => effects.map((e) => e.type);
const respondOf = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'respond' ? [e.result] : []));
const repairOf = (effects: readonly Effect[]) =>
  effects.flatMap((e) => (e.type === 'repair' ? [{ nodeIds: e.nodeIds, object: e.object }] : []));

describe('startGet', () => {
  it('reads every target, fallbacks included, and arms the request deadline', () => {
    const { steps } = run(options({ preferenceList: [primary('a'), fallback('d', 'b')] }), []);
    expect(steps[0]).toEqual([
      { type: 'read', nodeId: 'a' },
      { type: 'read', nodeId: 'd' },
      { type: 'schedule-timeout', afterMs: 1000, fire: { type: 'timeout' } },
    ]);
  });

  it('fails at once, reading nothing, when R exceeds the targets', () => {
    const { steps } = run(options({ preferenceList: [primary('a')], r: 2 }), []);
    expect(steps[0]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'get',
            applied: 'none',
            acked: 0,
            needed: 2,
            tried: 0,
            replicas: 1,
            message: 'get 0 of R=2 replicas replied (only 1 replicas available)',
          },
        },
      },
      { type: 'done' },
    ]);
  });

  it('fails at once with no targets', () => {
    const { steps } = run(options({ preferenceList: [], r: 1 }), []);
    expect(types(steps[0]!)).toEqual(['respond', 'done']);
  });
});

describe('R counting', () => {
  it('answers after R replies with the merge of the replies so far, then waits to repair', () => {
    const { steps } = run(options(), [reply('a', 'x'), reply('b', 'y')]);
    expect(steps[1]).toEqual([]);
    expect(steps[2]).toEqual([
      { type: 'respond', result: { ok: true, object: siblings('x', 'y') } },
      { type: 'schedule-timeout', afterMs: 200, fire: { type: 'repair-timeout' } },
    ]);
  });

  it('answers undefined when no replica has the key', () => {
    const { steps } = run(options(), [reply('a'), reply('b')]);
    expect(respondOf(steps[2]!)).toEqual([{ ok: true, object: undefined }]);
  });

  it('counts replies from fallbacks toward R', () => {
    const targets = [primary('a'), fallback('d', 'b')];
    const { steps } = run(options({ preferenceList: targets }), [reply('d', 'x'), reply('a')]);
    expect(respondOf(steps[2]!)).toEqual([{ ok: true, object: siblings('x') }]);
  });

  it('does not count a corrupt replica toward R', () => {
    const { steps } = run(options(), [corrupt('a'), reply('b', 'x')]);
    expect(steps[2]).toEqual([]); // one readable reply of R=2
  });

  it('ignores the object a corrupt reply carries', () => {
    const bad: Event = { type: 'reply', nodeId: 'a', object: siblings('garbage'), corrupt: true };
    const { steps } = run(options(), [bad, reply('b', 'x'), reply('c', 'y')]);
    expect(respondOf(steps[3]!)).toEqual([{ ok: true, object: siblings('x', 'y') }]);
  });

  it('counts a duplicated reply once', () => {
    const { steps } = run(options(), [reply('a', 'x'), reply('a', 'x'), reply('b', 'x')]);
    expect(steps[2]).toEqual([]);
    expect(respondOf(steps[3]!)).toHaveLength(1);
  });
});

describe('failures', () => {
  it('fails fast once R is out of reach', () => {
    const { steps } = run(options({ r: 3 }), [reply('a', 'x'), fail('b')]);
    expect(respondOf(steps[2]!)).toEqual([
      {
        ok: false,
        failure: {
          kind: 'unavailable',
          op: 'get',
          applied: 'none',
          acked: 1,
          needed: 3,
          tried: 3,
          replicas: 3,
          message: 'get 1 of R=3 replicas replied (3 replicas tried, 1 failed, 0 corrupt)',
        },
      },
    ]);
  });

  it('counts corrupt replicas as out of reach when failing fast', () => {
    const { steps } = run(options(), [corrupt('a'), fail('b')]);
    expect(respondOf(steps[2]!)[0]).toMatchObject({
      ok: false,
      failure: {
        kind: 'unavailable',
        acked: 0,
        message: expect.stringContaining('1 failed, 1 corrupt') as unknown,
      },
    });
  });

  it('fails with a timeout when the deadline passes before R replies, repairing what it can', () => {
    const { steps } = run(options({ r: 3 }), [reply('a', 'x'), reply('b'), timeout]);
    expect(steps[3]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'timeout',
            op: 'get',
            applied: 'none',
            acked: 2,
            needed: 3,
            tried: 3,
            replicas: 3,
            message:
              'get timed out: 2 of R=3 replicas replied (3 replicas tried, 0 failed, 0 corrupt)',
          },
        },
      },
      { type: 'repair', nodeIds: ['b'], object: siblings('x') },
      { type: 'done' },
    ]);
  });
});

describe('read repair', () => {
  it('repairs replicas that answered with an older version or without the key, once all answered', () => {
    const { steps } = run(options(), [reply('a', 'x', 'y'), reply('b', 'x'), reply('c')]);
    expect(steps[3]).toEqual([
      { type: 'repair', nodeIds: ['b', 'c'], object: siblings('x', 'y') },
      { type: 'done' },
    ]);
  });

  it('leaves out replicas already holding the merged version', () => {
    const { steps } = run(options(), [reply('a', 'x'), reply('b', 'x'), reply('c', 'x')]);
    expect(steps[3]).toEqual([{ type: 'done' }]);
  });

  it('repairs a corrupt replica', () => {
    const { steps } = run(options(), [reply('a', 'x'), corrupt('b'), reply('c', 'x')]);
    expect(repairOf(steps[3]!)).toEqual([{ nodeIds: ['b'], object: siblings('x') }]);
  });

  it('repairs only primaries, never a fallback', () => {
    const targets = [primary('a'), primary('b'), fallback('d', 'c')];
    const { steps } = run(options({ preferenceList: targets }), [
      reply('a', 'x', 'y'),
      reply('b'),
      reply('d', 'x'),
    ]);
    expect(repairOf(steps[3]!)).toEqual([{ nodeIds: ['b'], object: siblings('x', 'y') }]);
  });

  it('repairs with a merge that includes replies arriving after the answer', () => {
    const { steps } = run(options(), [reply('a', 'x'), reply('b', 'x'), reply('c', 'y')]);
    expect(respondOf(steps[2]!)).toEqual([{ ok: true, object: siblings('x') }]);
    expect(repairOf(steps[3]!)).toEqual([{ nodeIds: ['a', 'b', 'c'], object: siblings('x', 'y') }]);
  });

  it('repairs at the repair timeout, leaving out replicas that never answered or failed', () => {
    const targets = [primary('a'), primary('b'), primary('c'), primary('e')];
    const { steps } = run(options({ preferenceList: targets }), [
      reply('a', 'x'),
      reply('b'),
      fail('e'),
      repairTimeout,
    ]);
    expect(steps[4]).toEqual([
      { type: 'repair', nodeIds: ['b'], object: siblings('x') },
      { type: 'done' },
    ]);
  });

  it('finishes the repair wait early when the request deadline fires first', () => {
    const { steps } = run(options(), [reply('a', 'x'), reply('b'), timeout]);
    expect(steps[3]).toEqual([
      { type: 'repair', nodeIds: ['b'], object: siblings('x') },
      { type: 'done' },
    ]);
  });

  it('repairs nothing when no replica has a readable copy', () => {
    const { steps } = run(options(), [reply('a'), corrupt('b'), reply('c')]);
    expect(steps[3]).toEqual([
      { type: 'respond', result: { ok: true, object: undefined } },
      { type: 'done' },
    ]);
  });

  it('skips the repair timer when every target answered by the time R is met', () => {
    const { steps } = run(options({ preferenceList: [primary('a'), primary('b')] }), [
      reply('a', 'x'),
      reply('b'),
    ]);
    expect(steps[2]).toEqual([
      { type: 'respond', result: { ok: true, object: siblings('x') } },
      { type: 'repair', nodeIds: ['b'], object: siblings('x') },
      { type: 'done' },
    ]);
  });
});

describe('after done', () => {
  it('ignores every event and keeps the same state', () => {
    const { state } = run(options(), [reply('a', 'x'), reply('b', 'x'), reply('c', 'x')]);
    for (const event of [reply('a', 'z'), fail('b'), timeout, repairTimeout]) {
      const next = stepGet(state, event);
      expect(next.effects).toEqual([]);
      expect(next.state).toBe(state);
    }
  });

  it("emits one respond and 'done' exactly once, last, whatever the order of events", () => {
    const orders: Event[][] = [
      [reply('a', 'x'), reply('b'), reply('c', 'y'), repairTimeout, timeout],
      [reply('a', 'x'), reply('b'), repairTimeout, reply('c', 'y'), timeout],
      [reply('a', 'x'), timeout, reply('b'), repairTimeout],
      [fail('a'), fail('b'), reply('c', 'x'), timeout],
      [corrupt('a'), reply('b', 'x'), timeout, repairTimeout],
    ];
    for (const events of orders) {
      const all = run(options(), events).steps.flat();
      expect(all.filter((e) => e.type === 'respond')).toHaveLength(1);
      expect(all.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(all.at(-1)).toEqual({ type: 'done' });
    }
  });
});

describe('purity', () => {
  it('gives the same output for the same state and event, and never changes the input state', () => {
    const { state } = run(options(), [reply('a', 'x')]);
    const first = stepGet(state, reply('b', 'y'));
    expect(stepGet(state, reply('b', 'y'))).toEqual(first);
    expect(respondOf(stepGet(state, reply('b')).effects)).toEqual([
      { ok: true, object: siblings('x') },
    ]);
  });
});

describe('programmer errors', () => {
  it.each([
    ['R < 1', options({ r: 0 })],
    ['a node named twice', options({ preferenceList: [primary('a'), primary('a')] })],
    ['a zero deadline', options({ requestTimeoutMs: 0 })],
    ['a negative repair wait', options({ repairWaitMs: -1 })],
  ])('asserts on %s', (_name, o) => {
    expect(() => startGet(o)).toThrow(AssertionError);
  });

  it('asserts on a reply from a node it never read', () => {
    const { state } = run(options(), []);
    expect(() => stepGet(state, reply('z', 'x'))).toThrow(/not a target/);
  });

  it('asserts on a repair timeout that was never scheduled', () => {
    const { state } = run(options(), [reply('a', 'x')]);
    expect(() => stepGet(state, repairTimeout)).toThrow(AssertionError);
  });
});

describe("fanout 'quorum'", () => {
  const quorum = (overrides: Partial<GetOptions<Siblings>> = {}) =>
    options({ fanout: { hedgeAfterMs: 30 }, ...overrides });
  const hedge: Event = { type: 'hedge' };
  const readsOf = (effects: readonly Effect[]) =>
    effects.flatMap((e) => (e.type === 'read' ? [e.nodeId] : []));

  it('reads the first R targets and arms the hedge before the deadline', () => {
    const { steps } = run(quorum(), []);
    expect(steps[0]).toEqual([
      { type: 'read', nodeId: 'a' },
      { type: 'read', nodeId: 'b' },
      { type: 'schedule-timeout', afterMs: 1000, fire: { type: 'timeout' } },
      { type: 'schedule-timeout', afterMs: 30, fire: { type: 'hedge' } },
    ]);
  });

  it('answers from R replies and waits to repair only the replicas it read', () => {
    const { steps } = run(quorum(), [reply('a', 'x'), reply('b')]);
    expect(respondOf(steps[2]!)).toEqual([{ ok: true, object: siblings('x') }]);
    // Nothing pending: no repair wait; b answered without the key and is repaired, c unread.
    expect(repairOf(steps[2]!)).toEqual([{ nodeIds: ['b'], object: siblings('x') }]);
    expect(types(steps[2]!)).toEqual(['respond', 'repair', 'done']);
  });

  it('reads the next target at once for each one that fails or is corrupt', () => {
    const { steps } = run(quorum({ r: 1 }), [fail('a'), corrupt('b'), reply('c', 'x')]);
    expect(readsOf(steps[0]!)).toEqual(['a']);
    expect(readsOf(steps[1]!)).toEqual(['b']);
    expect(readsOf(steps[2]!)).toEqual(['c']);
    expect(respondOf(steps[3]!)).toEqual([{ ok: true, object: siblings('x') }]);
  });

  it('reads every target not yet read when the hedge fires while waiting', () => {
    const { steps } = run(quorum({ r: 1 }), [hedge, reply('b', 'x')]);
    expect(readsOf(steps[1]!)).toEqual(['b', 'c']);
    expect(respondOf(steps[2]!)).toEqual([{ ok: true, object: siblings('x') }]);
  });

  it('ignores the hedge once answered', () => {
    const { steps } = run(quorum(), [reply('a', 'x'), reply('b', 'x'), hedge]);
    expect(steps[3]).toEqual([]);
  });

  it('fails only when the replies, those in flight and those unread cannot reach R', () => {
    const { steps } = run(quorum(), [fail('a'), fail('b')]);
    expect(readsOf(steps[1]!)).toEqual(['c']); // c in a's place: R=2 still in reach
    expect(respondOf(steps[1]!)).toEqual([]);
    expect(respondOf(steps[2]!)).toEqual([
      {
        ok: false,
        failure: expect.objectContaining({ kind: 'unavailable', acked: 0, tried: 3 }) as unknown,
      },
    ]);
  });

  it('refuses an answer from a target it did not read', () => {
    const { state } = run(quorum(), []);
    expect(() => stepGet(state, reply('c', 'x'))).toThrow(AssertionError);
  });
});
