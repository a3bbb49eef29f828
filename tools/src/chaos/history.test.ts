import { describe, expect, it } from 'vitest';
import { History, itemOf, type OpEvent } from './history.js';

describe('History', () => {
  it('records an invoke and its completion with the clock, and streams every event to the sink', () => {
    let now = 100;
    const streamed: OpEvent[] = [];
    const history = new History(
      () => now,
      (e) => streamed.push(e),
    );
    const op = history.invoke('unique-keys', 2, 'write', 'k1', 'v1');
    now = 130;
    history.complete(op, 'unknown', { error: 'DEADLINE_EXCEEDED: deadline' });
    expect(history.events).toEqual([
      {
        op,
        type: 'invoke',
        workload: 'unique-keys',
        process: 2,
        f: 'write',
        key: 'k1',
        element: 'v1',
        timeMs: 100,
      },
      {
        op,
        type: 'unknown',
        workload: 'unique-keys',
        process: 2,
        f: 'write',
        key: 'k1',
        element: 'v1',
        timeMs: 130,
        error: 'DEADLINE_EXCEEDED: deadline',
      },
    ]);
    expect(streamed).toEqual(history.events);
  });

  it('refuses a second completion, and closes operations left open as unknown', () => {
    const history = new History(() => 0);
    const a = history.invoke('set', 0, 'add', 's', '1');
    history.invoke('set', 1, 'add', 's', '2');
    history.complete(a, 'ok');
    expect(() => history.complete(a, 'ok')).toThrow(/not open/);
    history.closeOpen('run ended');
    expect(
      history.events.filter((e) => e.type !== 'invoke').map((e) => [e.element, e.type]),
    ).toEqual([
      ['1', 'ok'],
      ['2', 'unknown'],
    ]);
    expect(itemOf('s', '2')).toBe('s=2');
  });

  it('records the overload answers an operation got, and whether it ended refused as overloaded (only a fail)', () => {
    const history = new History(() => 0);
    const a = history.invoke('unique-keys', 0, 'write', 'a', '1');
    const b = history.invoke('unique-keys', 0, 'write', 'b', '1');
    const c = history.invoke('unique-keys', 0, 'write', 'c', '1');
    history.complete(a, 'ok', { overloadAnswers: 2 });
    history.complete(b, 'fail', {
      error: 'RESOURCE_EXHAUSTED',
      overloadAnswers: 3,
      overloaded: true,
    });
    expect(() => history.complete(c, 'unknown', { overloaded: true })).toThrow(/overloaded/);
    history.complete(c, 'ok', { overloadAnswers: 0 });
    const done = history.events.filter((e) => e.type !== 'invoke');
    expect(done.map((e) => [e.key, e.overloadAnswers, e.overloaded])).toEqual([
      ['a', 2, undefined],
      ['b', 3, true],
      ['c', undefined, undefined],
    ]);
  });
});
