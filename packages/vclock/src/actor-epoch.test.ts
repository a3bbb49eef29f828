import { describe, expect, it } from 'vitest';
import { epochActor, epochOf, reusableActor } from './actor-epoch.js';
import { fresh, sync, update, values, join, type DVVSet } from './dvvset.js';

const base = 'n1.abc';
const a1 = epochActor(base, 1);
const a2 = epochActor(base, 2);

/** A stored clock of one key with the given (actor, counter) entries, no live values. */
const clock = (...entries: [string, number][]): DVVSet<string> => ({
  entries: entries.map(([actor, counter]) => ({ actor, counter, values: [] })),
  anonymous: [],
});

describe('epochOf', () => {
  it("reads the epoch of base's epoch actors only", () => {
    expect(epochOf(a1, base)).toBe(1);
    expect(epochOf(epochActor(base, 123_456), base)).toBe(123_456);
    expect(epochOf(base, base)).toBeUndefined();
    expect(epochOf('n1.abcd/1', base)).toBeUndefined();
    expect(epochOf(`${base}/0`, base)).toBeUndefined();
    expect(epochOf(`${base}/01`, base)).toBeUndefined();
    expect(epochOf(`${base}/1x`, base)).toBeUndefined();
    expect(epochOf(`${base}/99999999999999999`, base)).toBeUndefined();
  });
});

describe('reusableActor', () => {
  it('starts a new epoch for a key with no stored clock, or none of ours in it', () => {
    expect(reusableActor(undefined, [], base)).toBeUndefined();
    expect(reusableActor(clock(['n2.x/7', 3]), [], base)).toBeUndefined();
    // The plain storage actor (no epoch) is not reused either.
    expect(reusableActor(clock([base, 3]), [], base)).toBeUndefined();
  });

  it('reuses the newest of our epochs the stored clock holds', () => {
    expect(reusableActor(clock([a1, 4], [a2, 1], ['n2.x/7', 3]), [], base)).toBe(a2);
    expect(reusableActor(clock([a1, 4]), [[a1, 4]], base)).toBe(a1);
    expect(reusableActor(clock([a1, 4]), [[a1, 2]], base)).toBe(a1);
  });

  it('starts a new epoch when the context saw a later dot of ours than is stored here', () => {
    expect(reusableActor(clock([a1, 4]), [[a1, 5]], base)).toBeUndefined();
    expect(reusableActor(clock([a1, 4]), [[a2, 1]], base)).toBeUndefined();
  });

  it('keeps a rewrite after a removal from meeting a surviving older dot (kv679)', () => {
    // Written at epoch 1, then deleted: the tombstone covers the value.
    const written = update(fresh('v1'), undefined, a1);
    const deleted = update(fresh('<tombstone>', join(written)), written, a1);
    // The key is removed here (reaped); a stale copy of either version survives elsewhere. The
    // rewrite, made with an empty context, must survive meeting both.
    const reused = update(fresh('v2'), undefined, a1);
    const epoch = update(fresh('v2'), undefined, reusableActor(undefined, [], base) ?? a2);
    for (const stale of [written, deleted]) {
      expect(values(sync(epoch, stale))).toContain('v2');
      expect(values(sync(stale, epoch))).toContain('v2');
    }
    // What a reused actor did: the tombstone's dot (a1, 2) covers the rewrite at (a1, 1), and the
    // old value at (a1, 1) takes the rewrite's place.
    expect(values(sync(reused, deleted))).not.toContain('v2');
    expect(values(sync(written, reused))).not.toContain('v2');
  });
});
