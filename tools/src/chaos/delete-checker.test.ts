import { describe, expect, it } from 'vitest';
import type { FinalRead } from './checker.js';
import { checkDeletes } from './delete-checker.js';
import { History, itemOf, type CompletionType, type Op } from './history.js';

/** The writes a delete covers (a named type: prettier drops the parentheses `(readonly T[])?` needs). */
type Covers = readonly string[];

/** A delete-workload history built one operation at a time (each completes before the next). */
function historyOf(ops: readonly [Op, string, string, CompletionType, Covers?][]): History {
  let t = 0;
  const h = new History(() => (t += 10));
  for (const [f, key, element, outcome, covers] of ops)
    h.complete(h.invoke('delete', 0, f, key, element, covers ?? []), outcome);
  return h;
}

function read(
  reader: string,
  items: readonly [string, string][],
  unreadable: string[] = [],
): FinalRead {
  return {
    reader,
    present: new Set(items.map(([k, v]) => itemOf(k, v))),
    unreadableKeys: new Set(unreadable),
  };
}

describe('checkDeletes', () => {
  it('counts a value an acknowledged delete covered and a final read returns as resurrected', () => {
    const h = historyOf([
      ['write', 'k1', 'v1', 'ok'],
      ['delete', 'k1', 'tomb-1', 'ok', ['v1']],
      ['write', 'k2', 'v2', 'ok'],
      ['delete', 'k2', 'tomb-2', 'ok', ['v2']],
    ]);
    const result = checkDeletes(h.events, [read('n1', [['k1', 'v1']]), read('n2', [])]);
    expect(result).toMatchObject({
      workload: 'delete',
      attempted: 4,
      acknowledged: 4,
      resurrected: 1,
      lost: 0,
      valid: false,
    });
    expect(result.resurrectedExamples).toEqual([
      { item: 'k1=v1', supersededAtMs: 40, presentAt: ['n1'] },
    ]);
  });

  it('a later acknowledged write of the key is its own value: present, it is no resurrection; missing, it is lost', () => {
    const h = historyOf([
      ['write', 'k', 'v1', 'ok'],
      ['delete', 'k', 'tomb-1', 'ok', ['v1']],
      ['write', 'k', 'v2', 'ok', []],
    ]);
    const fine = checkDeletes(h.events, [read('n1', [['k', 'v2']]), read('n2', [['k', 'v2']])]);
    expect(fine).toMatchObject({ resurrected: 0, lost: 0, unexpected: 0, valid: true });
    const both = checkDeletes(h.events, [
      read('n1', [
        ['k', 'v2'],
        ['k', 'v1'],
      ]),
    ]);
    expect(both).toMatchObject({ resurrected: 1, lost: 0 });
    const gone = checkDeletes(h.events, [read('n1', [['k', 'v2']]), read('n2', [])]);
    expect(gone).toMatchObject({ resurrected: 0, lost: 1, lostEverywhere: 0 });
    expect(gone.lostByReader).toEqual({ n2: 1 });
  });

  it('expects an acknowledged value present unless a delete that may have been applied covered it', () => {
    const h = historyOf([
      ['write', 'a', 'va', 'ok'],
      ['delete', 'a', 'tomb-a', 'unknown', ['va']],
      ['write', 'b', 'vb', 'ok'],
      ['delete', 'b', 'tomb-b', 'fail', ['vb']],
      ['write', 'c', 'vc', 'ok'],
      // This delete's read saw nothing: its tombstone does not supersede vc.
      ['delete', 'c', 'tomb-c', 'ok', []],
    ]);
    const result = checkDeletes(h.events, [read('n1', [])]);
    expect(result).toMatchObject({ lost: 2, lostEverywhere: 2, resurrected: 0 });
    expect(result.lostExamples.map((e) => e.item)).toEqual(['b=vb', 'c=vc']);
  });

  it('counts unknown and failed writes that made it, values never written, and keys nobody could read', () => {
    const h = historyOf([
      ['write', 'a', 'va', 'unknown'],
      ['write', 'b', 'vb', 'fail'],
      ['write', 'c', 'vc', 'ok'],
      ['write', 'd', 'vd', 'ok'],
      ['delete', 'd', 'tomb-d', 'ok', ['vd']],
    ]);
    const result = checkDeletes(h.events, [
      read(
        'n1',
        [
          ['a', 'va'],
          ['b', 'vb'],
          ['x', 'never'],
        ],
        ['c', 'd'],
      ),
    ]);
    expect(result).toMatchObject({
      unknownPresent: 1,
      failedPresent: 1,
      unexpected: 1,
      unverified: 2,
      lost: 0,
      resurrected: 0,
      valid: false,
    });
    expect(result.unexpectedExamples).toEqual(['x=never']);
  });

  it('counts a delete refused as overloaded apart from failures: the value it covered must stay', () => {
    let t = 0;
    const h = new History(() => (t += 10));
    h.complete(h.invoke('delete', 0, 'write', 'k', 'v', []), 'ok', { overloadAnswers: 1 });
    h.complete(h.invoke('delete', 0, 'delete', 'k', 'tomb-k', ['v']), 'fail', {
      overloadAnswers: 3,
      overloaded: true,
    });
    const result = checkDeletes(h.events, [read('n1', [])]);
    expect(result).toMatchObject({
      acknowledged: 1,
      failed: 0,
      overloaded: 1,
      overloadAnswers: 4,
      lost: 1,
      valid: false,
    });
  });

  it('refuses a history that writes one value twice (the checker needs unique values)', () => {
    const h = historyOf([
      ['write', 'k', 'v', 'ok'],
      ['write', 'k', 'v', 'ok'],
    ]);
    expect(() => checkDeletes(h.events, [])).toThrow(/written twice/);
  });
});
