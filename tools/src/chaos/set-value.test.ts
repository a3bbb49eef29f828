import { describe, expect, it } from 'vitest';
import { decodeSet, encodeSet, mergeFor } from './set-value.js';

describe('set values', () => {
  it('round-trips, sorted numerically without duplicates', () => {
    const bytes = encodeSet({ stampMs: 17, elements: ['10', '2', '2', '1'] });
    expect(bytes.toString()).toBe('17|1,2,10');
    expect(decodeSet(bytes)).toEqual({ stampMs: 17, elements: ['1', '2', '10'] });
    expect(decodeSet(encodeSet({ stampMs: 0, elements: [] }))).toEqual({
      stampMs: 0,
      elements: [],
    });
  });

  it('reads a malformed value as one element, so the checker flags it as unexpected', () => {
    expect(decodeSet(Buffer.from('garbage'))).toEqual({ stampMs: 0, elements: ['garbage'] });
  });

  it('union keeps every sibling element; last-writer-wins keeps only the newest sibling', () => {
    const siblings = [
      encodeSet({ stampMs: 5, elements: ['1', '2'] }),
      encodeSet({ stampMs: 9, elements: ['3'] }),
    ];
    expect(decodeSet(mergeFor('union', '4', 10)(siblings)).elements).toEqual(['1', '2', '3', '4']);
    expect(decodeSet(mergeFor('lww', '4', 10)(siblings))).toEqual({
      stampMs: 10,
      elements: ['3', '4'],
    });
    expect(decodeSet(mergeFor('lww', '4', 10)([])).elements).toEqual(['4']);
  });
});
