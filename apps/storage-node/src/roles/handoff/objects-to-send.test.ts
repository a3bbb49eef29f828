import type { Hint } from '@ringstore/storage';
import { describe, expect, it } from 'vitest';
import { objectsToSend, type Outgoing } from './handoff.js';
import { unfenced } from '../../peer/link.js';

let nextId = 1;
/** A hint for n2 of `key` in `partition`, holding `object` (ids grow: hints come oldest first). */
function hint(partition: number, key: string, object: string): Hint {
  return {
    id: nextId++,
    target: 'n2',
    partition,
    key: Buffer.from(key),
    object: Buffer.from(object),
    createdAtMs: 1_000,
  };
}

/** The local-copy map objectsToSend takes, keyed as handoff keys it (partition/base64 key). */
function copies(entries: readonly [number, string, string][]): Map<string, Uint8Array> {
  return new Map(
    entries.map(([partition, key, object]) => [
      `${partition}/${Buffer.from(key).toString('base64')}`,
      Buffer.from(object),
    ]),
  );
}

/** What went out, as partition/key=object strings. */
function shown(out: readonly Outgoing[]): string[] {
  return out.map(
    (o) => `${o.request.partition}/${o.request.key.toString()}=${o.request.object.toString()}`,
  );
}

describe('objectsToSend', () => {
  it('sends each hinted object as a plain replicate (no hint), in the order of the hints', () => {
    const out = objectsToSend([hint(3, 'a', 'A'), hint(1, 'b', 'B')], new Map());
    expect(out.map((o) => o.request)).toEqual([
      { partition: 3, key: Buffer.from('a'), object: Buffer.from('A'), hintFor: '', ...unfenced },
      { partition: 1, key: Buffer.from('b'), object: Buffer.from('B'), hintFor: '', ...unfenced },
    ]);
    expect(out.map((o) => Buffer.from(o.sent).toString())).toEqual(['A', 'B']);
  });

  it('sends a key hinted more than once once, as its newest hint', () => {
    const out = objectsToSend(
      [hint(3, 'a', 'old'), hint(3, 'b', 'B'), hint(3, 'a', 'new')],
      new Map(),
    );
    expect(shown(out)).toEqual(['3/a=new', '3/b=B']);
  });

  it("prefers the fallback's current copy, which merged every hinted write, over any hint", () => {
    const hints = [hint(3, 'a', 'hinted-1'), hint(3, 'a', 'hinted-2'), hint(3, 'b', 'hinted-b')];
    const out = objectsToSend(hints, copies([[3, 'a', 'merged']]));
    expect(shown(out)).toEqual(['3/a=merged', '3/b=hinted-b']);
    // `sent` is what the copy is compared with before it is removed: the bytes sent.
    expect(out.map((o) => Buffer.from(o.sent).toString())).toEqual(['merged', 'hinted-b']);
  });

  it('tells keys apart by partition and by key bytes', () => {
    const hints = [hint(1, 'k', 'p1'), hint(2, 'k', 'p2'), hint(1, 'k2', 'other')];
    const out = objectsToSend(hints, copies([[2, 'k', 'copy-p2']]));
    expect(shown(out)).toEqual(['1/k=p1', '2/k=copy-p2', '1/k2=other']);
  });

  it('sends nothing for no hints, whatever the fallback stores', () => {
    expect(objectsToSend([], copies([[1, 'k', 'copy']]))).toEqual([]);
  });
});
