import { describe, expect, it } from 'vitest';
import { formatBytes, formatCount } from './format-units.js';

describe('formatBytes', () => {
  it('binary units with one decimal, bytes as they are', () => {
    expect([0, 1, 1023, 1024, 1536, 7 * 1024 * 1024, 5 * 1024 ** 4].map(formatBytes)).toEqual([
      '0 B',
      '1 B',
      '1023 B',
      '1.0 KiB',
      '1.5 KiB',
      '7.0 MiB',
      '5.0 TiB',
    ]);
  });

  it('a value that would round up to 1024 of a unit is shown in the next one', () => {
    expect(formatBytes(1024 * 1024 - 1)).toBe('1.0 MiB');
    expect(formatBytes(1024 * 1024 - 103)).toBe('1023.9 KiB');
  });

  it('takes uint64 values as bigint', () => {
    expect(formatBytes(22_020_096n)).toBe('21.0 MiB');
    expect(formatBytes(2n ** 64n - 1n)).toBe('16.0 EiB');
  });
});

describe('formatCount', () => {
  it('decimal units from a thousand on', () => {
    expect([0, 999, 1000, 1250, 57_600, 3_400_000, 999_960].map(formatCount)).toEqual([
      '0',
      '999',
      '1.0k',
      '1.3k',
      '57.6k',
      '3.4M',
      '1.0M',
    ]);
  });
});
