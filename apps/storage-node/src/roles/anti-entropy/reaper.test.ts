import { join, type StoredValue } from '@ringstore/vclock';
import { describe, expect, it } from 'vitest';
import { coordinateWrite, encodeObject, objectOps, type KeyObject } from '../../object.js';
import { testActors } from '../../test-support/actors.js';
import { isReapable } from './reaper.js';

const cutoffMs = 1_000_000;
const tombstone = (timestampMs: number): StoredValue => ({
  bytes: new Uint8Array(),
  tombstone: true,
  timestampMs,
});
const live = (timestampMs: number): StoredValue => ({
  bytes: Buffer.from('v'),
  tombstone: false,
  timestampMs,
});

/** A key written once by `actor`, with no context: concurrent with every other such write. */
const written = (value: StoredValue, actor = 'n1'): KeyObject =>
  coordinateWrite(undefined, value, [], testActors(actor));

/** Two concurrent writes of one key: two siblings. */
const siblings = (a: StoredValue, b: StoredValue): KeyObject =>
  objectOps.merge(written(a, 'n1'), written(b, 'n2'));

describe('isReapable', () => {
  it('takes a key whose one value is a tombstone written before the cutoff', () => {
    expect(isReapable(written(tombstone(cutoffMs - 1)), cutoffMs)).toBe(true);
  });

  it('leaves a tombstone written at or after the cutoff (still within the grace period)', () => {
    expect(isReapable(written(tombstone(cutoffMs)), cutoffMs)).toBe(false);
    expect(isReapable(written(tombstone(cutoffMs + 1)), cutoffMs)).toBe(false);
  });

  it('leaves a key with a live value, however old', () => {
    expect(isReapable(written(live(0)), cutoffMs)).toBe(false);
    expect(isReapable(siblings(tombstone(0), live(0)), cutoffMs)).toBe(false);
  });

  it('takes a key whose siblings are all old tombstones, and leaves it when one is recent', () => {
    expect(isReapable(siblings(tombstone(1), tombstone(2)), cutoffMs)).toBe(true);
    expect(isReapable(siblings(tombstone(1), tombstone(cutoffMs)), cutoffMs)).toBe(false);
  });

  it('takes a key whose live value a delete covered (one value: the tombstone)', () => {
    const first = written(live(1));
    const deleted = coordinateWrite(
      encodeObject(first),
      tombstone(2),
      join(first),
      testActors('n1'),
    );
    expect(isReapable(deleted, cutoffMs)).toBe(true);
  });

  it('leaves an object with no values: nothing there is proven deleted', () => {
    const history: KeyObject = {
      entries: [{ actor: 'n1', counter: 3, values: [] }],
      anonymous: [],
    };
    expect(isReapable(history, cutoffMs)).toBe(false);
  });
});
