import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  startPut,
  stepPut,
  type PutEffect,
  type PutEvent,
  type PutOptions,
  type PutState,
  type Target,
} from './index.js';

const primary = (nodeId: string): Target => ({ nodeId, hintFor: undefined });
const fallback = (nodeId: string, hintFor: string): Target => ({ nodeId, hintFor });
const abc = [primary('a'), primary('b'), primary('c')];
const ack = (nodeId: string): PutEvent => ({ type: 'ack', nodeId });
const fail = (nodeId: string): PutEvent => ({ type: 'fail', nodeId, reason: 'down' });
const timeout: PutEvent = { type: 'timeout' };

function options(overrides: Partial<PutOptions> = {}): PutOptions {
  return {
    targets: abc,
    w: 2,
    localNodeId: 'a',
    localAcked: true,
    requestTimeoutMs: 1000,
    ...overrides,
  };
}

/** Starts a put and feeds it events; returns the effects of each step (start first). */
function run(
  o: PutOptions,
  events: readonly PutEvent[],
): { steps: PutEffect[][]; state: PutState } {
  const start = startPut(o);
  const steps = [start.effects];
  let state = start.state;
  for (const event of events) {
    const next = stepPut(state, event);
    steps.push(next.effects);
    state = next.state;
  }
  return { steps, state };
}

const types = (effects: readonly PutEffect[]): string[] => effects.map((e) => e.type);
const responds = (effects: readonly PutEffect[]) =>
  effects.flatMap((e) => (e.type === 'respond' ? [e.result] : []));

describe('startPut', () => {
  it('replicates to every target but the coordinator that already wrote, then arms the deadline', () => {
    const { steps } = run(options(), []);
    expect(steps[0]).toEqual([
      { type: 'replicate', nodeId: 'b', hintFor: undefined },
      { type: 'replicate', nodeId: 'c', hintFor: undefined },
      { type: 'schedule-timeout', afterMs: 1000 },
    ]);
  });

  it('replicates to the coordinator too when it has not written locally', () => {
    const { steps } = run(options({ localAcked: false }), [ack('b')]);
    expect(types(steps[0]!)).toEqual(['replicate', 'replicate', 'replicate', 'schedule-timeout']);
    expect(steps[1]).toEqual([]); // one ack of W=2: the coordinator's own write is not counted
  });

  it('sends a fallback the hint naming the primary it stands in for', () => {
    const { steps } = run(
      options({ targets: [primary('a'), primary('b'), fallback('d', 'c')] }),
      [],
    );
    expect(steps[0]).toContainEqual({ type: 'replicate', nodeId: 'd', hintFor: 'c' });
  });
});

describe('W counting', () => {
  it("counts the coordinator's own write toward W", () => {
    const { steps } = run(options(), [ack('b')]);
    expect(steps[1]).toEqual([{ type: 'respond', result: { ok: true, acked: 2 } }]);
  });

  it('answers at once when the local write alone meets W', () => {
    const { steps } = run(options({ w: 1 }), []);
    expect(types(steps[0]!)).toEqual(['replicate', 'replicate', 'schedule-timeout', 'respond']);
    expect(responds(steps[0]!)).toEqual([{ ok: true, acked: 1 }]);
  });

  it('does not count a local write on a node that is not one of the targets', () => {
    const { steps } = run(options({ localNodeId: 'x', w: 2 }), [ack('a')]);
    expect(types(steps[0]!)).toEqual(['replicate', 'replicate', 'replicate', 'schedule-timeout']);
    expect(steps[1]).toEqual([]);
  });

  it('counts acks from fallbacks toward W (sloppy quorum)', () => {
    const targets = [primary('a'), fallback('d', 'b'), fallback('e', 'c')];
    const { steps } = run(options({ targets, w: 3 }), [ack('d'), ack('e')]);
    expect(steps[1]).toEqual([]);
    expect(responds(steps[2]!)).toEqual([{ ok: true, acked: 3 }]);
  });

  it('counts a duplicated ack once', () => {
    const { steps } = run(options({ w: 3 }), [ack('b'), ack('b'), ack('c')]);
    expect(steps[1]).toEqual([]);
    expect(steps[2]).toEqual([]);
    expect(responds(steps[3]!)).toEqual([{ ok: true, acked: 3 }]);
  });

  it("keeps a node's first answer: an ack after its failure does not count", () => {
    const { steps } = run(options({ w: 3, requestTimeoutMs: 50 }), [fail('b'), ack('b')]);
    expect(responds(steps[1]!)[0]).toMatchObject({ ok: false, failure: { acked: 1 } });
    expect(steps[2]).toEqual([]);
  });
});

describe('after the response', () => {
  it('keeps counting late acks and is done when the last target answers', () => {
    const { steps } = run(options(), [ack('b'), ack('c')]);
    expect(types(steps[1]!)).toEqual(['respond']);
    expect(steps[2]).toEqual([{ type: 'done' }]);
  });

  it('is done when the deadline passes before the last answer', () => {
    const { steps } = run(options(), [ack('b'), timeout]);
    expect(steps[2]).toEqual([{ type: 'done' }]);
  });

  it('responds and is done in one step when the last answer also meets W', () => {
    const { steps } = run(options({ w: 3 }), [ack('c'), ack('b')]);
    expect(steps[2]).toEqual([
      { type: 'respond', result: { ok: true, acked: 3 } },
      { type: 'done' },
    ]);
  });

  it('ignores every event after done and keeps the same state', () => {
    const { state } = run(options(), [ack('b'), ack('c')]);
    for (const event of [ack('b'), fail('c'), timeout, ack('a')]) {
      const next = stepPut(state, event);
      expect(next.effects).toEqual([]);
      expect(next.state).toBe(state);
    }
  });

  it("emits 'done' exactly once whatever the order of the remaining events", () => {
    const orders: PutEvent[][] = [
      [ack('b'), ack('c'), timeout],
      [ack('b'), timeout, ack('c')],
      [timeout, ack('b'), ack('c')],
      [fail('b'), fail('c'), timeout],
      [fail('b'), timeout, ack('c')],
    ];
    for (const events of orders) {
      const all = run(options(), events).steps.flat();
      expect(all.filter((e) => e.type === 'done')).toHaveLength(1);
      expect(all.filter((e) => e.type === 'respond')).toHaveLength(1);
      expect(all.at(-1)).toEqual({ type: 'done' });
    }
  });
});

describe('failures', () => {
  it('fails fast once W is out of reach, with the numbers and a may-have-reached note', () => {
    const { steps } = run(options({ w: 3 }), [fail('b')]);
    expect(steps[1]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'put',
            acked: 1,
            needed: 3,
            replicas: 3,
            message:
              'put acked 1 of W=3 (3 replicas tried; the write may have reached some replicas)',
          },
        },
      },
    ]);
  });

  it('still waits for the rest after failing fast, then is done', () => {
    const { steps } = run(options({ w: 3 }), [fail('b'), ack('c')]);
    expect(steps[2]).toEqual([{ type: 'done' }]);
  });

  it('does not fail while W is still reachable', () => {
    const { steps } = run(options({ w: 2 }), [fail('b')]);
    expect(steps[1]).toEqual([]);
  });

  it('fails with a timeout when the deadline passes before W acks', () => {
    const { steps } = run(options({ w: 3 }), [ack('b'), timeout]);
    expect(steps[2]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'timeout',
            op: 'put',
            acked: 2,
            needed: 3,
            replicas: 3,
            message:
              'put timed out: acked 2 of W=3 (3 replicas tried; the write may have reached some replicas)',
          },
        },
      },
      { type: 'done' },
    ]);
  });

  it('fails at once, without replicating, when W exceeds the targets', () => {
    const { steps, state } = run(options({ w: 4 }), []);
    expect(types(steps[0]!)).toEqual(['respond', 'done']);
    expect(responds(steps[0]!)[0]).toMatchObject({
      ok: false,
      failure: { kind: 'unavailable', acked: 1, needed: 4, replicas: 3 },
    });
    expect(stepPut(state, ack('b')).effects).toEqual([]);
  });

  it('fails at once with no targets, saying the write reached no replica', () => {
    const { steps } = run(options({ targets: [], w: 1, localAcked: false }), []);
    expect(responds(steps[0]!)).toEqual([
      {
        ok: false,
        failure: {
          kind: 'unavailable',
          op: 'put',
          acked: 0,
          needed: 1,
          replicas: 0,
          message: 'put acked 0 of W=1 (only 0 replicas available; the write reached no replica)',
        },
      },
    ]);
  });
});

describe('purity', () => {
  it('gives the same output for the same state and event, and never changes the input state', () => {
    const { state } = run(options({ w: 3 }), [ack('b')]);
    const first = stepPut(state, ack('c'));
    const second = stepPut(state, ack('c'));
    expect(second).toEqual(first);
    expect(first.state).not.toBe(state);
    expect(stepPut(state, fail('c')).effects).toMatchObject([
      { type: 'respond', result: { ok: false } },
      { type: 'done' },
    ]);
  });
});

describe('programmer errors', () => {
  it.each([
    ['W < 1', options({ w: 0 })],
    ['fractional W', options({ w: 1.5 })],
    ['a node named twice', options({ targets: [primary('a'), primary('b'), primary('b')] })],
    ['an empty node id', options({ targets: [primary('a'), primary('')] })],
    ['a zero deadline', options({ requestTimeoutMs: 0 })],
    [
      'too many targets',
      options({ targets: Array.from({ length: 65 }, (_, i) => primary(`n${i}`)) }),
    ],
  ])('asserts on %s', (_name, o) => {
    expect(() => startPut(o)).toThrow(AssertionError);
  });

  it('asserts on an answer from a node it never wrote to', () => {
    const { state } = run(options(), []);
    expect(() => stepPut(state, ack('z'))).toThrow(/not a target/);
  });
});
