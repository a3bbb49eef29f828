import type { PreferenceEntry } from '@ringstore/ring';
import { describe, expect, it } from 'vitest';
import {
  AssertionError,
  startPut,
  stepPut,
  type PutEffect,
  type PutEvent,
  type PutOptions,
  type PutState,
  type QuorumFailure,
} from './index.js';

const primary = (nodeId: string): PreferenceEntry => ({ nodeId, hintFor: undefined });
const fallback = (nodeId: string, hintFor: string): PreferenceEntry => ({ nodeId, hintFor });
const abc = [primary('a'), primary('b'), primary('c')];
const written: PutEvent = { type: 'local-written' };
const localFailed: PutEvent = { type: 'local-failed', reason: 'disk full' };
const ack = (nodeId: string): PutEvent => ({ type: 'ack', nodeId });
const fail = (nodeId: string): PutEvent => ({ type: 'fail', nodeId, reason: 'down' });
const timeout: PutEvent = { type: 'timeout' };

function options(overrides: Partial<PutOptions> = {}): PutOptions {
  return {
    preferenceList: abc,
    w: 2,
    localNodeId: 'a',
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
const replicated = (steps: readonly PutEffect[][]): string[] =>
  steps.flat().flatMap((e) => (e.type === 'replicate' ? [e.nodeId] : []));

/** The one failure the run responded with; throws when it responded ok or not at all. */
function failureOf(steps: readonly PutEffect[][]): QuorumFailure {
  const [result] = steps.flatMap(responds);
  if (result === undefined || result.ok) throw new Error(`no failure: ${JSON.stringify(result)}`);
  return result.failure;
}

describe('startPut', () => {
  it('writes locally first and arms the deadline, sending nothing to the other replicas', () => {
    const { steps } = run(options(), []);
    expect(steps[0]).toEqual([
      { type: 'persist-local' },
      { type: 'schedule-timeout', afterMs: 1000, fire: { type: 'timeout' } },
    ]);
  });

  it('replicates nothing until the local write is in, then to every other target', () => {
    const { steps } = run(options(), [written]);
    expect(replicated(steps.slice(0, 1))).toEqual([]);
    expect(steps[1]).toEqual([
      { type: 'replicate', nodeId: 'b', hintFor: undefined },
      { type: 'replicate', nodeId: 'c', hintFor: undefined },
    ]);
  });

  it('sends a fallback the hint naming the primary it stands in for', () => {
    const targets = [primary('a'), primary('b'), fallback('d', 'c')];
    const { steps } = run(options({ preferenceList: targets }), [written]);
    expect(steps[1]).toContainEqual({ type: 'replicate', nodeId: 'd', hintFor: 'c' });
  });

  it('replicates from whichever target coordinates, never to the coordinator itself', () => {
    const { steps } = run(options({ localNodeId: 'b' }), [written]);
    expect(replicated(steps)).toEqual(['a', 'c']);
  });

  it('sends the write once even if the local write is reported twice', () => {
    const { steps } = run(options({ w: 3 }), [written, written, ack('b'), ack('c')]);
    expect(steps[2]).toEqual([]);
    expect(replicated(steps)).toEqual(['b', 'c']);
    expect(responds(steps[4]!)).toEqual([{ ok: true, acked: 3 }]);
  });
});

describe('W counting', () => {
  it("counts the coordinator's own write toward W", () => {
    const { steps } = run(options(), [written, ack('b')]);
    expect(steps[2]).toEqual([{ type: 'respond', result: { ok: true, acked: 2 } }]);
  });

  it('with W=1 answers right after the local write and still replicates to the others', () => {
    const { steps } = run(options({ w: 1 }), [written, ack('b'), ack('c')]);
    expect(steps[1]).toEqual([
      { type: 'replicate', nodeId: 'b', hintFor: undefined },
      { type: 'replicate', nodeId: 'c', hintFor: undefined },
      { type: 'respond', result: { ok: true, acked: 1 } },
    ]);
    expect(steps[2]).toEqual([]);
    expect(steps[3]).toEqual([{ type: 'done' }]);
  });

  it('with one target and W=1 answers and is done at the local write', () => {
    const { steps } = run(options({ preferenceList: [primary('a')], w: 1 }), [written]);
    expect(steps[1]).toEqual([
      { type: 'respond', result: { ok: true, acked: 1 } },
      { type: 'done' },
    ]);
  });

  it('counts acks from fallbacks toward W (sloppy quorum)', () => {
    const targets = [primary('a'), fallback('d', 'b'), fallback('e', 'c')];
    const { steps } = run(options({ preferenceList: targets, w: 3 }), [
      written,
      ack('d'),
      ack('e'),
    ]);
    expect(steps[2]).toEqual([]);
    expect(responds(steps[3]!)).toEqual([{ ok: true, acked: 3 }]);
  });

  it('counts a duplicated ack once', () => {
    const { steps } = run(options({ w: 3 }), [written, ack('b'), ack('b'), ack('c')]);
    expect(steps[2]).toEqual([]);
    expect(steps[3]).toEqual([]);
    expect(responds(steps[4]!)).toEqual([{ ok: true, acked: 3 }]);
  });

  it("keeps a node's first answer: an ack after its failure does not count", () => {
    const { steps } = run(options({ w: 3 }), [written, fail('b'), ack('b')]);
    expect(failureOf(steps)).toMatchObject({ acked: 1 });
    expect(steps[3]).toEqual([]);
  });
});

describe('after the response', () => {
  it('keeps counting late acks and is done when the last target answers', () => {
    const { steps } = run(options(), [written, ack('b'), ack('c')]);
    expect(types(steps[2]!)).toEqual(['respond']);
    expect(steps[3]).toEqual([{ type: 'done' }]);
  });

  it('is done when the deadline passes before the last answer', () => {
    const { steps } = run(options(), [written, ack('b'), timeout]);
    expect(steps[3]).toEqual([{ type: 'done' }]);
  });

  it('responds and is done in one step when the last answer also meets W', () => {
    const { steps } = run(options({ w: 3 }), [written, ack('c'), ack('b')]);
    expect(steps[3]).toEqual([
      { type: 'respond', result: { ok: true, acked: 3 } },
      { type: 'done' },
    ]);
  });

  it('ignores every event after done and keeps the same state', () => {
    const { state } = run(options(), [written, ack('b'), ack('c')]);
    for (const event of [ack('b'), fail('c'), timeout, written, localFailed]) {
      const next = stepPut(state, event);
      expect(next.effects).toEqual([]);
      expect(next.state).toBe(state);
    }
  });

  it("emits one respond and 'done' exactly once, last, whatever the order of events", () => {
    const orders: PutEvent[][] = [
      [written, ack('b'), ack('c'), timeout],
      [written, ack('b'), timeout, ack('c')],
      [written, timeout, ack('b'), ack('c')],
      [timeout, written, ack('b'), ack('c')],
      [written, fail('b'), fail('c'), timeout],
      [written, fail('b'), timeout, ack('c')],
      [localFailed, timeout, written],
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
  it('refuses before writing when W exceeds the preferenceList: applied none, nothing tried', () => {
    const { steps, state } = run(options({ w: 4 }), []);
    expect(steps[0]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'put',
            applied: 'none',
            acked: 0,
            needed: 4,
            tried: 0,
            replicas: 3,
            message: 'put acked 0 of W=4 (only 3 replicas available; the write reached no replica)',
          },
        },
      },
      { type: 'done' },
    ]);
    expect(stepPut(state, written).effects).toEqual([]);
  });

  it('fails at once when the local write fails, replicating nothing ever', () => {
    const { steps } = run(options(), [localFailed, written, timeout]);
    expect(steps[1]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'local-failed',
            op: 'put',
            applied: 'none',
            acked: 0,
            needed: 2,
            tried: 1,
            replicas: 3,
            message:
              'put failed on the coordinator: acked 0 of W=2 (1 replicas tried; the write reached no replica)',
          },
        },
      },
      { type: 'done' },
    ]);
    expect(steps.slice(2)).toEqual([[], []]);
    expect(replicated(steps)).toEqual([]);
  });

  it('fails when the local write fails even with W=1 and every other replica up', () => {
    const { steps } = run(options({ w: 1 }), [localFailed]);
    expect(failureOf(steps)).toMatchObject({ kind: 'local-failed', applied: 'none' });
    expect(replicated(steps)).toEqual([]);
  });

  it('times out as maybe applied when the deadline passes before the local write answers', () => {
    const { steps } = run(options(), [timeout, written]);
    expect(steps[1]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'timeout',
            op: 'put',
            applied: 'maybe',
            acked: 0,
            needed: 2,
            tried: 1,
            replicas: 3,
            message:
              'put timed out: acked 0 of W=2 (1 replicas tried; the write may have reached some replicas)',
          },
        },
      },
      { type: 'done' },
    ]);
    expect(steps[2]).toEqual([]); // done: a late local write is left to anti-entropy
  });

  it('fails fast once W is out of reach after the local write, as maybe applied', () => {
    const { steps } = run(options({ w: 3 }), [written, fail('b')]);
    expect(steps[2]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'put',
            applied: 'maybe',
            acked: 1,
            needed: 3,
            tried: 3,
            replicas: 3,
            message:
              'put acked 1 of W=3 (3 replicas tried; the write may have reached some replicas)',
          },
        },
      },
    ]);
  });

  it('still waits for the rest after failing fast, then is done', () => {
    const { steps } = run(options({ w: 3 }), [written, fail('b'), ack('c')]);
    expect(steps[3]).toEqual([{ type: 'done' }]);
  });

  it('does not fail while W is still reachable', () => {
    const { steps } = run(options({ w: 2 }), [written, fail('b')]);
    expect(steps[2]).toEqual([]);
  });

  it('times out as maybe applied when the deadline passes after the local write', () => {
    const { steps } = run(options({ w: 3 }), [written, ack('b'), timeout]);
    expect(steps[3]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'timeout',
            op: 'put',
            applied: 'maybe',
            acked: 2,
            needed: 3,
            tried: 3,
            replicas: 3,
            message:
              'put timed out: acked 2 of W=3 (3 replicas tried; the write may have reached some replicas)',
          },
        },
      },
      { type: 'done' },
    ]);
  });

  const fallbackTargets = [primary('a'), fallback('d', 'b'), primary('c'), primary('e')];
  it.each<[string, PutOptions, PutEvent[], Omit<QuorumFailure, 'op' | 'message'>]>([
    [
      'refused (W > targets)',
      options({ w: 4 }),
      [],
      { kind: 'unavailable', applied: 'none', acked: 0, needed: 4, tried: 0, replicas: 3 },
    ],
    [
      'local write failed',
      options({ preferenceList: fallbackTargets, w: 3 }),
      [localFailed],
      { kind: 'local-failed', applied: 'none', acked: 0, needed: 3, tried: 1, replicas: 4 },
    ],
    [
      'deadline before the local write',
      options({ preferenceList: fallbackTargets, w: 3 }),
      [timeout],
      { kind: 'timeout', applied: 'maybe', acked: 0, needed: 3, tried: 1, replicas: 4 },
    ],
    [
      'W out of reach after the local write',
      options({ preferenceList: fallbackTargets, w: 3 }),
      [written, fail('d'), ack('c'), fail('e')],
      { kind: 'unavailable', applied: 'maybe', acked: 2, needed: 3, tried: 4, replicas: 4 },
    ],
    [
      'deadline after the local write, replicas still silent',
      options({ preferenceList: fallbackTargets, w: 4 }),
      [written, ack('d'), timeout],
      { kind: 'timeout', applied: 'maybe', acked: 2, needed: 4, tried: 4, replicas: 4 },
    ],
  ])('says what happened in fields: %s', (_name, o, events, expected) => {
    const { op, message, ...fields } = failureOf(run(o, events).steps);
    expect(op).toBe('put');
    expect(fields).toEqual(expected);
    expect(message).toContain(`acked ${expected.acked} of W=${expected.needed}`);
  });
});

describe('pending replicas (a transfer in progress: W+p)', () => {
  const p = primary('p');
  const q = primary('q');

  it('with no pending replicas behaves exactly as without the option', () => {
    const cases: [PutOptions, PutEvent[]][] = [
      [options(), [written, ack('b'), ack('c')]],
      [options({ w: 3 }), [written, fail('b'), ack('c')]],
      [options({ w: 1 }), [written, timeout, ack('b')]],
      [options({ w: 4 }), []],
      [options(), [localFailed]],
      [options({ w: 3 }), [written, ack('b'), timeout]],
    ];
    for (const [o, events] of cases) {
      expect(run({ ...o, pending: [] }, events).steps).toEqual(run(o, events).steps);
    }
  });

  it('sends the pending replica the write after the local write, hintFor as given', () => {
    const { steps } = run(options({ pending: [p, fallback('q', 'x')] }), [written]);
    expect(replicated(steps.slice(0, 1))).toEqual([]);
    expect(steps[1]).toEqual([
      { type: 'replicate', nodeId: 'b', hintFor: undefined },
      { type: 'replicate', nodeId: 'c', hintFor: undefined },
      { type: 'replicate', nodeId: 'p', hintFor: undefined },
      { type: 'replicate', nodeId: 'q', hintFor: 'x' },
    ]);
  });

  it('with p=1 does not answer at W acks, only at W+1', () => {
    const { steps } = run(options({ pending: [p] }), [written, ack('b'), ack('c'), ack('p')]);
    expect(steps[2]).toEqual([]);
    expect(steps[3]).toEqual([{ type: 'respond', result: { ok: true, acked: 3 } }]);
    expect(steps[4]).toEqual([{ type: 'done' }]);
  });

  it('counts acks over the preference list and the pending replicas together', () => {
    const { steps } = run(options({ pending: [p] }), [written, ack('p'), ack('c')]);
    expect(steps[2]).toEqual([]);
    expect(responds(steps[3]!)).toEqual([{ ok: true, acked: 3 }]);
  });

  it('with W=1 and p=1 does not answer at the local write, but at the next ack', () => {
    const { steps } = run(options({ w: 1, pending: [p] }), [written, fail('b'), ack('p')]);
    expect(responds(steps[1]!)).toEqual([]);
    expect(steps[2]).toEqual([]);
    expect(responds(steps[3]!)).toEqual([{ ok: true, acked: 2 }]);
  });

  it('with p=2 needs W+2', () => {
    const o = options({ pending: [p, q] });
    const { steps } = run(o, [written, ack('b'), ack('c'), ack('p'), ack('q')]);
    expect(steps.slice(2, 4)).toEqual([[], []]);
    expect(responds(steps[4]!)).toEqual([{ ok: true, acked: 4 }]);
  });

  it('fails fast, maybe applied, once a pending replica failing puts W+p out of reach', () => {
    const { steps } = run(options({ w: 3, pending: [p] }), [written, ack('b'), fail('p')]);
    expect(steps[2]).toEqual([]);
    expect(steps[3]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'put',
            applied: 'maybe',
            acked: 2,
            needed: 4,
            tried: 4,
            replicas: 4,
            message:
              'put acked 2 of W=3+1 pending (4 replicas tried; the write may have reached some replicas)',
          },
        },
      },
    ]);
  });

  it('fails with W+p unmet even when W acks came from the preference list', () => {
    const { steps } = run(options({ pending: [p] }), [written, ack('b'), fail('c'), fail('p')]);
    expect(failureOf(steps)).toMatchObject({ kind: 'unavailable', acked: 2, needed: 3 });
  });

  it('refuses before writing when W+p exceeds the preference list plus pending', () => {
    const { steps, state } = run(options({ w: 4, pending: [p] }), []);
    expect(steps[0]).toEqual([
      {
        type: 'respond',
        result: {
          ok: false,
          failure: {
            kind: 'unavailable',
            op: 'put',
            applied: 'none',
            acked: 0,
            needed: 5,
            tried: 0,
            replicas: 4,
            message:
              'put acked 0 of W=4+1 pending (only 4 replicas available; the write reached no replica)',
          },
        },
      },
      { type: 'done' },
    ]);
    expect(stepPut(state, written).effects).toEqual([]);
  });

  it('accepts W+p equal to every target, and then needs all of them', () => {
    const o = options({ w: 3, pending: [p, q] });
    const { steps } = run(o, [written, ack('b'), ack('c'), ack('p'), ack('q')]);
    expect(types(steps[0]!)).toEqual(['persist-local', 'schedule-timeout']);
    expect(steps.slice(2, 5)).toEqual([[], [], []]);
    expect(steps[5]).toEqual([
      { type: 'respond', result: { ok: true, acked: 5 } },
      { type: 'done' },
    ]);
  });

  it.each<[string, PutOptions, PutEvent[], Omit<QuorumFailure, 'op'>]>([
    [
      'local write failed',
      options({ pending: [p] }),
      [localFailed],
      {
        kind: 'local-failed',
        applied: 'none',
        acked: 0,
        needed: 3,
        tried: 1,
        replicas: 4,
        message:
          'put failed on the coordinator: acked 0 of W=2+1 pending (1 replicas tried; the write reached no replica)',
      },
    ],
    [
      'deadline after the local write',
      options({ pending: [p, q] }),
      [written, ack('p'), ack('b'), timeout],
      {
        kind: 'timeout',
        applied: 'maybe',
        acked: 3,
        needed: 4,
        tried: 5,
        replicas: 5,
        message:
          'put timed out: acked 3 of W=2+2 pending (5 replicas tried; the write may have reached some replicas)',
      },
    ],
  ])('says W+p in fields and message: %s', (_name, o, events, expected) => {
    const { op, ...fields } = failureOf(run(o, events).steps);
    expect(op).toBe('put');
    expect(fields).toEqual(expected);
  });

  it('never sends to a pending replica when the local write fails', () => {
    const { steps } = run(options({ pending: [p] }), [localFailed, written]);
    expect(replicated(steps)).toEqual([]);
  });

  it.each<[string, PutOptions, RegExp]>([
    [
      'a pending replica that is also in the preference list',
      options({ pending: [primary('c')] }),
      /pending replica c is also in the preference list/,
    ],
    [
      'a pending coordinator outside the preference list',
      options({ localNodeId: 'p', pending: [p] }),
      /coordinator p is a pending replica/,
    ],
    [
      'a pending coordinator also in the preference list',
      options({ pending: [primary('a')] }),
      /coordinator a is a pending replica/,
    ],
    ['a pending replica named twice', options({ pending: [p, p] }), /target p is named twice/],
    ['a pending replica with an empty node id', options({ pending: [primary('')] }), /empty/],
    [
      'more targets than targetsMax, pending replicas included',
      options({
        preferenceList: Array.from({ length: 63 }, (_, i) => primary(`n${i}`)),
        localNodeId: 'n0',
        pending: [p, q],
      }),
      /65 targets exceed targetsMax=64/,
    ],
  ])('asserts on %s', (_name, o, message) => {
    expect(() => startPut(o)).toThrow(AssertionError);
    expect(() => startPut(o)).toThrow(message);
  });
});

describe('purity', () => {
  it('gives the same output for the same state and event, and never changes the input state', () => {
    const { state } = run(options({ w: 3 }), [written, ack('b')]);
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
    ['a node named twice', options({ preferenceList: [primary('a'), primary('b'), primary('b')] })],
    ['an empty node id', options({ preferenceList: [primary('a'), primary('')] })],
    ['a zero deadline', options({ requestTimeoutMs: 0 })],
    ['a coordinator that is not one of the targets', options({ localNodeId: 'x' })],
    ['no targets (so no coordinator among them)', options({ preferenceList: [], w: 1 })],
    [
      'too many targets',
      options({ preferenceList: Array.from({ length: 65 }, (_, i) => primary(`n${i}`)) }),
    ],
  ])('asserts on %s', (_name, o) => {
    expect(() => startPut(o)).toThrow(AssertionError);
  });

  it('asserts on an answer from a node it never wrote to', () => {
    const { state } = run(options(), [written]);
    expect(() => stepPut(state, ack('z'))).toThrow(/not a target/);
  });

  it('asserts on an ack or fail from the coordinator, whose own write reports as local-*', () => {
    const { state } = run(options(), []);
    expect(() => stepPut(state, ack('a'))).toThrow(AssertionError);
    expect(() => stepPut(state, fail('a'))).toThrow(AssertionError);
  });
});
