import { describe, expect, it } from 'vitest';
import { coalescingDriver, writeBatchMax } from './coalesce.js';
import type { BatchWriteItem, Driver } from './harness.js';

/** A driver that records each batch call and fails the keys named 'bad'. */
function recording(): Driver & { calls: string[][] } {
  const calls: string[][] = [];
  const outcome = (key: Buffer) => (key.toString() === 'bad' ? new Error('bad key') : undefined);
  return {
    calls,
    read: () => Promise.reject(new Error('unbatched read')),
    update: () => Promise.reject(new Error('unbatched update')),
    insert: () => Promise.reject(new Error('unbatched insert')),
    close: () => Promise.resolve(),
    readMany: (keys) => {
      calls.push(keys.map((k) => `r:${k.toString()}`));
      return Promise.resolve(keys.map(outcome));
    },
    writeMany: (items: readonly BatchWriteItem[]) => {
      calls.push(items.map((i) => `${i.insert ? 'i' : 'u'}:${i.key.toString()}`));
      return Promise.resolve(items.map((i) => outcome(i.key)));
    },
  };
}

const b = (s: string) => Buffer.from(s);

describe('coalescingDriver', () => {
  it('sends the operations started together as one batch each for reads and writes', async () => {
    const inner = recording();
    const d = coalescingDriver(inner, 10);
    await Promise.all([
      d.read(b('a')),
      d.read(b('b')),
      d.update(b('c'), b('1')),
      d.insert(b('d'), b('2')),
    ]);
    expect(inner.calls).toEqual([
      ['r:a', 'r:b'],
      ['u:c', 'i:d'],
    ]);
  });

  it('cuts batches at the size and starts a new one for a repeated key', async () => {
    const inner = recording();
    const d = coalescingDriver(inner, 2);
    await Promise.all(['a', 'b', 'c', 'a'].map((k) => d.read(b(k))));
    expect(inner.calls).toEqual([
      ['r:a', 'r:b'],
      ['r:c', 'r:a'],
    ]);
    inner.calls.length = 0;
    await Promise.all(['x', 'x'].map((k) => d.read(b(k))));
    expect(inner.calls).toEqual([['r:x'], ['r:x']]);
  });

  it("fails only the operations whose item failed, and caps writes at the node's limit", async () => {
    const inner = recording();
    const d = coalescingDriver(inner, 100);
    const outcomes = await Promise.allSettled([d.read(b('ok')), d.read(b('bad'))]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected']);
    inner.calls.length = 0;
    await Promise.all(Array.from({ length: 30 }, (_, i) => d.insert(b(`k${i}`), b('v'))));
    expect(inner.calls.map((c) => c.length)).toEqual([writeBatchMax, 30 - writeBatchMax]);
  });

  it('refuses a target without batch calls', () => {
    const { readMany: _r, writeMany: _w, ...plain } = recording();
    expect(() => coalescingDriver(plain, 4)).toThrow(/no batch calls/);
  });
});
